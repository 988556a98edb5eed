//! Account deletion: what it will remove, what blocks it, and the erasure
//! itself, in **one transaction** — a crash or an error at any step leaves the
//! account fully present (nothing is committed) or fully gone.
//!
//! The user row is deleted, not tombstoned, so the email address is free to
//! sign up again and no personal field lingers in a half-empty row. The audit
//! trail stays, but refers to a pseudonym: a random UUID `P` that replaces the
//! user's id as actor (`actor_id = P`, `actor_label = "deleted-user-P"`) and
//! as target (`target_id = "P"`; a failed sign-in's typed email becomes
//! `"deleted-user-P"`), inside the `detail` of every event that names them —
//! those they caused and those others recorded about them (their email
//! becomes the same label, their id the same `P`, their display name the
//! label) — and free text the person wrote (a key's name) is removed from the
//! details of their own events. Invitations addressed to them are deleted;
//! those they sent no longer name the sender. The events of the former
//! account remain linkable to each other, and to no one. Addresses and user agents stay in
//! the trail: it is the security record of what happened, kept as before.

use uuid::Uuid;

use super::audit::{Actor, Event, Origin, insert_event};
use super::users::User;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, PlatformScope};

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
     WHERE m.user_id = $1 AND m.role = 'owner' AND o.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM memberships x \
     WHERE x.org_id = m.org_id AND x.role = 'owner' AND x.user_id <> m.user_id) ORDER BY o.name";

/// The one statement that pseudonymises the audit trail, with `$f(text,
/// part) > 0` the engine's substring test (`instr` on SQLite, `strpos` on
/// PostgreSQL: same arguments, no `LIKE` wildcards to escape). `detail` is
/// rewritten only where it contains one of the quoted forms (`Mention`):
/// `replace` copies the text even when nothing matches, and most of a long
/// history (sign-ins, key uses) names no one in its detail.
macro_rules! pseudonymise_sql {
    ($f:literal) => {
        concat!(
            "UPDATE audit_events SET \
               actor_id = CASE WHEN actor_id = $1 THEN $2 ELSE actor_id END, \
               actor_label = CASE WHEN actor_id = $1 THEN $3 ELSE actor_label END, \
               target_id = CASE \
                 WHEN target_kind = 'user' AND target_id = $4 THEN $5 \
                 WHEN target_kind = 'email' AND target_id = $6 THEN $3 \
                 ELSE target_id END, \
               detail = CASE WHEN ",
            $f,
            "(detail, $7) > 0 OR ",
            $f,
            "(detail, $9) > 0 \
                 OR ",
            $f,
            "(detail, $11) > 0 \
                 THEN replace(replace(replace(detail, $7, $8), $9, $10), $11, $8) \
                 ELSE detail END \
             WHERE actor_id = $1 OR (target_kind = 'user' AND target_id = $4) \
                OR (target_kind = 'email' AND target_id = $6) \
                OR (org_id IS NOT NULL \
                    AND (",
            $f,
            "(detail, $7) > 0 OR ",
            $f,
            "(detail, $9) > 0))"
        )
    };
}

/// The person as they appear inside an event's `detail` (JSON text), and
/// what replaces each form: every value is a complete JSON string literal,
/// quotes included, so `"ada@example.com"` is replaced but another person's
/// `"grada@example.com"` is not.
///
/// Which events are rewritten: those the person caused (`actor_id`, an
/// index), those about them (`target_id`), and — for what others recorded
/// with the person only in the detail (`invitation.created` and
/// `invitation.revoked` name the invitee's email, an owner's
/// `api_key.revoked` names the key's owner) — org events whose detail
/// contains the quoted email or id. Every such event is written from an org
/// console, so the substring test is limited to rows with an `org_id`;
/// platform events about a person always name them as target. Those terms are
/// evaluated in the same single pass as the actor/target match (`target_id`
/// has no index, so that statement already reads every row): no second scan,
/// and rows the person caused match on `actor_id` before any substring test.
/// The display name is replaced only inside those rows (a name alone is
/// not an identifier worth scanning the log for).
struct Mention {
    email: String,
    id: String,
    name: String,
    label: String,
    pseudonym: String,
}

/// The person whose account is erased: the session's own user
/// (self-service), or a user an operator deletes on their verified request.
struct Erasee<'a> {
    id: Uuid,
    email: &'a str,
    display_name: &'a str,
}

impl<'a> Erasee<'a> {
    fn id(&self) -> Uuid {
        self.id
    }
    fn email(&self) -> &'a str {
        self.email
    }
    fn display_name(&self) -> &'a str {
        self.display_name
    }
}

impl<'a> From<&'a CurrentUser> for Erasee<'a> {
    fn from(u: &'a CurrentUser) -> Self {
        Erasee {
            id: u.id(),
            email: u.email(),
            display_name: u.display_name(),
        }
    }
}

impl<'a> From<&'a User> for Erasee<'a> {
    fn from(u: &'a User) -> Self {
        Erasee {
            id: u.id,
            email: &u.email,
            display_name: &u.display_name,
        }
    }
}

impl Mention {
    fn of(user: &Erasee<'_>, pseudonym: Uuid, label: &str) -> Self {
        let quoted = |s: &str| serde_json::Value::from(s).to_string();
        Mention {
            email: quoted(user.email()),
            id: quoted(&user.id().to_string()),
            name: quoted(user.display_name()),
            label: quoted(label),
            pseudonym: quoted(&pseudonym.to_string()),
        }
    }
}

/// `data` with every occurrence of `from` replaced by `to`.
fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

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
        self.sole_owner_orgs(user.id()).await
    }

    /// `organizations_blocking_deletion` of any user, for an operator.
    pub async fn organizations_blocking_deletion_of(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
    ) -> Result<Vec<BlockingOrganization>, sqlx::Error> {
        self.sole_owner_orgs(user_id).await
    }

    async fn sole_owner_orgs(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<BlockingOrganization>, sqlx::Error> {
        let rows: Vec<(String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(SOLE_OWNER_ORGS)
                .bind(user_id)
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
    /// user's rate-limit `counters` (named by `throttle::account_buckets`)
    /// and the user row itself; pseudonymises the
    /// audit trail and records `account.deleted` under the pseudonym.
    /// `None` (and nothing changed) when the user no longer exists.
    pub async fn delete_account(
        &self,
        user: &CurrentUser,
        counters: &[String],
        origin: &Origin,
        now: i64,
    ) -> Result<Option<DeletedAccount>, sqlx::Error> {
        self.erase_account(&Erasee::from(user), counters, origin, &[], now)
            .await
    }

    /// The same erasure, by an operator on the user's verified request.
    /// `records` (the operator's action, in the platform log and each of the
    /// user's orgs' logs) are written in the same transaction, *before* the
    /// trail is pseudonymised, so they too name only the pseudonym
    /// afterwards; `account.deleted` says that an operator did it.
    pub async fn delete_account_by_operator(
        &self,
        _scope: &PlatformScope,
        user: &User,
        counters: &[String],
        records: &[Event],
        origin: &Origin,
        now: i64,
    ) -> Result<Option<DeletedAccount>, sqlx::Error> {
        self.erase_account(&Erasee::from(user), counters, origin, records, now)
            .await
    }

    /// The erasure itself; `records` are an operator's (empty for a
    /// self-service deletion).
    async fn erase_account(
        &self,
        user: &Erasee<'_>,
        counters: &[String],
        origin: &Origin,
        records: &[Event],
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
        let naming_sql: &'static str = match self {
            Db::Sqlite(_) => "SELECT id_hash, data FROM sessions WHERE instr(data, $1) > 0",
            Db::Postgres(_) => "SELECT id_hash, data FROM sessions WHERE position($1 in data) > 0",
        };
        let pseudonymise_sql: &'static str = match self {
            Db::Sqlite(_) => pseudonymise_sql!("instr"),
            Db::Postgres(_) => pseudonymise_sql!("strpos"),
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
            // Other people's sessions may name the user too (an operator's
            // grant to view the account). The id is replaced in place by the
            // pseudonym: both are 36-character strings, so the MessagePack
            // record keeps its shape and the grant now names no one.
            let naming: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(naming_sql)
                .bind(uid.as_bytes())
                .fetch_all(&mut *tx)
                .await?;
            for (id_hash, data) in naming {
                sqlx::query("UPDATE sessions SET data = $1 WHERE id_hash = $2")
                    .bind(replace_bytes(
                        &data,
                        uid.as_bytes(),
                        pseudonym.to_string().as_bytes(),
                    ))
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?;
            }
            let keys_deleted = sqlx::query("DELETE FROM api_keys WHERE owner_user_id = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for sql in [
                "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                "DELETE FROM user_mfa WHERE user_id = $1",
                "DELETE FROM passkeys WHERE user_id = $1",
                "DELETE FROM notification_prefs WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(user.id()).execute(&mut *tx).await?;
            }
            // Counters named after the user's id or email, by their exact
            // names (`throttle::account_buckets`).
            for bucket in counters {
                sqlx::query("DELETE FROM rate_counters WHERE bucket = $1")
                    .bind(bucket)
                    .execute(&mut *tx)
                    .await?;
            }
            // Invitations addressed to the person go (an accepted one has
            // done its work; a pending one would re-identify them by email).
            // Those they sent stay valid for their invitees, but no longer
            // say who sent them.
            sqlx::query("DELETE FROM invitations WHERE email = $1")
                .bind(user.email())
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE invitations SET invited_by = NULL WHERE invited_by = $1")
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            // Mail addressed to them, or speaking for them (invitations they
            // sent name them), sent or not, goes too.
            sqlx::query("DELETE FROM outbox WHERE recipient = $1 OR on_behalf_of = $2")
                .bind(user.email())
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            for record in records {
                insert_event!(&mut *tx, record, now)?;
            }
            let mention = Mention::of(user, pseudonym, &label);
            // One statement rewrites each event about the person once, in one
            // pass over the table: as actor, as target, and wherever their
            // email, id or display name appears in the detail (events others
            // recorded about them). See `Mention` for why that is the scope.
            sqlx::query(pseudonymise_sql)
                .bind(user.id())
                .bind(pseudonym)
                .bind(&label)
                .bind(&uid)
                .bind(pseudonym.to_string())
                .bind(user.email())
                .bind(&mention.email)
                .bind(&mention.label)
                .bind(&mention.id)
                .bind(&mention.pseudonym)
                .bind(&mention.name)
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
                "by": if records.is_empty() { "self-service" } else { "operator" },
            });
            let event = Event::by(Actor::User {
                id: pseudonym,
                email: label.clone(),
            })
            .did("account.deleted")
            .on("user", pseudonym)
            .detail(detail)
            .from(origin);
            insert_event!(&mut *tx, &event, now)?;
            DeletedAccount {
                pseudonym,
                sessions_revoked,
                keys_deleted,
            }
        });
        Ok(Some(deleted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_replaced_everywhere_and_only_where_they_match() {
        assert_eq!(replace_bytes(b"xabyabz", b"ab", b"CD"), b"xCDyCDz".to_vec());
        assert_eq!(replace_bytes(b"aaa", b"ab", b"CD"), b"aaa".to_vec());
    }
}
