//! Feature flags, stored in the database so that every instance sees a change
//! at once.

use super::{Db, execute, on_pool};

pub const ACCOUNT_REGISTRATION: &str = "account-registration";
/// Whether ordinary users may create organizations (operators always may).
/// Created on by migration 0018.
pub const ORG_CREATION: &str = "org-creation";

impl Db {
    pub async fn flag_enabled(&self, name: &str) -> Result<bool, sqlx::Error> {
        let enabled = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, bool>("SELECT enabled FROM feature_flags WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(enabled.unwrap_or(false))
    }

    pub async fn set_flag(&self, name: &str, enabled: bool, now: i64) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO feature_flags (name, enabled, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET enabled = $2, updated_at = $3",
            )
            .bind(name)
            .bind(enabled)
            .bind(now)
        )?;
        Ok(())
    }

    /// Creates the flag with `enabled` unless it already exists.
    pub async fn ensure_flag(
        &self,
        name: &str,
        enabled: bool,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO feature_flags (name, enabled, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(enabled)
            .bind(now)
        )?;
        Ok(())
    }
}
