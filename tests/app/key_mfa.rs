//! The org's "require two-factor authentication" policy holds for API keys
//! as it does for pages — a member's key works in the org only while its
//! owner has MFA on; a service account's key is exempt — and it never keeps a
//! member from leaving.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::mfa::enrol;
use crate::orgs::two_orgs;

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn require_mfa(app: &TestApp, ada: &mut Client) {
    enrol(app, ada).await;
    app.clock.advance(30);
    ada.submit(
        "/orgs/acme/settings",
        "/orgs/acme/settings",
        &[("require_mfa", "on")],
    )
    .await
    .assert_redirect("/orgs/acme/settings");
}

#[tokio::test]
async fn a_members_key_stops_while_the_org_requires_mfa_they_do_not_have() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let key = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        let teams = |token: String| {
            let router = app.router.clone();
            async move {
                api(
                    &router,
                    Method::GET,
                    "/v1/orgs/acme/teams",
                    Some(&token),
                    None,
                )
                .await
            }
        };
        assert_eq!(teams(key.clone()).await.status, StatusCode::OK);
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let sa_key = ada.create_sa_key("acme", &sa, &["teams:read"], &[]).await;
        require_mfa(&app, &mut ada).await;

        let res = teams(key.clone()).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        assert_eq!(code(&res), "mfa_required");
        let message = json_of(&res)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("requires two-factor authentication"),
            "{message}"
        );
        assert!(!res.contains("Acme"), "nothing of the org is shown");
        // The owner's own key, with MFA on, works; so does the service
        // account's, which has no second factor to have.
        let ada_key = ada.create_bound_key(&["teams:read"], "acme", &[]).await;
        assert_eq!(teams(ada_key).await.status, StatusCode::OK);
        assert_eq!(teams(sa_key).await.status, StatusCode::OK);

        // Once grace turns MFA on, her key works again.
        enrol(&app, &mut grace).await;
        assert_eq!(teams(key).await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn binding_a_key_to_an_org_that_requires_mfa_without_mfa_is_refused_on_the_form() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        require_mfa(&app, &mut ada).await;
        let before = app.count("SELECT COUNT(*) FROM api_keys").await;
        let res = grace
            .post_bound_key(&["teams:read"], "acme", &[], "30")
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert!(res.contains("id=\"org-error\""), "{}", res.body);
        assert!(res.contains("requires two-factor authentication"));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, before);
        // An unbound key stays possible.
        let res = grace.post_bound_key(&["profile:read"], "", &[], "30").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_without_mfa_can_still_leave_an_org_that_requires_it() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        require_mfa(&app, &mut ada).await;
        grace
            .get("/orgs/acme")
            .await
            .assert_redirect("/account/security/mfa/setup");
        grace
            .submit("/account/orgs", "/orgs/acme/leave", &[])
            .await
            .assert_redirect("/account/orgs");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'grace@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.left'")
                .await,
            1
        );
        // Leaving opens nothing else: the org is now simply not found.
        assert_eq!(grace.get("/orgs/acme").await.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}
