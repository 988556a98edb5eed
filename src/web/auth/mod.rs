//! The public sign-in surface, one module per page (mirroring
//! `templates/auth/`): `login` (sign-in with the password), `mfa` (the
//! second step for a user with MFA), `signup`; and sign-out here.

pub mod login;
pub mod mfa;
pub mod signup;

pub use login::{login, show_login};
pub use signup::{show_signup, signup};

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::MaybeUser;
use crate::db::audit::NewEvent;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::ClientInfo;

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    session: AppSession,
    MaybeUser(user): MaybeUser,
    client: ClientInfo,
) -> Result<Response, AppError> {
    if let Some(user) = &user {
        state
            .db
            .record_event(
                NewEvent {
                    actor: &user.actor(),
                    action: "signout",
                    target_kind: Some("user"),
                    target_id: Some(user.id().to_string()),
                    org_id: None,
                    origin: &client.origin(),
                    detail: json!({}),
                },
                state.clock.unix(),
            )
            .await?;
    }
    session.sign_out().await?;
    session
        .flash(FlashKind::Info, "You have been signed out.")
        .await?;
    Ok(Redirect::to("/login").into_response())
}
