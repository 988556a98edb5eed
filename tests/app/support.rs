//! Support tools on `/ops/users/{id}`: each needs a reason, refuses the
//! operator's own account, is audited in the platform log and in the user's
//! orgs' logs, and (for the dangerous ones) acts only after confirmation.

use axum::http::{Method, StatusCode};
use gatehouse::clock::Clock;
use uuid::Uuid;

use crate::helpers::*;
use crate::mfa::enrol;
use crate::ops::{last_event, operator, user_id};

const REASON: &[(&str, &str)] = &[("reason", "Ticket 4711, identity verified by phone")];
const CONFIRMED: &[(&str, &str)] = &[
    ("reason", "Ticket 4711, identity verified by phone"),
    ("confirmed", "yes"),
];

/// Ada, a member of org "acme" (owned by Olga's colleague Owen).
async fn ada_in_an_org(app: &TestApp) -> Uuid {
    let mut owen = signed_in(app, "owen@example.com", "Owen").await;
    owen.create_org("Acme", "acme")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    registered(app, "ada@example.com", "Ada").await;
    crate::orgs::add_member(app, "acme", "ada@example.com", "member").await;
    user_id(app, "ada@example.com").await
}

/// The operator's events of `action`: (org slug or "platform").
async fn records(app: &TestApp, action: &'static str) -> Vec<String> {
    let sql = "SELECT COALESCE(o.slug, 'platform') FROM audit_events e \
               LEFT JOIN orgs o ON o.id = e.org_id WHERE e.action = $1 ORDER BY 1";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(action).fetch_all(p).await,
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).bind(action).fetch_all(p).await,
    }
    .unwrap()
}

async fn open_user(olga: &mut Client, id: Uuid) {
    olga.submit(
        &format!("/ops/users/{id}"),
        &format!("/ops/users/{id}/view"),
        REASON,
    )
    .await
    .assert_redirect(&format!("/ops/users/{id}"));
}

const TOOLS: &[&str] = &[
    "reset-mfa",
    "clear-lockouts",
    "sign-out",
    "require-password-change",
    "delete",
];

#[tokio::test]
async fn every_tool_needs_a_reason_and_refuses_the_operators_own_account() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut olga = operator(&app, "olga@example.com").await;
        let own = user_id(&app, "olga@example.com").await;
        open_user(&mut olga, ada).await;
        open_user(&mut olga, own).await;
        let events = app.count("SELECT COUNT(*) FROM audit_events").await;
        for tool in TOOLS {
            let res = olga
                .submit(
                    &format!("/ops/users/{ada}"),
                    &format!("/ops/users/{ada}/{tool}"),
                    &[("reason", "  "), ("confirmed", "yes")],
                )
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{tool}");
            // The message stands beside the reason of that form only.
            assert_eq!(
                res.body.matches("class=\"field-error\"").count(),
                1,
                "{tool}"
            );
            assert!(
                res.contains(&format!("id=\"{tool}-reason-error\"")),
                "{tool}"
            );
            let res = olga
                .submit(
                    &format!("/ops/users/{own}"),
                    &format!("/ops/users/{own}/{tool}"),
                    CONFIRMED,
                )
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{tool}");
            assert!(res.contains("This is your own account"), "{tool}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, events);
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 3);
        // A signed-in non-operator does not even see the tools.
        let mut owen = app.client();
        owen.login("owen@example.com", PASSWORD).await;
        let res = owen
            .submit("/account", &format!("/ops/users/{ada}/sign-out"), REASON)
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn a_reset_mfa_is_confirmed_first_then_the_user_must_enrol_again() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut ada_c = app.client();
        ada_c.login("ada@example.com", PASSWORD).await;
        enrol(&app, &mut ada_c).await;
        ada_c.logout().await;
        let mut olga = operator(&app, "olga@example.com").await;
        open_user(&mut olga, ada).await;
        let confirm = olga
            .submit(
                &format!("/ops/users/{ada}"),
                &format!("/ops/users/{ada}/reset-mfa"),
                REASON,
            )
            .await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.contains("every backup code stop working"));
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 1);
        olga.post(&format!("/ops/users/{ada}/reset-mfa"), CONFIRMED)
            .await
            .assert_redirect(&format!("/ops/users/{ada}"));
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 0);
        assert!(
            olga.get(&format!("/ops/users/{ada}"))
                .await
                .contains("Must set up two-factor authentication first")
        );
        // Recorded in the platform log and in acme's, with the reason.
        assert_eq!(records(&app, "ops.user.mfa_reset").await, ["acme"]);
        let (actor, detail) = last_event(&app, "ops.user.mfa_reset").await.unwrap();
        assert_eq!(actor, "olga@example.com");
        assert_eq!(detail["reason"], "Ticket 4711, identity verified by phone");
        // The notice waits for mail.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM notification_outbox WHERE kind = 'support.mfa_reset'")
                .await,
            1
        );
        // The password alone signs in; every page then sends Ada to enrol.
        ada_c
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        ada_c
            .get("/account")
            .await
            .assert_redirect("/account/security/mfa/setup");
        ada_c
            .get("/orgs/acme")
            .await
            .assert_redirect("/account/security/mfa/setup");
        enrol(&app, &mut ada_c).await;
        assert_eq!(ada_c.get("/account").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_a_pending_sign_in() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut first = app.client();
        first.login("ada@example.com", PASSWORD).await;
        let enrolled = enrol(&app, &mut first).await;
        app.clock.advance(30);
        // A second browser between password and code.
        let mut pending = app.client();
        pending
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let mut olga = operator(&app, "olga@example.com").await;
        olga.submit(
            &format!("/ops/users/{ada}"),
            &format!("/ops/users/{ada}/sign-out"),
            REASON,
        )
        .await
        .assert_redirect(&format!("/ops/users/{ada}"));
        first
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        // The half-finished sign-in is gone: a right code no longer helps.
        let code = crate::mfa::totp_at(&enrolled.secret, app.clock.unix());
        pending
            .post("/login/mfa", &[("code", &code)])
            .await
            .assert_redirect("/login");
        assert!(
            pending
                .get("/account")
                .await
                .location()
                .unwrap()
                .starts_with("/login")
        );
        assert_eq!(records(&app, "ops.user.signed_out").await, ["acme"]);
        app
    })
    .await;
}

#[tokio::test]
async fn a_required_password_change_holds_every_page_until_it_is_done() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut olga = operator(&app, "olga@example.com").await;
        olga.submit(
            &format!("/ops/users/{ada}"),
            &format!("/ops/users/{ada}/require-password-change"),
            REASON,
        )
        .await
        .assert_redirect(&format!("/ops/users/{ada}"));
        let mut c = app.client();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        for page in [
            "/account",
            "/account/keys",
            "/orgs/acme",
            "/account/security",
        ] {
            c.get(page)
                .await
                .assert_redirect("/account/security/password");
        }
        let form = c.get("/account/security/password").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.contains("must be changed"));
        c.post(
            "/account/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_redirect("/account/security");
        assert_eq!(c.get("/account").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn clearing_lock_outs_lets_the_owner_sign_in_from_any_browser() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut x = app.client();
        for _ in 0..5 {
            x.login("ada@example.com", "Wrong-Password-123!").await;
        }
        let mut fresh = app.client();
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        let mut olga = operator(&app, "olga@example.com").await;
        olga.submit(
            &format!("/ops/users/{ada}"),
            &format!("/ops/users/{ada}/clear-lockouts"),
            REASON,
        )
        .await
        .assert_redirect(&format!("/ops/users/{ada}"));
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(records(&app, "ops.user.lockouts_cleared").await, ["acme"]);
        app
    })
    .await;
}

#[tokio::test]
async fn one_key_is_revoked_after_confirmation_and_another_users_key_is_not_found() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut ada_c = app.client();
        ada_c.login("ada@example.com", PASSWORD).await;
        let leaked = ada_c.create_key("leaked", &["profile:read"], "30").await;
        let kept = ada_c.create_key("kept", &["profile:read"], "30").await;
        let mut owen = app.client();
        owen.login("owen@example.com", PASSWORD).await;
        let owens = owen.create_key("owen", &["profile:read"], "30").await;
        let public = |t: &str| t["gtk_".len().."gtk_".len() + 12].to_owned();
        let mut olga = operator(&app, "olga@example.com").await;
        open_user(&mut olga, ada).await;
        let page = olga.get(&format!("/ops/users/{ada}")).await;
        assert!(!page.contains(&leaked), "never a secret");
        // Owen's key under Ada's page: not found, nothing revoked.
        let res = olga
            .post(
                &format!("/ops/users/{ada}/keys/{}/revoke", public(&owens)),
                CONFIRMED,
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let path = format!("/ops/users/{ada}/keys/{}/revoke", public(&leaked));
        let confirm = olga.post(&path, REASON).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.contains("leaked"));
        olga.post(&path, CONFIRMED)
            .await
            .assert_redirect(&format!("/ops/users/{ada}"));
        let me = |t: String| {
            let r = app.router.clone();
            async move { api(&r, Method::GET, "/v1/me", Some(&t), None).await }
        };
        let res = me(leaked).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&res)["error"]["code"], "token_revoked");
        assert_eq!(me(kept).await.status, StatusCode::OK);
        assert_eq!(me(owens).await.status, StatusCode::OK);
        assert_eq!(records(&app, "ops.user.key_revoked").await, ["acme"]);
        app
    })
    .await;
}

#[tokio::test]
async fn deletion_is_refused_for_a_sole_owner_and_erases_anyone_else() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let owen = user_id(&app, "owen@example.com").await;
        // Owen is the only owner of two orgs: both are named.
        let mut owen_c = app.client();
        owen_c
            .login("owen@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        owen_c
            .create_org("Beta", "beta")
            .await
            .assert_status(StatusCode::SEE_OTHER);
        let mut olga = operator(&app, "olga@example.com").await;
        let events = app.count("SELECT COUNT(*) FROM audit_events").await;
        let refused = olga
            .submit(
                &format!("/ops/users/{owen}"),
                &format!("/ops/users/{owen}/delete"),
                CONFIRMED,
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.contains("the only owner of Acme (/orgs/acme), Beta (/orgs/beta)"),
            "{}",
            refused.body
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 3);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, events);
        assert!(records(&app, "ops.user.deleted").await.is_empty());
        let confirm = olga
            .submit(
                &format!("/ops/users/{ada}"),
                &format!("/ops/users/{ada}/delete"),
                REASON,
            )
            .await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.contains("cannot be undone"));
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 3);
        olga.post(&format!("/ops/users/{ada}/delete"), CONFIRMED)
            .await
            .assert_redirect("/ops/users");
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
        // Recorded in the platform log and acme's, and like every event about
        // Ada it names only the pseudonym now.
        assert_eq!(records(&app, "ops.user.deleted").await, ["acme"]);
        let sql = "SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%ada@example.com%' \
                   OR target_id = $1 OR actor_id = $2";
        let left: i64 = match app.db() {
            gatehouse::db::Db::Sqlite(p) => {
                sqlx::query_scalar(sql)
                    .bind(ada.to_string())
                    .bind(ada)
                    .fetch_one(p)
                    .await
            }
            gatehouse::db::Db::Postgres(p) => {
                sqlx::query_scalar(sql)
                    .bind(ada.to_string())
                    .bind(ada)
                    .fetch_one(p)
                    .await
            }
        }
        .unwrap();
        assert_eq!(left, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn an_action_on_a_member_of_two_orgs_is_recorded_once_in_each_orgs_log_with_the_change() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        let mut owen = app.client();
        owen.login("owen@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        owen.create_org("Beta", "beta")
            .await
            .assert_status(StatusCode::SEE_OTHER);
        crate::orgs::add_member(&app, "beta", "ada@example.com", "member").await;
        let mut olga = operator(&app, "olga@example.com").await;
        let form = format!("/ops/users/{ada}");
        let action = format!("/ops/users/{ada}/require-password-change");
        olga.submit(&form, &action, REASON)
            .await
            .assert_redirect(&form);
        assert_eq!(
            records(&app, "ops.user.password_change_required").await,
            ["acme", "beta"]
        );
        // The two copies are one action: the same id, reason and operator.
        let sql =
            "SELECT detail FROM audit_events WHERE action = 'ops.user.password_change_required'";
        let details: Vec<String> = match app.db() {
            gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .unwrap();
        let details: Vec<serde_json::Value> = details
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(details[0]["action_id"], details[1]["action_id"]);
        for d in &details {
            assert_eq!(d["reason"], "Ticket 4711, identity verified by phone");
            assert_eq!(d["operator"], "olga@example.com");
            assert_eq!(d["changed"], 1);
        }
        // The same again changes nothing, so it records nothing and tells
        // the user nothing.
        let events = app.count("SELECT COUNT(*) FROM audit_events").await;
        olga.submit(&form, &action, REASON)
            .await
            .assert_redirect(&form);
        assert!(olga.get(&form).await.contains("nothing changed"));
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, events);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM notification_outbox").await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn clearing_lock_outs_clears_the_trusted_browsers_counter_and_no_one_elses() {
    each_engine(|app| async move {
        let ada = ada_in_an_org(&app).await;
        registered(&app, "grace@example.com", "Grace").await;
        // Ada's own browser locks itself out (its device's counter)…
        let mut own = app.client();
        own.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        own.logout().await;
        for _ in 0..5 {
            own.login("ada@example.com", "Wrong-Password-123!")
                .await
                .assert_status(StatusCode::UNAUTHORIZED);
        }
        own.login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        // …and Grace is locked out too, from elsewhere.
        let mut x = app.client();
        x.ip = "198.51.100.9".into();
        for _ in 0..5 {
            x.login("grace@example.com", "Wrong-Password-123!")
                .await
                .assert_status(StatusCode::UNAUTHORIZED);
        }
        let mut olga = operator(&app, "olga@example.com").await;
        olga.submit(
            &format!("/ops/users/{ada}"),
            &format!("/ops/users/{ada}/clear-lockouts"),
            REASON,
        )
        .await
        .assert_redirect(&format!("/ops/users/{ada}"));
        own.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        // Only Ada's counters went.
        app.client()
            .login("grace@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn an_account_the_master_key_registers_must_change_its_password_too() {
    each_engine(|app| async move {
        let key = gatehouse::operators::create_master_key(app.db(), "provisioning", 30, START)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned();
        let body = format!(
            r#"{{"email":"grace@example.com","display_name":"Grace Hopper","password":"{PASSWORD}"}}"#
        );
        let res = api(
            &app.router,
            Method::POST,
            "/v1/admin/account/register",
            Some(&key),
            Some(&body),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let mut grace = app.client();
        grace
            .login("grace@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        grace
            .get("/account/keys")
            .await
            .assert_redirect("/account/security/password");
        // Self-registration is the person's own password: no such step.
        let res = api(
            &app.router,
            Method::POST,
            "/v1/account/register",
            None,
            Some(&body.replace("grace@", "ada@")),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let mut ada = app.client();
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(ada.get("/account").await.status, StatusCode::OK);
        app
    })
    .await;
}
