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
