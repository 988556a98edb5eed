//! The server process: opens the database, serves `build_router` until
//! SIGTERM or ctrl-c, and runs the periodic clean-up beside it. Nothing here
//! decides how a request is answered; that is `router`'s job.
//!
//! The accept loop (`serve_connections`) keeps one slow or hostile client
//! from taking the server down: a client must send its request headers
//! within `--header-read-timeout-secs` (the same bound closes idle
//! keep-alive connections), at most `--max-connections` are open at once
//! (the rest wait in the kernel's listen queue), the soft open-files limit
//! is raised to the hard one at start-up, and on SIGTERM in-flight requests
//! get `--shutdown-drain-secs` to finish before the process exits anyway.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::auth::{secrets, throttle};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::Db;
use crate::router::build_router;
use crate::state::AppState;

/// Deletes expired sessions and stale rate-limit counters, and purges
/// resources past their restore window (`jobs`), every ten minutes.
fn spawn_cleanup(state: &AppState) {
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = clock.unix();
            if let Err(e) = db.delete_expired_sessions(now).await {
                tracing::warn!(error = %e, "session clean-up failed");
            }
            if let Err(e) = throttle::clean_up(&db, now).await {
                tracing::warn!(error = %e, "rate-limit clean-up failed");
            }
            if let Err(e) = db
                .delete_stale_devices(now - crate::auth::devices::DEVICE_TTL_SECS)
                .await
            {
                tracing::warn!(error = %e, "trusted device clean-up failed");
            }
            if let Err(e) = db.delete_stale_quota_leases(now - 3600).await {
                tracing::warn!(error = %e, "quota lease clean-up failed");
            }
            match crate::jobs::org_purge::purge_deleted_orgs(&db, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(purged = n, "purged organizations past their restore window")
                }
                Err(e) => tracing::warn!(error = %e, "organization purge failed"),
            }
            match crate::jobs::resource_purge::purge_deleted_resources(&db, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged resources past their restore window"),
                Err(e) => tracing::warn!(error = %e, "resource purge failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

/// How the accept loop bounds its clients (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub drain: Duration,
}

impl ConnectionLimits {
    pub fn of(config: &Config) -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            max_connections: config.max_connections as usize,
            drain: Duration::from_secs(config.shutdown_drain_secs),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for at most `limits.drain` and returns.
/// Each request carries the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot first: beyond the limit, clients queue in
        // the kernel rather than costing a file descriptor each.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a reset before accept: keep
                    // serving the others, and do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that stalls or resets ends only its own connection.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(
        drain_secs = limits.drain.as_secs(),
        "shutting down: finishing in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("shutdown drain ended with requests still in flight");
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so that the
/// connection bound, not the process's descriptors, is what limits clients.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(open_files = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
}

/// Opens and migrates the database, then serves until SIGTERM or ctrl-c,
/// letting in-flight requests finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    raise_open_files_limit();
    // A missing or malformed secret key is refused before the database is
    // touched (AppState::new checks the key against the stored secrets).
    secrets::resolve_key(&config.database, &config.keys)?;
    let db = Db::connect(
        &config.database.database_url,
        config.database.db_max_connections,
    )
    .await?;
    db.migrate().await?;
    let state = AppState::new(config, db, Arc::new(SystemClock)).await?;
    let listener = TcpListener::bind(state.config.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.config.bind))?;
    spawn_cleanup(&state);
    crate::jobs::schedules::spawn(&state);
    crate::jobs::outbox::spawn(&state);
    let url = state.config.public_url();
    let engine = state.db.engine();
    let db = state.db.clone();
    let limits = ConnectionLimits::of(&state.config);
    let app = build_router(state);
    tracing::info!(%url, engine, ready_ms = started.elapsed().as_millis() as u64, "gatehouse ready");
    println!("Gatehouse is ready at {url}  (database: {engine}; ctrl-c to stop)");
    serve_connections(listener, app, limits, shutdown_signal()).await;
    db.close().await;
    Ok(())
}
