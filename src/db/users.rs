//! Users: a person's global identity. Self-service writes take the
//! `CurrentUser` proof, so they can only ever touch the session's own user.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::outbox::{NewMail, insert_mail};
use super::recovery::{NewLink, insert_link};
use super::{Db, execute, in_tx, on_pool};
use crate::authz::proof::{CurrentUser, PlatformScope};

/// A user as the console shows it (no credential material).
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub time_zone: String,
    pub is_operator: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Every page sends the user to change their password first (an
    /// operator's support action, or an account an operator created).
    #[sqlx(default)]
    pub must_change_password: bool,
    /// Every page sends the user to enrol in MFA first (an operator reset
    /// their MFA).
    #[sqlx(default)]
    pub must_enrol_mfa: bool,
    /// When the person followed a link sent to their address (email
    /// verification, a password reset, an emailed invitation); `None` while
    /// it is unproven.
    #[sqlx(default)]
    pub email_verified_at: Option<i64>,
}

/// What sign-in needs: the id, the stored hash and whether the account may
/// sign in at all.
#[derive(Debug, Clone, FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
    #[sqlx(default)]
    pub email_verified_at: Option<i64>,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
}

pub struct ProfileUpdate<'a> {
    pub display_name: &'a str,
    pub phone: Option<&'a str>,
    pub job_title: Option<&'a str>,
    pub time_zone: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The columns of `User`, for queries that splice them in with `concat!`.
macro_rules! user_columns {
    () => {
        "id, email, display_name, phone, job_title, time_zone, is_operator, disabled_at, \
         created_at, updated_at, must_change_password, must_enrol_mfa, email_verified_at"
    };
}
pub(crate) use user_columns;

impl Db {
    /// Creates an account and writes `events(new user)` (who created it and
    /// how) in the same transaction.
    pub async fn create_user(
        &self,
        new: NewUser<'_>,
        events: impl FnOnce(&User) -> Vec<Event>,
        now: i64,
    ) -> Result<User, CreateUserError> {
        self.insert_user(new, false, None, events, now).await
    }

    /// `create_user` that also issues `link` (the email-verification link)
    /// and queues its message, in the same transaction.
    pub async fn create_user_with_link(
        &self,
        new: NewUser<'_>,
        link: &NewLink<'_>,
        events: impl FnOnce(&User) -> Vec<Event>,
        now: i64,
    ) -> Result<User, CreateUserError> {
        self.insert_user(new, false, Some(link), events, now).await
    }

    /// `create_user` for an account an operator creates: its initial
    /// password has been seen by someone else, so the person must choose
    /// their own at first sign-in (`must_change_password`).
    pub async fn create_user_by_operator(
        &self,
        _scope: &PlatformScope,
        new: NewUser<'_>,
        events: impl FnOnce(&User) -> Vec<Event>,
        now: i64,
    ) -> Result<User, CreateUserError> {
        self.insert_user(new, true, None, events, now).await
    }

    /// An account an operator creates for someone: it has no password (an
    /// empty hash matches none) until its person follows `setup`, the
    /// account set-up link emailed to the address, queued in the same
    /// transaction. Nobody but that person ever sees a password.
    pub async fn create_user_with_setup_link(
        &self,
        _scope: &PlatformScope,
        email: &str,
        display_name: &str,
        setup: &NewLink<'_>,
        events: impl FnOnce(&User) -> Vec<Event>,
        now: i64,
    ) -> Result<User, CreateUserError> {
        let new = NewUser {
            email,
            password_hash: "",
            display_name,
        };
        self.insert_user(new, false, Some(setup), events, now).await
    }

    async fn insert_user(
        &self,
        new: NewUser<'_>,
        must_change_password: bool,
        link: Option<&NewLink<'_>>,
        events: impl FnOnce(&User) -> Vec<Event>,
        now: i64,
    ) -> Result<User, CreateUserError> {
        let user = User {
            id: Uuid::now_v7(),
            email: new.email.to_owned(),
            display_name: new.display_name.to_owned(),
            phone: None,
            job_title: None,
            time_zone: "UTC".to_owned(),
            is_operator: false,
            disabled_at: None,
            created_at: now,
            updated_at: now,
            must_change_password,
            must_enrol_mfa: false,
            email_verified_at: None,
        };
        let events = events(&user);
        let result: Result<(), sqlx::Error> = async {
            in_tx!(self, |tx| {
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, display_name, time_zone, \
                     created_at, updated_at, must_change_password) \
                     VALUES ($1, $2, $3, $4, 'UTC', $5, $5, $6)",
                )
                .bind(user.id)
                .bind(new.email)
                .bind(new.password_hash)
                .bind(new.display_name)
                .bind(now)
                .bind(must_change_password)
                .execute(&mut *tx)
                .await?;
                if let Some(link) = link {
                    insert_link!(tx, user.id, new.email, link, now);
                }
                for event in &events {
                    insert_event!(&mut *tx, event, now)?;
                }
            });
            Ok(())
        }
        .await;
        match result {
            Ok(()) => Ok(user),
            Err(e) if is_unique_violation(&e) => Err(CreateUserError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find_user(&self, id: Uuid) -> Result<Option<User>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn find_credentials_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Credentials>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Credentials>(
                "SELECT id, password_hash, disabled_at, email_verified_at FROM users WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn password_hash(&self, user: &CurrentUser) -> Result<String, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE id = $1")
                .bind(user.id())
                .fetch_one(pool)
                .await
        })
    }

    /// Replaces a hash computed with weaker parameters, after a successful
    /// sign-in proved the password. Only replaces the hash it verified.
    pub async fn upgrade_password_hash(
        &self,
        user_id: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self,
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(new_hash)
                .bind(user_id)
                .bind(old_hash)
        )?;
        Ok(())
    }

    /// Updates the profile, and the copy of the name that org member lists
    /// sort and search by, in one transaction.
    pub async fn update_profile(
        &self,
        user: &CurrentUser,
        update: ProfileUpdate<'_>,
        event: Event,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE users SET display_name = $1, phone = $2, job_title = $3, time_zone = $4, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(update.display_name)
            .bind(update.phone)
            .bind(update.job_title)
            .bind(update.time_zone)
            .bind(now)
            .bind(user.id())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE memberships SET member_name = $1 WHERE user_id = $2")
                .bind(update.display_name.to_lowercase())
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            insert_event!(&mut *tx, &event, now)?;
        });
        Ok(())
    }

    /// Sets a new password hash and revokes every other session of the user,
    /// in one transaction with `event` (`sessions_revoked` added); returns how
    /// many sessions were signed out.
    pub async fn change_password(
        &self,
        user: &CurrentUser,
        new_hash: &str,
        keep_session: &[u8],
        notice: &NewMail,
        event: Event,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let revoked = in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2, \
                 must_change_password = FALSE WHERE id = $3",
            )
            .bind(new_hash)
            .bind(now)
            .bind(user.id())
            .execute(&mut *tx)
            .await?;
            // A pending MFA sign-in for the user had the old password: it ends
            // with the other sessions.
            let revoked = sqlx::query(
                "DELETE FROM sessions WHERE (user_id = $1 AND id_hash <> $2) \
                 OR pending_user_id = $1",
            )
            .bind(user.id())
            .bind(keep_session)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // A pending email change was asked for with the old password.
            sqlx::query(super::email_changes::SPEND_ALL_SQL)
                .bind(now)
                .bind(user.id())
                .execute(&mut *tx)
                .await?;
            insert_mail!(&mut *tx, notice, now)?;
            insert_event!(&mut *tx, &event.with("sessions_revoked", revoked), now)?;
            revoked
        });
        Ok(revoked)
    }

    pub async fn count_users(&self, _scope: &PlatformScope) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await
        })
    }
}
