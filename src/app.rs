//! The application: its state, the one router used by `main` and by every
//! test, and the server loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::csrf::verify_csrf;
use crate::auth::{DbSessionStore, PasswordHasher, secrets, throttle};
use crate::cipher::Cipher;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::db::flags::ACCOUNT_REGISTRATION;
use crate::error::{AppError, error_page};
use crate::middleware::{limit_body, security_headers};
use crate::web::mfa_challenge::{self, CHALLENGE_PAGE};
use crate::web::{account, auth, health, invitations, ops, orgs, sudo};

/// Everything a handler may need, cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub passwords: Arc<PasswordHasher>,
    /// Seals and opens TOTP secrets at rest (see `auth::secrets`).
    pub secrets: Arc<Cipher>,
}

impl AppState {
    /// Builds the state over an open, migrated database and applies the
    /// start-up settings that live in it (the registration flag). Refuses a
    /// secret key that does not open the stored secrets, and seals those
    /// stored before encryption at rest.
    pub async fn new(config: Config, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let now = clock.unix();
        db.ensure_flag(ACCOUNT_REGISTRATION, true, now).await?;
        if let Some(open) = config.registration {
            db.set_flag(ACCOUNT_REGISTRATION, open, now).await?;
        }
        let secrets = Arc::new(secrets::unlock(&config, &db, now).await?);
        let passwords = PasswordHasher::new(config.hash_concurrency())?;
        Ok(Self {
            db,
            config: Arc::new(config),
            clock,
            passwords,
            secrets,
        })
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "An unexpected error occurred on our side and has been logged. Please try again in a \
         moment.",
    )
}

async fn not_found() -> Response {
    AppError::NotFound.into_response()
}

/// A page route asked with the wrong method (sign-out typed into the address
/// bar): the product's page, not axum's empty answer (which keeps `Allow`).
async fn method_not_allowed() -> Response {
    error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "This page cannot be opened that way",
        "This address only takes a form sent from the console's own pages.",
    )
}

/// The whole application. Pages get the session and CSRF layers; operations
/// endpoints do not (no session row for a health probe).
pub fn build_router(state: AppState) -> Router {
    let store = DbSessionStore::new(
        state.db.clone(),
        state.clock.clone(),
        state.config.session_idle_minutes * 60,
        state.config.session_absolute_hours * 3600,
        state.config.max_sessions_per_user,
    );
    // The cookie lives for the browser session; idle and absolute timeouts are
    // enforced by the store with the application clock.
    let sessions = SessionManagerLayer::new(store)
        .with_name(state.config.session_cookie_name())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.is_https())
        .with_path("/")
        .with_expiry(Expiry::OnSessionEnd);

    let pages = Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/account") }),
        )
        .route("/login", get(auth::show_login).post(auth::login))
        .route("/signup", get(auth::show_signup).post(auth::signup))
        .route(
            CHALLENGE_PAGE,
            get(mfa_challenge::show_challenge).post(mfa_challenge::answer_challenge),
        )
        .route("/logout", post(auth::logout))
        .route(
            "/invitations/{token}",
            get(invitations::show_invitation).post(invitations::accept_invitation),
        )
        .route("/sudo", get(sudo::show_sudo).post(sudo::confirm_sudo))
        .route("/sudo/leave", post(sudo::leave_sudo))
        .route("/account", get(account::overview::show_overview))
        .route(
            "/account/profile",
            get(account::profile::show_profile).post(account::profile::update_profile),
        )
        .route(
            "/account/notifications",
            get(account::notifications::show_notifications)
                .post(account::notifications::update_notifications),
        )
        .route("/account/security", get(account::security::show_security))
        .route("/account/sessions", get(account::sessions::list_sessions))
        .route(
            "/account/delete",
            get(account::delete::show_delete).post(account::delete::delete_account),
        )
        .route("/account/deleted", get(account::delete::show_deleted))
        .route(
            "/account/export",
            get(account::export::show_export).post(account::export::download_export),
        )
        .route(
            "/account/sessions/revoke-others",
            post(account::sessions::revoke_other_sessions),
        )
        .route(
            "/account/sessions/{handle}/revoke",
            post(account::sessions::revoke_session),
        )
        .route(
            "/account/orgs",
            get(account::orgs::list_orgs).post(account::orgs::create_org),
        )
        .route(
            "/account/keys",
            get(account::keys::list_keys).post(account::keys::create_key),
        )
        .route("/account/keys/new", get(account::keys::new_key_form))
        .route("/account/keys/{id}", get(account::keys::show_key))
        .route("/account/keys/{id}/reveal", get(account::keys::reveal_key))
        .route(
            "/account/keys/{id}/rotate",
            get(account::keys::rotate_key_form).post(account::keys::rotate_key),
        )
        .route("/account/keys/{id}/revoke", post(account::keys::revoke_key))
        .route("/account/keys/{id}/remove", post(account::keys::remove_key))
        .route(
            "/account/security/password",
            post(account::security::change_password),
        )
        .route(
            "/account/security/mfa/setup",
            get(account::mfa::show_setup).post(account::mfa::confirm_setup),
        )
        .route(
            "/account/security/mfa/backup-codes",
            get(account::mfa::show_backup_codes).post(account::mfa::regenerate_backup_codes),
        )
        .route(
            "/account/security/mfa/backup-codes.txt",
            get(account::mfa::download_backup_codes),
        )
        .route(
            "/account/security/mfa/disable",
            get(account::mfa::show_disable).post(account::mfa::disable_mfa),
        )
        .merge(orgs::routes().router)
        // The operator console: every handler takes the `Operator` proof, so
        // anyone else gets 404 here as on an unknown path.
        .route("/ops", get(ops::show_overview))
        .route("/ops/users", get(ops::users::list_users))
        .route("/ops/orgs", get(ops::orgs::list_orgs))
        .route("/ops/orgs/{id}", get(ops::orgs::show_org))
        .route("/ops/orgs/{id}/view", post(ops::orgs::view_org))
        .route("/ops/users/{id}", get(ops::users::show_user))
        .route("/ops/users/{id}/view", post(ops::users::view_user))
        .route("/ops/users/{id}/disable", post(ops::users::disable_user))
        .route("/ops/users/{id}/enable", post(ops::users::enable_user))
        .route("/ops/accounts/new", get(ops::accounts::new_account_form))
        .route("/ops/accounts", post(ops::accounts::create_account))
        .route(
            "/ops/accounts/{id}/created",
            get(ops::accounts::show_created),
        )
        .route("/ops/flags", get(ops::flags::list_flags))
        .route("/ops/flags/{name}", post(ops::flags::set_flag))
        .route("/ops/master-keys", get(ops::master_keys::list_master_keys))
        .route(
            "/ops/master-keys/{public_id}/revoke",
            post(ops::master_keys::revoke_master_key),
        )
        .route("/ops/audit", get(ops::audit::show_audit))
        // After every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(sessions)
                .layer(from_fn_with_state(state.config.clone(), verify_csrf)),
        );

    let operations = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/app.css", get(health::stylesheet))
        .route("/favicon.ico", get(health::favicon))
        .route("/static/favicon.svg", get(health::favicon));

    let mut router = operations
        .nest("/v1", crate::api::router())
        .merge(pages)
        .with_state(state.clone())
        // Inside the security headers, so that a refused body gets them too.
        .layer(axum::middleware::from_fn(limit_body));
    for layer in security_headers(&state.config) {
        router = router.layer(layer);
    }
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let request_id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            request_id = %request_id,
                            method = %req.method(),
                            path = %loggable_path(req.uri().path()),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            )),
    )
}

/// The request path as logged: an invitation link's secret is replaced, so
/// that nothing secret reaches the logs.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/invitations/") {
        Some(rest) if !rest.is_empty() => "/invitations/<redacted>".into(),
        _ => path.into(),
    }
}

/// Deletes expired sessions and stale rate-limit counters every ten minutes.
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
