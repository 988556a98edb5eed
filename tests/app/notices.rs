//! Security notices by email: a password change and MFA turned on or off
//! each send one, queued with the change, without `List-Unsubscribe` — and
//! they cannot be turned off on the preferences page.

use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mail::{deliver, each_engine_with_sink};
use crate::mfa::{enrol, totp_at};

fn subjects(sink: &crate::mail::SmtpSink, email: &str) -> Vec<String> {
    sink.to(email)
        .iter()
        .filter_map(|m| m.header("Subject"))
        .collect()
}

#[tokio::test]
async fn password_and_mfa_changes_send_a_security_notice_even_with_every_email_turned_off() {
    each_engine_with_sink(|app, sink| async move {
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        // Every box unticked: security email stays on (locked).
        bob.submit("/account/notifications", "/account/notifications", &[])
            .await
            .assert_redirect("/account/notifications");

        bob.submit(
            "/account/security",
            "/account/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_redirect("/account/security");
        deliver(&app).await;
        let notice = sink
            .to("bob@example.com")
            .into_iter()
            .find(|m| m.header("Subject").as_deref() == Some("Your Gatehouse password was changed"))
            .expect("a notice of the password change");
        assert!(notice.header("List-Unsubscribe").is_none());
        let (text, html) = notice.text_and_html();
        assert!(text.contains("http://localhost:8080/password/forgot"));
        assert!(html.contains("account was changed"));

        // MFA on, then off (still in the sudo window of the enrolment).
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = enrol(&app, &mut ada).await;
        app.clock.advance(30);
        let code = totp_at(&enrolled.secret, app.clock.unix());
        ada.submit(
            "/account/security/mfa/disable",
            "/account/security/mfa/disable",
            &[("code", &code)],
        )
        .await
        .assert_redirect("/account/security");
        deliver(&app).await;
        let got = subjects(&sink, "ada@example.com");
        assert!(
            got.iter()
                .any(|s| s == "Two-factor authentication is on for your Gatehouse account"),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|s| s == "Two-factor authentication is off for your Gatehouse account"),
            "{got:?}"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn api_key_notices_follow_the_preference_and_carry_list_unsubscribe() {
    each_engine_with_sink(|app, sink| async move {
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        bob.create_key("laptop", &["profile:read"], "30").await;
        deliver(&app).await;
        let created = sink
            .to("bob@example.com")
            .into_iter()
            .find(|m| {
                m.header("Subject").as_deref()
                    == Some("A new API key was created on your Gatehouse account")
            })
            .expect("a notice of the new key");
        assert_eq!(
            created.header("List-Unsubscribe").as_deref(),
            Some("<http://localhost:8080/account/notifications>")
        );
        assert!(created.text_and_html().0.contains("“laptop”"));

        // API key email turned off (every box unticked): no notice of the
        // revocation, and nothing else queued for it.
        bob.submit("/account/notifications", "/account/notifications", &[])
            .await
            .assert_redirect("/account/notifications");
        let before = sink.to("bob@example.com").len();
        let page = bob.key_page_path("laptop").await;
        bob.submit(&page, &format!("{page}/revoke"), &[])
            .await
            .assert_redirect("/account/keys");
        deliver(&app).await;
        assert_eq!(sink.to("bob@example.com").len(), before);
        assert!(
            !subjects(&sink, "bob@example.com")
                .iter()
                .any(|s| s.contains("revoked")),
        );
        app
    })
    .await;
}
