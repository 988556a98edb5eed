//! Authentication: password hashing, the session store and the typed session
//! on top of it, CSRF tokens and the sign-in throttle.

pub mod api_key;
pub mod csrf;
pub mod password;
pub mod session;
pub mod store;
pub mod throttle;

pub use password::PasswordHasher;
pub use session::AppSession;
pub use store::DbSessionStore;
