//! Sudo mode: password re-entry opens a time-bound window in the session.

use axum::http::StatusCode;

use crate::helpers::*;

impl Client {
    /// Enters sudo mode with the given password from the page at `next`.
    pub async fn sudo(&mut self, password: &str, next: &str) -> TestResponse {
        self.submit(
            &format!("/sudo?next={}", urlencode(next)),
            "/sudo",
            &[("password", password), ("next", next)],
        )
        .await
    }
}

impl Client {
    /// Enters sudo mode from `page` unless the window is already open there:
    /// for set-up steps that need it (inviting, creating a service account).
    pub async fn ensure_sudo(&mut self, page: &str) {
        if !self.get(page).await.contains("Sudo mode is on") {
            self.sudo(PASSWORD, page).await.assert_redirect(page);
        }
    }
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}

#[tokio::test]
async fn the_password_opens_a_sudo_window_shown_on_every_page_until_it_ends() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        assert!(!c.get("/account").await.contains("Sudo mode is on"));
        let before = c.session_cookie().cloned();
        c.sudo(PASSWORD, "/account/profile")
            .await
            .assert_redirect("/account/profile");
        assert_ne!(
            c.session_cookie().cloned(),
            before,
            "id rotated at privilege change"
        );
        let page = c.get("/account").await;
        assert!(page.contains("Sudo mode is on until <strong>12:15 UTC</strong>"));
        assert!(page.contains("Leave sudo mode"));
        app.clock.advance(15 * 60);
        assert!(!c.get("/account").await.contains("Sudo mode is on"));
        app
    })
    .await;
}

#[tokio::test]
async fn leaving_sudo_mode_ends_the_window() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        c.submit("/account/profile", "/sudo/leave", &[])
            .await
            .assert_redirect("/account");
        let page = c.get("/account").await;
        assert!(page.contains("Sudo mode ended."));
        assert!(!page.contains("Sudo mode is on"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_audited_and_counts_toward_the_lockout() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        for _ in 0..5 {
            let res = c.sudo("Wrong-Password-123!", "/account").await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.contains("That is not your password."));
        }
        let locked = c.sudo(PASSWORD, "/account").await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(!c.get("/account").await.contains("Sudo mode is on"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sudo.failed'")
                .await,
            5
        );
        // The same lock applies to signing in.
        let mut other = app.client();
        assert_eq!(
            other.login("ada@example.com", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        app
    })
    .await;
}

#[tokio::test]
async fn signing_in_again_does_not_grant_sudo_and_next_stays_on_site() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.sudo(PASSWORD, "https://evil.example/")
            .await
            .assert_redirect("/account");
        let mut fresh = app.client();
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert!(!fresh.get("/account").await.contains("Sudo mode is on"));
        app
    })
    .await;
}
