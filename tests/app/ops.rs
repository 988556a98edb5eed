//! The operator console: who can reach it, reasons, audit records, and what
//! operators can never see.

use axum::http::{Method, StatusCode};
use gatehouse::db::Db;
use uuid::Uuid;

use crate::helpers::*;
use crate::sudo::urlencode;

/// A client signed in as a new user who is then made an operator (as
/// `gatehouse operator grant` does) and has entered sudo mode.
pub async fn operator(app: &TestApp, email: &str) -> Client {
    let mut c = signed_in(app, email, "Olga Operator").await;
    gatehouse::operators::set_operator(app.db(), email, true, START)
        .await
        .unwrap();
    c.sudo(PASSWORD, "/ops").await.assert_redirect("/ops");
    assert_eq!(c.get("/ops").await.status, StatusCode::OK);
    c
}

pub async fn user_id(app: &TestApp, email: &str) -> Uuid {
    let sql = "SELECT id FROM users WHERE email = $1";
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
    }
    .unwrap()
}

async fn sessions_of(app: &TestApp, id: Uuid) -> i64 {
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1";
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
    }
    .unwrap()
}

/// The `detail` of the latest audit event with this action.
pub async fn last_event(app: &TestApp, action: &str) -> Option<(String, serde_json::Value)> {
    let sql = "SELECT actor_label, detail FROM audit_events WHERE action = $1 \
               ORDER BY occurred_at DESC, id DESC LIMIT 1";
    let row: Option<(String, String)> = match app.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).bind(action).fetch_optional(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).bind(action).fetch_optional(p).await,
    }
    .unwrap();
    row.map(|(actor, detail)| (actor, serde_json::from_str(&detail).unwrap()))
}

fn ops_pages(user: Uuid) -> Vec<String> {
    vec![
        "/ops".into(),
        "/ops/users".into(),
        "/ops/users?q=ada".into(),
        "/ops/orgs".into(),
        format!("/ops/users/{user}"),
        "/ops/accounts/new".into(),
        format!("/ops/accounts/{user}/created"),
        "/ops/flags".into(),
        "/ops/master-keys".into(),
        "/ops/audit".into(),
    ]
}

fn ops_forms(user: Uuid) -> Vec<String> {
    vec![
        format!("/ops/users/{user}/view"),
        format!("/ops/orgs/{user}/view"),
        format!("/ops/users/{user}/disable"),
        format!("/ops/users/{user}/enable"),
        "/ops/accounts".into(),
        "/ops/flags/account-registration".into(),
        "/ops/master-keys/AAAAAAAAAAAA/revoke".into(),
    ]
}

#[tokio::test]
async fn a_non_operator_gets_the_plain_404_on_every_ops_page_and_form() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let ada = user_id(&app, "ada@example.com").await;
        // Even in sudo mode: sudo is not authority.
        c.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        let unknown = c.get("/no-such-page").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        for path in ops_pages(ada) {
            let res = c.get(&path).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "GET {path}");
            assert_eq!(res.body, unknown.body, "GET {path} looks like any 404");
        }
        // A non-operator posts with a token from a page they can open.
        for path in ops_forms(ada) {
            let res = c
                .submit(
                    "/account",
                    &path,
                    &[
                        ("reason", "curious"),
                        ("enabled", "false"),
                        ("email", "x@example.com"),
                        ("display_name", "X"),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "POST {path}");
        }
        assert!(app.db().flag_enabled("account-registration").await.unwrap());
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL")
                .await,
            0
        );
        // Anonymous visitors get the same 404, not a sign-in page.
        let mut anon = app.client();
        for path in ops_pages(ada) {
            let res = anon.get(&path).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "anonymous GET {path}");
        }
        // And the console is not linked for them.
        assert!(!c.get("/account").await.contains("href=\"/ops\""));
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_without_sudo_is_sent_to_sudo_and_comes_back() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "olga@example.com", "Olga").await;
        gatehouse::operators::set_operator(app.db(), "olga@example.com", true, START)
            .await
            .unwrap();
        assert!(c.get("/account").await.contains("href=\"/ops\""));
        c.get("/ops/users?q=ada")
            .await
            .assert_redirect(&format!("/sudo?next={}", urlencode("/ops/users?q=ada")));
        c.sudo(PASSWORD, "/ops/users?q=ada")
            .await
            .assert_redirect("/ops/users?q=ada");
        assert_eq!(c.get("/ops/users?q=ada").await.status, StatusCode::OK);
        // When the window closes, a form is not replayed either.
        app.clock.advance(15 * 60 + 1);
        let res = c
            .post(
                "/ops/flags/account-registration",
                &[("enabled", "false"), ("reason", "spam wave")],
            )
            .await;
        res.assert_redirect("/sudo?next=%2Fops");
        assert!(app.db().flag_enabled("account-registration").await.unwrap());
        app
    })
    .await;
}

#[tokio::test]
async fn revoking_the_operator_flag_closes_the_console_at_once() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        assert_eq!(c.get("/ops").await.status, StatusCode::OK);
        gatehouse::operators::set_operator(app.db(), "olga@example.com", false, START)
            .await
            .unwrap();
        assert_eq!(c.get("/ops").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action IN ('operator.granted', 'operator.revoked') AND actor_label = 'system'")
                .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn operators_without_mfa_are_asked_to_enrol_on_every_console_page() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        let page = c.get("/ops/flags").await;
        assert!(page.contains("Protect your operator account with MFA"));
        assert!(page.contains("href=\"/account/security\""));
        assert!(
            !c.get("/account")
                .await
                .contains("Protect your operator account")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn searching_users_by_email_or_name_pages_through_the_results() {
    each_engine_with(
        |c| c.signups_per_ip_per_hour = 100,
        |app| async move {
            for i in 0..27 {
                registered(
                    &app,
                    &format!("user{i:02}@example.com"),
                    &format!("Person {i}"),
                )
                .await;
            }
            registered(&app, "ada@lovelace.example", "Ada Lovelace").await;
            let mut c = operator(&app, "olga@example.com").await;
            let page = c.get("/ops/users?q=LOVELACE").await;
            assert!(page.contains("ada@lovelace.example"));
            assert!(!page.contains("user01@example.com"));
            let page = c.get("/ops/users?q=person").await;
            assert!(page.contains("user00@example.com"));
            assert!(page.contains("user24@example.com"));
            assert!(!page.contains("user25@example.com"));
            let start = page.body.find("rel=\"next\" href=\"").unwrap() + 17;
            let end = page.body[start..].find('"').unwrap() + start;
            let next = page.body[start..end]
                .replace("&#38;", "&")
                .replace("&amp;", "&");
            let page2 = c.get(&next).await;
            assert!(page2.contains("user25@example.com"));
            assert!(page2.contains("user26@example.com"));
            assert!(!page2.contains("user24@example.com"));
            assert!(!page2.contains("rel=\"next\""));
            // Wildcards are matched literally.
            assert!(c.get("/ops/users?q=%25").await.contains("No user matches"));
            app
        },
    )
    .await;
}

#[tokio::test]
async fn looking_at_a_user_needs_a_reason_which_is_audited() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ada.create_key("nightly export", &["profile:read"], "30")
            .await;
        let id = user_id(&app, "ada@example.com").await;
        let mut c = operator(&app, "olga@example.com").await;
        let gate = c.get(&format!("/ops/users/{id}")).await;
        assert_eq!(gate.status, StatusCode::OK);
        assert!(gate.contains("Why are you looking at this account?"));
        assert!(!gate.contains("nightly export"));
        let refused = c
            .post(&format!("/ops/users/{id}/view"), &[("reason", "  ")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("id=\"reason-error\""));
        assert!(refused.contains("Give a reason"));
        assert!(!refused.contains("nightly export"));
        assert!(last_event(&app, "ops.user.viewed").await.is_none());
        c.post(
            &format!("/ops/users/{id}/view"),
            &[("reason", "ticket #4711")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{id}"));
        let detail = c.get(&format!("/ops/users/{id}")).await;
        assert!(detail.contains("nightly export"));
        assert!(detail.contains("profile:read"));
        assert!(detail.contains("Organization memberships"));
        assert!(detail.contains("Two-factor authentication</dt><dd>Off"));
        let (actor, detail) = last_event(&app, "ops.user.viewed").await.unwrap();
        assert_eq!(actor, "olga@example.com");
        assert_eq!(detail["reason"], "ticket #4711");
        // The view grant ends with the sudo window.
        app.clock.advance(15 * 60 + 1);
        c.sudo(PASSWORD, "/ops").await.assert_redirect("/ops");
        assert!(
            c.get(&format!("/ops/users/{id}"))
                .await
                .contains("Why are you looking")
        );
        // An unknown or malformed id is the plain 404.
        assert_eq!(
            c.get(&format!("/ops/users/{}", Uuid::now_v7()))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            c.get("/ops/users/not-a-uuid").await.status,
            StatusCode::NOT_FOUND
        );
        app
    })
    .await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_suspends_their_keys() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let token = ada.create_key("ci", &["profile:read"], "30").await;
        let mut ada_phone = app.client();
        ada_phone
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let id = user_id(&app, "ada@example.com").await;
        assert_eq!(sessions_of(&app, id).await, 2);

        let mut c = operator(&app, "olga@example.com").await;
        c.post(
            &format!("/ops/users/{id}/view"),
            &[("reason", "abuse report 17")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{id}"));
        // Without a reason: refused beside the field, nothing changes.
        let refused = c
            .submit(
                &format!("/ops/users/{id}"),
                &format!("/ops/users/{id}/disable"),
                &[("reason", "")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("id=\"disable-reason-error\""));
        assert_eq!(sessions_of(&app, id).await, 2);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL")
                .await,
            0
        );
        assert!(last_event(&app, "ops.user.disabled").await.is_none());

        let res = c
            .post(
                &format!("/ops/users/{id}/disable"),
                &[("reason", "abuse report 17")],
            )
            .await;
        res.assert_redirect(&format!("/ops/users/{id}"));
        assert!(
            c.get(&format!("/ops/users/{id}"))
                .await
                .contains("2 sessions ended")
        );
        assert_eq!(sessions_of(&app, id).await, 0);
        assert_eq!(ada.get("/account").await.status, StatusCode::SEE_OTHER);
        assert_eq!(
            ada_phone.get("/account").await.status,
            StatusCode::SEE_OTHER
        );
        let refused = ada.login("ada@example.com", PASSWORD).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let me = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&me)["error"]["code"], "account_disabled");
        let (actor, detail) = last_event(&app, "ops.user.disabled").await.unwrap();
        assert_eq!(actor, "olga@example.com");
        assert_eq!(detail["reason"], "abuse report 17");

        // Re-enabling needs a reason too, and the keys work again.
        let refused = c
            .submit(
                &format!("/ops/users/{id}"),
                &format!("/ops/users/{id}/enable"),
                &[("reason", "")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("id=\"enable-reason-error\""));
        c.post(
            &format!("/ops/users/{id}/enable"),
            &[("reason", "appeal accepted")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{id}"));
        let me = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        let (_, detail) = last_event(&app, "ops.user.enabled").await.unwrap();
        assert_eq!(detail["reason"], "appeal accepted");
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_cannot_disable_themselves() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        let id = user_id(&app, "olga@example.com").await;
        c.post(&format!("/ops/users/{id}/view"), &[("reason", "checking")])
            .await
            .assert_redirect(&format!("/ops/users/{id}"));
        let res = c
            .submit(
                &format!("/ops/users/{id}"),
                &format!("/ops/users/{id}/disable"),
                &[("reason", "oops")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_creates_an_account_with_a_reason_and_no_password_is_shown() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        let form = c.get("/ops/accounts/new").await;
        assert!(form.contains("No password is made or shown"));
        let refused = c
            .post(
                "/ops/accounts",
                &[
                    ("email", "grace@example.com"),
                    ("display_name", "Grace"),
                    ("reason", ""),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("id=\"reason-error\""));
        assert!(refused.contains("value=\"grace@example.com\""));
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
        let taken = c
            .post(
                "/ops/accounts",
                &[
                    ("email", "olga@example.com"),
                    ("display_name", "Olga"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(taken.contains("already exists"));

        let res = c
            .post(
                "/ops/accounts",
                &[
                    ("email", "Grace@Example.com"),
                    ("display_name", "Grace Hopper"),
                    ("reason", "onboarding ticket 12"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let created_path = res.location().unwrap().to_owned();
        let page = c.get(&created_path).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("emailed to <strong>grace@example.com</strong>"));
        assert!(!page.contains("initial-password"));
        // No password exists: nothing signs in until the person sets one
        // (`setup_links` follows the emailed link).
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'grace@example.com' AND password_hash = ''")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM user_tokens WHERE purpose = 'account_setup'")
                .await,
            1
        );
        let (actor, detail) = last_event(&app, "ops.account.created").await.unwrap();
        assert_eq!(actor, "olga@example.com");
        assert_eq!(detail["reason"], "onboarding ticket 12");
        assert_eq!(detail["email"], "grace@example.com");
        assert_eq!(detail["setup_link_emailed"], true);
        app
    })
    .await;
}

#[tokio::test]
async fn the_registration_flag_flipped_by_an_operator_closes_sign_up_on_every_instance() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        let body = r#"{"email":"eve@example.com","display_name":"Eve","password":"Correct-Horse-Battery-42!"}"#;
        // Without a reason nothing changes.
        let refused = c
            .submit("/ops/flags", "/ops/flags/account-registration", &[("enabled", "false"), ("reason", "")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("id=\"reason-account-registration-error\""));
        assert!(app.db().flag_enabled("account-registration").await.unwrap());

        c.post(
            "/ops/flags/account-registration",
            &[("enabled", "false"), ("reason", "spam wave")],
        )
        .await
        .assert_redirect("/ops/flags");
        let (_, detail) = last_event(&app, "ops.flag.changed").await.unwrap();
        assert_eq!(detail["reason"], "spam wave");
        assert_eq!(detail["enabled"], false);

        // Another instance on the same database sees it at its next request.
        let other = app.another_instance();
        let mut visitor = Client::new(other.clone());
        assert!(visitor.get("/signup").await.contains("Registration is closed"));
        let res = api(&other, Method::POST, "/v1/account/register", None, Some(body)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["code"], "registration_disabled");
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);

        c.submit("/ops/flags", 
            "/ops/flags/account-registration",
            &[("enabled", "true"), ("reason", "wave over")],
        )
        .await
        .assert_redirect("/ops/flags");
        assert!(visitor.get("/signup").await.contains("Create account"));
        let res = api(&other, Method::POST, "/v1/account/register", None, Some(body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        // An unknown flag is not created from the console.
        let res = c
            .submit("/ops/flags", "/ops/flags/no-such-flag", &[("enabled", "true"), ("reason", "x")])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_by_keyset() {
    each_engine(|app| async move {
        let mut c = operator(&app, "olga@example.com").await;
        for i in 0..60 {
            app.clock.advance(1);
            let on = if i % 2 == 0 { "false" } else { "true" };
            c.submit(
                "/ops/flags",
                "/ops/flags/account-registration",
                &[("enabled", on), ("reason", &format!("toggle {i}"))],
            )
            .await
            .assert_redirect("/ops/flags");
        }
        let page = c.get("/ops/audit?action=ops.flag").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("toggle 59"));
        assert!(page.contains("toggle 10"));
        assert_eq!(
            page.body.matches("<code>ops.flag.changed</code>").count(),
            50
        );
        assert!(!page.contains("sudo.granted"));
        let start = page.body.find("rel=\"next\" href=\"").unwrap() + 17;
        let end = page.body[start..].find('"').unwrap() + start;
        let next = page.body[start..end]
            .replace("&#38;", "&")
            .replace("&amp;", "&");
        assert!(next.contains("action=ops.flag"), "filters kept: {next}");
        let older = c.get(&next).await;
        assert!(older.contains("toggle 9"));
        assert!(older.contains("toggle 0"));
        assert!(!older.contains("toggle 10"));
        assert!(older.contains("Newest events"));

        let by_actor = c.get("/ops/audit?actor=system").await;
        assert!(by_actor.contains("operator.granted"));
        assert!(!by_actor.contains("ops.flag.changed"));
        let none = c.get("/ops/audit?from=2030-01-01").await;
        assert!(none.contains("No event matches"));
        let today = c
            .get("/ops/audit?from=2026-11-25&to=2026-11-25&action=operator.granted")
            .await;
        assert!(today.contains("operator.granted"));
        let org = Uuid::now_v7();
        assert!(
            c.get(&format!("/ops/audit?org={org}"))
                .await
                .contains("No event matches")
        );
        let bad = c.get("/ops/audit?org=nope&from=yesterday").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("id=\"org-error\""));
        assert!(bad.contains("id=\"from-error\""));
        app
    })
    .await;
}

#[tokio::test]
async fn console_pages_never_show_a_password_hash_or_key_secret() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let token = ada.create_key("ci", &["profile:read"], "30").await;
        let master = gatehouse::operators::create_master_key(app.db(), "provisioning", 30, START)
            .await
            .unwrap();
        let master_token = master.token.expose().to_owned();
        let id = user_id(&app, "ada@example.com").await;
        let mut c = operator(&app, "olga@example.com").await;
        c.post(
            &format!("/ops/users/{id}/view"),
            &[("reason", "secret hunt")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{id}"));
        api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&master_token),
            None,
        )
        .await;

        let (hash, digest): (String, Vec<u8>) = {
            let sql = "SELECT u.password_hash, k.secret_digest FROM users u \
                       JOIN api_keys k ON k.owner_user_id = u.id WHERE u.email = 'ada@example.com'";
            match app.db() {
                Db::Sqlite(p) => sqlx::query_as(sql).fetch_one(p).await,
                Db::Postgres(p) => sqlx::query_as(sql).fetch_one(p).await,
            }
            .unwrap()
        };
        let digest_hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let secrets = [
            hash.as_str(),
            &hash[hash.len() - 20..],
            digest_hex.as_str(),
            &token[17..],
            &master_token[17..],
            PASSWORD,
        ];
        let mut pages = ops_pages(id);
        pages.push("/ops/audit?actor=olga%40example.com".into());
        pages.push("/ops/users?q=ada".into());
        for path in pages {
            let res = c.get(&path).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            for s in secrets {
                assert!(!res.contains(s), "{path} shows a secret");
            }
        }
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_action_on_a_member_appears_in_the_orgs_own_audit_log() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = crate::orgs::two_orgs(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let mut op = operator(&app, "otto@example.com").await;
        op.submit(&format!("/ops/users/{grace}"), &format!("/ops/users/{grace}/view"), &[("reason", "ticket #90210")])
            .await
            .assert_redirect(&format!("/ops/users/{grace}"));
        let detail = op.get(&format!("/ops/users/{grace}")).await;
        assert!(detail.contains("Acme") && detail.contains("/orgs/acme"), "memberships shown");
        let log = ada.get("/orgs/acme/audit").await;
        assert!(log.contains("ops.user.viewed"), "the org's owners see the look");
        assert!(log.contains("ticket #90210"), "with the reason");
        let other = crate::orgs::org_id(&app, "globex").await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'ops.user.viewed' AND org_id IS NOT NULL").await,
            1,
            "only grace's org, not {other}"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn operators_list_organizations_and_the_master_key_lists_them_too() {
    each_engine(|app| async move {
        crate::orgs::two_orgs(&app).await;
        let mut op = operator(&app, "otto@example.com").await;
        let page = op.get("/ops/orgs").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Acme") && page.contains("Globex"));
        assert!(page.contains("<td class=\"num\">2</td>"), "member counts");
        app
    })
    .await;
}

#[tokio::test]
async fn an_orgs_members_and_teams_are_shown_read_only_after_a_reason() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = crate::orgs::two_orgs(&app).await;
        ada.create_team("acme", "Research").await;
        let acme = crate::orgs::org_id(&app, "acme").await;
        let mut stranger = signed_in(&app, "eve@example.com", "Eve").await;
        stranger
            .sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        assert_eq!(
            stranger.get(&format!("/ops/orgs/{acme}")).await.status,
            StatusCode::NOT_FOUND
        );
        let mut op = operator(&app, "otto@example.com").await;
        let gate = op.get(&format!("/ops/orgs/{acme}")).await;
        assert_eq!(gate.status, StatusCode::OK);
        assert!(gate.contains("Why are you looking at this organization?"));
        assert!(
            !gate.contains("grace@example.com"),
            "nothing before a reason"
        );
        let refused = op
            .post(&format!("/ops/orgs/{acme}/view"), &[("reason", " ")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!refused.contains("grace@example.com"));
        op.post(
            &format!("/ops/orgs/{acme}/view"),
            &[("reason", "ticket #7")],
        )
        .await
        .assert_redirect(&format!("/ops/orgs/{acme}"));
        let page = op.get(&format!("/ops/orgs/{acme}")).await;
        assert!(page.contains("grace@example.com") && page.contains("Research"));
        assert!(!page.contains("oscar@example.com"), "only this org");
        let log = ada.get("/orgs/acme/audit").await;
        assert!(log.contains("ops.org.viewed") && log.contains("ticket #7"));
        assert!(
            !olga
                .get("/orgs/globex/audit")
                .await
                .contains("ops.org.viewed")
        );
        app
    })
    .await;
}
