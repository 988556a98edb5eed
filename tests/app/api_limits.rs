//! Request limits on `/v1`: per key and per master key, shared by every
//! instance through leased blocks, with the RateLimit headers on every answer.

use axum::http::{Method, StatusCode};
use gatehouse::operators::create_master_key;

use crate::helpers::*;

async fn key(app: &TestApp) -> String {
    let mut c = signed_in(app, "ada@example.com", "Ada").await;
    c.create_key("api", &["profile:read"], "30").await
}

fn header<'a>(res: &'a TestResponse, name: &str) -> &'a str {
    res.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

async fn leased(app: &TestApp) -> i64 {
    app.count("SELECT CAST(COALESCE(SUM(granted), 0) AS BIGINT) FROM api_quota_leases")
        .await
}

#[tokio::test]
async fn a_key_is_refused_past_its_limit_and_served_again_in_the_next_window() {
    each_engine_with(
        |c| {
            c.api_requests_per_minute = 5;
            c.api_quota_lease = 2;
        },
        |app| async move {
            let token = key(&app).await;
            for left in (0..5).rev() {
                let res = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.body);
                assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=5;w=60");
                assert_eq!(
                    header(&res, "ratelimit"),
                    format!("\"default\";r={left};t=60")
                );
            }
            app.clock.advance(20);
            let res = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(json_of(&res)["error"]["code"], "rate_limited");
            assert_eq!(header(&res, "retry-after"), "40");
            assert_eq!(header(&res, "ratelimit"), "\"default\";r=0;t=40");
            assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=5;w=60");
            // The next window starts over.
            app.clock.advance(40);
            let res = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(header(&res, "ratelimit"), "\"default\";r=4;t=60");
            app
        },
    )
    .await;
}

#[tokio::test]
async fn two_instances_share_one_limit_and_lease_it_in_blocks() {
    each_engine_with(
        |c| {
            c.api_requests_per_minute = 6;
            c.api_quota_lease = 2;
        },
        |mut app| async move {
            let token = key(&app).await;
            let a = app.router.clone();
            let b = app.separate_instance().await;
            let me = |r: &axum::Router| {
                let r = r.clone();
                let token = token.clone();
                async move {
                    api(&r, Method::GET, "/v1/me", Some(&token), None)
                        .await
                        .status
                }
            };
            assert_eq!(me(&a).await, StatusCode::OK);
            assert_eq!(leased(&app).await, 2);
            // Served from the block instance A holds: nothing written.
            assert_eq!(me(&a).await, StatusCode::OK);
            assert_eq!(leased(&app).await, 2);
            // B has no block of its own and leases one.
            assert_eq!(me(&b).await, StatusCode::OK);
            assert_eq!(leased(&app).await, 4);
            assert_eq!(me(&b).await, StatusCode::OK);
            // A leases the last block of the window.
            assert_eq!(me(&a).await, StatusCode::OK);
            assert_eq!(leased(&app).await, 6);
            // B finds nothing left to lease, although A still holds one
            // request: the early refusal the README bounds by
            // (instances - 1) × (block - 1). A serves it.
            assert_eq!(me(&b).await, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(me(&a).await, StatusCode::OK);
            // Six served in all: both instances refuse from now on, without
            // writing.
            assert_eq!(me(&a).await, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(me(&b).await, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(leased(&app).await, 6);
            app.clock.advance(60);
            assert_eq!(me(&b).await, StatusCode::OK);
            assert_eq!(me(&a).await, StatusCode::OK);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn a_refused_or_invalid_token_spends_no_quota() {
    each_engine_with(
        |c| c.api_requests_per_minute = 2,
        |app| async move {
            let token = key(&app).await;
            // A wrong secret under the key's public id is refused before the
            // quota is looked at, so it cannot spend the owner's requests.
            let public_id = &token["gtk_".len().."gtk_".len() + 12];
            let forged = gatehouse::auth::api_key::issue_for(public_id)
                .token
                .expose()
                .to_owned();
            for _ in 0..5 {
                let res = api(&app.router, Method::GET, "/v1/me", Some(&forged), None).await;
                assert_eq!(res.status, StatusCode::UNAUTHORIZED);
                assert!(res.headers.get("ratelimit").is_none());
            }
            for _ in 0..2 {
                let res = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
                assert_eq!(res.status, StatusCode::OK);
            }
            app
        },
    )
    .await;
}

#[tokio::test]
async fn the_master_key_is_limited_too() {
    each_engine_with(
        |c| c.master_key_requests_per_minute = 3,
        |app| async move {
            let master = create_master_key(app.db(), "provisioning", 30, START)
                .await
                .unwrap()
                .token
                .expose()
                .to_owned();
            for left in (0..3).rev() {
                let res = api(
                    &app.router,
                    Method::GET,
                    "/v1/admin/orgs",
                    Some(&master),
                    None,
                )
                .await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.body);
                assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=3;w=60");
                assert_eq!(
                    header(&res, "ratelimit"),
                    format!("\"default\";r={left};t=60")
                );
            }
            let res = api(
                &app.router,
                Method::GET,
                "/v1/admin/orgs",
                Some(&master),
                None,
            )
            .await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(json_of(&res)["error"]["code"], "rate_limited");
            assert_eq!(header(&res, "retry-after"), "60");
            app
        },
    )
    .await;
}
