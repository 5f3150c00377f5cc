require "securerandom"
require "redis"

REDIS = Redis.new(url: ENV.fetch("REDIS_URL", "redis://shorty-redis:6379"))

app = lambda do |env|
  req = Rack::Request.new(env)
  if req.post? && req.path == "/links"
    code = SecureRandom.alphanumeric(6)
    REDIS.set(code, req.params.fetch("url"))
    [201, {"content-type" => "text/plain"}, ["#{ENV.fetch('BASE_URL', '')}/#{code}\n"]]
  elsif (target = REDIS.get(req.path.delete_prefix("/")))
    [302, {"location" => target}, []]
  else
    [404, {"content-type" => "text/plain"}, ["not found\n"]]
  end
end

run app
