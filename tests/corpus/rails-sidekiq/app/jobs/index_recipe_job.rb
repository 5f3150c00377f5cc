class IndexRecipeJob < ApplicationJob
  queue_as :default

  def perform(recipe_id)
    recipe = Recipe.find(recipe_id)
    Rails.logger.info("indexing recipe #{recipe.id}: #{recipe.title}")
  end
end
