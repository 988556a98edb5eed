//! Account deletion: what it will remove, what blocks it, and the erasure
//! itself, in **one transaction** — a crash or an error at any step leaves the
//! account fully present (nothing is committed) or fully gone.
//!
//! The user row is deleted, not tombstoned, so the email address is free to
//! sign up again and no personal field lingers in a half-empty row. The audit
//! trail stays, but refers to a pseudonym: a random UUID `P` that replaces the
//! user's id as actor (`actor_id = P`, `actor_label = "deleted-user-P"`) and
//! as target (`target_id = "P"`; a failed sign-in's typed email becomes
//! `"deleted-user-P"`), and free text the person wrote (a key's name) is
//! removed from the events' details. The events of the former account remain
//! linkable to each other, and to no one. Addresses and user agents stay in
//! the trail: it is the security record of what happened, kept as before.

use uuid::Uuid;

use super::audit::Origin;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

/// An organization whose only owner is the user: it must get another owner
/// (or be deleted) before the account can go.
#[derive(Debug, Clone)]
pub struct BlockingOrganization {
    pub slug: String,
    pub name: String,
}

/// What a deletion removed, for the audit event and the confirmation.
#[derive(Debug, Clone)]
pub struct DeletedAccount {
    pub pseudonym: Uuid,
    pub sessions_revoked: u64,
    pub keys_deleted: u64,
}

impl DeletedAccount {
    pub fn label(&self) -> String {
        pseudonym_label(self.pseudonym)
    }
}

/// The orgs where the user is the only owner.
const SOLE_OWNER_ORGS: &str = "SELECT o.slug, o.name FROM memberships m JOIN orgs o ON o.id = m.org_id \
     WHERE m.user_id = $1 AND m.role = 'owner' AND NOT EXISTS (SELECT 1 FROM memberships x \
     WHERE x.org_id = m.org_id AND x.role = 'owner' AND x.user_id <> m.user_id) ORDER BY o.name";

pub fn pseudonym_label(pseudonym: Uuid) -> String {
    format!("deleted-user-{pseudonym}")
}

impl Db {
    /// The organizations where the user is the only owner, which block the
    /// deletion of the account.
    ///
    /// An org must keep an owner: the person first makes someone else an
    /// owner (or leaves the org to its other owners). `delete_account`
    /// repeats the check inside its transaction.
    pub async fn organizations_blocking_deletion(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<BlockingOrganization>, sqlx::Error> {
        let rows: Vec<(String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(SOLE_OWNER_ORGS)
                .bind(user.id())
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(slug, name)| BlockingOrganization { slug, name })
            .collect())
    }

    /// Erases the account of `user` in one transaction: every session
    /// (including a pending MFA sign-in that names the user), every API key,
    /// the MFA secret and backup codes, the notification preferences, the
    /// user's rate-limit counters and the user row itself; pseudonymises the
    /// audit trail and records `account.deleted` under the pseudonym.
    /// `None` (and nothing changed) when the user no longer exists.
    pub async fn delete_account(
        &self,
        user: &CurrentUser,
        origin: &Origin,
        now: i64,
    ) -> Result<Option<DeletedAccount>, sqlx::Error> {
        let pseudonym = Uuid::new_v4();
        let label = pseudonym_label(pseudonym);
        let uid = user.id().to_string();
        // A pending MFA sign-in is an anonymous session whose record names the
        // user (the record is MessagePack; the id is stored as text in it).
        let pending_sql: &'static str = match self {
            Db::Sqlite(_) => "DELETE FROM sessions WHERE user_id IS NULL AND instr(data, $1) > 0",
            Db::Postgres(_) => {
                "DELETE FROM sessions WHERE user_id IS NULL AND position($1 in data) > 0"
            }
        };
        let deleted = in_tx!(self, |tx| {
            // An org must keep an owner: checked again inside the
            // transaction (an owner may have stepped down meanwhile).
            let blocking: Vec<(String, String)> = sqlx::query_as(SOLE_OWNER_ORGS)
                .bind(user.id())
                .fetch_all(&mut *tx)
                .await?;
            if !blocking.is_empty() {
                return Ok(None);
            }
            sqlx::query("DELETE FROM team_members WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            let sessions_revoked = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(pending_sql)
                .bind(uid.as_bytes())
                .execute(&mut *tx)
                .await?;
            let keys_deleted = sqlx::query("DELETE FROM api_keys WHERE owner_user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for sql in [
                "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                "DELETE FROM user_mfa WHERE user_id = $1",
                "DELETE FROM notification_prefs WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(user.id()).execute(&mut *tx).await?;
            }
            // Counters named after the user's id or email (sign-in failures,
            // code attempts, key issues, exports, deletion attempts).
            for suffix in [format!(":{uid}"), format!(":{}", user.email())] {
                sqlx::query(
                    "DELETE FROM rate_counters \
                     WHERE substr(bucket, length(bucket) - length($1) + 1) = $1",
                )
                .bind(&suffix)
                .execute(&mut *tx)
                .await?;
            }
            // One statement rewrites each of the person's events once (actor,
            // target, or both): with a long history this UPDATE is the bulk of
            // the deletion's time.
            sqlx::query(
                "UPDATE audit_events SET \
                   actor_id = CASE WHEN actor_id = $1 THEN $2 ELSE actor_id END, \
                   actor_label = CASE WHEN actor_id = $1 THEN $3 ELSE actor_label END, \
                   target_id = CASE \
                     WHEN target_kind = 'user' AND target_id = $4 THEN $5 \
                     WHEN target_kind = 'email' AND target_id = $6 THEN $3 \
                     ELSE target_id END \
                 WHERE actor_id = $1 OR (target_kind = 'user' AND target_id = $4) \
                    OR (target_kind = 'email' AND target_id = $6)",
            )
            .bind(user.id())
            .bind(pseudonym)
            .bind(&label)
            .bind(&uid)
            .bind(pseudonym.to_string())
            .bind(user.email())
            .execute(&mut *tx)
            .await?;
            // Free text the person wrote (an API key's name) is theirs: it
            // leaves the details of their events; the key's prefix stays.
            let named = sqlx::query_as::<_, (Uuid, String)>(
                "SELECT id, detail FROM audit_events WHERE actor_id = $1 AND detail LIKE $2",
            )
            .bind(pseudonym)
            .bind("%\"name\"%")
            .fetch_all(&mut *tx)
            .await?;
            for (id, detail) in named {
                let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(&detail) else {
                    continue;
                };
                if map.remove("name").is_some() {
                    sqlx::query("UPDATE audit_events SET detail = $1 WHERE id = $2")
                        .bind(serde_json::Value::Object(map).to_string())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let gone = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone != 1 {
                // Deleted concurrently: dropping the transaction rolls back.
                return Ok(None);
            }
            let detail = serde_json::json!({
                "sessions_revoked": sessions_revoked,
                "keys_deleted": keys_deleted,
            });
            sqlx::query(
                "INSERT INTO audit_events (id, occurred_at, actor_id, actor_label, action, \
                 target_kind, target_id, org_id, ip, user_agent, detail) \
                 VALUES ($1, $2, $3, $4, 'account.deleted', 'user', $5, NULL, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(now)
            .bind(pseudonym)
            .bind(&label)
            .bind(pseudonym.to_string())
            .bind(origin.ip.as_deref())
            .bind(origin.user_agent.as_deref())
            .bind(detail.to_string())
            .execute(&mut *tx)
            .await?;
            DeletedAccount {
                pseudonym,
                sessions_revoked,
                keys_deleted,
            }
        });
        Ok(Some(deleted))
    }
}
