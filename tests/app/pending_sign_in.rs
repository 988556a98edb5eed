//! A half-finished MFA sign-in (password given, code not yet) belongs to the
//! user: a password change and "sign out everywhere else" end it, so whoever
//! stands at `/login/mfa` cannot finish with a code afterwards.

use axum::http::StatusCode;
use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mfa::{enrol, totp_at};

/// Ada signed in on `home` with MFA on, and `stranger` past her password,
/// at the code prompt.
async fn ada_and_a_pending_sign_in(app: &TestApp) -> (Client, Client, String) {
    let mut home = signed_in(app, "ada@example.com", "Ada").await;
    let secret = enrol(app, &mut home).await.secret;
    app.clock.advance(30);
    let mut stranger = app.client();
    stranger.ip = "198.51.100.66".into();
    stranger
        .login("ada@example.com", PASSWORD)
        .await
        .assert_redirect("/login/mfa");
    assert_eq!(stranger.get("/login/mfa").await.status, StatusCode::OK);
    (home, stranger, secret)
}

/// The stranger types a right code: refused, back to sign-in.
async fn assert_code_refused(app: &TestApp, stranger: &mut Client, secret: &str) {
    let code = totp_at(secret, app.clock.unix());
    stranger
        .post("/login/mfa", &[("code", &code)])
        .await
        .assert_redirect("/login");
    stranger
        .get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.challenge_passed'")
            .await,
        0
    );
}

#[tokio::test]
async fn sign_out_everywhere_else_ends_a_pending_sign_in_and_says_so() {
    each_engine(|app| async move {
        let (mut home, mut stranger, secret) = ada_and_a_pending_sign_in(&app).await;
        let page = home.get("/account/sessions").await;
        assert!(
            page.contains("A sign-in with your password is waiting for the authentication code."),
            "{}",
            page.body
        );
        home.post("/account/sessions/revoke-others", &[])
            .await
            .assert_redirect("/account/sessions");
        let page = home.get("/account/sessions").await;
        assert!(
            page.contains(
                "You had no other sessions. A sign-in waiting for its authentication code was \
                 stopped too; if it was not you, change your password."
            ),
            "{}",
            page.body
        );
        assert!(!page.contains("Sign out everywhere else"), "nothing left");
        assert_code_refused(&app, &mut stranger, &secret).await;
        assert_eq!(home.get("/account").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn a_password_change_ends_a_pending_sign_in() {
    each_engine(|app| async move {
        let (mut home, mut stranger, secret) = ada_and_a_pending_sign_in(&app).await;
        home.get("/account/security").await;
        home.post(
            "/account/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_redirect("/account/security");
        assert_code_refused(&app, &mut stranger, &secret).await;
        app
    })
    .await;
}

#[tokio::test]
async fn another_users_sign_out_everywhere_leaves_a_pending_sign_in_alone() {
    each_engine(|app| async move {
        let (_home, mut stranger, secret) = ada_and_a_pending_sign_in(&app).await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        bob.get("/account/sessions").await;
        bob.post("/account/sessions/revoke-others", &[])
            .await
            .assert_redirect("/account/sessions");
        let page = bob.get("/account/sessions").await;
        assert!(page.contains("You had no other sessions."), "{}", page.body);
        assert!(!page.contains("authentication code"), "{}", page.body);
        let code = totp_at(&secret, app.clock.unix());
        stranger
            .post("/login/mfa", &[("code", &code)])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn disabling_the_account_deletes_a_pending_sign_in() {
    each_engine(|app| async move {
        let (_home, mut stranger, secret) = ada_and_a_pending_sign_in(&app).await;
        const PENDING: &str = "SELECT COUNT(*) FROM sessions WHERE pending_user_id IS NOT NULL";
        assert_eq!(app.count(PENDING).await, 1, "the pending row names Ada");
        let mut olga = crate::ops::operator(&app, "olga@example.com").await;
        let id = crate::ops::user_id(&app, "ada@example.com").await;
        olga.post(&format!("/ops/users/{id}/view"), &[("reason", "ticket 7")])
            .await;
        olga.get(&format!("/ops/users/{id}")).await;
        olga.post(
            &format!("/ops/users/{id}/disable"),
            &[("reason", "ticket 7")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{id}"));
        assert_eq!(app.count(PENDING).await, 0);
        assert_code_refused(&app, &mut stranger, &secret).await;
        app
    })
    .await;
}
