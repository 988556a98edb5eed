//! Malicious lock-out: failures from an attacker who knows the email lock
//! out untrusted browsers only; the owner's browser (a device cookie from an
//! earlier sign-in) keeps its own, separate count.

use axum::http::StatusCode;
use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mfa::{enrol, totp_at};

const WRONG: &str = "Wrong-Password-123!";

/// Ada's own browser: it signed in once (so it holds a device cookie) and
/// signed out.
async fn owners_browser(app: &TestApp) -> Client {
    registered(app, "ada@example.com", "Ada").await;
    let mut c = app.client();
    c.login("ada@example.com", PASSWORD)
        .await
        .assert_redirect("/account");
    assert!(c.cookies.contains_key("gatehouse_device"));
    c.logout().await;
    c
}

async fn lock_out_from_elsewhere(app: &TestApp, email: &str) {
    let mut attacker = app.client();
    attacker.ip = "198.51.100.9".into();
    for _ in 0..5 {
        attacker
            .login(email, WRONG)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    attacker
        .login(email, PASSWORD)
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn after_an_attacker_trips_the_lock_out_the_owners_browser_still_signs_in() {
    each_engine(|app| async move {
        let mut owner = owners_browser(&app).await;
        lock_out_from_elsewhere(&app, "ada@example.com").await;
        // A fresh browser with the right password is locked out…
        let mut fresh = app.client();
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        // …the owner's is not, and signing in there does not lift the
        // lock-out for everyone else.
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn a_device_cookie_of_another_account_does_not_help() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut grace = app.client();
        grace
            .signup("grace@example.com", "Grace", PASSWORD)
            .await
            .assert_redirect("/account");
        grace.logout().await;
        grace
            .login("grace@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let stolen = grace.cookies["gatehouse_device"].clone();
        lock_out_from_elsewhere(&app, "ada@example.com").await;
        let mut attacker = app.client();
        attacker
            .cookies
            .insert("gatehouse_device".into(), stolen.clone());
        attacker
            .login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        // A made-up token is no better.
        attacker
            .cookies
            .insert("gatehouse_device".into(), "x".repeat(43));
        attacker
            .login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        // Only the token's digest is stored.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM trusted_devices").await,
            1,
            "grace's browser"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_trusted_browsers_own_failures_still_lock_it() {
    each_engine(|app| async move {
        let mut owner = owners_browser(&app).await;
        for _ in 0..5 {
            owner
                .login("ada@example.com", WRONG)
                .await
                .assert_status(StatusCode::UNAUTHORIZED);
        }
        let locked = owner.login("ada@example.com", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(locked.headers.get("retry-after").unwrap(), "30");
        // Those failures were the device's own: another browser is not
        // locked by them.
        app.client()
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app.clock.advance(31);
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn each_sign_in_replaces_the_device_token() {
    each_engine(|app| async move {
        let mut owner = owners_browser(&app).await;
        let first = owner.cookies["gatehouse_device"].clone();
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_ne!(owner.cookies["gatehouse_device"], first);
        // The old token is trusted no more.
        lock_out_from_elsewhere(&app, "ada@example.com").await;
        let mut copy = app.client();
        copy.cookies.insert("gatehouse_device".into(), first);
        copy.login("ada@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn the_owners_browser_still_enters_sudo_mode_after_a_lock_out_from_elsewhere() {
    each_engine(|app| async move {
        let mut owner = owners_browser(&app).await;
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        // Another browser signed in too, but holds no device cookie (as a
        // stolen session cookie would not).
        let mut untrusted = app.client();
        untrusted
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        untrusted.cookies.remove("gatehouse_device");
        lock_out_from_elsewhere(&app, "ada@example.com").await;
        // Re-entering the password in the owner's browser is counted as its
        // sign-ins are: the attacker's failures do not keep it out of sudo.
        owner
            .sudo(PASSWORD, "/account/profile")
            .await
            .assert_redirect("/account/profile");
        untrusted
            .sudo(PASSWORD, "/account/profile")
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn an_mfa_sign_in_from_the_owners_browser_is_not_locked_out_either() {
    each_engine(|app| async move {
        let mut owner = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = enrol(&app, &mut owner).await;
        owner.logout().await;
        let code_now = |app: &TestApp| totp_at(&enrolled.secret, app.clock.unix());
        // Only a completed sign-in (password and code) trusts the browser.
        app.clock.advance(30);
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        assert!(!owner.cookies.contains_key("gatehouse_device"));
        owner
            .submit("/login/mfa", "/login/mfa", &[("code", &code_now(&app))])
            .await
            .assert_redirect("/account");
        assert!(owner.cookies.contains_key("gatehouse_device"));
        owner.logout().await;

        app.clock.advance(30);
        lock_out_from_elsewhere(&app, "ada@example.com").await;
        owner
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        // Wrong codes at the challenge count against the device's counter
        // (the pending sign-in remembers the device), not the shared one.
        let right = code_now(&app);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        owner
            .submit("/login/mfa", "/login/mfa", &[("code", wrong)])
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        owner
            .submit("/login/mfa", "/login/mfa", &[("code", &right)])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}
