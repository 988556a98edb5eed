//! Multi-factor authentication: enrolment, backup codes, the sign-in
//! challenge and MFA in sudo mode. Codes are computed here with totp-rs from
//! the secret the setup page shows, at the pinned clock, as an authenticator
//! app would.

use axum::http::StatusCode;
use gatehouse::clock::Clock;
use totp_rs::{Algorithm, Builder, Secret};

use crate::helpers::*;
use crate::sudo::urlencode;

const SETUP: &str = "/account/security/mfa/setup";
const CODES: &str = "/account/security/mfa/backup-codes";
const DISABLE: &str = "/account/security/mfa/disable";

/// The code an authenticator app shows at `at` for the base-32 `secret`.
pub fn totp_at(secret: &str, at: i64) -> String {
    let bytes = Secret::try_from_base32(secret).unwrap().as_bytes().to_vec();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .unwrap()
        .generate(at as u64)
        .to_string()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(&html[from..to])
}

/// The setup key shown on the setup page, without the grouping spaces.
fn shown_secret(html: &str) -> String {
    between(html, "id=\"totp-secret\">", "</code>")
        .expect("the setup page shows the secret")
        .split_whitespace()
        .collect()
}

/// The backup codes listed on a page.
fn shown_codes(html: &str) -> Vec<String> {
    let Some(list) = between(html, "<ul class=\"backup-codes\">", "</ul>") else {
        return Vec::new();
    };
    list.split("<code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_owned)
        .collect()
}

pub struct Enrolled {
    pub secret: String,
    pub codes: Vec<String>,
}

impl Client {
    /// Enters sudo mode as a user with MFA.
    pub async fn sudo_with_code(&mut self, password: &str, code: &str, next: &str) -> TestResponse {
        self.submit(
            &format!("/sudo?next={}", urlencode(next)),
            "/sudo",
            &[("password", password), ("code", code), ("next", next)],
        )
        .await
    }

    /// Password, then the challenge with `code`.
    async fn login_with_code(&mut self, email: &str, code: &str) -> TestResponse {
        self.login(email, PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        self.submit("/login/mfa", "/login/mfa", &[("code", code)])
            .await
    }
}

/// Turns MFA on for the signed-in user of `c` at the current clock.
pub async fn enrol(app: &TestApp, c: &mut Client) -> Enrolled {
    c.sudo(PASSWORD, SETUP).await.assert_redirect(SETUP);
    let page = c.get(SETUP).await;
    assert_eq!(page.status, StatusCode::OK);
    let secret = shown_secret(&page.body);
    let code = totp_at(&secret, app.clock.unix());
    c.post(SETUP, &[("code", &code)])
        .await
        .assert_redirect(CODES);
    let page = c.get(CODES).await;
    let codes = shown_codes(&page.body);
    assert_eq!(codes.len(), 10, "{}", page.body);
    Enrolled { secret, codes }
}

/// A signed-in user with MFA on; the clock has moved past the step of the
/// confirmation code.
async fn mfa_user(app: &TestApp, email: &str) -> (Client, Enrolled) {
    let mut c = signed_in(app, email, "Ada").await;
    let enrolled = enrol(app, &mut c).await;
    app.clock.advance(30);
    (c, enrolled)
}

fn now_code(app: &TestApp, e: &Enrolled) -> String {
    totp_at(&e.secret, app.clock.unix())
}

#[tokio::test]
async fn a_user_enrols_with_a_code_from_the_shown_secret_and_gets_ten_backup_codes_once() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let security = c.get("/account/security").await;
        assert!(security.contains("Set up authenticator app"));
        // Enrolment needs sudo mode.
        c.get(SETUP)
            .await
            .assert_redirect("/sudo?next=%2Faccount%2Fsecurity%2Fmfa%2Fsetup");
        c.sudo(PASSWORD, SETUP).await.assert_redirect(SETUP);
        let page = c.get(SETUP).await;
        assert!(page.contains("<img src=\"data:image/svg+xml;base64,"));
        assert!(page.contains("alt=\"QR code"));
        assert!(page.contains("class=\"secret\" id=\"totp-secret\""));
        assert_eq!(
            page.headers.get("cache-control").unwrap(),
            "no-store",
            "a page with a secret is not cached"
        );
        let secret = shown_secret(&page.body);
        assert_eq!(secret.len(), 32, "160 bits in base 32");
        // Reloading keeps the secret the app may already have scanned.
        assert_eq!(shown_secret(&c.get(SETUP).await.body), secret);
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);

        let code = totp_at(&secret, app.clock.unix());
        c.post(SETUP, &[("code", &code)])
            .await
            .assert_redirect(CODES);
        let shown = c.get(CODES).await;
        assert!(shown.contains("Two-factor authentication is on."));
        assert!(shown.contains("This is the only time they are shown"));
        let codes = shown_codes(&shown.body);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 14, "xxxx-xxxx-xxxx: {code}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 10);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.enabled'")
                .await,
            1
        );

        // Download as text, once.
        let file = c.get("/account/security/mfa/backup-codes.txt").await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(
            file.headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(
            file.headers
                .get("content-disposition")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        for code in &codes {
            assert!(file.contains(code));
        }
        c.get("/account/security/mfa/backup-codes.txt")
            .await
            .assert_redirect(CODES);
        // Never shown again.
        let later = c.get(CODES).await;
        assert!(shown_codes(&later.body).is_empty());
        assert!(later.contains("can be downloaded only once"));

        let security = c.get("/account/security").await;
        assert!(security.contains("badge-active\">On"));
        assert!(security.contains("<strong>10</strong> unused backup codes"));
        assert!(!security.contains("running out of backup codes"));
        // A second enrolment is refused while MFA is on.
        c.get(SETUP).await.assert_redirect("/account/security");
        app
    })
    .await;
}

#[tokio::test]
async fn a_wrong_confirmation_code_or_an_abandoned_enrolment_leaves_mfa_off() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.sudo(PASSWORD, SETUP)
            .await
            .assert_redirect("/account/security/mfa/setup");
        let page = c.get(SETUP).await;
        let secret = shown_secret(&page.body);
        let right = totp_at(&secret, app.clock.unix());
        let wrong = if right == "000000" {
            "000001"
        } else {
            "000000"
        };
        let res = c.post(SETUP, &[("code", wrong)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That code is not right"));
        assert!(res.contains("aria-invalid=\"true\""));
        // A code of the next step is not accepted either.
        let future = totp_at(&secret, app.clock.unix() + 30);
        if future != right {
            let res = c.post(SETUP, &[("code", &future)]).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 0);
        assert!(
            c.get("/account/security")
                .await
                .contains("badge-neutral\">Off")
        );

        // Abandoned: signing in again needs the password only.
        c.logout().await.assert_redirect("/login");
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn the_pending_sign_in_reaches_only_the_challenge_page() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        let before = c.session_cookie().cloned();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let pending_cookie = c.session_cookie().cloned();
        assert_ne!(pending_cookie, before, "id rotated after the password");
        // No page, no data: the session is still anonymous.
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        c.get("/account/security")
            .await
            .assert_redirect("/login?next=%2Faccount%2Fsecurity");
        c.get(SETUP)
            .await
            .assert_redirect("/login?next=%2Faccount%2Fsecurity%2Fmfa%2Fsetup");
        let api = c.get("/v1/me").await;
        assert_ne!(api.status, StatusCode::OK);
        assert!(!api.contains("ada@example.com"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
                .await,
            0,
            "the pending session row belongs to nobody"
        );
        let page = c.get("/login/mfa").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("<label for=\"code\">Authentication code</label>"));
        assert!(!page.contains("ada@example.com"));
        // A form posted from the pending session cannot change anything.
        let res = c
            .post(
                "/account/profile",
                &[("display_name", "Eve"), ("time_zone", "UTC")],
            )
            .await;
        assert_eq!(res.location(), Some("/login"));

        let res = c.post("/login/mfa", &[("code", &now_code(&app, &e))]).await;
        res.assert_redirect("/account");
        assert_ne!(
            c.session_cookie().cloned(),
            pending_cookie,
            "id rotated at sign-in"
        );
        assert_eq!(c.get("/account").await.status, StatusCode::OK);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.challenge_passed'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'signin.mfa_required'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_challenge_keeps_the_next_page_and_sends_signed_in_users_on() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        c.submit(
            "/login?next=%2Faccount%2Fprofile",
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/account/profile"),
            ],
        )
        .await
        .assert_redirect("/login/mfa");
        c.submit("/login/mfa", "/login/mfa", &[("code", &now_code(&app, &e))])
            .await
            .assert_redirect("/account/profile");
        c.get("/login/mfa").await.assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn a_code_is_refused_when_its_step_was_already_used() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        // The confirmation code of the enrolment cannot sign in.
        let confirm_code = totp_at(&e.secret, app.clock.unix() - 30);
        c.logout().await.assert_redirect("/login");
        let res = c.login_with_code("ada@example.com", &confirm_code).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That code is not right, or it was already used."));

        let code = now_code(&app, &e);
        c.post("/login/mfa", &[("code", &code)])
            .await
            .assert_redirect("/account");
        // Replaying the same code in the same step, from another browser.
        let mut thief = app.client();
        let res = thief.login_with_code("ada@example.com", &code).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(thief.get("/account").await.location().is_some());
        // The next step's code works.
        app.clock.advance(30);
        thief
            .post("/login/mfa", &[("code", &now_code(&app, &e))])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn the_previous_step_is_accepted_and_two_steps_back_is_not() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        app.clock.advance(10 * 30 + 5);
        let now = app.clock.unix();
        let two_back = totp_at(&e.secret, now - 60);
        let previous = totp_at(&e.secret, now - 30);
        let current = totp_at(&e.secret, now);
        if two_back != previous && two_back != current {
            let res = c.login_with_code("ada@example.com", &two_back).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        } else {
            c.login("ada@example.com", PASSWORD)
                .await
                .assert_redirect("/login/mfa");
        }
        c.submit("/login/mfa", "/login/mfa", &[("code", &previous)])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn a_backup_code_signs_in_once() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        // Typed in capitals with spaces: still the code.
        let typed = e.codes[0].to_uppercase().replace('-', " ");
        c.login_with_code("ada@example.com", &typed)
            .await
            .assert_redirect("/account");
        let page = c.get("/account").await;
        assert!(page.contains("You signed in with a backup code. 9 are left."));
        c.logout().await.assert_redirect("/login");
        let res = c.login_with_code("ada@example.com", &e.codes[0]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM mfa_backup_codes WHERE used_at IS NOT NULL")
                .await,
            1
        );
        c.post("/login/mfa", &[("code", &e.codes[1])])
            .await
            .assert_redirect("/account");
        assert!(
            c.get("/account/security")
                .await
                .contains("<strong>8</strong> unused backup codes")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn five_wrong_codes_restart_the_sign_in_and_count_toward_the_lockout() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let right = now_code(&app, &e);
        let wrong = if right == "123456" {
            "654321"
        } else {
            "123456"
        };
        for left in (1..=4).rev() {
            let res = c
                .submit("/login/mfa", "/login/mfa", &[("code", wrong)])
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.contains(&format!(
                "{left} {} left",
                if left == 1 { "try" } else { "tries" }
            )));
        }
        c.post("/login/mfa", &[("code", wrong)])
            .await
            .assert_redirect("/login");
        assert!(c.get("/login").await.contains("Too many wrong codes"));
        // The pending sign-in is gone: even the right code does nothing now.
        c.get("/login/mfa").await.assert_redirect("/login");
        c.post("/login/mfa", &[("code", &right)])
            .await
            .assert_redirect("/login");
        assert_eq!(c.get("/account").await.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.challenge_failed'")
                .await,
            5
        );
        // The wrong codes count as sign-in failures of the account.
        let locked = c.login("ada@example.com", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn a_correct_password_does_not_reset_the_limit_on_guessing_codes() {
    each_engine(|app| async move {
        let (mut c, _e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        for _ in 0..3 {
            let res = c
                .submit("/login/mfa", "/login/mfa", &[("code", "000000")])
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        // Starting over with the password does not clear the counter.
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        for _ in 0..2 {
            let res = c
                .submit("/login/mfa", "/login/mfa", &[("code", "000000")])
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let res = c.post("/login/mfa", &[("code", "000000")]).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        app
    })
    .await;
}

#[tokio::test]
async fn the_pending_sign_in_expires_after_five_minutes() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.logout().await.assert_redirect("/login");
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        // The form is opened before the five minutes pass, its token still valid.
        assert_eq!(c.get("/login/mfa").await.status, StatusCode::OK);
        app.clock.advance(5 * 60);
        c.post("/login/mfa", &[("code", &now_code(&app, &e))])
            .await
            .assert_redirect("/login");
        assert!(c.get("/login").await.contains("That sign-in took too long"));
        assert_eq!(c.get("/account").await.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.challenge_expired'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn sudo_for_a_user_with_mfa_needs_the_password_and_a_code() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        c.post("/sudo/leave", &[]).await.assert_redirect("/account");
        let form = c.get("/sudo?next=%2Faccount").await;
        assert!(form.contains("<label for=\"code\">Authentication code</label>"));

        // The password alone is not enough.
        let res = c.sudo(PASSWORD, "/account").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That code is not right"));
        // A right code with a wrong password is refused, and not consumed.
        let code = now_code(&app, &e);
        let res = c
            .sudo_with_code("Wrong-Password-123!", &code, "/account")
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That is not your password."));
        assert!(!c.get("/account").await.contains("Sudo mode is on"));

        c.sudo_with_code(PASSWORD, &code, "/account")
            .await
            .assert_redirect("/account");
        assert!(c.get("/account").await.contains("Sudo mode is on"));
        // The same code cannot open a second window.
        c.post("/sudo/leave", &[]).await.assert_redirect("/account");
        let res = c.sudo_with_code(PASSWORD, &code, "/account").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A backup code works too.
        c.sudo_with_code(PASSWORD, &e.codes[3], "/account")
            .await
            .assert_redirect("/account");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sudo.failed'")
                .await,
            3
        );
        app
    })
    .await;
}

#[tokio::test]
async fn turning_mfa_off_needs_sudo_and_a_code() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        app.clock.advance(15 * 60);
        // Sudo mode has ended.
        c.get(DISABLE)
            .await
            .assert_redirect("/sudo?next=%2Faccount%2Fsecurity%2Fmfa%2Fdisable");
        let res = c
            .submit(
                "/account/security",
                DISABLE,
                &[("code", &now_code(&app, &e))],
            )
            .await;
        assert_eq!(res.location().map(|l| l.starts_with("/sudo")), Some(true));
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 1);

        c.sudo_with_code(PASSWORD, &now_code(&app, &e), DISABLE)
            .await
            .assert_redirect(DISABLE);
        let page = c.get(DISABLE).await;
        assert!(page.contains("Turn off two-factor authentication"));
        // Without a code, or with the one just used for sudo: still on.
        let res = c.post(DISABLE, &[("code", "")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = c.post(DISABLE, &[("code", &now_code(&app, &e))]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Two-factor authentication is still on."));
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 1);

        app.clock.advance(30);
        c.post(DISABLE, &[("code", &now_code(&app, &e))])
            .await
            .assert_redirect("/account/security");
        assert!(
            c.get("/account/security")
                .await
                .contains("Two-factor authentication is off.")
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.disabled'")
                .await,
            1
        );
        c.logout().await.assert_redirect("/login");
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn regenerated_backup_codes_replace_the_old_ones() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        app.clock.advance(15 * 60);
        // Needs sudo mode.
        c.submit("/account/security", CODES, &[])
            .await
            .assert_redirect("/sudo?next=%2Faccount%2Fsecurity%2Fmfa%2Fbackup-codes");
        c.sudo_with_code(PASSWORD, &now_code(&app, &e), CODES)
            .await
            .assert_redirect(CODES);
        let page = c.get(CODES).await;
        assert!(
            shown_codes(&page.body).is_empty(),
            "old codes are never shown again"
        );
        assert!(page.contains("Regenerate backup codes"));
        c.post(CODES, &[]).await.assert_redirect(CODES);
        let page = c.get(CODES).await;
        assert!(page.contains("Your old codes no longer work."));
        let fresh = shown_codes(&page.body);
        assert_eq!(fresh.len(), 10);
        assert!(fresh.iter().all(|code| !e.codes.contains(code)));
        assert_eq!(app.count("SELECT COUNT(*) FROM mfa_backup_codes").await, 10);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.backup_codes_regenerated'"
            )
            .await,
            1
        );

        c.logout().await.assert_redirect("/login");
        let res = c.login_with_code("ada@example.com", &e.codes[0]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        c.post("/login/mfa", &[("code", &fresh[0])])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn the_security_page_warns_when_three_or_fewer_backup_codes_remain() {
    each_engine(|app| async move {
        let (mut c, e) = mfa_user(&app, "ada@example.com").await;
        for code in &e.codes[..6] {
            c.post("/sudo/leave", &[]).await.assert_redirect("/account");
            c.sudo_with_code(PASSWORD, code, "/account")
                .await
                .assert_redirect("/account");
        }
        let page = c.get("/account/security").await;
        assert!(page.contains("<strong>4</strong> unused backup codes"));
        assert!(!page.contains("running out of backup codes"));
        c.post("/sudo/leave", &[]).await.assert_redirect("/account");
        c.sudo_with_code(PASSWORD, &e.codes[6], "/account")
            .await
            .assert_redirect("/account");
        let page = c.get("/account/security").await;
        assert!(page.contains("<strong>3</strong> unused backup codes"));
        assert!(page.contains("running out of backup codes"));
        app
    })
    .await;
}

#[tokio::test]
async fn the_policy_hook_sends_a_user_without_mfa_to_enrolment() {
    // Through the real extractor: an org whose policy requires MFA lets its
    // member with MFA in and sends the one without it to enrolment.
    each_engine(|app| async move {
        let (mut ada, _e) = mfa_user(&app, "ada@example.com").await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        ada.create_org("Acme", "acme")
            .await
            .assert_redirect("/orgs/acme");
        crate::orgs::add_member(&app, "acme", "bob@example.com", "member").await;
        crate::orgs::exec(
            &app,
            "UPDATE orgs SET require_mfa = TRUE WHERE slug = $1",
            &["acme"],
        )
        .await;
        assert!(
            app.db()
                .user_has_mfa(crate::orgs::user_id(&app, "ada@example.com").await)
                .await
                .unwrap()
        );
        assert!(
            !app.db()
                .user_has_mfa(crate::orgs::user_id(&app, "bob@example.com").await)
                .await
                .unwrap()
        );
        assert_eq!(ada.get("/orgs/acme").await.status, StatusCode::OK);
        let res = bob.get("/orgs/acme").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        res.assert_redirect(SETUP);
        app
    })
    .await;
}

#[tokio::test]
async fn code_checks_are_capped_per_account_even_below_the_sign_in_limit() {
    // With a lenient sign-in limit, the per-account cap on code checks (counted
    // before each check, so parallel guesses cannot slip past it) still holds.
    each_engine_with(
        |config| config.signin_max_failures = 100,
        |app| async move {
            let (mut c, e) = mfa_user(&app, "ada@example.com").await;
            c.logout().await.assert_redirect("/login");
            for round in 0..2 {
                c.login("ada@example.com", PASSWORD)
                    .await
                    .assert_redirect("/login/mfa");
                for attempt in 0..5 {
                    let res = c
                        .submit("/login/mfa", "/login/mfa", &[("code", "000000")])
                        .await;
                    if round == 1 && attempt == 4 {
                        res.assert_redirect("/login");
                    } else if attempt < 4 {
                        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
                    }
                }
            }
            c.login("ada@example.com", PASSWORD)
                .await
                .assert_redirect("/login/mfa");
            let res = c
                .submit("/login/mfa", "/login/mfa", &[("code", &now_code(&app, &e))])
                .await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(res.headers.get("retry-after").is_some());
            // The window passes; the right code works again.
            app.clock.advance(15 * 60);
            let mut c = app.client();
            c.login_with_code("ada@example.com", &now_code(&app, &e))
                .await
                .assert_redirect("/account");
            app
        },
    )
    .await;
}
