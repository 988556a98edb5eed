//! The application state every handler receives: the database, the
//! configuration, the clock, the password hasher and the cipher for secrets
//! at rest. Configuration and time come only from here (never a global), so a
//! test can pin both.

use std::sync::Arc;

use crate::auth::passkeys::RelyingParty;
use crate::auth::quota::QuotaLeases;
use crate::auth::{PasswordHasher, secrets};
use crate::cipher::Cipher;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::Db;
use crate::db::flags::{ACCOUNT_REGISTRATION, ORG_CREATION};
use crate::mail::Mailer;

/// Everything a handler may need, cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub passwords: Arc<PasswordHasher>,
    /// Seals and opens TOTP secrets at rest (see `auth::secrets`).
    pub secrets: Arc<Cipher>,
    /// This instance's leases of the `/v1` request quotas (see `auth::quota`).
    pub quotas: Arc<QuotaLeases>,
    /// How queued email leaves (SMTP, or `.eml` files; see `mail`).
    pub mailer: Arc<Mailer>,
    /// The WebAuthn relying party of the public URL (see `auth::passkeys`).
    pub passkeys: Arc<RelyingParty>,
}

impl AppState {
    /// Builds the state over an open, migrated database and applies the
    /// start-up settings that live in it (the registration flag). Refuses a
    /// secret key that does not open the stored secrets, and seals those
    /// stored before encryption at rest.
    pub async fn new(config: Config, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let now = clock.unix();
        db.ensure_flag(ACCOUNT_REGISTRATION, true, now).await?;
        db.ensure_flag(ORG_CREATION, true, now).await?;
        if let Some(open) = config.registration {
            db.set_flag(ACCOUNT_REGISTRATION, open, now).await?;
        }
        let secrets = Arc::new(secrets::unlock(&config, &db, now).await?);
        let passwords = PasswordHasher::new(config.hash_concurrency())?;
        let quotas = Arc::new(QuotaLeases::new(config.api_quota_lease));
        let mailer = Arc::new(Mailer::from_config(&config)?);
        let passkeys = Arc::new(
            RelyingParty::new(&config.public_url())
                .map_err(|e| anyhow::anyhow!("the public URL cannot be a WebAuthn origin: {e}"))?,
        );
        Ok(Self {
            db,
            config: Arc::new(config),
            clock,
            passwords,
            secrets,
            quotas,
            mailer,
            passkeys,
        })
    }
}
