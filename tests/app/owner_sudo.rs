//! Sudo for the owner actions that grant access, relax a policy or destroy:
//! a stolen owner session without the password cannot invite, promote,
//! create a service account, loosen a policy, or delete a service account
//! or a team. Each refused form comes back filled after sudo.

use axum::http::StatusCode;
use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mfa::{enrol, totp_at};
use crate::orgs::{two_orgs, user_id};
use crate::sudo::urlencode;

/// The sudo window (15 minutes) ends; the session does not.
fn leave_sudo(app: &TestApp) {
    app.clock.advance(15 * 60 + 1);
}

fn assert_sent_to_sudo(res: &TestResponse, page: &str) {
    res.assert_redirect(&format!("/sudo?next={}", urlencode(page)));
}

#[tokio::test]
async fn an_owner_without_sudo_cannot_invite_and_gets_the_form_back_filled_after_sudo() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = "/orgs/acme/invitations";
        for role in ["member", "owner"] {
            let res = ada
                .submit(
                    page,
                    page,
                    &[("email", "newbie@example.com"), ("role", role)],
                )
                .await;
            assert_sent_to_sudo(&res, page);
            assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 0);
        }
        ada.sudo(PASSWORD, page).await.assert_redirect(page);
        let form = ada.get(page).await;
        assert!(
            form.contains("value=\"newbie@example.com\""),
            "{}",
            form.body
        );
        assert!(form.contains("id=\"role-owner\" name=\"role\" value=\"owner\" checked"));
        ada.submit(
            page,
            page,
            &[("email", "newbie@example.com"), ("role", "owner")],
        )
        .await
        .assert_redirect(page);
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn promoting_to_owner_needs_sudo_and_demoting_does_not() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let page = format!("/orgs/acme/members/{grace}");
        let res = ada
            .submit(&page, &format!("{page}/role"), &[("role", "owner")])
            .await;
        assert_sent_to_sudo(&res, &page);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND member_email = 'grace@example.com'").await,
            0
        );
        ada.sudo(PASSWORD, &page).await.assert_redirect(&page);
        assert!(ada.get(&page).await.contains("<option value=\"owner\" selected>"));
        ada.submit(&page, &format!("{page}/role"), &[("role", "owner")])
            .await
            .assert_redirect(&page);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND member_email = 'grace@example.com'").await,
            1
        );
        // Taking the role away grants nothing: no sudo.
        leave_sudo(&app);
        ada.submit(&page, &format!("{page}/role"), &[("role", "member")])
            .await
            .assert_redirect(&page);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND member_email = 'grace@example.com'").await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn creating_a_service_account_needs_sudo_and_the_form_comes_back_filled() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = "/orgs/acme/service-accounts";
        let res = ada
            .submit(
                page,
                page,
                &[("name", "Deploy bot"), ("description", "ships")],
            )
            .await;
        assert_sent_to_sudo(&res, page);
        assert_eq!(app.count("SELECT COUNT(*) FROM service_accounts").await, 0);
        ada.sudo(PASSWORD, page).await.assert_redirect(page);
        let form = ada.get(page).await;
        assert!(form.contains("value=\"Deploy bot\""), "{}", form.body);
        assert!(form.contains("ships"));
        let res = ada
            .submit(
                page,
                page,
                &[("name", "Deploy bot"), ("description", "ships")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(app.count("SELECT COUNT(*) FROM service_accounts").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn relaxing_a_policy_needs_sudo_and_tightening_does_not() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = "/orgs/acme/settings";
        let enrolled = enrol(&app, &mut ada).await;
        app.clock.advance(30);
        ada.submit(page, page, &[("require_mfa", "on"), ("max_key_lifetime_days", "90")])
            .await
            .assert_redirect(page);
        leave_sudo(&app);
        let policy = |mfa: bool, days: &'static str| {
            let app = &app;
            async move {
                let sql: &'static str = match (mfa, days) {
                    (true, "30") => "SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_mfa = TRUE AND max_key_lifetime_days = 30",
                    (true, "90") => "SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_mfa = TRUE AND max_key_lifetime_days = 90",
                    (false, "90") => "SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_mfa = FALSE AND max_key_lifetime_days = 90",
                    _ => unreachable!(),
                };
                app.count(sql).await == 1
            }
        };
        // Tightening (a shorter lifetime) needs no sudo.
        ada.submit(page, page, &[("require_mfa", "on"), ("max_key_lifetime_days", "30")])
            .await
            .assert_redirect(page);
        assert!(policy(true, "30").await);
        // Raising the lifetime, removing the limit, turning MFA off: sudo.
        let relaxing: [&[(&str, &str)]; 3] = [
            &[("require_mfa", "on"), ("max_key_lifetime_days", "90")],
            &[("require_mfa", "on"), ("max_key_lifetime_days", "")],
            &[("max_key_lifetime_days", "30")],
        ];
        for fields in relaxing {
            let res = ada.submit(page, page, fields).await;
            assert_sent_to_sudo(&res, page);
            assert!(policy(true, "30").await, "{fields:?} changed nothing");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'policy.updated'").await,
            2
        );
        // After sudo the last refused values come back, and saving works.
        let code = totp_at(&enrolled.secret, app.clock.unix());
        ada.sudo_with_code(PASSWORD, &code, page)
            .await
            .assert_redirect(page);
        let form = ada.get(page).await;
        assert!(form.contains("value=\"30\""));
        assert!(!form.contains("value=\"on\" checked"), "{}", form.body);
        ada.submit(page, page, &[("max_key_lifetime_days", "90")])
            .await
            .assert_redirect(page);
        assert!(policy(false, "90").await);
        app
    })
    .await;
}

#[tokio::test]
async fn deleting_a_service_account_or_a_team_needs_sudo() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let team = ada.create_team("acme", "Research").await;
        leave_sudo(&app);
        let sa_page = format!("/orgs/acme/service-accounts/{sa}");
        let res = ada
            .submit(&sa_page, &format!("{sa_page}/delete"), &[])
            .await;
        assert_sent_to_sudo(&res, &sa_page);
        let team_page = format!("/orgs/acme/teams/{team}");
        let res = ada
            .submit(&team_page, &format!("{team_page}/delete"), &[])
            .await;
        assert_sent_to_sudo(&res, &team_page);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM service_accounts WHERE deleted_at IS NULL")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM teams WHERE deleted_at IS NULL")
                .await,
            1
        );
        ada.sudo(PASSWORD, &sa_page).await.assert_redirect(&sa_page);
        ada.submit(&sa_page, &format!("{sa_page}/delete"), &[])
            .await
            .assert_status(StatusCode::SEE_OTHER);
        ada.submit(&team_page, &format!("{team_page}/delete"), &[])
            .await
            .assert_status(StatusCode::SEE_OTHER);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM service_accounts WHERE deleted_at IS NULL")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM teams WHERE deleted_at IS NULL")
                .await,
            0
        );
        app
    })
    .await;
}
