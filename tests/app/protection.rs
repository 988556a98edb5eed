//! CSRF, provenance checks, session cookies and timeouts, security headers and
//! error pages.

use axum::http::StatusCode;

use crate::helpers::*;

async fn profile_post(c: &mut Client, token: &str, headers: &[(&str, &str)]) -> TestResponse {
    c.post_raw(
        "/account/profile",
        &[
            ("csrf_token", token),
            ("display_name", "Hacked"),
            ("time_zone", "UTC"),
        ],
        headers,
    )
    .await
}

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c.csrf.clone().unwrap();
        let missing = c
            .post_raw(
                "/account/profile",
                &[("display_name", "Hacked"), ("time_zone", "UTC")],
                &[],
            )
            .await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        assert!(missing.contains("This form could not be accepted"));
        let wrong = profile_post(&mut c, "not-the-token", &[]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        let foreign = profile_post(&mut c, &token, &[("origin", "https://evil.example")]).await;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN);
        let cross = profile_post(&mut c, &token, &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        assert!(c.get("/account/profile").await.contains("value=\"Ada\""));
        // The same request from this site goes through.
        let good = profile_post(
            &mut c,
            &token,
            &[
                ("origin", "http://localhost:8080"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
        good.assert_redirect("/account/profile");
        app
    })
    .await;
}

#[tokio::test]
async fn sign_in_and_sign_out_forms_need_the_token_too() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        let res = c
            .post_raw(
                "/login",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let mut s = signed_in(&app, "grace@example.com", "Grace").await;
        let res = s.post_raw("/logout", &[], &[]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(s.get("/account").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    each_engine(|app| async move {
        let mut c = app.client();
        let res = c.get("/login").await;
        let cookie = res
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("gatehouse_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("Path=/"));
        assert!(!cookie.contains("Secure"), "plain http in development");
        assert!(!cookie.contains("Max-Age"), "a browser-session cookie");
        app
    })
    .await;
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_with_the_host_prefix_and_hsts_is_sent() {
    each_engine_with(
        |c| c.public_url = Some("https://console.example.com".into()),
        |app| async move {
            let mut c = app.client();
            let res = c.get("/login").await;
            let cookie = res
                .set_cookies()
                .into_iter()
                .find(|c| c.starts_with("__Host-gatehouse_session="))
                .unwrap();
            assert!(cookie.contains("Secure"));
            assert!(cookie.contains("Path=/"));
            assert!(!cookie.contains("Domain"));
            assert!(res.headers.get("strict-transport-security").is_some());
            app
        },
    )
    .await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    each_engine(|app| async move {
        let mut c = app.client();
        for path in ["/login", "/healthz", "/nope"] {
            let res = c.get(path).await;
            let csp = res
                .headers
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"));
            assert!(csp.contains("frame-ancestors 'none'"));
            assert!(!csp.contains("unsafe-inline"));
            assert_eq!(
                res.headers.get("x-content-type-options").unwrap(),
                "nosniff"
            );
            assert_eq!(res.headers.get("referrer-policy").unwrap(), "same-origin");
            assert!(res.headers.get("x-request-id").is_some());
            assert!(res.headers.get("strict-transport-security").is_none());
        }
        app
    })
    .await;
}

#[tokio::test]
async fn unknown_pages_get_the_product_404_page() {
    each_engine(|app| async move {
        let mut c = app.client();
        let res = c.get("/does/not/exist").await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(res.contains("Page not found"));
        assert!(res.contains("/static/app.css"));
        app
    })
    .await;
}

#[tokio::test]
async fn an_oversized_form_is_refused() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let huge = "x".repeat(100 * 1024);
        let res = c.post("/account/profile", &[("display_name", &huge)]).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
        app
    })
    .await;
}

#[tokio::test]
async fn an_idle_session_expires_after_an_hour() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        app.clock.advance(59 * 60);
        assert_eq!(c.get("/account").await.status, StatusCode::OK);
        app.clock.advance(59 * 60);
        assert_eq!(
            c.get("/account").await.status,
            StatusCode::OK,
            "activity extends it"
        );
        app.clock.advance(61 * 60);
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_however_active() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        for _ in 0..23 {
            app.clock.advance(30 * 60);
            assert_eq!(c.get("/account").await.status, StatusCode::OK);
        }
        app.clock.advance(30 * 60 + 1);
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        const SEEN: &str = "SELECT MAX(last_seen_at) FROM sessions WHERE user_id IS NOT NULL";
        let first = app.count(SEEN).await;
        app.clock.advance(30);
        assert_eq!(c.get("/account").await.status, StatusCode::OK);
        assert_eq!(app.count(SEEN).await, first);
        app.clock.advance(31);
        assert_eq!(c.get("/account").await.status, StatusCode::OK);
        assert_eq!(app.count(SEEN).await, first + 61);
        app
    })
    .await;
}

#[tokio::test]
async fn the_session_table_stores_only_a_hash_of_the_id() {
    each_engine(|app| async move {
        let c = signed_in(&app, "ada@example.com", "Ada").await;
        let cookie = c.session_cookie().unwrap().clone();
        let rows = match app.db() {
            gatehouse::db::Db::Sqlite(p) => {
                sqlx::query_scalar::<_, Vec<u8>>("SELECT id_hash FROM sessions")
                    .fetch_all(p)
                    .await
                    .unwrap()
            }
            gatehouse::db::Db::Postgres(p) => {
                sqlx::query_scalar::<_, Vec<u8>>("SELECT id_hash FROM sessions")
                    .fetch_all(p)
                    .await
                    .unwrap()
            }
        };
        assert!(!rows.is_empty());
        for row in rows {
            assert_eq!(row.len(), 32);
            assert!(!String::from_utf8_lossy(&row).contains(&cookie));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn probes_answer_without_a_session_and_readiness_fails_without_the_database() {
    each_engine(|app| async move {
        let mut c = app.client();
        assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
        assert_eq!(c.get("/readyz").await.status, StatusCode::OK);
        assert!(
            c.get("/healthz").await.set_cookies().is_empty(),
            "no session for probes"
        );
        app.db().close().await;
        assert_eq!(
            c.get("/readyz").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        app
    })
    .await;
}
