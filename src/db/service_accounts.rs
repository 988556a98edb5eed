//! Service accounts: non-human principals of one org, managed by its owners,
//! with their own API keys (always bound to that org). Every function takes
//! the `OwnerScope` proof and filters by its org id, so a service account or
//! key of another org is simply not found; creating a key also takes the
//! `SudoUser` proof. Rotation, revocation and removal are shared with
//! personal keys (`Db::rotate_key`, `revoke_key`, `hide_key` with
//! `KeyOwner::ServiceAccountsOf`).
//!
//! Deletion is soft: the row stays so that the audit log and the key history
//! keep naming it, but it disappears from the console and all its keys are
//! revoked in the same transaction (the bearer check also refuses any key of
//! a deleted service account).
//!
//! Every change writes the audit event that records it in its own
//! transaction.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::keys::key_columns;
use super::keys::{ApiKey, NewKey};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::{OrgScope, OwnerScope, SudoUser};

#[derive(Debug, Clone, FromRow)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
    /// Usable (unrevoked, unexpired) keys.
    pub active_keys: i64,
    /// Its org role: `owner` or `member` (`service_accounts.role`).
    pub role: String,
}

impl Db {
    pub async fn list_service_accounts(
        &self,
        scope: &OwnerScope,
        now: i64,
    ) -> Result<Vec<ServiceAccount>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ServiceAccount>(
                "SELECT sa.id, sa.name, sa.description, sa.created_at, sa.role, \
                 (SELECT COUNT(*) FROM api_keys k WHERE k.service_account_id = sa.id \
                  AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)) \
                 AS active_keys \
                 FROM service_accounts sa WHERE sa.org_id = $1 AND sa.deleted_at IS NULL \
                 ORDER BY sa.name, sa.id",
            )
            .bind(scope.org_id())
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn find_service_account(
        &self,
        scope: &OwnerScope,
        id: Uuid,
        now: i64,
    ) -> Result<Option<ServiceAccount>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ServiceAccount>(
                "SELECT sa.id, sa.name, sa.description, sa.created_at, sa.role, \
                 (SELECT COUNT(*) FROM api_keys k WHERE k.service_account_id = sa.id \
                  AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $3)) \
                 AS active_keys \
                 FROM service_accounts sa \
                 WHERE sa.org_id = $1 AND sa.id = $2 AND sa.deleted_at IS NULL",
            )
            .bind(scope.org_id())
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Creates a service account and writes `event(its id)`, in one
    /// transaction. A new principal with owner-level reach through its keys,
    /// so the owner is in sudo mode (`SudoUser`).
    pub async fn create_service_account(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        name: &str,
        description: Option<&str>,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO service_accounts (id, org_id, name, description, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(scope.org_id())
            .bind(name)
            .bind(description)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &event(id), now)?;
        });
        Ok(id)
    }

    /// Soft-deletes a service account and revokes all its keys, in one
    /// transaction; returns how many keys were revoked, or `None` when there
    /// is no such live service account in this org. `event` is written with
    /// `keys_revoked` added. Destructive, so the owner is in sudo mode.
    pub async fn delete_service_account(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        let revoked = in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE service_accounts SET deleted_at = $1 \
                 WHERE org_id = $2 AND id = $3 AND deleted_at IS NULL",
            )
            .bind(now)
            .bind(scope.org_id())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                let keys = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $1, previous_digest = NULL \
                     WHERE service_account_id = $2 AND org_id = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .bind(scope.org_id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                insert_event!(&mut *tx, &event.with("keys_revoked", keys), now)?;
                Some(keys)
            } else {
                None
            }
        });
        Ok(revoked)
    }

    /// The keys of a service account of this org, newest first.
    pub async fn service_account_keys(
        &self,
        scope: &OwnerScope,
        sa_id: Uuid,
    ) -> Result<Vec<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys \
                 WHERE org_id = $1 AND service_account_id = $2 AND hidden_at IS NULL \
                 ORDER BY created_at DESC, id DESC"
            ))
            .bind(scope.org_id())
            .bind(sa_id)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn find_service_account_key(
        &self,
        scope: &OwnerScope,
        sa_id: Uuid,
        public_id: &str,
    ) -> Result<Option<ApiKey>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKey>(concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys \
                 WHERE org_id = $1 AND service_account_id = $2 AND public_id = $3 \
                 AND hidden_at IS NULL"
            ))
            .bind(scope.org_id())
            .bind(sa_id)
            .bind(public_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Creates a key of a live service account of this org, bound to the org,
    /// with grants on the chosen live teams of the org (others are ignored).
    /// `None` when there is no such service account. `event(key id)` is
    /// written in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_service_account_key(
        &self,
        scope: &OwnerScope,
        _sudo: &SudoUser,
        sa_id: Uuid,
        teams: &[Uuid],
        key: NewKey<'_>,
        event: impl FnOnce(Uuid) -> Event,
        now: i64,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        let id = Uuid::now_v7();
        let event = event(id);
        let created = in_tx!(self, |tx| {
            let n = sqlx::query(
                "INSERT INTO api_keys (id, public_id, service_account_id, org_id, name, \
                 description, scopes, secret_digest, created_at, expires_at, created_by) \
                 SELECT $1, $2, sa.id, sa.org_id, $3, $4, $5, $6, $7, $8, $11 \
                 FROM service_accounts sa \
                 WHERE sa.id = $9 AND sa.org_id = $10 AND sa.deleted_at IS NULL",
            )
            .bind(id)
            .bind(key.public_id)
            .bind(key.name)
            .bind(key.description)
            .bind(key.scopes.to_stored())
            .bind(key.digest)
            .bind(now)
            .bind(key.expires_at)
            .bind(sa_id)
            .bind(scope.org_id())
            .bind(key.created_by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                for team in teams {
                    sqlx::query(
                        "INSERT INTO api_key_teams (key_id, team_id) SELECT $1, id FROM teams \
                         WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL",
                    )
                    .bind(id)
                    .bind(*team)
                    .bind(scope.org_id())
                    .execute(&mut *tx)
                    .await?;
                }
                insert_event!(&mut *tx, &event, now)?;
            }
            n == 1
        });
        Ok(created.then_some(id))
    }

    /// The names of the live teams a key is granted in this org.
    pub async fn key_team_names(
        &self,
        scope: &OrgScope,
        key_id: Uuid,
    ) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT t.name FROM api_key_teams g JOIN teams t ON t.id = g.team_id \
                 WHERE g.key_id = $1 AND t.org_id = $2 AND t.deleted_at IS NULL ORDER BY t.name",
            )
            .bind(key_id)
            .bind(scope.org_id())
            .fetch_all(pool)
            .await
        })
    }

    /// The teams a key of the scope's principal may reach *now*: granted,
    /// live, in this org, and — for a person's key — teams they are currently
    /// on. This is evaluated on every request, so leaving a team (or the org)
    /// takes effect at once.
    pub async fn key_team_access(
        &self,
        scope: &OrgScope,
        key_id: Uuid,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        match scope.principal().user_id() {
            Some(user_id) => on_pool!(self, |pool| {
                sqlx::query_scalar::<_, Uuid>(
                    "SELECT t.id FROM api_key_teams g JOIN teams t ON t.id = g.team_id \
                     JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = $3 \
                     WHERE g.key_id = $1 AND t.org_id = $2 AND t.deleted_at IS NULL",
                )
                .bind(key_id)
                .bind(scope.org_id())
                .bind(user_id)
                .fetch_all(pool)
                .await
            }),
            None => on_pool!(self, |pool| {
                sqlx::query_scalar::<_, Uuid>(
                    "SELECT t.id FROM api_key_teams g JOIN teams t ON t.id = g.team_id \
                     WHERE g.key_id = $1 AND t.org_id = $2 AND t.deleted_at IS NULL",
                )
                .bind(key_id)
                .bind(scope.org_id())
                .fetch_all(pool)
                .await
            }),
        }
    }
}

/// A service account on a team.
#[derive(Debug, Clone, FromRow)]
pub struct TeamServiceAccountRow {
    pub id: Uuid,
    pub name: String,
}

/// A service account's org role and its team memberships: owner-only, each
/// change audited in its own transaction. A service account is a team member
/// like a person: it holds the roles its teams are granted on workspaces.
impl Db {
    /// Sets a live service account's org role; `false` when it already had
    /// it or is not the org's.
    pub async fn set_service_account_role(
        &self,
        scope: &OwnerScope,
        id: Uuid,
        role: crate::domain::OrgRole,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            super::audit::execute_audited!(
                tx,
                sqlx::query(
                    "UPDATE service_accounts SET role = $1 WHERE org_id = $2 AND id = $3 \
                     AND deleted_at IS NULL AND role <> $1",
                )
                .bind(role.as_str())
                .bind(scope.org_id())
                .bind(id),
                &event,
                now
            )
        }))
    }

    /// The live service accounts on a team of the org, by name.
    pub async fn team_service_accounts(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
    ) -> Result<Vec<TeamServiceAccountRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TeamServiceAccountRow>(
                "SELECT sa.id, sa.name FROM team_service_accounts ts \
                 JOIN service_accounts sa ON sa.id = ts.service_account_id \
                 AND sa.deleted_at IS NULL \
                 WHERE ts.org_id = $1 AND ts.team_id = $2 ORDER BY sa.name, sa.id",
            )
            .bind(scope.org_id())
            .bind(team_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Puts a live service account of the org on a live team of the org;
    /// `false` when it already is, or either is not the org's.
    pub async fn add_team_service_account(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        service_account_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            super::audit::execute_audited!(
                tx,
                sqlx::query(
                    "INSERT INTO team_service_accounts \
                     (team_id, org_id, service_account_id, created_at) \
                     SELECT t.id, t.org_id, sa.id, $4 FROM teams t \
                     JOIN service_accounts sa ON sa.org_id = t.org_id AND sa.id = $3 \
                     AND sa.deleted_at IS NULL \
                     WHERE t.org_id = $1 AND t.id = $2 AND t.deleted_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM team_service_accounts x \
                                     WHERE x.team_id = t.id AND x.service_account_id = sa.id)",
                )
                .bind(scope.org_id())
                .bind(team_id)
                .bind(service_account_id)
                .bind(now),
                &event,
                now
            )
        }))
    }

    /// Takes a service account off a team of the org; `false` when it was not
    /// on it.
    pub async fn remove_team_service_account(
        &self,
        scope: &OwnerScope,
        team_id: Uuid,
        service_account_id: Uuid,
        event: Event,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(in_tx!(self, |tx| {
            super::audit::execute_audited!(
                tx,
                sqlx::query(
                    "DELETE FROM team_service_accounts \
                     WHERE org_id = $1 AND team_id = $2 AND service_account_id = $3",
                )
                .bind(scope.org_id())
                .bind(team_id)
                .bind(service_account_id),
                &event,
                now
            )
        }))
    }
}
