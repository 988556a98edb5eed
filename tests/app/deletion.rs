//! Account deletion: the preview, the confirmation (password, and a code with
//! MFA), the rate limit, the erasure of every credential and every piece of
//! personal data, the pseudonymised audit trail, atomicity, and signing up
//! again with the same email.

use axum::http::{Method, StatusCode};
use gatehouse::clock::Clock;
use gatehouse::db::Db;
use uuid::Uuid;

use crate::export::person;
use crate::helpers::*;
use crate::mfa::{enrol, totp_at};
use crate::sessions::FIREFOX;

/// Counts rows matching `sql` with one text parameter (test inspection).
async fn count_with(app: &TestApp, sql: &'static str, value: &str) -> i64 {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql)
            .bind(value)
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql)
            .bind(value)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

async fn count_uuid(app: &TestApp, sql: &'static str, id: Uuid) -> i64 {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap(),
    }
}

async fn user_id(app: &TestApp, email: &str) -> Option<Uuid> {
    app.db()
        .find_credentials_by_email(email)
        .await
        .unwrap()
        .map(|c| c.id)
}

impl Client {
    pub async fn delete_account(&mut self, fields: &[(&str, &str)]) -> TestResponse {
        self.submit("/account/delete", "/account/delete", fields)
            .await
    }
}

/// Rows that mention `text` anywhere a person's data could be, in every table.
async fn mentions(app: &TestApp, text: &str) -> i64 {
    let pattern = format!("%{text}%");
    let mut n = 0;
    for sql in [
        "SELECT COUNT(*) FROM users WHERE email LIKE $1 OR display_name LIKE $1 \
         OR phone LIKE $1 OR job_title LIKE $1",
        "SELECT COUNT(*) FROM sessions WHERE ip LIKE $1 OR user_agent LIKE $1",
        "SELECT COUNT(*) FROM api_keys WHERE name LIKE $1 OR description LIKE $1",
        "SELECT COUNT(*) FROM rate_counters WHERE bucket LIKE $1",
        "SELECT COUNT(*) FROM feature_flags WHERE name LIKE $1",
        "SELECT COUNT(*) FROM audit_events WHERE actor_label LIKE $1 OR target_id LIKE $1 \
         OR detail LIKE $1",
    ] {
        let found = count_with(app, sql, &pattern).await;
        if found > 0 {
            eprintln!("{text} in: {sql}");
        }
        n += found;
    }
    n
}

#[tokio::test]
async fn the_page_shows_what_will_go_before_anything_happens() {
    each_engine(|app| async move {
        let mut ada = person(
            &app,
            "ada",
            "Ada Lovelace",
            "+44 20 7946 0958",
            "203.0.113.7",
        )
        .await;
        let mut laptop = app.client();
        laptop.user_agent = FIREFOX.into();
        laptop.ip = "198.51.100.4".into();
        laptop
            .login(&ada.email, PASSWORD)
            .await
            .assert_redirect("/account");

        let page = ada.client.get("/account/delete").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("2 sessions signed out"), "{}", page.body);
        assert!(page.contains("Firefox 132 on Linux (198.51.100.4)"));
        assert!(page.contains("(this device)"));
        assert!(page.contains("1 API key deleted"));
        assert!(page.contains("ada-nightly-sync"));
        assert!(page.contains("Memberships and teams"));
        assert!(page.contains("You are not a member of any organization."));
        assert!(page.contains("<label for=\"password\">Current password</label>"));
        assert!(
            !page.contains("<label for=\"code\">"),
            "no MFA, no code field"
        );
        assert!(page.contains("href=\"/account/delete\" aria-current=\"page\""));
        assert!(user_id(&app, &ada.email).await.is_some());
        app
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_or_sudo_mode_alone_deletes_nothing() {
    each_engine(|app| async move {
        let mut ada = person(
            &app,
            "ada",
            "Ada Lovelace",
            "+44 20 7946 0958",
            "203.0.113.7",
        )
        .await;
        let before = (
            app.count("SELECT COUNT(*) FROM sessions").await,
            app.count("SELECT COUNT(*) FROM api_keys").await,
            app.count("SELECT COUNT(*) FROM users").await,
        );
        // The person is in sudo mode (the key was just created): not enough.
        let res = ada.client.delete_account(&[]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Your account was not deleted."));
        let res = ada
            .client
            .delete_account(&[("password", "Wrong-Password-123!")])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That is not your current password."));
        let after = (
            app.count("SELECT COUNT(*) FROM sessions").await,
            app.count("SELECT COUNT(*) FROM api_keys").await,
            app.count("SELECT COUNT(*) FROM users").await,
        );
        assert_eq!(before, after);
        assert_eq!(ada.client.get("/account").await.status, StatusCode::OK);
        let me = api(&app.router, Method::GET, "/v1/me", Some(&ada.token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'account.delete_failed'")
                .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn with_mfa_a_wrong_code_deletes_nothing_and_a_right_one_deletes_the_account() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = enrol(&app, &mut c).await;
        app.clock.advance(30);
        let page = c.get("/account/delete").await;
        assert!(page.contains("<label for=\"code\">Authentication code</label>"));
        let res = c
            .delete_account(&[("password", PASSWORD), ("code", "000000")])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That code is not right"));
        assert!(user_id(&app, "ada@example.com").await.is_some());
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 1);

        let code = totp_at(&enrolled.secret, app.clock.unix());
        c.delete_account(&[("password", PASSWORD), ("code", &code)])
            .await
            .assert_redirect("/account/deleted");
        assert!(user_id(&app, "ada@example.com").await.is_none());
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn after_deletion_every_credential_fails_and_no_personal_data_remains() {
    each_engine(|app| async move {
        let mut ada = person(&app, "ada", "Ada Lovelace", "+44 20 7946 0958", "203.0.113.7").await;
        let mut bob = person(&app, "bob", "Bob Babbage", "+44 20 7946 0111", "198.51.100.77").await;
        let ada_id = user_id(&app, &ada.email).await.unwrap();
        let mut laptop = app.client();
        laptop.login(&ada.email, PASSWORD).await.assert_redirect("/account");
        // A failed sign-in with Ada's email, and notification preferences.
        app.client().login(&ada.email, "Wrong-Password-123!").await;
        ada.client.get("/account/notifications").await;
        ada.client
            .post("/account/notifications", &[("product_email", "on")])
            .await;
        ada.client.export().await;
        let old_cookie = ada.client.session_cookie().cloned().unwrap();

        let res = ada.client.delete_account(&[("password", PASSWORD)]).await;
        res.assert_redirect("/account/deleted");
        let page = ada.client.get("/account/deleted").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Account deleted"));
        assert!(page.contains(
            "Your account has been deleted. Every session was signed out and its API key was deleted."
        ));
        assert!(page.contains("class=\"auth-card\""), "public layout");

        // No personal data remains, in any table (checked before the attempts
        // below, which log a failed sign-in with the typed email, as for
        // any unknown address).
        for text in [
            ada.email.as_str(),
            ada.name.as_str(),
            ada.phone.as_str(),
            ada.key_name.as_str(),
            &ada_id.to_string(),
        ] {
            assert_eq!(mentions(&app, text).await, 0, "{text} remains");
        }
        for sql in [
            "SELECT COUNT(*) FROM users WHERE id = $1",
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
            "SELECT COUNT(*) FROM api_keys WHERE owner_user_id = $1",
            "SELECT COUNT(*) FROM notification_prefs WHERE user_id = $1",
            "SELECT COUNT(*) FROM user_mfa WHERE user_id = $1",
            "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1",
            "SELECT COUNT(*) FROM audit_events WHERE actor_id = $1",
        ] {
            assert_eq!(count_uuid(&app, sql, ada_id).await, 0, "{sql}");
        }
        // Every credential fails: the cookie (this browser and the other),
        // the key, the password.
        let mut replay = app.client();
        replay.cookies.insert("gatehouse_session".into(), old_cookie);
        replay.get("/account").await.assert_redirect("/login?next=%2Faccount");
        laptop.get("/account").await.assert_redirect("/login?next=%2Faccount");
        let me = api(&app.router, Method::GET, "/v1/me", Some(&ada.token), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&me)["error"]["code"], "invalid_token");
        let res = app.client().login(&ada.email, PASSWORD).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);

        // The audit trail stays, under one pseudonym, with the deletion itself.
        let deleted = count_with(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = $1 \
             AND actor_label LIKE 'deleted-user-%'",
            "account.deleted",
        )
        .await;
        assert_eq!(deleted, 1);
        let labels = app
            .count("SELECT COUNT(DISTINCT actor_label) FROM audit_events WHERE actor_label LIKE 'deleted-user-%'")
            .await;
        assert_eq!(labels, 1);
        let kept = app
            .count("SELECT COUNT(*) FROM audit_events WHERE actor_label LIKE 'deleted-user-%'")
            .await;
        assert!(kept >= 6, "{kept}");

        // Bob is untouched.
        assert_eq!(bob.client.get("/account").await.status, StatusCode::OK);
        let me = api(&app.router, Method::GET, "/v1/me", Some(&bob.token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(mentions(&app, &bob.email).await > 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_pending_mfa_sign_in_of_the_deleted_user_goes_too() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = enrol(&app, &mut c).await;
        app.clock.advance(30);
        let ada_id = user_id(&app, "ada@example.com").await.unwrap();
        let mut other = app.client();
        other
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let code = totp_at(&enrolled.secret, app.clock.unix());
        c.delete_account(&[("password", PASSWORD), ("code", &code)])
            .await
            .assert_redirect("/account/deleted");
        let pending = match app.db() {
            Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sessions WHERE instr(data, $1) > 0",
            )
            .bind(ada_id.to_string().into_bytes())
            .fetch_one(p)
            .await
            .unwrap(),
            Db::Postgres(p) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sessions WHERE position($1 in data) > 0",
            )
            .bind(ada_id.to_string().into_bytes())
            .fetch_one(p)
            .await
            .unwrap(),
        };
        assert_eq!(pending, 0);
        app.clock.advance(30);
        // The challenge went with the deleted user's pending sign-in.
        other.get("/login/mfa").await.assert_redirect("/login");
        let code = totp_at(&enrolled.secret, app.clock.unix());
        let res = other.post("/login/mfa", &[("code", &code)]).await;
        assert_ne!(res.location(), Some("/account"));
        other
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn the_email_can_sign_up_again_as_a_new_account() {
    each_engine(|app| async move {
        let mut ada = person(
            &app,
            "ada",
            "Ada Lovelace",
            "+44 20 7946 0958",
            "203.0.113.7",
        )
        .await;
        let old_id = user_id(&app, &ada.email).await.unwrap();
        ada.client
            .delete_account(&[("password", PASSWORD)])
            .await
            .assert_redirect("/account/deleted");
        let mut again = app.client();
        again
            .signup(&ada.email, "Ada Again", PASSWORD)
            .await
            .assert_redirect("/account");
        let new_id = user_id(&app, &ada.email).await.unwrap();
        assert_ne!(old_id, new_id);
        let keys = again.get("/account/keys").await;
        assert!(!keys.contains("ada-nightly-sync"));
        let doc: serde_json::Value = serde_json::from_str(&again.export().await.body).unwrap();
        assert_eq!(doc["profile"]["display_name"], "Ada Again");
        assert!(
            doc["audit_events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["action"] != "api_key.created"),
            "the old account's history is not the new one's"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn deletion_attempts_are_limited_to_three_an_hour() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        for _ in 0..3 {
            let res = c
                .delete_account(&[("password", "Wrong-Password-123!")])
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let res = c.delete_account(&[("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers.contains_key("retry-after"));
        assert!(user_id(&app, "ada@example.com").await.is_some());
        app
    })
    .await;
}

#[tokio::test]
async fn a_failure_mid_way_leaves_the_account_fully_present() {
    each_engine(|app| async move {
        let mut ada = person(
            &app,
            "ada",
            "Ada Lovelace",
            "+44 20 7946 0958",
            "203.0.113.7",
        )
        .await;
        // The last step (removing the user row) fails, as a crash would
        // interrupt it: everything before it must be rolled back.
        app.start_failing("interrupt", "DELETE", "users", "simulated crash")
            .await;
        let events = app.count("SELECT COUNT(*) FROM audit_events").await;
        let res = ada.client.delete_account(&[("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(user_id(&app, &ada.email).await.is_some());
        assert_eq!(ada.client.get("/account").await.status, StatusCode::OK);
        let me = api(&app.router, Method::GET, "/v1/me", Some(&ada.token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE actor_label LIKE 'deleted-user-%'")
                .await,
            0,
            "no event was pseudonymised"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, events);
        assert!(mentions(&app, &ada.phone).await > 0);
        app
    })
    .await;
}

#[tokio::test]
async fn the_confirmation_page_sends_a_signed_in_visitor_to_their_account() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.get("/account/deleted").await.assert_redirect("/account");
        let mut anon = app.client();
        assert_eq!(anon.get("/account/deleted").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn the_only_owner_of_an_organization_cannot_delete_the_account_until_another_owner_exists() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = crate::orgs::two_orgs(&app).await;
        let page = ada.get("/account/delete").await;
        assert!(page.contains("Acme"), "the blocking org is named");
        let res = ada.delete_account(&[("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(
            user_id(&app, "ada@example.com").await.is_some(),
            "nothing was deleted"
        );
        let grace = crate::orgs::user_id(&app, "grace@example.com").await;
        ada.ensure_sudo(&format!("/orgs/acme/members/{grace}"))
            .await;
        ada.submit(
            &format!("/orgs/acme/members/{grace}"),
            &format!("/orgs/acme/members/{grace}/role"),
            &[("role", "owner")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/members/{grace}"));
        let res = ada.delete_account(&[("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert!(user_id(&app, "ada@example.com").await.is_none());
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'ada@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner'")
                .await,
            2,
            "grace and olga"
        );
        app
    })
    .await;
}
