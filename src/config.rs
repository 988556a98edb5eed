//! Configuration, read from flags or `GATEHOUSE_*` environment variables and
//! passed to the application in its state (never a global). Every setting is
//! listed in the README.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path/to/file.db` (the default, created on first
    /// run) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_URL",
        default_value = "sqlite://data/gatehouse.db"
    )]
    pub database_url: String,

    /// Maximum connections in the pool.
    #[arg(long, env = "GATEHOUSE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl DatabaseArgs {
    /// The SQLite file the URL names; `None` for PostgreSQL and for an
    /// in-memory database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let url = &self.database_url;
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let file = path.split('?').next().unwrap_or(path);
        (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// A setting whose value is secret: `Debug` never prints it (the whole
/// `Config` is `Debug`), and `--help` hides its environment value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretText {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// The key that seals TOTP secrets at rest (see `auth::secrets`). Parsed at
/// start-up, not by clap, so that a malformed key gives one clear line and
/// is never echoed back.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SecretKeyArgs {
    /// 32 random bytes in base64 (`openssl rand -base64 32`). Required with
    /// PostgreSQL (every instance needs the same key); with SQLite, when
    /// unset, a key file `secret.key` is created beside the database file.
    #[arg(long, env = "GATEHOUSE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretText>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub keys: SecretKeyArgs,

    /// Address to listen on.
    #[arg(long, env = "GATEHOUSE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The URL people use to reach the console. When it starts with
    /// `https://`, cookies are `Secure` with the `__Host-` prefix and HSTS is
    /// sent. Defaults to `http://localhost:<port of --bind>`.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "GATEHOUSE_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: i64,

    /// Sign a session out this many hours after sign-in, whatever its activity.
    #[arg(long, env = "GATEHOUSE_SESSION_ABSOLUTE_HOURS", default_value_t = 12)]
    pub session_absolute_hours: i64,

    /// Signed-in sessions a user may have at once; a new sign-in beyond it
    /// signs out the user's oldest session.
    #[arg(long, env = "GATEHOUSE_MAX_SESSIONS_PER_USER", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_sessions_per_user: i64,

    /// How long sudo mode lasts after the password is re-entered.
    #[arg(long, env = "GATEHOUSE_SUDO_MINUTES", default_value_t = 15)]
    pub sudo_minutes: i64,

    /// Set the `account-registration` feature flag at start-up. When not
    /// given, the value stored in the database stands (on, for a new database).
    #[arg(long, env = "GATEHOUSE_REGISTRATION")]
    pub registration: Option<bool>,

    /// Consecutive sign-in failures for one account before it is locked for a
    /// growing delay.
    #[arg(long, env = "GATEHOUSE_SIGNIN_MAX_FAILURES", default_value_t = 5)]
    pub signin_max_failures: i64,

    /// Sign-in failures from one IP address within 15 minutes before that
    /// address is throttled.
    #[arg(
        long,
        env = "GATEHOUSE_SIGNIN_MAX_FAILURES_PER_IP",
        default_value_t = 50
    )]
    pub signin_max_failures_per_ip: i64,

    /// Sign-ups allowed from one IP address per hour.
    #[arg(long, env = "GATEHOUSE_SIGNUPS_PER_IP_PER_HOUR", default_value_t = 10)]
    pub signups_per_ip_per_hour: i64,

    /// API keys a user may create or rotate per hour.
    #[arg(long, env = "GATEHOUSE_KEY_ISSUES_PER_HOUR", default_value_t = 10)]
    pub key_issues_per_hour: i64,

    /// Requests one API key may make to `/v1` per minute (across every
    /// instance); beyond it the API answers 429 `rate_limited`.
    #[arg(long, env = "GATEHOUSE_API_REQUESTS_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(i64).range(1..))]
    pub api_requests_per_minute: i64,

    /// Requests one master key may make to `/v1` per minute.
    #[arg(long, env = "GATEHOUSE_MASTER_KEY_REQUESTS_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(i64).range(1..))]
    pub master_key_requests_per_minute: i64,

    /// Requests an instance leases from a key's shared quota in one database
    /// write (see the README on request limits).
    #[arg(long, env = "GATEHOUSE_API_QUOTA_LEASE", default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..))]
    pub api_quota_lease: i64,

    /// Offer "no expiry" when creating an API key (off: every key expires
    /// within 365 days).
    #[arg(
        long,
        env = "GATEHOUSE_ALLOW_KEYS_WITHOUT_EXPIRY",
        default_value_t = false
    )]
    pub allow_keys_without_expiry: bool,

    /// Password hashes computed at once (each takes 19 MiB); defaults to the
    /// number of cores.
    #[arg(long, env = "GATEHOUSE_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// Take the client address from the last `X-Forwarded-For` hop (only
    /// behind a reverse proxy that sets it).
    #[arg(long, env = "GATEHOUSE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Write logs as JSON lines instead of text.
    #[arg(long, env = "GATEHOUSE_LOG_JSON", default_value_t = false)]
    pub log_json: bool,

    /// Seconds a client has to send a request's headers (and an idle
    /// keep-alive connection to start its next request) before the
    /// connection is closed.
    #[arg(long, env = "GATEHOUSE_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_read_timeout_secs: u64,

    /// Open client connections at most; further clients wait in the
    /// listen queue until one closes.
    #[arg(long, env = "GATEHOUSE_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Seconds in-flight requests get to finish after SIGTERM before the
    /// process exits anyway.
    #[arg(long, env = "GATEHOUSE_SHUTDOWN_DRAIN_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub shutdown_drain_secs: u64,

    #[command(flatten)]
    pub mail: MailArgs,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or a trusted network only).
    None,
    /// Plain connection upgraded with STARTTLS (required, never optional).
    Starttls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// Email delivery. With no `--smtp-host`, every message is written as an
/// `.eml` file under `--outbox-dir` instead (the embedded default).
#[derive(Debug, Clone, clap::Args)]
pub struct MailArgs {
    /// The SMTP server to send mail through. Unset: messages are written as
    /// `.eml` files under `--outbox-dir`.
    #[arg(long, env = "GATEHOUSE_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// The SMTP port; defaults to 25 (none), 587 (starttls) or 465 (tls).
    #[arg(long, env = "GATEHOUSE_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// How the SMTP connection is secured: none, starttls or tls.
    #[arg(long, env = "GATEHOUSE_SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,

    /// The SMTP user name, when the server wants credentials.
    #[arg(long, env = "GATEHOUSE_SMTP_USER")]
    pub smtp_user: Option<String>,

    /// The SMTP password (with `--smtp-user`).
    #[arg(long, env = "GATEHOUSE_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<SecretText>,

    /// The sender of every message, e.g. `Gatehouse <no-reply@example.com>`.
    #[arg(
        long,
        env = "GATEHOUSE_MAIL_FROM",
        default_value = "Gatehouse <gatehouse@localhost>"
    )]
    pub mail_from: String,

    /// Where messages are written as `.eml` files when no SMTP host is set.
    #[arg(long, env = "GATEHOUSE_OUTBOX_DIR", default_value = "data/outbox")]
    pub outbox_dir: PathBuf,

    /// Refuse sign-in until the account's email address is verified (the
    /// link emailed at sign-up). Off for the embedded quick start; turn it
    /// on in production.
    #[arg(
        long,
        env = "GATEHOUSE_REQUIRE_EMAIL_VERIFICATION",
        default_value_t = false
    )]
    pub require_email_verification: bool,
}

impl MailArgs {
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

#[derive(Parser)]
struct DefaultsOnly {
    #[command(flatten)]
    config: Config,
}

impl Default for Config {
    /// The documented defaults, without reading flags (tests start here).
    fn default() -> Self {
        DefaultsOnly::parse_from(["gatehouse"]).config
    }
}

impl Config {
    /// The configuration from `GATEHOUSE_*` variables alone (plain
    /// `gatehouse` with no subcommand).
    pub fn default_from_env() -> Self {
        DefaultsOnly::parse_from(["gatehouse"]).config
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://localhost:{}", self.bind.port()),
        }
    }

    /// Whether the console is served over TLS (directly or behind a proxy).
    pub fn is_https(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.is_https() {
            "__Host-gatehouse_session"
        } else {
            "gatehouse_session"
        }
    }

    pub fn hash_concurrency(&self) -> usize {
        self.hash_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        })
    }
}
