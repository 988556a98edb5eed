//! What the `gatehouse operator …` commands do: grant and revoke the operator
//! flag, create, rotate and list master keys, make an org's SCIM token. These exist only on the command
//! line — whoever runs them already controls the server and its database —
//! and each is audited with the actor `system`.

use serde_json::json;

use crate::auth::api_key::{self, Token};
use crate::authz::PlatformScope;
use crate::db::Db;
use crate::db::audit::{Actor, Event, Origin};
use crate::db::master_keys::MasterKey;
use crate::domain::Email;

/// Longest lifetime of a master key.
pub const MAX_MASTER_KEY_DAYS: i64 = 365;
const DAY: i64 = 86_400;

/// Who acts on the command line: `system`, from the command line (whoever
/// runs it already controls the server and its database).
fn by_command_line(action: &'static str) -> Event {
    Event::by(Actor::System).did(action).from(&Origin {
        ip: None,
        user_agent: Some("gatehouse command line".into()),
        request_id: None,
    })
}

/// Sets or clears the operator flag of the user with this email.
pub async fn set_operator(db: &Db, email: &str, operator: bool, now: i64) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let action = if operator {
        "operator.granted"
    } else {
        "operator.revoked"
    };
    let changed = |id| {
        by_command_line(action)
            .on("user", id)
            .detail(json!({ "email": email.as_str() }))
    };
    if db
        .set_operator(
            &PlatformScope::for_command_line(),
            email.as_str(),
            operator,
            changed,
            now,
        )
        .await?
        .is_none()
    {
        anyhow::bail!(
            "no user has the email address {email}; they must sign up (or be created) first"
        );
    }
    Ok(())
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
    let created = |id| {
        by_command_line("master_key.created")
            .on("master_key", id)
            .detail(json!({
                "name": name,
                "prefix": format!("{}{}", api_key::PREFIX, issued.public_id),
                "expires_at": expires_at,
            }))
    };
    db.create_master_key(
        &PlatformScope::for_command_line(),
        &issued.public_id,
        &name,
        &issued.digest,
        expires_at,
        created,
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
    let rotated = by_command_line("master_key.rotated")
        .on("master_key", key.id)
        .detail(json!({ "name": key.name, "prefix": key.prefix() }));
    if !db
        .rotate_master_key(
            &PlatformScope::for_command_line(),
            key.id,
            &issued.digest,
            rotated,
            now,
        )
        .await?
    {
        anyhow::bail!("only an active master key can be rotated (this one is revoked or expired)");
    }
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

/// A SCIM token made on the command line: the token is shown once.
#[derive(Debug)]
pub struct IssuedScimToken {
    pub public_id: String,
    pub token: Token,
}

/// Makes a SCIM token of the org with this slug, as an owner does on the
/// org's SCIM settings page (for automation, e.g. CI's SCIM compliance run).
pub async fn create_scim_token(
    db: &Db,
    slug: &str,
    name: &str,
    now: i64,
) -> anyhow::Result<IssuedScimToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        anyhow::bail!("a SCIM token needs a name of 1 to 100 characters on one line");
    }
    let issued = api_key::issue();
    let prefix = format!("{}{}", api_key::PREFIX, issued.public_id);
    let created = |id, org_id| {
        by_command_line("scim_token.created")
            .on("scim_token", id)
            .in_org_by_platform(&PlatformScope::for_command_line(), org_id)
            .detail(json!({ "name": name, "prefix": prefix }))
    };
    if db
        .create_scim_token_by_platform(
            &PlatformScope::for_command_line(),
            slug.trim(),
            name,
            &issued.public_id,
            &issued.digest,
            created,
            now,
        )
        .await?
        .is_none()
    {
        anyhow::bail!("no organization has the address {}", slug.trim());
    }
    Ok(IssuedScimToken {
        public_id: issued.public_id,
        token: issued.token,
    })
}
