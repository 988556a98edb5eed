//! The `gatehouse` command: parses the command line and hands over to the
//! library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::{Config, DatabaseArgs};
use gatehouse::db::Db;
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
    /// Create demo users with random passwords, printed once.
    SeedDemo(DatabaseArgs),
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
    },
}

fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("gatehouse=info,tower_http=info,warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
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
        Command::BenchSeedAudit {
            database,
            email,
            events,
        } => bench_seed_audit(&database, &email, events).await,
    }
}

async fn bench_seed_audit(database: &DatabaseArgs, email: &str, events: i64) -> anyhow::Result<()> {
    let db = open(database).await?;
    let started = std::time::Instant::now();
    let n = gatehouse::seed::seed_audit_events(&db, email, events, SystemClock.unix()).await?;
    println!(
        "Inserted {n} audit events for {email} in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(Config::default_from_env())));
    let json = matches!(&command, Command::Serve(c) if c.log_json);
    init_logging(json);
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line; error texts never include the database URL.
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}
