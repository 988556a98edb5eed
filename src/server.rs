//! The server process: opens the database, serves `build_router` until
//! SIGTERM or ctrl-c, and runs the periodic clean-up beside it. Nothing here
//! decides how a request is answered; that is `router`'s job.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Opens and migrates the database, then serves until SIGTERM or ctrl-c,
/// letting in-flight requests finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
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
    let listener = tokio::net::TcpListener::bind(state.config.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.config.bind))?;
    spawn_cleanup(&state);
    crate::jobs::schedules::spawn(&state);
    crate::jobs::outbox::spawn(&state);
    let url = state.config.public_url();
    let engine = state.db.engine();
    let db = state.db.clone();
    let app = build_router(state);
    tracing::info!(%url, engine, ready_ms = started.elapsed().as_millis() as u64, "gatehouse ready");
    println!("Gatehouse is ready at {url}  (database: {engine}; ctrl-c to stop)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    db.close().await;
    Ok(())
}
