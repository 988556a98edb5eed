//! Platform-level (cross-tenant) queries for operators and the master key.
//!
//! Every function that reads or changes data across organizations takes the
//! `PlatformScope` proof, which only the `Operator` and `MasterKey`
//! extractors can build. Operator actions are written with their reason by
//! `record_operator_action` (or inside the transaction of the change itself,
//! as `set_user_disabled` does), so a change is never without its record.

use serde_json::json;
use sqlx::FromRow;
use uuid::Uuid;

use super::keys::key_columns;
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{Operator, PlatformScope};
use crate::db::audit::{Actor, Event, Origin, insert_event};
use crate::db::keys::ApiKey;
use crate::db::runs::{RunCursor, RunFilter, RunRow, run_columns};
use crate::db::users::{User, user_columns};
use crate::domain::Reason;
use crate::domain::RunStatus;

/// Who acts across organizations: an operator in the console, or a master
/// key over the API. Built only from their proofs (`From<&Operator>`,
/// `MasterKey::platform_actor`), since it carries the platform scope.
#[derive(Debug, Clone)]
pub struct PlatformActor<'a> {
    scope: &'a PlatformScope,
    actor: Actor,
    /// The detail key naming the author: `operator` or `master_key`.
    kind: &'static str,
    /// The operator's email or the key's prefix.
    label: String,
}

impl<'a> PlatformActor<'a> {
    pub fn new(scope: &'a PlatformScope, actor: Actor, kind: &'static str, label: String) -> Self {
        Self {
            scope,
            actor,
            kind,
            label,
        }
    }

    pub fn scope(&self) -> &'a PlatformScope {
        self.scope
    }
}

impl<'a> From<&'a Operator> for PlatformActor<'a> {
    fn from(op: &'a Operator) -> Self {
        Self::new(op.scope(), op.actor(), "operator", op.email().to_owned())
    }
}

/// What an operator (or the master key) did, to what, and why.
#[derive(Debug, Clone)]
pub struct OperatorAction<'a> {
    /// `ops.<thing>.<verb>`, e.g. `ops.user.disabled`.
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub reason: &'a Reason,
    /// The organizations the action touched: the event is written to each
    /// one's own audit log (`audit_events.org_id`) as well. Empty: the
    /// platform log only.
    pub orgs: &'a [Uuid],
    /// More facts for the record (never a secret).
    pub detail: serde_json::Value,
}

impl OperatorAction<'_> {
    /// The events that record this action, for a storage function that
    /// writes them in the transaction of the change: one per affected
    /// organization (each org's owners see it in their log), or one
    /// platform-only event (`Event::in_orgs_by_platform`). All of them share
    /// an `action_id`, and every one is part of the platform log.
    pub fn events<'b>(&self, by: impl Into<PlatformActor<'b>>, origin: &Origin) -> Vec<Event> {
        let by = by.into();
        let action_id = Uuid::now_v7();
        let mut detail = json!({
            "reason": self.reason.as_str(),
            "action_id": action_id,
        });
        if let Some(d) = detail.as_object_mut() {
            d.insert(by.kind.to_owned(), json!(by.label));
        }
        if let (Some(d), Some(extra)) = (detail.as_object_mut(), self.detail.as_object()) {
            for (k, v) in extra {
                d.insert(k.clone(), v.clone());
            }
        }
        Event::by(by.actor)
            .did(self.action)
            .on(self.target_kind, &self.target_id)
            .detail(detail)
            .from(origin)
            .in_orgs_by_platform(by.scope, self.orgs)
    }
}

/// A user as the operator console lists them.
#[derive(Debug, Clone, FromRow)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub is_operator: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// An audit event with its organization, for the cross-tenant log.
#[derive(Debug, Clone, FromRow)]
pub struct PlatformEvent {
    pub id: Uuid,
    pub occurred_at: i64,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub org_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
}

/// Filters of the cross-tenant audit log; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor's label, lower-cased (matched case-insensitively): an email,
    /// `system`, `anonymous` or `master-key:<prefix>`.
    pub actor: Option<String>,
    /// An action (`ops.user.disabled`) or a family of them (`ops.user`, `ops`).
    pub action: Option<String>,
    pub org_id: Option<Uuid>,
    /// From this instant, inclusive (unix seconds).
    pub from: Option<i64>,
    /// Until this instant, exclusive.
    pub until: Option<i64>,
    /// Keyset cursor: events strictly older than this (occurred_at, id).
    pub before: Option<(i64, Uuid)>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Flag {
    pub name: String,
    pub enabled: bool,
    pub updated_at: i64,
}

/// `%`, `_` and `\` match themselves in a LIKE pattern built from `text`.
fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An organization as the operator views list it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub require_mfa: bool,
    pub member_count: i64,
    /// When its owners deleted it (restorable for 30 days, then purged).
    pub deleted_at: Option<i64>,
    /// When the platform disabled it (its pages and keys are refused).
    pub disabled_at: Option<i64>,
}

impl Db {
    /// Writes an operator's action with its reason to the platform log and
    /// to the log of each affected organization, in one transaction.
    pub async fn record_operator_action<'b>(
        &self,
        by: impl Into<PlatformActor<'b>>,
        origin: &Origin,
        action: OperatorAction<'_>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let events = action.events(by, origin);
        in_tx!(self, |tx| {
            for event in &events {
                insert_event!(&mut *tx, event, now)?;
            }
        });
        Ok(())
    }

    /// Users whose email or display name contains `query` (case-insensitive
    /// for ASCII), by email, after the keyset cursor `after` (an email).
    pub async fn search_users(
        &self,
        _scope: &PlatformScope,
        query: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, sqlx::Error> {
        let pattern = like_contains(query.trim());
        on_pool!(self, |pool| {
            sqlx::query_as::<_, UserSummary>(
                "SELECT id, email, display_name, is_operator, disabled_at, created_at FROM users \
                 WHERE (lower(email) LIKE $1 ESCAPE '\\' OR lower(display_name) LIKE $1 ESCAPE '\\') \
                 AND ($2 IS NULL OR email > $2) ORDER BY email LIMIT $3",
            )
            .bind(&pattern)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Every account in creation order (ids are UUIDv7), after the keyset
    /// cursor `after`.
    pub async fn list_accounts(
        &self,
        _scope: &PlatformScope,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, UserSummary>(
                "SELECT id, email, display_name, is_operator, disabled_at, created_at FROM users \
                 WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Every organization with its member count, oldest id first (keyset).
    pub async fn list_orgs(
        &self,
        _scope: &PlatformScope,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<OrgSummary>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, OrgSummary>(
                "SELECT o.id, o.slug, o.name, o.created_at, o.require_mfa, o.deleted_at, o.disabled_at, \
                 (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) AS member_count \
                 FROM orgs o WHERE ($1 IS NULL OR o.id > $1) ORDER BY o.id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn platform_org(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
    ) -> Result<Option<OrgSummary>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, OrgSummary>(
                "SELECT o.id, o.slug, o.name, o.created_at, o.require_mfa, o.deleted_at, o.disabled_at, \
                 (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) AS member_count \
                 FROM orgs o WHERE o.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// An org's first members by name: (user id, display name, email, role).
    pub async fn platform_org_members(
        &self,
        _scope: &PlatformScope,
        org_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(Uuid, String, String, String)>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT m.user_id, u.display_name, u.email, m.role FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 \
                 ORDER BY m.member_name, m.user_id LIMIT $2",
            )
            .bind(org_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// An org's live teams with their member counts.
    pub async fn platform_org_teams(
        &self,
        _scope: &PlatformScope,
        org_id: Uuid,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT t.name, (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) \
                 FROM teams t WHERE t.org_id = $1 AND t.deleted_at IS NULL ORDER BY t.name",
            )
            .bind(org_id)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn platform_user(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
    ) -> Result<Option<User>, sqlx::Error> {
        self.find_user(id).await
    }

    /// The account with `email` (stored lower-cased), if there is one.
    pub async fn platform_user_by_email(
        &self,
        _scope: &PlatformScope,
        email: &str,
    ) -> Result<Option<User>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE email = $1"
            ))
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    /// A user's org memberships: (org id, slug, name, role).
    pub async fn platform_user_memberships(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
    ) -> Result<Vec<(Uuid, String, String, String)>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT o.id, o.slug, o.name, m.role FROM memberships m \
                 JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// A user's API keys as metadata (the digests are never selected).
    pub async fn platform_user_keys(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
    ) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys \
                 WHERE owner_user_id = $1 ORDER BY created_at DESC, id DESC"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn count_live_sessions(
        &self,
        _scope: &PlatformScope,
        user_id: Uuid,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2",
            )
            .bind(user_id)
            .bind(now)
            .fetch_one(pool)
            .await
        })
    }

    /// Disables (or re-enables) a user. Disabling deletes every session of
    /// the user in the same transaction; their keys are refused from then on
    /// (`account_disabled`) and work again after re-enabling. The operator's
    /// record is written in the same transaction. Returns false when the
    /// user does not exist or is already in the requested state (nothing is
    /// written then).
    pub async fn set_user_disabled<'b>(
        &self,
        by: impl Into<PlatformActor<'b>>,
        origin: &Origin,
        user_id: Uuid,
        disabled: bool,
        action: OperatorAction<'_>,
        now: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        let events = action.events(by, origin);
        let done = in_tx!(self, |tx| {
            let changed = if disabled {
                sqlx::query(
                    "UPDATE users SET disabled_at = $1, updated_at = $1 \
                     WHERE id = $2 AND disabled_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE users SET disabled_at = NULL, updated_at = $1 \
                     WHERE id = $2 AND disabled_at IS NOT NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            if changed == 1 {
                let ended = if disabled {
                    // Pending MFA sign-ins too: a disabled user cannot
                    // finish one.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1 OR pending_user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                } else {
                    0
                };
                for event in &events {
                    insert_event!(&mut *tx, event, now)?;
                }
                Some(ended)
            } else {
                None
            }
        });
        Ok(done)
    }

    /// The cross-tenant audit log, newest first.
    pub async fn platform_events(
        &self,
        _scope: &PlatformScope,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<PlatformEvent>, sqlx::Error> {
        let (before_at, before_id) = filter.before.unzip();
        on_pool!(self, |pool| {
            sqlx::query_as::<_, PlatformEvent>(
                "SELECT id, occurred_at, actor_id, actor_label, action, target_kind, target_id, \
                 org_id, ip, user_agent, detail FROM audit_events \
                 WHERE ($1 IS NULL OR lower(actor_label) = $1) \
                 AND ($2 IS NULL OR action = $2 OR substr(action, 1, length($2) + 1) = $2 || '.') \
                 AND ($3 IS NULL OR org_id = $3) \
                 AND ($4 IS NULL OR occurred_at >= $4) \
                 AND ($5 IS NULL OR occurred_at < $5) \
                 AND ($6 IS NULL OR occurred_at < $6 OR (occurred_at = $6 AND id < $7)) \
                 ORDER BY occurred_at DESC, id DESC LIMIT $8",
            )
            .bind(filter.actor.as_deref())
            .bind(filter.action.as_deref())
            .bind(filter.org_id)
            .bind(filter.from)
            .bind(filter.until)
            .bind(before_at)
            .bind(before_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn list_flags(&self, _scope: &PlatformScope) -> Result<Vec<Flag>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Flag>(
                "SELECT name, enabled, updated_at FROM feature_flags ORDER BY name",
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Sets an existing flag and writes the operator's record, in one
    /// transaction. False when there is no such flag.
    pub async fn set_flag_by_operator(
        &self,
        operator: &Operator,
        origin: &Origin,
        name: &str,
        enabled: bool,
        action: OperatorAction<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let events = action.events(operator, origin);
        let done = in_tx!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE feature_flags SET enabled = $1, updated_at = $2 WHERE name = $3",
            )
            .bind(enabled)
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                for event in &events {
                    insert_event!(&mut *tx, event, now)?;
                }
            }
            changed == 1
        });
        Ok(done)
    }

    /// Grants or revokes the operator flag (the command line only). False
    /// when no user has this email.
    pub async fn set_operator(
        &self,
        _scope: &PlatformScope,
        email: &str,
        operator: bool,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        in_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, Uuid>(
                "UPDATE users SET is_operator = $1, updated_at = $2 WHERE email = $3 RETURNING id",
            )
            .bind(operator)
            .bind(now)
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                insert_event!(&mut *tx, &event(id), now)?;
            }
            Ok(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::like_contains;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("Ada"), "%ada%");
        assert_eq!(like_contains("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}

/// Which keys a platform key listing shows; `None` means "any".
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyFilter {
    /// Keys bound to this org (personal keys bound to it and its service
    /// accounts' keys).
    pub org_id: Option<Uuid>,
    /// Keys owned by this account.
    pub owner_user_id: Option<Uuid>,
    /// Keyset cursor: keys with a greater id (ids are UUIDv7).
    pub after: Option<Uuid>,
}

/// A run with the org and workspace it belongs to, for the cross-tenant
/// run history.
#[derive(Debug, Clone, FromRow)]
pub struct PlatformRun {
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    #[sqlx(flatten)]
    pub run: RunRow,
}

/// Filters of the cross-tenant run history; `None` means "any".
#[derive(Debug, Clone, Copy, Default)]
pub struct PlatformRunFilter {
    pub org_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub runs: RunFilter,
}

impl Db {
    /// API keys across organizations, as metadata (digests never selected),
    /// oldest first.
    pub async fn platform_keys(
        &self,
        _scope: &PlatformScope,
        filter: KeyFilter,
        limit: i64,
    ) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE ($1 IS NULL OR org_id = $1) \
                 AND ($2 IS NULL OR owner_user_id = $2) AND ($3 IS NULL OR id > $3) \
                 ORDER BY id LIMIT $4"
            ))
            .bind(filter.org_id)
            .bind(filter.owner_user_id)
            .bind(filter.after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn platform_key(
        &self,
        _scope: &PlatformScope,
        id: Uuid,
    ) -> Result<Option<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Revokes any key (a person's or a service account's) with `records`
    /// in the same transaction. False when it was revoked already (nothing
    /// is written then).
    pub async fn revoke_key_on_platform(
        &self,
        _scope: &PlatformScope,
        key_id: Uuid,
        records: &[Event],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let revoked = in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(key_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                for record in records {
                    insert_event!(&mut *tx, record, now)?;
                }
            }
            n == 1
        });
        Ok(revoked)
    }

    /// Runs across organizations, newest first (keyset on `(created_at, id)`).
    pub async fn platform_runs(
        &self,
        _scope: &PlatformScope,
        filter: PlatformRunFilter,
        before: Option<RunCursor>,
        limit: i64,
    ) -> Result<Vec<PlatformRun>, sqlx::Error> {
        let before = before.unwrap_or(RunCursor {
            created_at: i64::MAX,
            id: Uuid::max(),
        });
        on_pool!(self, |pool| {
            sqlx::query_as::<_, PlatformRun>(concat!(
                "SELECT r.org_id, r.workspace_id, ",
                run_columns!(),
                " WHERE ($1 IS NULL OR r.org_id = $1) AND ($2 IS NULL OR r.workspace_id = $2) \
                 AND ($3 = '' OR r.status = $3) \
                 AND r.created_at >= $4 AND r.created_at < $5 \
                 AND (r.created_at < $6 OR (r.created_at = $6 AND r.id < $7)) \
                 ORDER BY r.created_at DESC, r.id DESC LIMIT $8"
            ))
            .bind(filter.org_id)
            .bind(filter.workspace_id)
            .bind(filter.runs.status.map_or("", RunStatus::as_str))
            .bind(filter.runs.from.unwrap_or(i64::MIN))
            .bind(filter.runs.to.unwrap_or(i64::MAX))
            .bind(before.created_at)
            .bind(before.id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}
