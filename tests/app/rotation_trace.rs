//! A rotation "immediately" (no grace) still remembers the old secret as
//! rotated out: a later use of a leaked secret answers `token_rotated` and is
//! audited, for personal and service-account keys alike.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::keys::token_in;
use crate::orgs::two_orgs;
use crate::service_accounts::public_id;

fn code_of(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn rejections(app: &TestApp) -> i64 {
    app.count(
        "SELECT COUNT(*) FROM audit_events \
         WHERE action = 'api_key.rejected' AND detail LIKE '%token_rotated%'",
    )
    .await
}

#[tokio::test]
async fn an_old_personal_secret_after_a_rotation_without_grace_is_rotated_and_audited() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let old = c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        let res = c
            .submit(
                &format!("{path}/rotate"),
                &format!("{path}/rotate"),
                &[("grace", "0")],
            )
            .await;
        let new = token_in(&c.get(res.location().unwrap()).await.body).unwrap();
        assert_eq!(rejections(&app).await, 0);

        let res = api(&app.router, Method::GET, "/v1/me", Some(&old), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(&res), "token_rotated");
        assert_eq!(rejections(&app).await, 1);
        // A day later the old secret is still recognised as rotated out.
        app.clock.advance(86_400);
        let res = api(&app.router, Method::GET, "/v1/me", Some(&old), None).await;
        assert_eq!(code_of(&res), "token_rotated");
        assert_eq!(rejections(&app).await, 2);
        let res = api(&app.router, Method::GET, "/v1/me", Some(&new), None).await;
        assert_eq!(res.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn an_old_service_account_secret_after_a_rotation_without_grace_is_rotated_and_audited() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let old = ada.create_sa_key("acme", &sa, &["keys:read"], &[]).await;
        let base = format!("/orgs/acme/service-accounts/{sa}/keys/{}", public_id(&old));
        ada.submit(
            &format!("{base}/rotate"),
            &format!("{base}/rotate"),
            &[("grace", "0")],
        )
        .await
        .assert_redirect(&format!("{base}/reveal"));
        let new = token_in(&ada.get(&format!("{base}/reveal")).await.body).unwrap();

        let res = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&old),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(&res), "token_rotated");
        assert_eq!(rejections(&app).await, 1);
        let res = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&new),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        app
    })
    .await;
}
