//! The key may come as `X-API-Key: <key>` (what the platform's existing
//! clients send) as well as `Authorization: Bearer <key>`: the same checks
//! either way, and a request never carries two identities (Authorization,
//! when sent, is the one used).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use gatehouse::operators::create_master_key;

use crate::helpers::*;

async fn send(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut c = Client::new(app.router.clone());
    let mut req = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    c.send(req.body(Body::empty()).unwrap()).await
}

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_personal_key_works_in_the_x_api_key_header_with_the_same_checks() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let key = ada.create_key("cli", &["profile:read"], "30").await;
        let res = send(&app, "/v1/me", &[("X-API-Key", &key)]).await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["email"], "ada@example.com");

        // A mistyped key, an empty header: refused as with Bearer.
        let mut typo = key.clone();
        typo.pop();
        typo.push(if key.ends_with('A') { 'B' } else { 'A' });
        let res = send(&app, "/v1/me", &[("X-API-Key", &typo)]).await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        let res = send(&app, "/v1/me", &[("X-API-Key", " ")]).await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(code(&res), "malformed_token");
        let res = send(&app, "/v1/me", &[]).await;
        assert_eq!(code(&res), "missing_token");
        assert!(res.contains("X-API-Key"));

        // Revoked: the header does not matter.
        let path = ada.key_page_path("cli").await;
        ada.submit(&path, &format!("{path}/revoke"), &[])
            .await
            .assert_status(StatusCode::SEE_OTHER);
        let res = send(&app, "/v1/me", &[("X-API-Key", &key)]).await;
        assert_eq!(code(&res), "token_revoked");
        app
    })
    .await;
}

#[tokio::test]
async fn with_both_headers_authorization_is_the_one_used() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let key = ada.create_key("cli", &["profile:read"], "30").await;
        let bearer = format!("Bearer {key}");
        let res = send(
            &app,
            "/v1/me",
            &[
                (header::AUTHORIZATION.as_str(), &bearer),
                ("X-API-Key", "gtk_nope"),
            ],
        )
        .await;
        res.assert_status(StatusCode::OK);
        // A valid X-API-Key does not rescue a bad Authorization header.
        let res = send(
            &app,
            "/v1/me",
            &[
                (header::AUTHORIZATION.as_str(), "Bearer gtk_nope"),
                ("X-API-Key", &key),
            ],
        )
        .await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_works_in_the_x_api_key_header_too() {
    each_engine(|app| async move {
        let master = create_master_key(app.db(), "provisioning", 30, START)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned();
        let res = send(
            &app,
            "/v1/admin/orgs",
            &[("X-API-Key", &master), ("X-Gatehouse-Reason", ADMIN_REASON)],
        )
        .await;
        res.assert_status(StatusCode::OK);
        let res = send(&app, "/v1/admin/orgs", &[("X-API-Key", "gtk_nope")]).await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        app
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_offers_the_x_api_key_header_beside_bearer() {
    each_engine(|app| async move {
        let res = send(&app, "/v1/openapi.json", &[]).await;
        let doc = json_of(&res);
        let scheme = &doc["components"]["securitySchemes"]["api_key_header"];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["in"], "header");
        assert_eq!(scheme["name"], "X-API-Key");
        let me = &doc["paths"]["/v1/me"]["get"]["security"];
        assert!(
            me.as_array()
                .unwrap()
                .iter()
                .any(|r| r.get("api_key_header").is_some()),
            "{me}"
        );
        app
    })
    .await;
}
