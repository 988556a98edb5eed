//! The JSON API: profile changes, error shapes and the OpenAPI document.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::keys::token_in;

async fn key_with(app: &TestApp, scopes: &[&str]) -> String {
    let mut c = signed_in(app, "ada@example.com", "Ada").await;
    c.create_key("api", scopes, "30").await
}

#[tokio::test]
async fn patch_me_changes_the_profile_and_refuses_bad_fields() {
    each_engine(|app| async move {
        let token = key_with(&app, &["profile:read", "profile:write"]).await;
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(r#"{"display_name":"Ada Lovelace","time_zone":"Europe/London"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let body = json_of(&res);
        assert_eq!(body["display_name"], "Ada Lovelace");
        assert_eq!(body["time_zone"], "Europe/London");

        let bad = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(r#"{"display_name":"","phone":"call me"}"#),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let err = json_of(&bad);
        assert_eq!(err["error"]["code"], "validation_failed");
        let fields: Vec<&str> = err["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["display_name", "phone"]);
        let now = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
        assert_eq!(
            json_of(&now)["display_name"],
            "Ada Lovelace",
            "nothing changed"
        );

        let garbage = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some("{nope"),
        )
        .await;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
        assert_eq!(json_of(&garbage)["error"]["code"], "bad_request");
        let unknown = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(r#"{"email":"x@y.z"}"#),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut c = Client::new(app.router.clone());
        let res = c
            .send(
                axum::http::Request::patch("/v1/me")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "text/plain")
                    .body(axum::body::Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        app
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    each_engine(|app| async move {
        let res = api(&app.router, Method::GET, "/v1/nothing", None, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(json_of(&res)["error"]["code"], "not_found");
        let res = api(&app.router, Method::DELETE, "/v1/me", None, None).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json_of(&res)["error"]["code"], "method_not_allowed");
        app
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_scope_and_error() {
    each_engine(|app| async move {
        let res = api(&app.router, Method::GET, "/v1/openapi.json", None, None).await;
        assert_eq!(res.status, StatusCode::OK);
        let doc = json_of(&res);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in ["/v1/me", "/v1/keys/current"] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
        assert_eq!(
            doc["paths"]["/v1/me"]["get"]["security"][0]["api_key"][0],
            "profile:read"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["api_key"]["scheme"],
            "bearer"
        );
        let text = res.body;
        for code in [
            "token_expired",
            "token_revoked",
            "insufficient_scope",
            "invalid_checksum",
        ] {
            assert!(text.contains(code), "{code} documented");
        }
        app
    })
    .await;
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_appears_in_any_log_line() {
    // A process-wide subscriber: a thread-local one races tracing's global
    // callsite cache when other tests run in parallel. (It also captures the
    // other tests' logs, which must not hold these secrets either.)
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only this test installs one");
    tracing::callsite::rebuild_interest_cache();

    let app = TestApp::new(Engine::Sqlite).await;
    let mut c = signed_in(&app, "ada@example.com", "Ada").await;
    let token = c.create_key("ci", &["profile:read"], "30").await;
    let path = c.key_page_path("ci").await;
    api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
    let res = c
        .submit(
            &format!("{path}/rotate"),
            &format!("{path}/rotate"),
            &[("grace", "3600")],
        )
        .await;
    let rotated = token_in(&c.get(res.location().unwrap()).await.body).unwrap();
    api(
        &app.router,
        Method::GET,
        "/v1/me",
        Some("gtk_badbadbadbad_x"),
        None,
    )
    .await;
    // Still signed in, so /login only redirects: post the form directly.
    let wrong = c
        .post(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", "Wrong-Password-123!"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let session = c.session_cookie().cloned().unwrap();
    app.finish().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("request"), "logs were captured");
    for secret in [
        &token[17..],
        &rotated[17..],
        PASSWORD,
        "Wrong-Password-123!",
        &session,
    ] {
        assert!(!text.contains(secret), "a secret leaked into the logs");
    }
}
