//! Storage on two engines behind one interface.
//!
//! `Db` holds either a SQLite or a PostgreSQL pool. Queries are methods on
//! `Db`, one module per aggregate; the `on_pool!` macro runs the same SQL text
//! against whichever pool is live (sqlx accepts `$1` placeholders on both), and
//! where the engines differ a method matches on the variant and writes two.
//! Every instant that SQL compares is stored as unix seconds.
//!
//! Write transactions on SQLite begin `IMMEDIATE`: a deferred transaction that
//! reads and then writes fails with "database is locked" under concurrency.

pub mod audit;
pub mod bundles;
pub mod deletion;
pub mod devices;
pub mod email_changes;
pub mod flags;
pub mod grants;
pub mod invitations;
pub mod keys;
pub mod leaks;
pub mod master_keys;
pub mod members;
pub mod mfa;
pub mod org_lifecycle;
pub mod orgs;
pub mod outbox;
pub mod passkeys;
pub mod platform;
pub mod platform_orgs;
pub mod policies;
pub mod prefs;
pub mod quota_leases;
pub mod rate_limits;
pub mod recovery;
pub mod resources;
pub mod roles;
pub mod runs;
pub mod scim;
pub mod scim_groups;
pub mod service_accounts;
pub mod sessions;
pub mod support;
pub mod teams;
pub mod users;
pub mod workspaces;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqlitePool};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the live pool; the body is written once
/// and compiled for each engine.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` inside a write transaction bound to `$tx` and commits it when
/// the body finishes without `?` returning early (an early return rolls back).
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use in_tx;

/// Runs one statement `$query` on the pool and evaluates to how many rows it
/// changed, `Result<u64, sqlx::Error>`: the two engines' results differ in
/// type, and the count is what they share.
macro_rules! execute {
    ($db:expr, $query:expr) => {
        $crate::db::on_pool!($db, |pool| $query
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
    };
}
pub(crate) use execute;

/// Whether `e` means the database cannot be reached right now (a pool that
/// timed out or closed, a broken connection), rather than a fault of the
/// request: the console answers those with 503 and `Retry-After`.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// The start of the text of an outage that crossed a boundary keeping only
/// text (the session store's errors).
pub const OUTAGE_MARK: &str = "database unavailable: ";

/// Whether an outage of the database (`is_unavailable`) is anywhere in the
/// chain of causes of `err`.
pub fn outage_in(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_unavailable)
            || cause.to_string().contains(OUTAGE_MARK)
    })
}

/// How long a client is asked to wait during a database outage.
pub const OUTAGE_RETRY_AFTER_SECS: u64 = 5;

/// Why the database could not be opened; the message names the problem and
/// never the credentials in the URL.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL: it must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("cannot create the database directory {path}: {reason}")]
    CreateDir {
        path: String,
        reason: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error(
        "the database schema is at migration {0}, which this version of Gatehouse does not know; \
         run a newer Gatehouse"
    )]
    SchemaTooNew(i64),
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
}

/// Redacts what a driver error might carry of the URL (user, password, host).
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => format!("connection failed ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS negotiation failed".to_owned(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_owned(),
        sqlx::Error::Database(db) => {
            // Database messages ("database \"x\" does not exist", "password
            // authentication failed for user") are the useful part and carry
            // no password.
            db.message().to_owned()
        }
        sqlx::Error::Configuration(_) => "invalid connection settings".to_owned(),
        other => {
            let text = other.to_string();
            text.split("://").next().unwrap_or("error").to_owned()
        }
    }
}

impl Db {
    /// Opens the database named by `url`, creating a SQLite file (and its
    /// directory) when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let file = path.split('?').next().unwrap_or(path);
            if let Some(dir) = std::path::Path::new(file).parent()
                && !dir.as_os_str().is_empty()
                && file != ":memory:"
            {
                std::fs::create_dir_all(dir).map_err(|reason| ConnectError::CreateDir {
                    path: dir.display().to_string(),
                    reason,
                })?;
            }
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(describe(&e)))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(|e| ConnectError::Open(describe(&e)))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(describe(&e)))?;
            // One direct attempt first: a pool only reports "timed out", while
            // the connection itself says what is wrong (refused, unknown
            // database, authentication failed).
            sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(|e| ConnectError::Open(describe(&e)))?
                .close()
                .await
                .map_err(|e| ConnectError::Open(describe(&e)))?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(|e| ConnectError::Open(describe(&e)))?;
            Ok(Db::Postgres(pool))
        } else {
            Err(ConnectError::UnsupportedUrl)
        }
    }

    /// Applies the embedded migrations of the live engine. A database that has
    /// migrations this binary does not know is refused, not modified.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        let result = match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|e| match e {
            MigrateError::VersionMissing(v) => ConnectError::SchemaTooNew(v),
            MigrateError::VersionTooNew(v, _) => ConnectError::SchemaTooNew(v),
            MigrateError::Execute(e) => ConnectError::Migrate(describe(&e)),
            other => ConnectError::Migrate(other.to_string()),
        })
    }

    /// `/readyz`: one round trip to the database.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        execute!(self, sqlx::query("SELECT 1"))?;
        Ok(())
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
