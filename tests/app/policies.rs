//! Org policies: "members must use MFA" (enforced when a member opens the
//! org) and the maximum key lifetime; saving is owner-only and audited.

use axum::http::StatusCode;

use crate::helpers::*;
use crate::mfa::enrol;
use crate::orgs::two_orgs;

#[tokio::test]
async fn an_owner_saves_policies_and_the_change_is_audited_with_before_and_after() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = ada.get("/orgs/acme/settings").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Require two-factor authentication for members"));
        assert!(page.contains("2 members do not have two-factor authentication yet."));

        // The owner needs MFA of their own before requiring it.
        let res = ada
            .post(
                "/orgs/acme/settings",
                &[("require_mfa", "on"), ("max_key_lifetime_days", "90")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Turn on two-factor authentication for your own account first"));

        enrol(&app, &mut ada).await;
        app.clock.advance(30);
        ada.submit("/orgs/acme/settings", 
            "/orgs/acme/settings",
            &[("require_mfa", "on"), ("max_key_lifetime_days", "90")],
        )
        .await
        .assert_redirect("/orgs/acme/settings");
        let page = ada.get("/orgs/acme/settings").await;
        assert!(page.contains("1 member without two-factor authentication will be asked"));
        assert!(page.contains("1 member does not have two-factor authentication yet."));
        assert!(page.contains("value=\"90\""));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_mfa = TRUE AND max_key_lifetime_days = 90")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'policy.updated' AND org_id IS NOT NULL \
                AND detail LIKE '%\"before\":{\"max_key_lifetime_days\":null,\"require_mfa\":false,\"require_passkey\":false}%' \
                AND detail LIKE '%\"after\":{\"max_key_lifetime_days\":90,\"require_mfa\":true,\"require_passkey\":false}%'")
                .await,
            1
        );
        // Saving the same values again records nothing new.
        ada.post(
            "/orgs/acme/settings",
            &[("require_mfa", "on"), ("max_key_lifetime_days", "90")],
        )
        .await.assert_redirect("/orgs/acme/settings");
        // Clearing the limit and the requirement.
        ada.post("/orgs/acme/settings", &[("max_key_lifetime_days", "")])
            .await
            .assert_redirect("/orgs/acme/settings");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'policy.updated'")
                .await,
            2
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_mfa = FALSE AND max_key_lifetime_days IS NULL")
                .await,
            1
        );
        let audit = ada.get("/orgs/acme/audit").await;
        assert!(audit.contains("policy.updated"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_lifetime_outside_1_to_365_days_is_refused_and_changes_nothing() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        for bad in ["0", "366", "abc", "-5"] {
            let res = ada
                .submit(
                    "/orgs/acme/settings",
                    "/orgs/acme/settings",
                    &[("max_key_lifetime_days", bad)],
                )
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(res.contains("from 1 to 365"));
            assert!(res.contains(&format!("value=\"{bad}\"")));
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE max_key_lifetime_days IS NOT NULL")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'policy.updated'")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_without_mfa_is_sent_to_enrolment_while_the_policy_is_on() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        assert_eq!(grace.get("/orgs/acme").await.status, StatusCode::OK);
        enrol(&app, &mut ada).await;
        app.clock.advance(30);
        ada.submit(
            "/orgs/acme/settings",
            "/orgs/acme/settings",
            &[("require_mfa", "on")],
        )
        .await
        .assert_redirect("/orgs/acme/settings");

        let res = grace.get("/orgs/acme").await;
        res.assert_redirect("/account/security/mfa/setup");
        assert!(!res.contains("Acme"));
        // The owner (with MFA) still gets in.
        assert_eq!(ada.get("/orgs/acme").await.status, StatusCode::OK);

        // Once grace has MFA, she is let in.
        enrol(&app, &mut grace).await;
        assert_eq!(grace.get("/orgs/acme").await.status, StatusCode::OK);

        // And with the policy off, a member without MFA gets in again.
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        crate::orgs::add_member(&app, "acme", "bob@example.com", "member").await;
        bob.get("/orgs/acme")
            .await
            .assert_redirect("/account/security/mfa/setup");
        ada.submit("/orgs/acme/settings", "/orgs/acme/settings", &[])
            .await
            .assert_redirect("/orgs/acme/settings");
        assert_eq!(bob.get("/orgs/acme").await.status, StatusCode::OK);
        app
    })
    .await;
}
