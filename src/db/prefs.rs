//! Notification preferences: event category × channel.

use sqlx::FromRow;

use super::audit::{Event, insert_event};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::CurrentUser;

/// The categories a user can be notified about, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Security,
    ApiKeys,
    Membership,
    Product,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Security,
        Category::ApiKeys,
        Category::Membership,
        Category::Product,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Category::Security => "security",
            Category::ApiKeys => "api_keys",
            Category::Membership => "membership",
            Category::Product => "product",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Security => "Security alerts",
            Category::ApiKeys => "API key events",
            Category::Membership => "Organization membership changes",
            Category::Product => "Product updates",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Category::Security => "Sign-ins from new devices, password and MFA changes.",
            Category::ApiKeys => "Keys created, rotated, revoked or about to expire.",
            Category::Membership => "Invitations, role changes and team assignments.",
            Category::Product => "New features and changes to the platform.",
        }
    }

    /// Security alerts by email cannot be switched off: they are how a person
    /// learns that someone else is using their account.
    pub fn email_locked(self) -> bool {
        self == Category::Security
    }

    fn default_pref(self) -> Pref {
        Pref {
            email: !matches!(self, Category::Product),
            in_app: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pref {
    pub email: bool,
    pub in_app: bool,
}

#[derive(FromRow)]
struct PrefRow {
    category: String,
    email: bool,
    in_app: bool,
}

impl Db {
    /// The user's preferences for every category, defaults filled in.
    pub async fn notification_prefs(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<(Category, Pref)>, sqlx::Error> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, PrefRow>(
                "SELECT category, email, in_app FROM notification_prefs WHERE user_id = $1",
            )
            .bind(user.id())
            .fetch_all(pool)
            .await
        })?;
        Ok(Category::ALL
            .iter()
            .map(|&c| {
                let stored = rows.iter().find(|r| r.category == c.key());
                let mut pref = stored.map_or(c.default_pref(), |r| Pref {
                    email: r.email,
                    in_app: r.in_app,
                });
                if c.email_locked() {
                    pref.email = true;
                }
                (c, pref)
            })
            .collect())
    }

    pub async fn save_notification_prefs(
        &self,
        user: &CurrentUser,
        prefs: &[(Category, Pref)],
        event: Event,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        in_tx!(self, |tx| {
            for (category, pref) in prefs {
                sqlx::query(
                    "INSERT INTO notification_prefs (user_id, category, email, in_app) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, category) \
                     DO UPDATE SET email = $3, in_app = $4",
                )
                .bind(user.id())
                .bind(category.key())
                .bind(pref.email || category.email_locked())
                .bind(pref.in_app)
                .execute(&mut *tx)
                .await?;
            }
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(())
    }
}
