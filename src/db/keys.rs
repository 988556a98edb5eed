//! API keys. Personal-key functions take the `CurrentUser` proof (or the
//! `SudoUser` proof where the operation needs sudo), so a key of another user
//! is simply not found; rotation, revocation and removal are written once
//! for personal and service-account keys, filtered by a `KeyOwner` taken
//! from a proof. The bearer lookup is by public id, one indexed query
//! joined with the owner's status (a user or a service account).
//!
//! Creating, rotating and revoking a key write the audit event that records
//! it in the same transaction; a key bound to an org has its events in that
//! org's log too, the org read from the key's own row.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, KeyMinter, OrgScope, OwnerScope, SudoUser};
use crate::domain::Scopes;

/// The columns of `ApiKey`, in one place: queries splice it in with
/// `concat!` (sqlx takes only `&'static str`), so a column added to the
/// struct cannot be forgotten in one of them.
macro_rules! key_columns {
    () => {
        "id, public_id, owner_user_id, service_account_id, org_id, name, description, scopes, \
         created_at, expires_at, rotated_at, revoked_at, last_used_at, last_used_ip, created_by"
    };
}
pub(crate) use key_columns;

#[derive(Debug, Clone, FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub public_id: String,
    /// The owning user; `None` for a service account's key.
    pub owner_user_id: Option<Uuid>,
    pub service_account_id: Option<Uuid>,
    /// The org the key is bound to, if any.
    pub org_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// Who made it: an email, or `key:gtk_<public id>` for a key made with
    /// another key; absent for keys made before this was recorded.
    pub created_by: Option<String>,
}

/// The state of a key at a moment, as its list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    /// Active, but expires within 7 days.
    Expiring,
    Expired,
    Revoked,
}

impl KeyStatus {
    /// The API's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expiring => "expiring",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Expiring => "Expiring soon",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            KeyStatus::Active => "badge-active",
            KeyStatus::Expiring => "badge-expiring",
            KeyStatus::Expired => "badge-expired",
            KeyStatus::Revoked => "badge-revoked",
        }
    }

    pub fn is_usable(self) -> bool {
        matches!(self, KeyStatus::Active | KeyStatus::Expiring)
    }
}

impl ApiKey {
    pub fn status(&self, now: i64) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else {
            match self.expires_at {
                Some(e) if e <= now => KeyStatus::Expired,
                Some(e) if e - now <= 7 * 86_400 => KeyStatus::Expiring,
                _ => KeyStatus::Active,
            }
        }
    }

    pub fn scope_set(&self) -> Scopes {
        Scopes::from_stored(&self.scopes)
    }

    /// The non-secret start of the token, as people see it in their tools.
    pub fn prefix(&self) -> String {
        format!("{}{}", crate::auth::api_key::PREFIX, self.public_id)
    }
}

/// What the bearer lookup needs: the key, both digests and its owner's
/// state — a user (the `owner_*` columns) or a service account (`sa_*`).
#[derive(Debug, Clone, FromRow)]
pub struct KeyCredentials {
    pub id: Uuid,
    pub public_id: String,
    pub owner_user_id: Option<Uuid>,
    pub service_account_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub name: String,
    pub scopes: String,
    pub secret_digest: Vec<u8>,
    pub previous_digest: Option<Vec<u8>>,
    pub previous_valid_until: Option<i64>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub owner_email: Option<String>,
    pub owner_disabled_at: Option<i64>,
    pub owner_display_name: Option<String>,
    pub owner_phone: Option<String>,
    pub owner_job_title: Option<String>,
    pub owner_time_zone: Option<String>,
    pub owner_is_operator: Option<bool>,
    pub owner_created_at: Option<i64>,
    pub owner_updated_at: Option<i64>,
    pub sa_name: Option<String>,
    pub sa_org_id: Option<Uuid>,
    pub sa_deleted_at: Option<i64>,
    /// When the org the key is bound to was deleted (soft), if it was.
    pub org_deleted_at: Option<i64>,
    /// When the platform disabled that org, if it is disabled.
    pub org_disabled_at: Option<i64>,
}

impl KeyCredentials {
    /// The owning user, as loaded by the same query (`None` for a service
    /// account's key).
    pub fn owner(&self) -> Option<crate::db::users::User> {
        Some(crate::db::users::User {
            id: self.owner_user_id?,
            email: self.owner_email.clone()?,
            display_name: self.owner_display_name.clone()?,
            phone: self.owner_phone.clone(),
            job_title: self.owner_job_title.clone(),
            time_zone: self.owner_time_zone.clone()?,
            is_operator: self.owner_is_operator?,
            disabled_at: self.owner_disabled_at,
            created_at: self.owner_created_at?,
            updated_at: self.owner_updated_at?,
            // Page-only requirements: they do not bind a key.
            must_change_password: false,
            must_enrol_mfa: false,
            email_verified_at: None,
        })
    }
}

pub struct NewKey<'a> {
    pub public_id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub scopes: &'a Scopes,
    pub digest: &'a [u8],
    pub expires_at: Option<i64>,
    /// See `ApiKey::created_by`.
    pub created_by: &'a str,
}

/// Whose keys a rotation, revocation or removal may touch, from a proof:
/// the signed-in user's own keys, or the service-account keys of the org an
/// owner proved. The write functions filter by it in their SQL
/// (`key_owner_filter!`), so a key of anyone else is not found.
#[derive(Clone, Copy)]
pub enum KeyOwner<'a> {
    User(&'a CurrentUser),
    ServiceAccountsOf(&'a OwnerScope),
}

impl KeyOwner<'_> {
    /// `(owner_user_id, org_id)` for the SQL filter: exactly one is set, and
    /// a NULL matches nothing.
    fn filter(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            KeyOwner::User(user) => (Some(user.id()), None),
            KeyOwner::ServiceAccountsOf(scope) => (None, Some(scope.org_id())),
        }
    }
}

/// The SQL condition of a `KeyOwner::filter()` bound at parameters `$u`
/// (the owning user) and `$o` (the org of a service account's key).
macro_rules! key_owner_filter {
    ($u:literal, $o:literal) => {
        concat!(
            "(owner_user_id = $",
            $u,
            " OR (org_id = $",
            $o,
            " AND service_account_id IS NOT NULL))"
        )
    };
}

/// Runs `$query` (an UPDATE of at most one key, `RETURNING org_id`) in the
/// transaction `$tx` and, when it changed the key, writes `$event` there
/// too, in the log of the org the key is bound to as read from its row.
/// Evaluates to whether it changed the key.
macro_rules! update_key_audited {
    ($tx:ident, $query:expr, $event:expr, $now:expr) => {{
        let org: Option<Option<Uuid>> = $query.fetch_optional(&mut *$tx).await?;
        if let Some(org) = org {
            insert_event!(&mut *$tx, &$event.in_org_of_key(org), $now)?;
        }
        org.is_some()
    }};
}
pub(in crate::db) use update_key_audited;

impl Db {
    /// Creates a personal key, optionally bound to an org the owner belongs
    /// to (the scope proves it) with team grants. A grant is only written for
    /// a live team of that org the owner is on, whatever the form said.
    /// `event(key id)` is written in the same transaction.
    pub async fn create_personal_key(
        &self,
        owner: &SudoUser,
        binding: Option<(&OrgScope, &[Uuid])>,
        key: NewKey<'_>,
        notice: Option<&NewMail>,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        let event = event(id);
        let org_id = binding.map(|(scope, _)| scope.org_id());
        let teams = binding.map(|(_, t)| t).unwrap_or_default();
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO api_keys (id, public_id, owner_user_id, org_id, name, description, \
                 scopes, secret_digest, created_at, expires_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(key.public_id)
            .bind(owner.id())
            .bind(org_id)
            .bind(key.name)
            .bind(key.description)
            .bind(key.scopes.to_stored())
            .bind(key.digest)
            .bind(now)
            .bind(key.expires_at)
            .bind(key.created_by)
            .execute(&mut *tx)
            .await?;
            for team in teams {
                sqlx::query(
                    "INSERT INTO api_key_teams (key_id, team_id) \
                     SELECT $1, t.id FROM teams t JOIN team_members tm ON tm.team_id = t.id \
                     WHERE t.id = $2 AND t.org_id = $3 AND t.deleted_at IS NULL \
                     AND tm.user_id = $4",
                )
                .bind(id)
                .bind(*team)
                .bind(org_id)
                .bind(owner.id())
                .execute(&mut *tx)
                .await?;
            }
            if let Some(notice) = notice {
                insert_mail!(&mut *tx, notice, now)?;
            }
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(id)
    }

    /// The user's keys, newest first, without those removed from the list.
    pub async fn list_personal_keys(
        &self,
        owner: &CurrentUser,
    ) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(
                concat!("SELECT ", key_columns!(), " FROM api_keys WHERE owner_user_id = $1 AND hidden_at IS NULL  ORDER BY created_at DESC, id DESC"),
            )
            .bind(owner.id())
            .fetch_all(pool)
            .await
        })
    }

    /// Every key of the user, including those removed from the list, oldest
    /// first (the data export).
    pub async fn all_personal_keys(&self, owner: &CurrentUser) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE owner_user_id = $1 ORDER BY created_at, id"
            ))
            .bind(owner.id())
            .fetch_all(pool)
            .await
        })
    }

    pub async fn find_personal_key(
        &self,
        owner: &CurrentUser,
        public_id: &str,
    ) -> Result<Option<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE owner_user_id = $1 AND public_id = $2 AND hidden_at IS NULL"
            ))
            .bind(owner.id())
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// The org a personal key is bound to (its name) and the live teams it
    /// is granted there, for the key's own page.
    pub async fn personal_key_binding(
        &self,
        owner: &CurrentUser,
        key_id: Uuid,
    ) -> Result<Option<(String, Vec<String>)>, sqlx::Error> {
        let org: Option<String> = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT o.name FROM api_keys k JOIN orgs o ON o.id = k.org_id \
                 WHERE k.id = $1 AND k.owner_user_id = $2",
            )
            .bind(key_id)
            .bind(owner.id())
            .fetch_optional(pool)
            .await
        })?;
        let Some(org) = org else { return Ok(None) };
        let teams: Vec<String> = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT t.name FROM api_key_teams g JOIN api_keys k ON k.id = g.key_id \
                 JOIN teams t ON t.id = g.team_id AND t.org_id = k.org_id \
                 WHERE k.id = $1 AND k.owner_user_id = $2 AND t.deleted_at IS NULL \
                 ORDER BY t.name",
            )
            .bind(key_id)
            .bind(owner.id())
            .fetch_all(pool)
            .await
        })?;
        Ok(Some((org, teams)))
    }

    /// Gives an unrevoked key of `owner` a new secret (the sudo proof is the
    /// caller's). The previous one stays valid until `previous_valid_until`
    /// (or dies now when that is `None`). Returns false, writing nothing,
    /// for any other key; otherwise `event` is written with the change.
    ///
    /// The old digest is kept even without a grace, with a validity that has
    /// already ended: a rotation at once is what follows a leak, and a later
    /// use of the leaked secret must answer `token_rotated` and be audited,
    /// not look like a random string (`invalid_token`, unaudited).
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_key(
        &self,
        owner: KeyOwner<'_>,
        _sudo: &SudoUser,
        key_id: Uuid,
        new_digest: &[u8],
        previous_valid_until: Option<i64>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        self.rotate_where(owner, key_id, new_digest, previous_valid_until, event, now)
            .await
    }

    /// The one rotation statement, for `rotate_key` and `rotate_key_by_key`.
    async fn rotate_where(
        &self,
        owner: KeyOwner<'_>,
        key_id: Uuid,
        new_digest: &[u8],
        previous_valid_until: Option<i64>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let (user_id, org_id) = owner.filter();
        let done = in_tx!(self, |tx| {
            update_key_audited!(
                tx,
                sqlx::query_scalar(concat!(
                    "UPDATE api_keys SET \
                       previous_digest = secret_digest, \
                       previous_valid_until = COALESCE($1, $3), secret_digest = $2, rotated_at = $3 \
                     WHERE id = $4 AND revoked_at IS NULL AND ",
                    key_owner_filter!(5, 6),
                    " RETURNING org_id"
                ))
                .bind(previous_valid_until)
                .bind(new_digest)
                .bind(now)
                .bind(key_id)
                .bind(user_id)
                .bind(org_id),
                event,
                now
            )
        });
        Ok(done)
    }

    /// Revokes an unrevoked key of `owner` at once: its secret no longer
    /// works, nor a previous one still in its grace period. `event` is
    /// written with the change; false (and nothing written) for any other key.
    pub async fn revoke_key(
        &self,
        owner: KeyOwner<'_>,
        key_id: Uuid,
        notice: Option<&NewMail>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        self.revoke_key_where(key_id, Some(owner), notice, event, now)
            .await
    }

    /// The one revocation statement: the key `key_id` if it is unrevoked and
    /// `owner`'s, or whoever's for `None` — only a leaked-key report
    /// (`db::leaks`), whose caller matched the reported secret instead of
    /// holding an owner's proof.
    pub(in crate::db) async fn revoke_key_where(
        &self,
        key_id: Uuid,
        owner: Option<KeyOwner<'_>>,
        notice: Option<&NewMail>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let (user_id, org_id) = owner.map_or((None, None), KeyOwner::filter);
        // An owner's revocation of a service account's key also forgets a
        // previous secret in grace, so that secret is not recognised at all
        // (`invalid_token`), as deleting the account does; a personal key's
        // old secret, and a reported key's, is still recognised and answered
        // `token_revoked`.
        let forget_previous = matches!(owner, Some(KeyOwner::ServiceAccountsOf(_)));
        let done = in_tx!(self, |tx| {
            let done = update_key_audited!(
                tx,
                sqlx::query_scalar(concat!(
                    "UPDATE api_keys SET revoked_at = $1, \
                     previous_digest = CASE WHEN $3 THEN NULL ELSE previous_digest END \
                     WHERE id = $2 AND revoked_at IS NULL AND ($4 OR ",
                    key_owner_filter!(5, 6),
                    ") RETURNING org_id"
                ))
                .bind(now)
                .bind(key_id)
                .bind(forget_previous)
                .bind(owner.is_none())
                .bind(user_id)
                .bind(org_id),
                event,
                now
            );
            if done && let Some(notice) = notice {
                insert_mail!(&mut *tx, notice, now)?;
            }
            done
        });
        Ok(done)
    }

    /// Removes an expired or revoked key of `owner` from its list (it stays
    /// in the table for the audit trail). The list is a view, not a change of
    /// what the key can do, so no event records it.
    pub async fn hide_key(
        &self,
        owner: KeyOwner<'_>,
        key_id: Uuid,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let (user_id, org_id) = owner.filter();
        let done = execute!(
            self,
            sqlx::query(concat!(
                "UPDATE api_keys SET hidden_at = $1 WHERE id = $2 \
                 AND (revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= $1)) \
                 AND ",
                key_owner_filter!(3, 4)
            ))
            .bind(now)
            .bind(key_id)
            .bind(user_id)
            .bind(org_id)
        )?;
        Ok(done == 1)
    }

    /// The bearer lookup: one indexed query by public id, with the owner's
    /// profile (so a request like `GET /v1/me` costs one query in all).
    pub async fn key_credentials(
        &self,
        public_id: &str,
    ) -> Result<Option<KeyCredentials>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, KeyCredentials>(
                "SELECT k.id, k.public_id, k.owner_user_id, k.service_account_id, k.org_id, \
                 k.name, k.scopes, k.secret_digest, \
                 k.previous_digest, k.previous_valid_until, k.created_at, k.expires_at, \
                 k.revoked_at, k.last_used_at, u.email AS owner_email, \
                 u.disabled_at AS owner_disabled_at, u.display_name AS owner_display_name, \
                 u.phone AS owner_phone, u.job_title AS owner_job_title, \
                 u.time_zone AS owner_time_zone, u.is_operator AS owner_is_operator, \
                 u.created_at AS owner_created_at, u.updated_at AS owner_updated_at, \
                 sa.name AS sa_name, sa.org_id AS sa_org_id, sa.deleted_at AS sa_deleted_at, \
                 o.deleted_at AS org_deleted_at, o.disabled_at AS org_disabled_at \
                 FROM api_keys k LEFT JOIN users u ON u.id = k.owner_user_id \
                 LEFT JOIN service_accounts sa ON sa.id = k.service_account_id \
                 LEFT JOIN orgs o ON o.id = k.org_id \
                 WHERE k.public_id = $1",
            )
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn mark_key_used(&self, key_id: Uuid, ip: &str, now: i64) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query("UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
                .bind(now)
                .bind(ip)
                .bind(key_id)
        )?;
        Ok(())
    }
}

/// The workspaces a set of keys is granted: `(key id, workspace name)`,
/// by key and name.
pub type KeyWorkspaceNames = Vec<(Uuid, String)>;

impl Db {
    /// Makes a key for the minter's person with another key: bound to the
    /// minting key's org (or to none), granted those of `workspaces` that
    /// the minting key is granted itself — the SELECT takes them from its
    /// grants, so no other workspace can be written. `event(key id)` is
    /// written in the same transaction. The caller has checked the scopes
    /// and the expiry against the minting key's.
    pub async fn create_key_by_key(
        &self,
        minter: &KeyMinter,
        key: NewKey<'_>,
        workspaces: &[Uuid],
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        let event = event(id).in_org_of_key(minter.org_id());
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO api_keys (id, public_id, owner_user_id, org_id, name, description, \
                 scopes, secret_digest, created_at, expires_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(key.public_id)
            .bind(minter.user().id())
            .bind(minter.org_id())
            .bind(key.name)
            .bind(key.description)
            .bind(key.scopes.to_stored())
            .bind(key.digest)
            .bind(now)
            .bind(key.expires_at)
            .bind(key.created_by)
            .execute(&mut *tx)
            .await?;
            for ws in workspaces {
                sqlx::query(
                    "INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at) \
                     SELECT $1, g.workspace_id, g.org_id, $2 FROM api_key_workspaces g \
                     JOIN workspaces w ON w.id = g.workspace_id AND w.archived_at IS NULL \
                     WHERE g.key_id = $3 AND g.workspace_id = $4",
                )
                .bind(id)
                .bind(now)
                .bind(minter.key_id())
                .bind(*ws)
                .execute(&mut *tx)
                .await?;
            }
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(id)
    }

    /// Gives an unrevoked key of the minter's person a new secret, as
    /// `rotate_key` does for the pages; the caller has checked that the key
    /// reaches no further than the minting key.
    pub async fn rotate_key_by_key(
        &self,
        minter: &KeyMinter,
        key_id: Uuid,
        new_digest: &[u8],
        previous_valid_until: Option<i64>,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        self.rotate_where(
            KeyOwner::User(minter.user()),
            key_id,
            new_digest,
            previous_valid_until,
            event,
            now,
        )
        .await
    }

    /// The workspace ids a key is granted.
    pub async fn key_workspace_ids(&self, key_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT workspace_id FROM api_key_workspaces WHERE key_id = $1 \
                 ORDER BY workspace_id",
            )
            .bind(key_id)
            .fetch_all(pool)
            .await
        })
    }

    /// The names of the workspaces a key is granted, by name.
    pub async fn key_workspace_names(&self, key_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT w.name FROM api_key_workspaces g JOIN workspaces w ON w.id = g.workspace_id \
                 WHERE g.key_id = $1 ORDER BY w.name",
            )
            .bind(key_id)
            .fetch_all(pool)
            .await
        })
    }

    /// The workspaces granted to each key of the person (their own keys).
    pub async fn workspace_names_of_keys_of(
        &self,
        owner: &CurrentUser,
    ) -> Result<KeyWorkspaceNames, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT g.key_id, w.name FROM api_key_workspaces g \
                 JOIN api_keys k ON k.id = g.key_id JOIN workspaces w ON w.id = g.workspace_id \
                 WHERE k.owner_user_id = $1 ORDER BY g.key_id, w.name",
            )
            .bind(owner.id())
            .fetch_all(pool)
            .await
        })
    }

    /// The workspaces granted to each key bound to the org.
    pub async fn workspace_names_of_keys_in(
        &self,
        scope: &OwnerScope,
    ) -> Result<KeyWorkspaceNames, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT g.key_id, w.name FROM api_key_workspaces g \
                 JOIN workspaces w ON w.id = g.workspace_id \
                 WHERE g.org_id = $1 ORDER BY g.key_id, w.name",
            )
            .bind(scope.org_id())
            .fetch_all(pool)
            .await
        })
    }

    /// Every key bound to the org (its members' bound keys and its service
    /// accounts' keys), newest first, as metadata.
    pub async fn org_bound_keys(&self, scope: &OwnerScope) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE org_id = $1 AND hidden_at IS NULL \
                 ORDER BY created_at DESC, id DESC"
            ))
            .bind(scope.org_id())
            .fetch_all(pool)
            .await
        })
    }
}
