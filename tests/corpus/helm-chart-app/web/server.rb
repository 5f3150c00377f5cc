require "sinatra"
require "redis"

set :bind, "0.0.0.0"
set :port, ENV.fetch("PORT", "4567").to_i
set :public_folder, File.join(__dir__, "static")

redis = Redis.new(url: ENV.fetch("REDIS_URL", "redis://localhost:6379"))

get "/entries" do
  content_type :json
  redis.lrange("entries", 0, 49).to_s
end

post "/entries" do
  redis.lpush("entries", params.fetch("message", ""))
  redirect "/"
end
