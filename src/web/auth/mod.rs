//! Signing in and out, and signing up, one file per page as the templates
//! are (`templates/auth/`): `login` (the password), `mfa` (the second
//! factor, for a user with MFA, after the password), `passkey` (signing in
//! with a passkey, either step), `signup` (with or
//! without an invitation). Sign-out and the `next` query they share are here.

pub mod email_change;
pub mod login;
pub mod mfa;
pub mod passkey;
pub mod recovery;
pub mod signup;
pub mod verification;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::MaybeUser;
use crate::db::audit::Event;
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
        let signed_out = Event::by(user.actor())
            .did("signout")
            .on("user", user.id())
            .from(&client.origin());
        state
            .db
            .record_event(&signed_out, state.clock.unix())
            .await?;
    }
    session.sign_out().await?;
    session
        .flash(FlashKind::Info, "You have been signed out.")
        .await?;
    Ok(Redirect::to("/login").into_response())
}
