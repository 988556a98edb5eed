//! Leaked-key reports: a live key reported by a secret scanner is revoked
//! and audited; the answer is the same whatever the tokens were; reports are
//! limited per address; malformed bodies get JSON errors with stable codes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use gatehouse::auth::api_key::issue;
use serde_json::json;

use crate::helpers::*;
use crate::orgs::two_orgs;

const REPORTS: &str = "/v1/secret-scanning/reports";

/// Posts `body` as JSON to the report endpoint from `ip`.
async fn report_from(app: &TestApp, ip: &str, body: &str) -> TestResponse {
    let mut c = app.client();
    c.ip = ip.into();
    let req = Request::builder()
        .method(Method::POST)
        .uri(REPORTS)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    c.send(req).await
}

fn reports(tokens: &[&str]) -> String {
    let list: Vec<_> = tokens
        .iter()
        .map(|t| {
            json!({
                "token": t,
                "type": "gatehouse_api_key",
                "url": "https://github.com/octo/app/blob/main/.env",
                "source": "content",
            })
        })
        .collect();
    serde_json::Value::from(list).to_string()
}

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn reported_live_keys_are_revoked_audited_and_then_answer_token_revoked() {
    each_engine(|app| async move {
        let (mut ada, ..) = two_orgs(&app).await;
        let personal = ada.create_key("laptop", &["profile:read"], "30").await;
        let sa = ada.create_service_account("acme", "deploy").await;
        let robot = ada.create_sa_key("acme", &sa, &["teams:read"], &[]).await;
        let master = gatehouse::operators::create_master_key(app.db(), "ci", 30, START)
            .await
            .unwrap()
            .token
            .expose()
            .to_owned();
        let me = api(&app.router, Method::GET, "/v1/me", Some(&personal), None).await;
        assert_eq!(me.status, StatusCode::OK);

        let res = report_from(&app, "192.0.2.50", &reports(&[&personal, &robot, &master])).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        assert_eq!(json_of(&res), json!({"status": "received"}));

        let me = api(&app.router, Method::GET, "/v1/me", Some(&personal), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&me), "token_revoked");
        let teams = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/teams",
            Some(&robot),
            None,
        )
        .await;
        assert_eq!(code(&teams), "token_revoked");
        let admin = api(
            &app.router,
            Method::GET,
            "/v1/admin/accounts",
            Some(&master),
            None,
        )
        .await;
        assert_eq!(admin.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM master_keys WHERE revoked_at IS NOT NULL")
                .await,
            1
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.leak_reported' \
                 AND actor_label = 'anonymous' AND ip = '192.0.2.50' \
                 AND detail LIKE '%https://github.com/octo/app/blob/main/.env%'"
            )
            .await,
            3
        );
        // The personal key's event is about Ada; the robot's is in Acme's log.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.leak_reported' \
                 AND target_kind = 'user'"
            )
            .await,
            1
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.leak_reported' \
                 AND target_kind = 'api_key' AND org_id IS NOT NULL"
            )
            .await,
            1
        );
        // Reported again: nothing more happens, and nothing more is audited.
        let again = report_from(&app, "192.0.2.50", &reports(&[&personal])).await;
        assert_eq!(again.status, StatusCode::ACCEPTED);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.leak_reported'")
                .await,
            3
        );
        app
    })
    .await;
}

#[tokio::test]
async fn real_fake_malformed_and_revoked_tokens_get_identical_answers() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let real = ada.create_key("laptop", &["profile:read"], "30").await;
        let fake = issue().token.expose().to_owned();
        let answers = [
            report_from(&app, "192.0.2.51", &reports(&[&real])).await,
            report_from(&app, "192.0.2.51", &reports(&[&fake])).await,
            report_from(&app, "192.0.2.51", &reports(&["gtk_not-a-key"])).await,
            report_from(&app, "192.0.2.51", &reports(&[&real])).await,
            report_from(&app, "192.0.2.51", &reports(&[&fake, &real])).await,
        ];
        let shape = |r: &TestResponse| {
            (
                r.status,
                r.body.clone(),
                r.headers.get(header::CONTENT_TYPE).cloned(),
                r.headers.get(header::CONTENT_LENGTH).cloned(),
            )
        };
        for a in &answers[1..] {
            assert_eq!(shape(a), shape(&answers[0]));
        }
        assert_eq!(answers[0].status, StatusCode::ACCEPTED);
        let me = api(&app.router, Method::GET, "/v1/me", Some(&real), None).await;
        assert_eq!(code(&me), "token_revoked", "the real one was revoked");
        app
    })
    .await;
}

#[tokio::test]
async fn reports_are_limited_per_address_with_429_and_retry_after() {
    each_engine(|app| async move {
        let body = reports(&[issue().token.expose()]);
        for _ in 0..gatehouse::auth::limits::LEAK_REPORTS_PER_IP_PER_HOUR {
            let res = report_from(&app, "192.0.2.52", &body).await;
            assert_eq!(res.status, StatusCode::ACCEPTED);
        }
        let res = report_from(&app, "192.0.2.52", &body).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(code(&res), "rate_limited");
        let wait: i64 = res.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&wait), "{wait}");
        // Malformed bodies count too; another address is not affected.
        let res = report_from(&app, "192.0.2.52", "not json").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        let other = report_from(&app, "192.0.2.53", &body).await;
        assert_eq!(other.status, StatusCode::ACCEPTED);
        // The window passes.
        app.clock.advance(wait);
        let res = report_from(&app, "192.0.2.52", &body).await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        app
    })
    .await;
}

#[tokio::test]
async fn malformed_reports_get_json_errors_with_stable_codes() {
    each_engine(|app| async move {
        let ip = "192.0.2.54";
        let res = report_from(&app, ip, "[{\"token\": ").await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&res), "bad_request");
        assert_eq!(res.headers[header::CONTENT_TYPE], "application/json");
        let res = report_from(&app, ip, r#"{"token":"gtk_x"}"#).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&res), "validation_failed");
        let res = report_from(&app, ip, r#"[{"url":"https://example.com"}]"#).await;
        assert_eq!(code(&res), "validation_failed");
        let fake = issue().token.expose().to_owned();
        let many: Vec<&str> = std::iter::repeat_n(fake.as_str(), 101).collect();
        let res = report_from(&app, ip, &reports(&many)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&res), "validation_failed");
        let res = report_from(&app, ip, &reports(&many[..100])).await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        let res = api(&app.router, Method::POST, REPORTS, None, None).await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(code(&res), "unsupported_media_type");

        let doc = json_of(&api(&app.router, Method::GET, "/v1/openapi.json", None, None).await);
        let op = &doc["paths"][REPORTS]["post"];
        assert!(op["responses"]["202"].is_object(), "{op}");
        assert!(op["responses"]["429"].is_object());
        assert!(doc["components"]["schemas"]["ReportedToken"].is_object());
        app
    })
    .await;
}

#[tokio::test]
async fn a_reported_old_secret_in_its_grace_period_ends_the_grace_only() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let old = c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        c.get(&format!("{path}/rotate")).await;
        let res = c
            .post(&format!("{path}/rotate"), &[("grace", "3600")])
            .await;
        let new = crate::keys::token_in(&c.get(res.location().unwrap()).await.body).unwrap();
        let res = report_from(&app, "192.0.2.55", &reports(&[&old])).await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        let me = |t: String| {
            let router = app.router.clone();
            async move { api(&router, Method::GET, "/v1/me", Some(&t), None).await }
        };
        assert_eq!(code(&me(old.clone()).await), "token_rotated");
        assert_eq!(
            me(new).await.status,
            StatusCode::OK,
            "the unreported secret works"
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.leak_reported' \
                 AND detail LIKE '%\"secret\":\"previous\"%'"
            )
            .await,
            1
        );
        app
    })
    .await;
}
