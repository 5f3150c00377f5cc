class RecipesController < ApplicationController
  def index
    render json: Recipe.order(created_at: :desc).limit(20)
  end

  def create
    recipe = Recipe.create!(params.require(:recipe).permit(:title, :body))
    IndexRecipeJob.perform_later(recipe.id)
    render json: recipe, status: :created
  end
end
