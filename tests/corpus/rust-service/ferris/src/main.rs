use axum::{routing::get, Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Crab {
    name: &'static str,
    legs: u8,
}

async fn crabs() -> Json<Vec<Crab>> {
    Json(vec![Crab { name: "ferris", legs: 10 }])
}

#[tokio::main]
async fn main() {
    let level = std::env::args()
        .skip_while(|a| a != "--log-level")
        .nth(1)
        .unwrap_or_else(|| "info".to_string());
    println!("ferris-api starting (log level {level})");
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/crabs", get(crabs));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3030").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
