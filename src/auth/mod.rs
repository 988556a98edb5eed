//! Authentication: password hashing, the session store and the typed session
//! on top of it, CSRF tokens, the rate-limit catalogue and its counters,
//! re-authentication of a signed-in user, the second factor (TOTP, backup
//! codes and the flows' session state), passkeys (WebAuthn ceremonies), and the key that seals TOTP secrets
//! at rest.

pub mod api_key;
pub mod backup_codes;
pub mod csrf;
pub mod devices;
pub mod limits;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod quota;
pub mod reauth;
pub mod secrets;
pub mod session;
pub mod store;
pub mod throttle;
pub mod totp;

pub use password::PasswordHasher;
pub use session::AppSession;
pub use store::DbSessionStore;
