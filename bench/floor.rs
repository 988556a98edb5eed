//! The floor of the benchmark (`bench/run.sh`): the cheapest HTTP request on
//! Gatehouse's stack, an axum "hello" on the same axum, hyper and tokio, with
//! the same multi-threaded runtime and `axum::serve`. Every other row of the
//! benchmark is read as a ratio to this one, so it must stay bare: no
//! middleware, no logging, no state.
//!
//! Usage: `gatehouse-floor [ADDR]` (default `127.0.0.1:8090`).

use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("floor listening on {addr}");
    axum::serve(
        listener,
        Router::new().route("/", get(|| async { "hello" })),
    )
    .await
}
