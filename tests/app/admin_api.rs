//! The master key's operations across organizations: accounts (get,
//! disable, enable, delete), keys (list, revoke), the audit log and the run
//! history — each refused without a reason, each change recorded with it in
//! the platform log and in every affected org's own log.

use axum::http::{Method, StatusCode};
use gatehouse::operators::create_master_key;

use crate::helpers::*;
use crate::ops::{last_event, operator};
use crate::orgs::{org_id, two_orgs, user_id};
use crate::runs::{AGENT, EVERY_RUN_SCOPE, insert_resource, request, workspace_key};

/// A new master key's token.
pub async fn master(app: &TestApp) -> String {
    create_master_key(app.db(), "provisioning", 30, START)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned()
}

/// The stable error code of a JSON error answer.
pub fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn admin(app: &TestApp, method: Method, path: &str, key: &str) -> TestResponse {
    api(&app.router, method, path, Some(key), None).await
}

#[tokio::test]
async fn every_admin_route_refuses_a_request_without_a_reason_and_changes_nothing() {
    each_engine(|app| async move {
        let (_ada, _grace, _olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let paths = [
            (Method::GET, "/v1/admin/accounts".to_owned()),
            (Method::GET, "/v1/admin/orgs".to_owned()),
            (Method::GET, format!("/v1/admin/accounts/{grace}")),
            (Method::POST, format!("/v1/admin/accounts/{grace}/disable")),
            (Method::POST, format!("/v1/admin/accounts/{grace}/enable")),
            (Method::DELETE, format!("/v1/admin/accounts/{grace}")),
            (Method::GET, "/v1/admin/keys".to_owned()),
            (Method::GET, "/v1/admin/audit".to_owned()),
            (Method::GET, "/v1/admin/runs".to_owned()),
        ];
        let users = app.count("SELECT COUNT(*) FROM users").await;
        for (method, path) in &paths {
            for reason in [None, Some(""), Some("   "), Some(&"x".repeat(501)[..])] {
                let res = admin_with_reason(&app.router, method.clone(), path, &key, reason).await;
                assert_eq!(res.status, StatusCode::BAD_REQUEST, "{method} {path}");
                assert_eq!(code(&res), "reason_required", "{method} {path}");
            }
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL")
                .await,
            0
        );
        // Refusals are recorded; no request record claims a reason.
        assert!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.refused'")
                .await
                >= paths.len() as i64
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.request'")
                .await,
            0
        );
        // A percent-encoded reason is read as text and recorded.
        let res = admin_with_reason(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            &key,
            Some("Ticket%20%E2%84%96%2042"),
        )
        .await;
        res.assert_status(StatusCode::OK);
        let (_, detail) = last_event(&app, "master_key.request").await.unwrap();
        assert_eq!(detail["reason"], "Ticket № 42");
        app
    })
    .await;
}

#[tokio::test]
async fn personal_and_revoked_keys_cannot_use_the_admin_routes() {
    each_engine(|app| async move {
        let mut olga = operator(&app, "olga@example.com").await;
        // Even an operator's own key with every scope is not a master key.
        let personal = olga
            .create_key(
                "everything",
                &["profile:read", "keys:read", "members:read", "audit:read"],
                "30",
            )
            .await;
        let olga_id = user_id(&app, "olga@example.com").await;
        for (method, path) in [
            (Method::GET, format!("/v1/admin/accounts/{olga_id}")),
            (
                Method::POST,
                format!("/v1/admin/accounts/{olga_id}/disable"),
            ),
            (Method::GET, "/v1/admin/keys".to_owned()),
            (Method::GET, "/v1/admin/audit".to_owned()),
            (Method::GET, "/v1/admin/runs".to_owned()),
        ] {
            let res = admin(&app, method.clone(), &path, &personal).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(code(&res), "master_key_required");
        }
        let issued = create_master_key(app.db(), "retired", 30, START)
            .await
            .unwrap();
        let token = issued.token.expose().to_owned();
        olga.post(
            &format!("/ops/master-keys/{}/revoke", issued.public_id),
            &[("reason", "retired")],
        )
        .await
        .assert_redirect("/ops/master-keys");
        let res = admin(&app, Method::GET, "/v1/admin/keys", &token).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
        assert_eq!(code(&res), "token_revoked");
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
async fn the_master_key_disables_and_enables_an_account_with_its_reason_in_each_org_log() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let ada_key = ada.create_key("mine", &["profile:read"], "30").await;
        let ada_id = user_id(&app, "ada@example.com").await;

        let res = admin(
            &app,
            Method::GET,
            &format!("/v1/admin/accounts/{ada_id}"),
            &key,
        )
        .await;
        res.assert_status(StatusCode::OK);
        let detail = json_of(&res);
        assert_eq!(detail["account"]["email"], "ada@example.com");
        assert_eq!(detail["orgs"][0]["slug"], "acme");
        assert_eq!(detail["orgs"][0]["role"], "owner");
        assert_eq!(detail["keys"][0]["name"], "mine");
        assert!(!res.body.contains(&ada_key[20..]), "a secret in the answer");

        let res = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/accounts/{ada_id}/disable"),
            &key,
        )
        .await;
        res.assert_status(StatusCode::OK);
        let out = json_of(&res);
        assert_eq!(out["changed"], true);
        assert!(out["sessions_ended"].as_u64().unwrap() >= 1);
        assert!(out["account"]["disabled_at"].is_i64());
        // Her session ended and her key is refused at once.
        assert_eq!(ada.get("/account").await.status, StatusCode::SEE_OTHER);
        let refused = api(&app.router, Method::GET, "/v1/me", Some(&ada_key), None).await;
        assert_eq!(code(&refused), "account_disabled");
        // Recorded with the reason, in the platform log and acme's own log.
        let (actor, detail) = last_event(&app, "master_key.account.disabled")
            .await
            .unwrap();
        assert!(actor.starts_with("master-key:gtk_"), "{actor}");
        assert_eq!(detail["reason"], ADMIN_REASON);
        let acme = org_id(&app, "acme").await;
        let in_acme = crate::orgs::exec_count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.account.disabled' \
             AND org_id = $1",
            acme,
        )
        .await;
        assert_eq!(in_acme, 1);
        // Again: nothing to do, nothing written.
        let again = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/accounts/{ada_id}/disable"),
            &key,
        )
        .await;
        assert_eq!(json_of(&again)["changed"], false);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.account.disabled'"
            )
            .await,
            1
        );

        let res = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/accounts/{ada_id}/enable"),
            &key,
        )
        .await;
        assert_eq!(json_of(&res)["changed"], true);
        let ok = api(&app.router, Method::GET, "/v1/me", Some(&ada_key), None).await;
        ok.assert_status(StatusCode::OK);

        // An unknown or malformed id is 404 and changes nothing.
        for path in [
            format!("/v1/admin/accounts/{}", uuid::Uuid::now_v7()),
            "/v1/admin/accounts/ada".to_owned(),
        ] {
            admin(&app, Method::GET, &path, &key)
                .await
                .assert_status(StatusCode::NOT_FOUND);
            admin(&app, Method::POST, &format!("{path}/disable"), &key)
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_deletes_an_account_but_not_an_orgs_only_owner() {
    each_engine(|app| async move {
        let (_ada, _grace, _olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let ada = user_id(&app, "ada@example.com").await;
        let res = admin(
            &app,
            Method::DELETE,
            &format!("/v1/admin/accounts/{ada}"),
            &key,
        )
        .await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(code(&res), "sole_owner");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            1
        );

        let grace = user_id(&app, "grace@example.com").await;
        let res = admin(
            &app,
            Method::DELETE,
            &format!("/v1/admin/accounts/{grace}"),
            &key,
        )
        .await;
        res.assert_status(StatusCode::OK);
        let out = json_of(&res);
        assert!(
            out["audit_label"]
                .as_str()
                .unwrap()
                .starts_with("deleted-user-")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'grace@example.com'")
                .await,
            0
        );
        let (_, detail) = last_event(&app, "master_key.account.deleted")
            .await
            .unwrap();
        assert_eq!(detail["reason"], ADMIN_REASON);
        assert!(detail["master_key"].as_str().unwrap().starts_with("gtk_"));
        admin(
            &app,
            Method::GET,
            &format!("/v1/admin/accounts/{grace}"),
            &key,
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_lists_an_orgs_keys_and_revokes_one_at_once() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let bound = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let personal = ada.create_key("loose", &["profile:read"], "30").await;
        let _globex = olga
            .create_bound_key(&["members:read"], "globex", &[])
            .await;
        let acme = org_id(&app, "acme").await;

        let res = admin(
            &app,
            Method::GET,
            &format!("/v1/admin/keys?org={acme}"),
            &key,
        )
        .await;
        res.assert_status(StatusCode::OK);
        let page = json_of(&res);
        let keys = page["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{page}");
        assert_eq!(keys[0]["org_id"], acme.to_string());
        assert_eq!(keys[0]["status"], "active");
        assert!(!res.body.contains(&bound[20..]), "a secret in the answer");
        let ada_id = user_id(&app, "ada@example.com").await;
        let mine = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/keys?account={ada_id}"),
                &key,
            )
            .await,
        );
        assert_eq!(mine["keys"].as_array().unwrap().len(), 2);
        // Keyset pages over every key.
        let first = json_of(&admin(&app, Method::GET, "/v1/admin/keys?limit=2", &key).await);
        let after = first["next_after"].as_str().unwrap();
        let second = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/keys?limit=2&after={after}"),
                &key,
            )
            .await,
        );
        assert_eq!(second["keys"].as_array().unwrap().len(), 1);
        assert!(second.get("next_after").is_none());
        for bad in ["org=acme", "account=1", "limit=0", "after=x"] {
            let res = admin(&app, Method::GET, &format!("/v1/admin/keys?{bad}"), &key).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }

        let key_id = keys[0]["id"].as_str().unwrap().to_owned();
        let res = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/keys/{key_id}/revoke"),
            &key,
        )
        .await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["changed"], true);
        assert_eq!(json_of(&res)["key"]["status"], "revoked");
        let refused = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/members",
            Some(&bound),
            None,
        )
        .await;
        assert_eq!(code(&refused), "token_revoked");
        // The other key of the same owner still works.
        api(&app.router, Method::GET, "/v1/me", Some(&personal), None)
            .await
            .assert_status(StatusCode::OK);
        let (_, detail) = last_event(&app, "master_key.key.revoked").await.unwrap();
        assert_eq!(detail["reason"], ADMIN_REASON);
        let in_acme = crate::orgs::exec_count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.key.revoked' \
             AND org_id = $1",
            acme,
        )
        .await;
        assert_eq!(in_acme, 1);
        let again = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/keys/{key_id}/revoke"),
            &key,
        )
        .await;
        assert_eq!(json_of(&again)["changed"], false);
        admin(
            &app,
            Method::POST,
            &format!("/v1/admin/keys/{}/revoke", uuid::Uuid::now_v7()),
            &key,
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_reads_the_audit_log_and_run_history_across_orgs() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let acme_agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let globex_agent = insert_resource(&app, "globex", "default", "agent", "g", AGENT).await;
        let acme_key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let globex_key = workspace_key(&app, &mut olga, "globex", EVERY_RUN_SCOPE).await;
        for _ in 0..3 {
            request(&app, &acme_key, "acme", acme_agent, None).await;
        }
        request(&app, &globex_key, "globex", globex_agent, None).await;
        let acme = org_id(&app, "acme").await;
        let globex = org_id(&app, "globex").await;

        let all = json_of(&admin(&app, Method::GET, "/v1/admin/runs", &key).await);
        assert_eq!(all["runs"].as_array().unwrap().len(), 4);
        let only = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/runs?org={globex}"),
                &key,
            )
            .await,
        );
        let runs = only["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["org_id"], globex.to_string());
        assert_eq!(runs[0]["agent"], "g");
        // Keyset pages, newest first, every run once.
        let first = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/runs?org={acme}&limit=2"),
                &key,
            )
            .await,
        );
        let next = first["next"].as_str().unwrap();
        let second = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/runs?org={acme}&limit=2&before={next}"),
                &key,
            )
            .await,
        );
        assert_eq!(second["runs"].as_array().unwrap().len(), 1);
        assert!(second["next"].is_null());
        for bad in [
            "org=acme",
            "workspace=x",
            "status=done",
            "limit=101",
            "before=x",
        ] {
            let res = admin(&app, Method::GET, &format!("/v1/admin/runs?{bad}"), &key).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }

        // The audit log of one org, and of one action family everywhere.
        let acme_log = json_of(
            &admin(
                &app,
                Method::GET,
                &format!("/v1/admin/audit?org={acme}&action=run"),
                &key,
            )
            .await,
        );
        let events = acme_log["events"].as_array().unwrap();
        assert_eq!(events.len(), 3, "{acme_log}");
        assert!(events.iter().all(|e| e["org_id"] == acme.to_string()));
        let requests = json_of(
            &admin(
                &app,
                Method::GET,
                "/v1/admin/audit?action=master_key.request&limit=1",
                &key,
            )
            .await,
        );
        assert_eq!(requests["events"][0]["detail"]["reason"], ADMIN_REASON);
        assert!(requests["next"].is_string());
        for bad in ["org=acme", "from=yesterday", "limit=x", "before=1"] {
            let res = admin(&app, Method::GET, &format!("/v1/admin/audit?{bad}"), &key).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        app
    })
    .await;
}
