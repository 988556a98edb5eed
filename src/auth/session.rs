//! The typed view of the server-side session: which user it belongs to, its
//! CSRF token, flash messages and the sudo window. Handlers use this instead of
//! raw string keys.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use super::store::{KEY_IP, KEY_SIGNED_IN_AT, KEY_USER_AGENT, KEY_USER_ID, hash_id};
use crate::db::audit::Origin;

const KEY_CSRF: &str = "csrf";
const KEY_FLASH: &str = "flash";
const KEY_SUDO_UNTIL: &str = "sudo_until";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    Success,
    Info,
    Warning,
    Error,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Success => "flash-success",
            FlashKind::Info => "flash-info",
            FlashKind::Warning => "flash-warning",
            FlashKind::Error => "flash-error",
        }
    }
}

/// A one-time message shown on the next page (Post/Redirect/Get).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

/// Why the session could not be read or written. The HTML error converts
/// from it, keeping the store's error as the cause.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The route is not under the session layer: a wiring mistake.
    #[error("session layer missing")]
    LayerMissing,
    #[error("session store")]
    Store(#[from] tower_sessions::session::Error),
}

#[derive(Debug, Clone)]
pub struct AppSession(Session);

impl<S: Send + Sync> FromRequestParts<S> for AppSession {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .map(AppSession)
            .ok_or(SessionError::LayerMissing)
    }
}

fn store_err(e: tower_sessions::session::Error) -> SessionError {
    SessionError::Store(e)
}

fn random_token() -> String {
    let a: u128 = rand::random();
    let b: u128 = rand::random();
    format!("{}{}", base62::encode(a), base62::encode(b))
}

impl AppSession {
    pub fn from_session(session: Session) -> Self {
        Self(session)
    }

    pub async fn user_id(&self) -> Result<Option<Uuid>, SessionError> {
        let raw: Option<String> = self.0.get(KEY_USER_ID).await.map_err(store_err)?;
        Ok(raw.and_then(|s| Uuid::parse_str(&s).ok()))
    }

    /// Binds the session to `user_id` after a successful sign-in. The session
    /// id is rotated (so an id planted before sign-in is worthless) and every
    /// earlier value, including the CSRF token and any sudo window, is dropped.
    pub async fn sign_in(
        &self,
        user_id: Uuid,
        origin: &Origin,
        now: i64,
    ) -> Result<(), SessionError> {
        self.0.clear().await;
        self.0.cycle_id().await.map_err(store_err)?;
        self.0
            .insert(KEY_USER_ID, user_id.to_string())
            .await
            .map_err(store_err)?;
        self.0
            .insert(KEY_SIGNED_IN_AT, now)
            .await
            .map_err(store_err)?;
        if let Some(ip) = &origin.ip {
            self.0.insert(KEY_IP, ip).await.map_err(store_err)?;
        }
        if let Some(ua) = &origin.user_agent {
            self.0.insert(KEY_USER_AGENT, ua).await.map_err(store_err)?;
        }
        self.0
            .insert(KEY_CSRF, random_token())
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Drops every value and rotates the id: the session starts over as an
    /// anonymous one, and an id planted earlier is worthless.
    pub async fn reset(&self) -> Result<(), SessionError> {
        self.0.clear().await;
        self.0.cycle_id().await.map_err(store_err)
    }

    /// Ends the session: the row is deleted and the cookie cleared.
    pub async fn sign_out(&self) -> Result<(), SessionError> {
        self.0.flush().await.map_err(store_err)
    }

    /// The CSRF token of this session, created on first use.
    pub async fn csrf_token(&self) -> Result<String, SessionError> {
        if let Some(token) = self.0.get::<String>(KEY_CSRF).await.map_err(store_err)? {
            return Ok(token);
        }
        let token = random_token();
        self.0.insert(KEY_CSRF, &token).await.map_err(store_err)?;
        Ok(token)
    }

    /// The token to check a form against, without creating one.
    pub async fn existing_csrf_token(&self) -> Result<Option<String>, SessionError> {
        self.0.get(KEY_CSRF).await.map_err(store_err)
    }

    pub async fn flash(
        &self,
        kind: FlashKind,
        message: impl Into<String>,
    ) -> Result<(), SessionError> {
        let mut flashes: Vec<Flash> = self
            .0
            .get(KEY_FLASH)
            .await
            .map_err(store_err)?
            .unwrap_or_default();
        flashes.push(Flash {
            kind,
            message: message.into(),
        });
        self.0.insert(KEY_FLASH, flashes).await.map_err(store_err)
    }

    pub async fn take_flashes(&self) -> Result<Vec<Flash>, SessionError> {
        // Reading without removing first keeps a page view without flashes
        // from marking the session modified (and so from writing it).
        let has: Option<Vec<Flash>> = self.0.get(KEY_FLASH).await.map_err(store_err)?;
        if has.as_ref().is_none_or(Vec::is_empty) {
            return Ok(Vec::new());
        }
        Ok(self
            .0
            .remove::<Vec<Flash>>(KEY_FLASH)
            .await
            .map_err(store_err)?
            .unwrap_or_default())
    }

    pub async fn sudo_until(&self) -> Result<Option<i64>, SessionError> {
        self.0.get(KEY_SUDO_UNTIL).await.map_err(store_err)
    }

    pub async fn set_sudo_until(&self, until: i64) -> Result<(), SessionError> {
        self.0
            .insert(KEY_SUDO_UNTIL, until)
            .await
            .map_err(store_err)
    }

    pub async fn clear_sudo(&self) -> Result<(), SessionError> {
        self.0
            .remove::<i64>(KEY_SUDO_UNTIL)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// A typed value of the session (for modules with keys of their own).
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, SessionError> {
        self.0.get(key).await.map_err(store_err)
    }

    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), SessionError> {
        self.0.insert(key, value).await.map_err(store_err)
    }

    pub async fn remove(&self, key: &str) -> Result<(), SessionError> {
        self.0.remove_value(key).await.map_err(store_err)?;
        Ok(())
    }

    /// Rotates the session id, keeping its contents (at a privilege change).
    pub async fn rotate_id(&self) -> Result<(), SessionError> {
        self.0.cycle_id().await.map_err(store_err)
    }

    /// The database key of this session, to keep it when revoking the others.
    pub fn id_hash(&self) -> Option<Vec<u8>> {
        self.0.id().map(|id| hash_id(&id))
    }
}
