//! The key-management API: the platform's key shape, the token only on
//! create and rotate, and no key made or rotated over the API reaching
//! beyond the key that makes it — each attempt tried.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::two_orgs;
use crate::resources::add_workspace;
use crate::runs::grant_key_workspace;
use crate::service_accounts::public_id;

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn fields(res: &TestResponse) -> Vec<String> {
    json_of(res)["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

const MAKER: &[&str] = &["keys:read", "keys:write", "profile:read", "agents:read"];

/// Ada's key-making key, bound to acme and granted its default workspace.
async fn maker(app: &TestApp, ada: &mut Client) -> String {
    let token = ada.create_bound_key(MAKER, "acme", &[]).await;
    grant_key_workspace(app, &token, "acme", "default").await;
    token
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> TestResponse {
    api(&app.router, method, path, Some(key), body).await
}

/// The id of acme's workspace `slug`.
async fn ws_id(app: &TestApp, slug: &str) -> String {
    let sql = "SELECT w.id FROM workspaces w JOIN orgs o ON o.id = w.org_id \
               WHERE o.slug = 'acme' AND w.slug = $1";
    let id: uuid::Uuid = match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(slug).fetch_one(p).await,
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).bind(slug).fetch_one(p).await,
    }
    .unwrap();
    id.to_string()
}

async fn key_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM api_keys").await
}

#[tokio::test]
async fn a_key_makes_a_narrower_key_shown_in_the_platform_shape_with_its_token_once() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let key = maker(&app, &mut ada).await;
        let list = call(&app, Method::GET, "/v1/keys", &key, None).await;
        list.assert_status(StatusCode::OK);
        let made_on_page = &json_of(&list)["keys"][0];
        assert_eq!(made_on_page["info"]["createdBy"], "ada@example.com");
        assert_eq!(made_on_page["info"]["workspacesPreview"][0], "default");
        assert_eq!(made_on_page["info"]["workspacesTotal"], 1);
        assert_eq!(made_on_page["spec"]["system"], false);
        assert!(made_on_page["spec"].get("token").is_none());
        assert!(made_on_page["metadata"]["orgId"].is_string());

        let default_ws = ws_id(&app, "default").await;
        let body = format!(
            r#"{{"name":"ci deploy","description":"made by CI","permissions":["profile:read","agents:read"],"expiresInDays":7,"workspaces":["{default_ws}"]}}"#
        );
        let res = call(&app, Method::POST, "/v1/keys", &key, Some(&body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let made = json_of(&res);
        let token = made["spec"]["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("gtk_"));
        assert_eq!(made["spec"]["permissions"][0], "profile:read");
        assert_eq!(made["metadata"]["orgId"], made_on_page["metadata"]["orgId"]);
        assert!(
            made["info"]["createdBy"]
                .as_str()
                .unwrap()
                .starts_with("key:gtk_")
        );
        assert_eq!(made["info"]["workspacesTotal"], 1);
        // The new token works; its page shows no token.
        call(&app, Method::GET, "/v1/me", &token, None)
            .await
            .assert_status(StatusCode::OK);
        let id = made["metadata"]["id"].as_str().unwrap();
        let one = call(&app, Method::GET, &format!("/v1/keys/{id}"), &key, None).await;
        one.assert_status(StatusCode::OK);
        assert!(!one.body.contains(&token));
        assert!(json_of(&one)["spec"].get("token").is_none());
        // Its creation is audited in acme's log, naming the key that made it.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.created' \
                 AND detail LIKE '%via_key%' AND org_id IS NOT NULL"
            )
            .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn no_key_made_over_the_api_reaches_beyond_its_maker() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        add_workspace(&app, "acme", "production").await;
        let key = maker(&app, &mut ada).await;
        let before = key_count(&app).await;
        let production = ws_id(&app, "production").await;
        for (body, field) in [
            // keys:write is never delegated, even by a key that holds it.
            (
                r#"{"name":"x","permissions":["keys:write"],"expiresInDays":7}"#.to_owned(),
                "permissions",
            ),
            // A scope the maker lacks.
            (
                r#"{"name":"x","permissions":["members:write"],"expiresInDays":7}"#.to_owned(),
                "permissions",
            ),
            // Longer than the maker lives (30 days).
            (
                r#"{"name":"x","permissions":["profile:read"],"expiresInDays":60}"#.to_owned(),
                "expiresInDays",
            ),
            // A workspace the maker is not granted.
            (
                format!(
                    r#"{{"name":"x","permissions":["agents:read"],"expiresInDays":7,"workspaces":["{production}"]}}"#
                ),
                "workspaces",
            ),
            (
                r#"{"name":"","permissions":["profile:read"],"expiresInDays":7}"#.to_owned(),
                "name",
            ),
            (
                r#"{"name":"x","permissions":["nope"],"expiresInDays":0}"#.to_owned(),
                "permissions",
            ),
        ] {
            let res = call(&app, Method::POST, "/v1/keys", &key, Some(&body)).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.body);
            assert_eq!(code(&res), "validation_failed");
            assert!(fields(&res).contains(&field.to_owned()), "{body}: {}", res.body);
        }
        assert_eq!(key_count(&app).await, before, "a refused key was made");

        // A key made over the API cannot make keys: it lacks keys:write.
        let res = call(
            &app,
            Method::POST,
            "/v1/keys",
            &key,
            Some(r#"{"name":"child","permissions":["profile:read","keys:read"],"expiresInDays":7}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let child = json_of(&res)["spec"]["token"].as_str().unwrap().to_owned();
        let res = call(
            &app,
            Method::POST,
            "/v1/keys",
            &child,
            Some(r#"{"name":"grandchild","permissions":["profile:read"],"expiresInDays":1}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "insufficient_scope");

        // Rotating a key that reaches further than the maker is refused:
        // its new secret would.
        let wider = ada.create_key("wider", &["members:read", "profile:read"], "30").await;
        let wider_id = public_id(&wider);
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/keys/{wider_id}/rotate"),
            &key,
            Some(r#"{"grace":"none"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        call(&app, Method::GET, "/v1/me", &wider, None)
            .await
            .assert_status(StatusCode::OK);
        // And so is rotating the maker itself (it holds keys:write).
        let maker_id = public_id(&key);
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/keys/{maker_id}/rotate"),
            &key,
            Some(r#"{"grace":"none"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_rotates_and_revokes_its_persons_narrower_keys() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let key = maker(&app, &mut ada).await;
        let res = call(
            &app,
            Method::POST,
            "/v1/keys",
            &key,
            Some(r#"{"name":"worker","permissions":["profile:read"],"expiresInDays":7}"#),
        )
        .await;
        let made = json_of(&res);
        let old = made["spec"]["token"].as_str().unwrap().to_owned();
        let id = made["metadata"]["id"].as_str().unwrap().to_owned();
        for bad in [r#"{"grace":"forever"}"#, r#"{}"#, "nope"] {
            let res = call(
                &app,
                Method::POST,
                &format!("/v1/keys/{id}/rotate"),
                &key,
                Some(bad),
            )
            .await;
            assert!(res.status.is_client_error(), "{bad}");
        }
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/keys/{id}/rotate"),
            &key,
            Some(r#"{"grace":"none"}"#),
        )
        .await;
        res.assert_status(StatusCode::OK);
        let new = json_of(&res)["spec"]["token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        call(&app, Method::GET, "/v1/me", &new, None)
            .await
            .assert_status(StatusCode::OK);
        let res = call(&app, Method::GET, "/v1/me", &old, None).await;
        assert_eq!(code(&res), "token_rotated");

        let res = call(
            &app,
            Method::POST,
            &format!("/v1/keys/{id}/revoke"),
            &key,
            None,
        )
        .await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["info"]["status"], "revoked");
        assert_eq!(
            code(&call(&app, Method::GET, "/v1/me", &new, None).await),
            "token_revoked"
        );
        // Another person's key is not found, and nothing changes.
        let mut grace_client = signed_in(&app, "grace2@example.com", "Grace Two").await;
        let theirs = grace_client
            .create_key("theirs", &["profile:read"], "30")
            .await;
        let their_id = public_id(&theirs);
        for path in [
            format!("/v1/keys/{their_id}"),
            format!("/v1/keys/{their_id}/revoke"),
        ] {
            let method = if path.ends_with("revoke") {
                Method::POST
            } else {
                Method::GET
            };
            call(&app, method, &path, &key, None)
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        call(&app, Method::GET, "/v1/me", &theirs, None)
            .await
            .assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn an_owners_key_lists_the_orgs_keys_and_a_members_key_does_not() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        let owner = ada.create_bound_key(&["keys:read"], "acme", &[]).await;
        let member = grace.create_bound_key(&["keys:read"], "acme", &[]).await;
        let _globex = olga.create_bound_key(&["keys:read"], "globex", &[]).await;
        let res = call(&app, Method::GET, "/v1/orgs/acme/keys", &owner, None).await;
        res.assert_status(StatusCode::OK);
        let keys = json_of(&res)["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 2, "{}", res.body);
        assert!(!res.body.contains(&member[20..]));
        let res = call(&app, Method::GET, "/v1/orgs/acme/keys", &member, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "owner_required");
        let res = call(&app, Method::GET, "/v1/orgs/globex/keys", &owner, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn keys_made_over_the_api_spend_the_same_hourly_allowance_as_the_pages() {
    each_engine_with(
        |c| c.key_issues_per_hour = 2,
        |app| async move {
            let (mut ada, _grace, _olga) = two_orgs(&app).await;
            // The page spends one.
            let key = ada
                .create_key("maker", &["keys:write", "profile:read"], "30")
                .await;
            let body = r#"{"name":"n","permissions":["profile:read"],"expiresInDays":1}"#;
            call(&app, Method::POST, "/v1/keys", &key, Some(body))
                .await
                .assert_status(StatusCode::CREATED);
            let before = key_count(&app).await;
            let res = call(&app, Method::POST, "/v1/keys", &key, Some(body)).await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(key_count(&app).await, before);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn a_service_accounts_key_or_a_revoked_maker_makes_nothing() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let sa = ada.create_service_account("acme", "deployer").await;
        let robot = ada
            .create_sa_key(
                "acme",
                &sa,
                &["keys:read", "keys:write", "profile:read"],
                &[],
            )
            .await;
        let maker = ada
            .create_key("maker", &["keys:write", "profile:read"], "30")
            .await;
        let body = r#"{"name":"n","permissions":["profile:read"],"expiresInDays":1}"#;
        let before = key_count(&app).await;
        let res = call(&app, Method::POST, "/v1/keys", &robot, Some(body)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "service_account_key");
        call(
            &app,
            Method::POST,
            &format!("/v1/keys/{}/revoke", public_id(&maker)),
            &maker,
            None,
        )
        .await
        .assert_status(StatusCode::OK);
        let res = call(&app, Method::POST, "/v1/keys", &maker, Some(body)).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&res), "token_revoked");
        assert_eq!(key_count(&app).await, before);
        app
    })
    .await;
}
