//! An org's policies: require MFA of every member, and the longest
//! lifetime of the keys bound to it. Owners change them (`OwnerScope`);
//! loosening either one needs sudo mode (`Policies::relax`).

use sqlx::FromRow;

use super::audit::{Event, insert_event};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::OwnerScope;

/// The org's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Policies {
    pub require_mfa: bool,
    /// Members must have a passkey (a phishing-resistant factor).
    pub require_passkey: bool,
    pub max_key_lifetime_days: Option<i64>,
}

impl Policies {
    /// Whether going from `before` to these policies loosens either one:
    /// MFA no longer required, or keys allowed to live longer (`None` is no
    /// limit). Loosening needs sudo mode; tightening does not.
    pub fn relax(&self, before: &Policies) -> bool {
        let longer = match (before.max_key_lifetime_days, self.max_key_lifetime_days) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(old), Some(new)) => new > old,
        };
        (before.require_mfa && !self.require_mfa)
            || (before.require_passkey && !self.require_passkey)
            || longer
    }
}

impl Db {
    /// Saves the org's policies; returns them as they were before, read in
    /// the same transaction, where `event(before)` is written if they changed.
    pub async fn update_policies(
        &self,
        scope: &OwnerScope,
        new: Policies,
        event: impl FnOnce(&Policies) -> Event,
        now: i64,
    ) -> Result<Policies, sqlx::Error> {
        in_tx!(self, |tx| {
            let before = sqlx::query_as::<_, Policies>(
                "SELECT require_mfa, require_passkey, max_key_lifetime_days FROM orgs WHERE id = $1",
            )
            .bind(scope.org_id())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE orgs SET require_mfa = $1, max_key_lifetime_days = $2, \
                 require_passkey = $4 WHERE id = $3",
            )
            .bind(new.require_mfa)
            .bind(new.max_key_lifetime_days)
            .bind(scope.org_id())
            .bind(new.require_passkey)
            .execute(&mut *tx)
            .await?;
            if before != new {
                insert_event!(&mut *tx, &event(&before), now)?;
            }
            Ok(before)
        })
    }

    /// How many members have no MFA (one query, for the policy page).
    pub async fn members_without_mfa(&self, scope: &OwnerScope) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM memberships m WHERE m.org_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = m.user_id) \
                 AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id)",
            )
            .bind(scope.org_id())
            .fetch_one(pool)
            .await
        })
    }
}

impl Db {
    /// How many members have no passkey (for the phishing-resistant policy).
    pub async fn members_without_passkey(&self, scope: &OwnerScope) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM memberships m WHERE m.org_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id)",
            )
            .bind(scope.org_id())
            .fetch_one(pool)
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(require_mfa: bool, days: Option<i64>) -> Policies {
        Policies {
            require_mfa,
            require_passkey: false,
            max_key_lifetime_days: days,
        }
    }

    #[test]
    fn only_loosening_a_policy_relaxes_it() {
        let now = p(true, Some(30));
        assert!(!p(true, Some(30)).relax(&now));
        assert!(!p(true, Some(7)).relax(&now));
        assert!(p(true, Some(31)).relax(&now));
        assert!(p(true, None).relax(&now));
        assert!(p(false, Some(30)).relax(&now));
        assert!(!p(true, Some(365)).relax(&p(false, None)));
        assert!(!p(false, None).relax(&p(false, None)));
        let passkeys = Policies {
            require_passkey: true,
            ..now
        };
        assert!(now.relax(&passkeys));
        assert!(!passkeys.relax(&now));
    }
}
