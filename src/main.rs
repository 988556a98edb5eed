//! The `gatehouse` command: parses the command line and hands over to the
//! library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::{Config, DatabaseArgs, SecretKeyArgs, SecretText};
use gatehouse::db::Db;
use gatehouse::operators;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "The account and access console")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the console (the default): applies migrations, then listens.
    Serve(Box<Config>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create demo users with random passwords, printed once, and a demo
    /// organization with teams.
    SeedDemo(DatabaseArgs),
    /// Create a benchmark organization with many members (not for production).
    SeedBench {
        #[command(flatten)]
        db: DatabaseArgs,
        /// How many members.
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        /// How many agents in the org's `default` workspace.
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
    },
    /// Benchmark data: add synthetic audit events for an existing user (to
    /// measure the data export on a large history).
    BenchSeedAudit {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// How many events to add.
        #[arg(long, default_value_t = 1_000_000)]
        events: i64,
        /// Put the events in this org's audit log (its slug), for the org
        /// audit benchmark.
        #[arg(long)]
        org: Option<String>,
    },
    /// Platform operators and master keys (only from here, never the web).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Re-encrypt every stored TOTP secret under a new secret key, in one
    /// transaction. Stop every instance first, then start them with the new
    /// key (with the key file, the file is replaced).
    Rekey {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The current key (`--secret-key` / `GATEHOUSE_SECRET_KEY`, else
        /// the key file).
        #[command(flatten)]
        keys: SecretKeyArgs,
        /// The new key: 32 random bytes in base64 (`openssl rand -base64 32`).
        #[arg(long, env = "GATEHOUSE_NEW_SECRET_KEY", hide_env_values = true)]
        new_secret_key: SecretText,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Make the user with this email a platform operator.
    Grant {
        email: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Take the operator flag away from the user with this email.
    Revoke {
        email: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Platform-level API keys for automation against `/v1/admin`.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// An organization's SCIM tokens (owners make them in the org's settings).
    #[command(subcommand)]
    ScimToken(ScimTokenCommand),
}

#[derive(Subcommand)]
enum ScimTokenCommand {
    /// Create a SCIM token of an organization; only the token is printed
    /// on stdout, once.
    Create {
        /// The organization's address (`/orgs/{slug}`).
        #[arg(long)]
        org: String,
        /// What uses the token (the audit log names its actions so), e.g. "Okta".
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum MasterKeyCommand {
    /// Create a master key; its secret is printed once.
    Create {
        /// What uses the key, e.g. "provisioning job".
        #[arg(long)]
        name: String,
        /// Days until the key expires (1 to 365).
        #[arg(long, default_value_t = 90)]
        expires_days: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Give a master key a new secret (printed once); the old one stops
    /// working at once.
    Rotate {
        /// The key's public id (the 12 characters after `gtk_`).
        public_id: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List master keys (metadata only).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// Sets up the log on stdout and returns the guard of its writer thread,
/// which must live as long as `main` (dropping it flushes what is queued).
///
/// Lines are formatted on the request's thread but written by a dedicated
/// thread (`tracing-appender`), so a request never waits on the stdout pipe:
/// the access log was a synchronous write per request, about half the cost of
/// `/healthz`. The queue is not lossy: if stdout falls 128,000 lines behind,
/// requests wait for it rather than lose lines an operator may need.
/// Colour codes only when stdout is a terminal, never into a log file or a
/// collector.
fn init_logging(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("gatehouse=info,tower_http=info,warn"));
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("gatehouse-log")
        .finish(std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

async fn open(args: &DatabaseArgs) -> anyhow::Result<Db> {
    let db = Db::connect(&args.database_url, args.db_max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => gatehouse::serve(*config).await,
        Command::Migrate(args) => {
            open(&args).await?;
            println!("Migrations applied.");
            Ok(())
        }
        Command::SeedDemo(args) => {
            let db = open(&args).await?;
            let created = gatehouse::seed::seed_demo(&db, SystemClock.unix()).await?;
            if gatehouse::seed::seed_demo_org(&db, SystemClock.unix()).await? {
                println!(
                    "Created the organization Demo Co (/orgs/demo-co), owned by Ada, with two teams."
                );
            }
            if created.is_empty() {
                println!(
                    "The demo users exist already (their passwords were shown when they were created)."
                );
            } else {
                println!("Demo users created. These passwords are shown only now:\n");
                for a in &created {
                    println!("  {:<32} {:<20} {}", a.email, a.display_name, a.password);
                }
            }
            Ok(())
        }
        Command::SeedBench {
            db,
            members,
            agents,
        } => {
            let db = open(&db).await?;
            let started = std::time::Instant::now();
            let (email, password) =
                gatehouse::seed::seed_bench(&db, members, agents, SystemClock.unix()).await?;
            println!(
                "Seeded {members} members and {agents} agents in {:.1} s. Owner: {email} / {password}",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Operator(command) => run_operator(command).await,
        Command::Rekey {
            db,
            keys,
            new_secret_key,
        } => {
            // Refuse a missing or malformed key before migrating anything.
            gatehouse::auth::secrets::resolve_key(&db, &keys)?;
            let database = open(&db).await?;
            let done = gatehouse::auth::secrets::rekey(
                &database,
                &db,
                &keys,
                &new_secret_key,
                SystemClock.unix(),
            )
            .await?;
            println!(
                "Re-encrypted {} TOTP secrets under the new key.",
                done.secrets
            );
            match done.key_file {
                Some(path) => println!("The new key is in {}; back it up.", path.display()),
                None => println!(
                    "Start every instance with the new GATEHOUSE_SECRET_KEY; the old key no \
                     longer opens anything."
                ),
            }
            Ok(())
        }
        Command::BenchSeedAudit {
            database,
            email,
            events,
            org,
        } => bench_seed_audit(&database, &email, org.as_deref(), events).await,
    }
}

async fn bench_seed_audit(
    database: &DatabaseArgs,
    email: &str,
    org: Option<&str>,
    events: i64,
) -> anyhow::Result<()> {
    let db = open(database).await?;
    let started = std::time::Instant::now();
    let n =
        gatehouse::seed::seed_audit_events_in(&db, email, org, events, SystemClock.unix()).await?;
    println!(
        "Inserted {n} audit events for {email} in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_master_key(issued: &operators::IssuedMasterKey, verb: &str) {
    println!(
        "Master key {verb}. This secret is shown only now; store it in your secret manager:\n"
    );
    println!("  {}\n", issued.token.expose());
    println!(
        "Public id: {}   expires: {}",
        issued.public_id,
        gatehouse::web::timefmt::Timestamp::new(issued.expires_at, issued.expires_at).utc
    );
}

async fn run_operator(command: OperatorCommand) -> anyhow::Result<()> {
    let now = SystemClock.unix();
    match command {
        OperatorCommand::Grant { email, db } => {
            operators::set_operator(&open(&db).await?, &email, true, now).await?;
            println!(
                "{email} is now a platform operator. They sign in, enter sudo mode and open /ops."
            );
        }
        OperatorCommand::Revoke { email, db } => {
            operators::set_operator(&open(&db).await?, &email, false, now).await?;
            println!("{email} is no longer a platform operator.");
        }
        OperatorCommand::MasterKey(MasterKeyCommand::Create {
            name,
            expires_days,
            db,
        }) => {
            let issued =
                operators::create_master_key(&open(&db).await?, &name, expires_days, now).await?;
            print_master_key(&issued, "created");
        }
        OperatorCommand::MasterKey(MasterKeyCommand::Rotate { public_id, db }) => {
            let issued = operators::rotate_master_key(&open(&db).await?, &public_id, now).await?;
            print_master_key(&issued, "rotated (the previous secret no longer works)");
        }
        OperatorCommand::ScimToken(ScimTokenCommand::Create { org, name, db }) => {
            let issued = operators::create_scim_token(&open(&db).await?, &org, &name, now).await?;
            // The token alone on stdout, so a script can capture it.
            println!("{}", issued.token.expose());
            eprintln!(
                "SCIM token {}{} created for {org}; it is shown only now.",
                gatehouse::auth::api_key::PREFIX,
                issued.public_id
            );
        }
        OperatorCommand::MasterKey(MasterKeyCommand::List { db }) => {
            let keys = operators::list_master_keys(&open(&db).await?).await?;
            if keys.is_empty() {
                println!("No master keys.");
            }
            for k in keys {
                println!(
                    "{:<20} {:<14} {:<32} {}",
                    k.prefix(),
                    k.status(now).label(),
                    k.name,
                    gatehouse::web::timefmt::Timestamp::new(k.expires_at, now).utc
                );
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(Config::default_from_env())));
    let json = matches!(&command, Command::Serve(c) if c.log_json);
    // Held to the end of main, so queued log lines are written before exit.
    let _log_guard = init_logging(json);
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line; error texts never include the database URL.
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}
