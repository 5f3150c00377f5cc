var builder = WebApplication.CreateBuilder(args);
builder.Services.AddControllers();
builder.Services.AddEndpointsApiExplorer();
builder.Services.AddSwaggerGen();

var app = builder.Build();
app.UseSwagger();
app.UseSwaggerUI();
app.MapControllers();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok", sha = Environment.GetEnvironmentVariable("GIT_SHA") }));
app.Run();
