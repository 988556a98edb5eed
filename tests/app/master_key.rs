//! The master key: created and rotated on the command line, accepted on
//! `/v1/admin` only, every request audited, revocable from the console.

use axum::http::{Method, StatusCode};
use gatehouse::operators::{create_master_key, rotate_master_key};

use crate::admin_api::{code, master};
use crate::helpers::*;
use crate::ops::{last_event, operator};

const REGISTER: &str = r#"{"email":"grace@example.com","display_name":"Grace Hopper","password":"Correct-Horse-Battery-42!"}"#;

/// Every admin endpoint, with a body where it takes one.
const ADMIN: &[(Method, &str, Option<&str>)] = &[
    (Method::POST, "/v1/admin/account/register", Some(REGISTER)),
    (Method::GET, "/v1/admin/accounts", None),
    (Method::GET, "/v1/admin/accounts?limit=5", None),
    (Method::GET, "/v1/admin/orgs", None),
];

#[tokio::test]
async fn a_personal_key_gets_403_and_no_key_401_on_every_admin_endpoint() {
    each_engine(|app| async move {
        let mut olga = operator(&app, "olga@example.com").await;
        // Even an operator's own key with every scope is not a master key.
        let personal = olga
            .create_key(
                "everything",
                &[
                    "profile:read",
                    "profile:write",
                    "keys:read",
                    "members:read",
                    "audit:read",
                ],
                "30",
            )
            .await;
        for (method, path, body) in ADMIN {
            let res = api(&app.router, method.clone(), path, Some(&personal), *body).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(code(&res), "master_key_required");
            let res = api(&app.router, method.clone(), path, None, *body).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(code(&res), "missing_token");
            let res = api(&app.router, method.clone(), path, Some("gtk_nope"), *body).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
        // And the master key opens nothing outside /v1/admin.
        let key = master(&app).await;
        let res = api(&app.router, Method::GET, "/v1/me", Some(&key), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        app
    })
    .await;
}

#[tokio::test]
async fn every_master_key_request_is_audited_with_its_endpoint_and_parameters() {
    each_engine(|app| async move {
        let key = master(&app).await;
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts?limit=2",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let (actor, detail) = last_event(&app, "master_key.request").await.unwrap();
        assert!(actor.starts_with("master-key:gtk_"), "{actor}");
        assert_eq!(detail["method"], "GET");
        assert_eq!(detail["path"], "/v1/admin/accounts");
        assert_eq!(detail["query"]["limit"], "2");

        let res = api(
            &app.router,
            Method::POST,
            "/v1/admin/account/register",
            Some(&key),
            Some(REGISTER),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let (_, detail) = last_event(&app, "master_key.request").await.unwrap();
        assert_eq!(detail["path"], "/v1/admin/account/register");
        let (_, detail) = last_event(&app, "master_key.account.registered")
            .await
            .unwrap();
        assert_eq!(detail["email"], "grace@example.com");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'master_key.request'")
                .await,
            2
        );
        // Neither the secret nor the new password is in the log.
        let all: Vec<String> = match app.db() {
            gatehouse::db::Db::Sqlite(p) => {
                sqlx::query_scalar("SELECT detail FROM audit_events")
                    .fetch_all(p)
                    .await
            }
            gatehouse::db::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT detail FROM audit_events")
                    .fetch_all(p)
                    .await
            }
        }
        .unwrap();
        for d in all {
            assert!(!d.contains(&key[17..]));
            assert!(!d.contains(PASSWORD));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn after_rotation_only_the_new_secret_works() {
    each_engine(|app| async move {
        let issued = create_master_key(app.db(), "provisioning", 30, START)
            .await
            .unwrap();
        let old = issued.token.expose().to_owned();
        let ok = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&old),
            None,
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK);
        let rotated = rotate_master_key(app.db(), &issued.public_id, START)
            .await
            .unwrap();
        let new = rotated.token.expose().to_owned();
        assert_eq!(rotated.public_id, issued.public_id);
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&old),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&res), "invalid_token");
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&new),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(last_event(&app, "master_key.rotated").await.is_some());
        // The CLI also accepts the prefix form of the id.
        let again = rotate_master_key(app.db(), &format!("gtk_{}", issued.public_id), START).await;
        assert!(again.is_ok());
        app
    })
    .await;
}

#[tokio::test]
async fn an_expired_master_key_is_refused_and_lifetimes_are_bounded() {
    each_engine(|app| async move {
        let key = master(&app).await;
        app.clock.advance(30 * 86_400);
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&res), "token_expired");
        assert!(create_master_key(app.db(), "x", 0, START).await.is_err());
        assert!(create_master_key(app.db(), "x", 366, START).await.is_err());
        assert!(create_master_key(app.db(), " ", 30, START).await.is_err());
        app
    })
    .await;
}

#[tokio::test]
async fn operators_list_master_keys_and_revoke_them_with_a_reason() {
    each_engine(|app| async move {
        let issued = create_master_key(app.db(), "provisioning", 30, START)
            .await
            .unwrap();
        let key = issued.token.expose().to_owned();
        let mut c = operator(&app, "olga@example.com").await;
        let page = c.get("/ops/master-keys").await;
        assert!(page.contains("provisioning"));
        assert!(page.contains(&format!("gtk_{}…", issued.public_id)));
        let path = format!("/ops/master-keys/{}/revoke", issued.public_id);
        let refused = c.post(&path, &[("reason", "")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains(&format!("id=\"reason-{}-error\"", issued.public_id)));
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        c.post(&path, &[("reason", "laptop stolen")])
            .await
            .assert_redirect("/ops/master-keys");
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&res), "token_revoked");
        let (actor, detail) = last_event(&app, "ops.master_key.revoked").await.unwrap();
        assert_eq!(actor, "olga@example.com");
        assert_eq!(detail["reason"], "laptop stolen");
        assert!(c.get("/ops/master-keys").await.contains("laptop stolen"));
        // The key's own requests are found by its label in the audit log.
        let log = c
            .get(&format!(
                "/ops/audit?actor=master-key%3Agtk_{}",
                issued.public_id
            ))
            .await;
        assert!(log.contains("<code>master_key.request</code>"));
        assert!(!log.contains("ops.master_key.revoked"));
        assert!(
            rotate_master_key(app.db(), &issued.public_id, START)
                .await
                .is_err()
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_registers_accounts_whatever_the_flag_says() {
    each_engine_with(
        |c| c.registration = Some(false),
        |app| async move {
            let key = master(&app).await;
            let res = api(
                &app.router,
                Method::POST,
                "/v1/admin/account/register",
                Some(&key),
                Some(REGISTER),
            )
            .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
            let body = json_of(&res);
            assert_eq!(body["email"], "grace@example.com");
            assert_eq!(body["is_operator"], false);
            let mut grace = app.client();
            grace
                .login("grace@example.com", PASSWORD)
                .await
                .assert_redirect("/account");
            let dup = api(
                &app.router,
                Method::POST,
                "/v1/admin/account/register",
                Some(&key),
                Some(REGISTER),
            )
            .await;
            assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(json_of(&dup)["error"]["fields"][0]["field"], "email");
            app
        },
    )
    .await;
}

#[tokio::test]
async fn accounts_are_listed_by_keyset_pages() {
    each_engine(|app| async move {
        for i in 0..7 {
            registered(&app, &format!("user{i}@example.com"), "Someone").await;
        }
        let key = master(&app).await;
        let mut seen = Vec::new();
        let mut path = "/v1/admin/accounts?limit=3".to_owned();
        loop {
            let res = api(&app.router, Method::GET, &path, Some(&key), None).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            let body = json_of(&res);
            for a in body["accounts"].as_array().unwrap() {
                seen.push(a["email"].as_str().unwrap().to_owned());
            }
            match body["next_after"].as_str() {
                Some(after) => path = format!("/v1/admin/accounts?limit=3&after={after}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique.len(), 7);
        for bad in ["limit=0", "limit=101", "limit=x", "after=nope"] {
            let res = api(
                &app.router,
                Method::GET,
                &format!("/v1/admin/accounts?{bad}"),
                Some(&key),
                None,
            )
            .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_lists_organizations_with_member_counts() {
    each_engine(|app| async move {
        crate::orgs::two_orgs(&app).await;
        let key = master(&app).await;
        let res = api(
            &app.router,
            Method::GET,
            "/v1/admin/orgs?limit=1",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let page = json_of(&res);
        assert_eq!(page["orgs"].as_array().unwrap().len(), 1);
        assert_eq!(page["orgs"][0]["member_count"], 2);
        let after = page["next_after"].as_str().unwrap().to_owned();
        let next = api(
            &app.router,
            Method::GET,
            &format!("/v1/admin/orgs?after={after}"),
            Some(&key),
            None,
        )
        .await;
        assert_eq!(json_of(&next)["orgs"].as_array().unwrap().len(), 1);
        assert!(json_of(&next)["next_after"].is_null());
        let bad = api(
            &app.router,
            Method::GET,
            "/v1/admin/orgs?limit=0",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        app
    })
    .await;
}
