//! An organization's policies (require MFA for members, the maximum key
//! lifetime), saved by its owners. Both functions take the `OwnerScope`
//! proof; the policies are enforced where they apply (`authz::mfa` for
//! MFA, `web::keys` for key lifetimes), read from the scope.

use sqlx::FromRow;

use super::{Db, in_tx, on_pool};
use crate::authz::proof::OwnerScope;

/// The org's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Policies {
    pub require_mfa: bool,
    pub max_key_lifetime_days: Option<i64>,
}

impl Db {
    /// Saves the org's policies; returns them as they were before, read in
    /// the same transaction.
    pub async fn update_policies(
        &self,
        scope: &OwnerScope,
        new: Policies,
    ) -> Result<Policies, sqlx::Error> {
        in_tx!(self, |tx| {
            let before = sqlx::query_as::<_, Policies>(
                "SELECT require_mfa, max_key_lifetime_days FROM orgs WHERE id = $1",
            )
            .bind(scope.org_id())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE orgs SET require_mfa = $1, max_key_lifetime_days = $2 WHERE id = $3",
            )
            .bind(new.require_mfa)
            .bind(new.max_key_lifetime_days)
            .bind(scope.org_id())
            .execute(&mut *tx)
            .await?;
            Ok(before)
        })
    }

    /// How many members have no MFA (one query, for the policy page).
    pub async fn members_without_mfa(&self, scope: &OwnerScope) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM memberships m LEFT JOIN user_mfa f ON f.user_id = m.user_id \
                 WHERE m.org_id = $1 AND f.user_id IS NULL",
            )
            .bind(scope.org_id())
            .fetch_one(pool)
            .await
        })
    }
}
