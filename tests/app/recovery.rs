//! Forgot password: the page answers the same for every address, the link
//! arrives by SMTP and works once, for 30 minutes, for its own account only;
//! a reset ends every session and still asks a user with MFA for the second
//! factor.

use axum::http::StatusCode;
use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mail::{SmtpSink, ask_reset, deliver, each_engine_with_sink, link_in};
use crate::mfa::{enrol, totp_at};

const FORGOT: &str = "/password/forgot";

/// Asks for a reset of `email`, sends the outbox, and returns the link's
/// path from the message that arrived.
pub async fn reset_link(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    ask_reset(app, email).await.assert_redirect(FORGOT);
    deliver(app).await;
    let got = sink.to(email);
    let m = got.last().expect("a reset message");
    let (text, _) = m.text_and_html();
    link_in(&text, "/password/reset/").expect("a reset link")
}

async fn set_password(c: &mut Client, link: &str, password: &str) -> TestResponse {
    c.submit(
        link,
        link,
        &[
            ("new_password", password),
            ("new_password_confirm", password),
        ],
    )
    .await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_through_the_emailed_link_and_every_session_ends() {
    each_engine_with_sink(|app, sink| async move {
        let mut old_session = signed_in(&app, "bob@example.com", "Bob").await;
        let login = app.client().get("/login").await;
        assert!(login.contains("href=\"/password/forgot\""));

        let link = reset_link(&app, &sink, "bob@example.com").await;
        let mut c = app.client();
        let page = c.get(&link).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("bob@example.com"));
        set_password(&mut c, &link, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        assert!(
            c.get("/login")
                .await
                .contains("every session was signed out")
        );

        // The browser that was signed in is signed out.
        old_session
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        // The new password works, the old one does not.
        app.client()
            .login("bob@example.com", PASSWORD)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        app.client()
            .login("bob@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        // The link works once.
        let mut again = app.client();
        again.get(&link).await.assert_status(StatusCode::GONE);
        again.get(FORGOT).await.assert_status(StatusCode::OK);
        let res = again
            .post(
                &link,
                &[
                    ("new_password", "Yet-Another-Passphrase-99"),
                    ("new_password_confirm", "Yet-Another-Passphrase-99"),
                ],
            )
            .await;
        res.assert_status(StatusCode::GONE);
        app.client()
            .login("bob@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");

        // Audited; a security notice went out, without List-Unsubscribe.
        let (actor, detail) = crate::ops::last_event(&app, "password.reset")
            .await
            .unwrap();
        assert_eq!(actor, "bob@example.com");
        assert_eq!(detail["sessions_revoked"], 1);
        assert!(
            crate::ops::last_event(&app, "password.reset_requested")
                .await
                .is_some()
        );
        deliver(&app).await;
        let notice = sink
            .to("bob@example.com")
            .into_iter()
            .find(|m| m.header("Subject").as_deref() == Some("Your Gatehouse password was reset"))
            .expect("a security notice");
        assert!(notice.header("List-Unsubscribe").is_none());
        app
    })
    .await;
}

#[tokio::test]
async fn forgot_password_answers_identically_for_an_unknown_address() {
    each_engine_with_sink(|app, sink| async move {
        crate::mail::quiet_user(&app, "bob@example.com").await;
        let mut known = app.client();
        let mut unknown = app.client();
        let a = known
            .submit(FORGOT, FORGOT, &[("email", "bob@example.com")])
            .await;
        let b = unknown
            .submit(FORGOT, FORGOT, &[("email", "nobody@example.com")])
            .await;
        assert_eq!(a.status, b.status);
        assert_eq!(a.location(), b.location());
        assert_eq!(a.body, b.body);
        let pa = known.get(FORGOT).await;
        let pb = unknown.get(FORGOT).await;
        assert_eq!(pa.status, pb.status);
        let strip = |r: &TestResponse, email: &str| {
            r.body.replace(email, "EMAIL").replace(
                r.body
                    .split("csrf_token\" value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap(),
                "TOKEN",
            )
        };
        assert_eq!(
            strip(&pa, "bob@example.com"),
            strip(&pb, "nobody@example.com")
        );
        assert!(pa.contains("If an account uses bob@example.com"));
        deliver(&app).await;
        assert_eq!(sink.to("bob@example.com").len(), 1);
        assert!(sink.to("nobody@example.com").is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes() {
    each_engine_with_sink(|app, sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        let link = reset_link(&app, &sink, "bob@example.com").await;
        app.clock.advance(29 * 60);
        let mut c = app.client();
        c.get(&link).await.assert_status(StatusCode::OK);
        app.clock.advance(61);
        c.get(&link).await.assert_status(StatusCode::GONE);
        c.get(FORGOT).await.assert_status(StatusCode::OK);
        let res = c
            .post(
                &link,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("new_password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        res.assert_status(StatusCode::GONE);
        app.client()
            .login("bob@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn only_the_newest_reset_link_works() {
    each_engine_with_sink(|app, sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        let first = reset_link(&app, &sink, "bob@example.com").await;
        let second = reset_link(&app, &sink, "bob@example.com").await;
        assert_ne!(first, second);
        let mut c = app.client();
        c.get(&first).await.assert_status(StatusCode::GONE);
        c.get(&second).await.assert_status(StatusCode::OK);
        c.get("/password/reset/not-a-link")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn a_reset_link_is_refused_to_someone_signed_in_to_another_account() {
    each_engine_with_sink(|app, sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        let mut ann = signed_in(&app, "ann@example.com", "Ann").await;
        let link = reset_link(&app, &sink, "bob@example.com").await;
        let page = ann.get(&link).await;
        page.assert_status(StatusCode::FORBIDDEN);
        assert!(page.contains("another account"));
        ann.get("/account").await.assert_status(StatusCode::OK);
        let res = ann
            .post(
                &link,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("new_password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        res.assert_status(StatusCode::FORBIDDEN);
        // Neither password changed, and the link still works for Bob.
        app.client()
            .login("ann@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app.client()
            .login("bob@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app.client().get(&link).await.assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn a_user_with_mfa_still_needs_the_second_factor_after_a_reset() {
    each_engine_with_sink(|app, sink| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = enrol(&app, &mut c).await;
        app.clock.advance(30);
        let link = reset_link(&app, &sink, "ada@example.com").await;
        let mut b = app.client();
        set_password(&mut b, &link, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        // Not signed in by the reset.
        b.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        // The new password leads to the challenge, not into the account.
        b.login("ada@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        b.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        let code = totp_at(&enrolled.secret, app.clock.unix());
        b.submit("/login/mfa", "/login/mfa", &[("code", &code)])
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn bad_input_re_renders_the_form_with_a_message_beside_the_field() {
    each_engine_with_sink(|app, sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        let mut c = app.client();
        let res = c
            .submit(FORGOT, FORGOT, &[("email", "not an address")])
            .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("id=\"email-error\""));
        assert!(res.contains("value=\"not an address\""));

        let link = reset_link(&app, &sink, "bob@example.com").await;
        let res = set_password(&mut c, &link, "short").await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("id=\"new_password-error\""));
        let res = c
            .submit(
                &link,
                &link,
                &[
                    ("new_password", NEW_PASSWORD),
                    ("new_password_confirm", "something else entirely"),
                ],
            )
            .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("id=\"new_password_confirm-error\""));
        assert!(!res.contains(NEW_PASSWORD), "a secret is never sent back");
        // A refused form spends nothing.
        c.get(&link).await.assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_and_per_ip_alike_for_unknown_addresses() {
    each_engine_with_sink(|app, _sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        for email in ["bob@example.com", "nobody@example.com"] {
            for _ in 0..3 {
                ask_reset(&app, email).await.assert_redirect(FORGOT);
            }
            let res = ask_reset(&app, email).await;
            res.assert_status(StatusCode::TOO_MANY_REQUESTS);
            assert!(res.headers.get("retry-after").is_some());
        }
        // Per IP: 20 an hour across addresses (8 counted above, refused ones too).
        for i in 0..12 {
            ask_reset(&app, &format!("x{i}@example.com"))
                .await
                .assert_redirect(FORGOT);
        }
        ask_reset(&app, "y@example.com")
            .await
            .assert_status(StatusCode::TOO_MANY_REQUESTS);
        app.clock.advance(3_601);
        ask_reset(&app, "bob@example.com")
            .await
            .assert_redirect(FORGOT);
        app
    })
    .await;
}
