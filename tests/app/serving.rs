//! The accept loop against slow and hostile clients, over real sockets: a
//! client that never finishes its headers is disconnected, the connection
//! bound queues the rest instead of failing them, a shutdown ends within its
//! drain whatever a client holds; and a database outage answers 503 with
//! `Retry-After`, never 500. (Network timeouts are real time, kept to a
//! second or two.)

use std::time::Duration;

use axum::http::{Method, StatusCode};
use gatehouse::server::{ConnectionLimits, serve_connections};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;

const LIMITS: ConnectionLimits = ConnectionLimits {
    header_read_timeout: Duration::from_secs(1),
    max_connections: 1,
    drain: Duration::from_secs(1),
};

/// Starts the loop on a free port; the sender ends it.
async fn start(
    app: &TestApp,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        serve_connections(listener, router, LIMITS, async {
            let _ = stopped.await;
        })
        .await;
    });
    (addr, stop, server)
}

/// Reads until the server closes the connection (or 5 s pass).
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected_and_the_next_is_served() {
    each_engine(|app| async move {
        let (addr, stop, server) = start(&app).await;
        // Holds the only connection slot with half a request.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        // The next client waits in the queue, and is served once the slow
        // one is cut off.
        let mut next = TcpStream::connect(addr).await.unwrap();
        next.write_all(HEALTHZ).await.unwrap();
        let cut = read_to_close(&mut slow).await;
        assert!(cut.is_some(), "the half-sent connection was closed");
        assert!(!cut.unwrap().contains("200 OK"));
        let answer = read_to_close(&mut next).await.expect("served in time");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the loop ends")
            .unwrap();
        app
    })
    .await;
}

#[tokio::test]
async fn a_shutdown_ends_within_its_drain_while_a_client_holds_a_half_sent_request() {
    each_engine(|app| async move {
        let (addr, stop, server) = start(&app).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nemail=",
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let asked = std::time::Instant::now();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the loop ends although a client still holds a request")
            .unwrap();
        assert!(asked.elapsed() < Duration::from_secs(3));
        // Nothing listens any more.
        assert!(TcpStream::connect(addr).await.is_err());
        drop(slow);
        app
    })
    .await;
}

#[tokio::test]
async fn a_database_outage_answers_503_with_retry_after_on_pages_and_the_api() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let key = ada.create_key("k", &["profile:read"], "30").await;
        app.db().close().await;
        let page = ada.get("/account").await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            page.body
        );
        assert_eq!(page.headers["retry-after"], "5");
        assert!(page.contains("Briefly unavailable"));
        assert!(!page.contains("pool"), "no internal error text");
        let res = api(&app.router, Method::GET, "/v1/me", Some(&key), None).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers["retry-after"], "5");
        assert_eq!(json_of(&res)["error"]["code"], "unavailable");
        let ready = Client::new(app.router.clone()).get("/readyz").await;
        assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
        app
    })
    .await;
}
