Rails.application.routes.draw do
  resources :recipes, only: [:index, :create]
  get "up" => "rails/health#show"
end
