//! Demo data, so a newcomer sees a populated console: a few users with
//! random passwords, printed once.

use crate::auth::PasswordHasher;
use crate::db::Db;
use crate::db::users::{CreateUserError, NewUser};
use crate::domain::{NewPassword, Password};

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

/// Inserts `count` synthetic audit events with the user of `email` as actor,
/// one second apart and ending now, in batches of 10,000 rows inside one
/// transaction (the export benchmark: `gatehouse bench-seed-audit`). Returns
/// how many were inserted.
pub async fn seed_audit_events(db: &Db, email: &str, count: i64, now: i64) -> anyhow::Result<i64> {
    const BATCH: i64 = 10_000;
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
             target_kind, target_id, ip, user_agent, detail) \
             SELECT randomblob(16), $2 + i, $3, $4, 'bench.event', 'user', $5, '192.0.2.10', \
             'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0', \
             '{\"seq\":' || ($6 + i) || '}' FROM n"
        }
        Db::Postgres(_) => {
            "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
             target_kind, target_id, ip, user_agent, detail) \
             SELECT gen_random_uuid(), $2 + i, $3, $4, 'bench.event', 'user', $5, '192.0.2.10', \
             'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0', \
             '{\"seq\":' || ($6 + i) || '}' FROM generate_series(0, $1 - 1) AS i"
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
                .execute(&mut *tx)
                .await?;
            done += n;
        }
    });
    Ok(done)
}
