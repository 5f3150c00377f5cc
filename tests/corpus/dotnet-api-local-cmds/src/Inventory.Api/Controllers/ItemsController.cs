using Microsoft.AspNetCore.Mvc;

namespace Inventory.Api.Controllers;

[ApiController]
[Route("api/[controller]")]
public class ItemsController : ControllerBase
{
    private static readonly List<Item> Items = new()
    {
        new Item("SKU-100", "Widget", 42),
        new Item("SKU-200", "Gadget", 7),
    };

    [HttpGet]
    public IEnumerable<Item> Get() => Items;

    [HttpGet("{sku}")]
    public ActionResult<Item> GetOne(string sku) =>
        Items.FirstOrDefault(i => i.Sku == sku) is { } item ? item : NotFound();

    public record Item(string Sku, string Name, int Quantity);
}
