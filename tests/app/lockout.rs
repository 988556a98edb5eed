//! Malicious lock-out: failures from an attacker who knows the email lock
//! out untrusted browsers only; the owner's browser (a device cookie from an
//! earlier sign-in) keeps its own, separate count.

use axum::http::StatusCode;

use crate::helpers::*;

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
