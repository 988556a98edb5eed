//! Demo data, so a newcomer sees a populated console: a few users with
//! random passwords, printed once.

use crate::auth::PasswordHasher;
use crate::db::Db;
use crate::db::users::{CreateUserError, NewUser};
use crate::domain::{BuiltinRole, NewPassword, Password};

pub struct DemoAccount {
    pub email: &'static str,
    pub display_name: &'static str,
    pub password: String,
}

const PEOPLE: &[(&str, &str)] = &[
    ("ada@demo.gatehouse.test", "Ada Lovelace"),
    ("grace@demo.gatehouse.test", "Grace Hopper"),
    ("alan@demo.gatehouse.test", "Alan Turing"),
    ("katherine@demo.gatehouse.test", "Katherine Johnson"),
];

fn random_password() -> String {
    let a: u128 = rand::random();
    format!("demo-{}", &base62::encode(a)[..16])
}

/// Creates the demo users that do not exist yet and returns their
/// credentials (existing ones are left alone and not listed).
pub async fn seed_demo(db: &Db, now: i64) -> anyhow::Result<Vec<DemoAccount>> {
    let hasher = PasswordHasher::new(2)?;
    let mut created = Vec::new();
    for (email, name) in PEOPLE {
        let password = random_password();
        let checked = NewPassword::parse(&Password::new(password.clone()), &[])
            .map_err(|e| anyhow::anyhow!(e))?;
        let hash = hasher.hash(&checked).await?;
        match db
            .create_user(
                NewUser {
                    email,
                    password_hash: &hash,
                    display_name: name,
                },
                // Demo data: no one acted, so there is nothing to audit.
                |_| Vec::new(),
                now,
            )
            .await
        {
            Ok(_) => created.push(DemoAccount {
                email,
                display_name: name,
                password,
            }),
            Err(CreateUserError::EmailTaken) => {}
            Err(CreateUserError::Db(e)) => return Err(e.into()),
        }
    }
    Ok(created)
}

/// Adds the demo users to a "Demo Co" organization (Ada owns it) with two
/// teams holding roles on its `default` workspace, unless it exists already.
pub async fn seed_demo_org(db: &Db, now: i64) -> anyhow::Result<bool> {
    use crate::db::{in_tx, on_pool};
    let exists: Option<uuid::Uuid> = on_pool!(db, |pool| {
        sqlx::query_scalar("SELECT id FROM orgs WHERE slug = 'demo-co'")
            .fetch_optional(pool)
            .await
    })?;
    if exists.is_some() {
        return Ok(false);
    }
    let org = uuid::Uuid::now_v7();
    let teams = [
        (uuid::Uuid::now_v7(), "Research"),
        (uuid::Uuid::now_v7(), "Platform"),
    ];
    in_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, 'demo-co', 'Demo Co', $2)",
        )
        .bind(org)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (i, (email, _)) in PEOPLE.iter().enumerate() {
            let role = if i == 0 { "owner" } else { "member" };
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) \
                 SELECT $1, id, $2, lower(display_name), email, $3 FROM users WHERE email = $4",
            )
            .bind(org)
            .bind(role)
            .bind(now)
            .bind(*email)
            .execute(&mut *tx)
            .await?;
        }
        for (id, name) in teams {
            sqlx::query("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(org)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        // Every org starts with its `default` workspace; Research creates
        // there and Platform runs (the roles are the teams', not the people's).
        let workspace = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO workspaces (id, org_id, slug, name, created_at) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(workspace)
        .bind(org)
        .bind(crate::db::workspaces::DEFAULT_WORKSPACE)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for ((team, _), role) in teams
            .iter()
            .zip([BuiltinRole::Creator, BuiltinRole::Runner])
        {
            sqlx::query(
                "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(workspace)
            .bind(*team)
            .bind(org)
            .bind(role.id())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for (i, (email, _)) in PEOPLE.iter().enumerate().skip(1) {
            let (team, _) = teams[i % 2];
            sqlx::query(
                "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
                 SELECT $1, $2, id, $3 FROM users WHERE email = $4",
            )
            .bind(team)
            .bind(org)
            .bind(now)
            .bind(*email)
            .execute(&mut *tx)
            .await?;
        }
    });
    Ok(true)
}

/// Benchmark data: an org `bench` with `members` members (who cannot sign
/// in) and one owner who can; returns the owner's email and password.
pub async fn seed_bench(
    db: &Db,
    members: usize,
    agents: usize,
    now: i64,
) -> anyhow::Result<(String, String)> {
    use crate::db::{in_tx, on_pool};
    let hasher = PasswordHasher::new(2)?;
    let password = random_password();
    let checked = NewPassword::parse(&Password::new(password.clone()), &[])
        .map_err(|e| anyhow::anyhow!(e))?;
    let hash = hasher.hash(&checked).await?;
    let email = format!(
        "bench-owner-{}@bench.gatehouse.test",
        base62::encode(rand::random::<u64>()).to_lowercase()
    );
    let owner = db
        .create_user(
            NewUser {
                email: &email,
                password_hash: &hash,
                display_name: "Bench Owner",
            },
            |_| Vec::new(),
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let org = uuid::Uuid::now_v7();
    let slug = format!(
        "bench-{}",
        base62::encode(rand::random::<u32>()).to_lowercase()
    );
    on_pool!(db, |pool| {
        sqlx::query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, 'Bench', $3)")
            .bind(org)
            .bind(&slug)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) \
             VALUES ($1, $2, 'owner', 'bench owner', $3, $4)",
        )
        .bind(org)
        .bind(owner.id)
        .bind(&email)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    const FIRST: &[&str] = &[
        "Ada",
        "Grace",
        "Alan",
        "Katherine",
        "Edsger",
        "Barbara",
        "Donald",
        "Frances",
        "John",
        "Margaret",
    ];
    const LAST: &[&str] = &[
        "Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen",
        "Backus", "Hamilton",
    ];
    for chunk in (0..members).collect::<Vec<_>>().chunks(5_000) {
        in_tx!(db, |tx| {
            for &i in chunk {
                let id = uuid::Uuid::now_v7();
                let name = format!("{} {} {i:06}", FIRST[i % 10], LAST[(i / 10) % 10]);
                let member_email = format!("member{i:06}@{slug}.test");
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, display_name, created_at, updated_at) \
                     VALUES ($1, $2, '!', $3, $4, $4)",
                )
                .bind(id)
                .bind(&member_email)
                .bind(&name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) \
                     VALUES ($1, $2, 'member', $3, $4, $5)",
                )
                .bind(org)
                .bind(id)
                .bind(name.to_lowercase())
                .bind(&member_email)
                .bind(now + i as i64)
                .execute(&mut *tx)
                .await?;
            }
        });
    }
    let workspace = uuid::Uuid::now_v7();
    on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO workspaces (id, org_id, slug, name, created_at) \
             VALUES ($1, $2, 'default', 'default', $3)",
        )
        .bind(workspace)
        .bind(org)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    for chunk in (0..agents).collect::<Vec<_>>().chunks(5_000) {
        in_tx!(db, |tx| {
            for &i in chunk {
                sqlx::query(
                    "INSERT INTO resources (id, org_id, workspace_id, kind, name, description, \
                     config, created_by, created_at, updated_by, updated_at) \
                     VALUES ($1, $2, $3, 'agent', $4, 'A benchmark agent.', \
                     '{\"model\":\"bench-model\",\"instructions\":\"Answer briefly.\"}', \
                     $5, $6, $5, $6)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(org)
                .bind(workspace)
                .bind(format!("agent-{i:06}"))
                .bind(&email)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        });
    }
    Ok((email, format!("{password} (org /orgs/{slug})")))
}

/// Inserts `count` synthetic audit events with the user of `email` as actor,
/// one second apart and ending now, in batches of 10,000 rows inside one
/// transaction (the export benchmark: `gatehouse bench-seed-audit`). Returns
/// how many were inserted.
pub async fn seed_audit_events(db: &Db, email: &str, count: i64, now: i64) -> anyhow::Result<i64> {
    seed_audit_events_in(db, email, None, count, now).await
}

/// As [`seed_audit_events`], with the events in the audit log of the org
/// `org_slug` when given (the org audit benchmark, `bench/run.sh`).
pub async fn seed_audit_events_in(
    db: &Db,
    email: &str,
    org_slug: Option<&str>,
    count: i64,
    now: i64,
) -> anyhow::Result<i64> {
    const BATCH: i64 = 10_000;
    let org: Option<uuid::Uuid> = match org_slug {
        None => None,
        Some(slug) => Some(
            crate::db::on_pool!(db, |pool| {
                sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(pool)
                    .await
            })?
            .ok_or_else(|| anyhow::anyhow!("no org with the slug {slug}"))?,
        ),
    };
    let creds = db
        .find_credentials_by_email(email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with the email {email}"))?;
    let uid = creds.id.to_string();
    let first = now - count;
    // One statement per batch generates its rows in SQL: no per-row round
    // trip, and the same shape of row as the application writes.
    let sql: &'static str = match db {
        Db::Sqlite(_) => {
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
             INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
             target_kind, target_id, ip, user_agent, detail, org_id) \
             SELECT randomblob(16), $2 + i, $3, $4, 'bench.event', 'user', $5, '192.0.2.10', \
             'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0', \
             '{\"seq\":' || ($6 + i) || '}', $7 FROM n"
        }
        Db::Postgres(_) => {
            "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
             target_kind, target_id, ip, user_agent, detail, org_id) \
             SELECT gen_random_uuid(), $2 + i, $3, $4, 'bench.event', 'user', $5, '192.0.2.10', \
             'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0', \
             '{\"seq\":' || ($6 + i) || '}', $7 \
             FROM generate_series(0, $1 - 1) AS i"
        }
    };
    let mut done = 0;
    crate::db::in_tx!(db, |tx| {
        while done < count {
            let n = BATCH.min(count - done);
            sqlx::query(sql)
                .bind(n)
                .bind(first + done)
                .bind(creds.id)
                .bind(email)
                .bind(&uid)
                .bind(done)
                .bind(org)
                .execute(&mut *tx)
                .await?;
            done += n;
        }
    });
    Ok(done)
}
