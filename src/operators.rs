//! What the `gatehouse operator …` commands do: grant and revoke the operator
//! flag, create, rotate and list master keys. These exist only on the command
//! line — whoever runs them already controls the server and its database —
//! and each is audited with the actor `system`.

use serde_json::json;

use crate::auth::api_key::{self, Token};
use crate::authz::PlatformScope;
use crate::db::Db;
use crate::db::audit::{Actor, NewEvent, Origin};
use crate::db::master_keys::MasterKey;
use crate::domain::Email;

/// Longest lifetime of a master key.
pub const MAX_MASTER_KEY_DAYS: i64 = 365;
const DAY: i64 = 86_400;

async fn audit(
    db: &Db,
    action: &str,
    target_kind: &str,
    target_id: String,
    detail: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    db.record_event(
        NewEvent {
            actor: &Actor::System,
            action,
            target_kind: Some(target_kind),
            target_id: Some(target_id),
            org_id: None,
            origin: &Origin {
                ip: None,
                user_agent: Some("gatehouse command line".into()),
            },
            detail,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Sets or clears the operator flag of the user with this email.
pub async fn set_operator(db: &Db, email: &str, operator: bool, now: i64) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let Some(id) = db
        .set_operator(
            &PlatformScope::for_command_line(),
            email.as_str(),
            operator,
            now,
        )
        .await?
    else {
        anyhow::bail!(
            "no user has the email address {email}; they must sign up (or be created) first"
        );
    };
    let action = if operator {
        "operator.granted"
    } else {
        "operator.revoked"
    };
    audit(
        db,
        action,
        "user",
        id.to_string(),
        json!({ "email": email.as_str() }),
        now,
    )
    .await
}

/// A newly created or rotated master key: the token is shown once.
#[derive(Debug)]
pub struct IssuedMasterKey {
    pub public_id: String,
    pub token: Token,
    pub expires_at: i64,
}

pub fn check_master_key_name(name: &str) -> anyhow::Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        anyhow::bail!("a master key needs a name of 1 to 100 characters on one line");
    }
    Ok(n.to_owned())
}

pub async fn create_master_key(
    db: &Db,
    name: &str,
    expires_days: i64,
    now: i64,
) -> anyhow::Result<IssuedMasterKey> {
    let name = check_master_key_name(name)?;
    if !(1..=MAX_MASTER_KEY_DAYS).contains(&expires_days) {
        anyhow::bail!("--expires-days must be between 1 and {MAX_MASTER_KEY_DAYS}");
    }
    let issued = api_key::issue();
    let expires_at = now + expires_days * DAY;
    let id = db
        .create_master_key(
            &PlatformScope::for_command_line(),
            &issued.public_id,
            &name,
            &issued.digest,
            expires_at,
            now,
        )
        .await?;
    audit(
        db,
        "master_key.created",
        "master_key",
        id.to_string(),
        json!({
            "name": name,
            "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
            "expires_at": expires_at,
        }),
        now,
    )
    .await?;
    Ok(IssuedMasterKey {
        public_id: issued.public_id,
        token: issued.token,
        expires_at,
    })
}

/// Gives a master key a new secret; the old one stops working at once.
pub async fn rotate_master_key(
    db: &Db,
    public_id: &str,
    now: i64,
) -> anyhow::Result<IssuedMasterKey> {
    let public_id = public_id
        .trim()
        .strip_prefix(api_key::PREFIX)
        .unwrap_or(public_id.trim());
    let Some(key) = db
        .find_master_key(&PlatformScope::for_command_line(), public_id)
        .await?
    else {
        anyhow::bail!("no master key has the public id {public_id}");
    };
    let issued = api_key::issue_for(&key.public_id);
    if !db
        .rotate_master_key(
            &PlatformScope::for_command_line(),
            key.id,
            &issued.digest,
            now,
        )
        .await?
    {
        anyhow::bail!("only an active master key can be rotated (this one is revoked or expired)");
    }
    audit(
        db,
        "master_key.rotated",
        "master_key",
        key.id.to_string(),
        json!({ "name": key.name, "prefix": key.prefix() }),
        now,
    )
    .await?;
    Ok(IssuedMasterKey {
        public_id: issued.public_id,
        token: issued.token,
        expires_at: key.expires_at,
    })
}

pub async fn list_master_keys(db: &Db) -> anyhow::Result<Vec<MasterKey>> {
    Ok(db
        .list_master_keys(&PlatformScope::for_command_line())
        .await?)
}
