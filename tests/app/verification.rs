//! Email verification and invitations by email: the link sent at sign-up
//! arrives by SMTP and verifies the address once; an unverified account
//! sees a banner with "send again" (limited); the required-verification
//! setting holds sign-in back; an invitation is emailed, and is accepted only
//! by an account that proved control of the invited address — a verified
//! email, or following the emailed link itself.

use axum::http::StatusCode;

use crate::helpers::*;
use crate::mail::{SmtpSink, deliver, each_engine_with_sink, link_in};
use crate::orgs::two_orgs;

const BANNER: &str = "Please verify your email address.";

/// Sends the outbox and returns the path of the newest link with `prefix`
/// that reached `email`.
async fn link_to(app: &TestApp, sink: &SmtpSink, email: &str, prefix: &str) -> String {
    deliver(app).await;
    sink.to(email)
        .iter()
        .rev()
        .find_map(|m| link_in(&m.text_and_html().0, prefix))
        .unwrap_or_else(|| panic!("no {prefix} link reached {email}"))
}

async fn membership_count(app: &TestApp, email: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM memberships WHERE member_email = $1";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
    }
    .unwrap()
}

#[tokio::test]
async fn the_link_sent_at_sign_up_arrives_and_verifies_the_address_once() {
    each_engine_with_sink(|app, sink| async move {
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        assert!(bob.get("/account").await.contains(BANNER));
        deliver(&app).await;
        let got = sink.to("bob@example.com");
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Confirm your email address for Gatehouse")
        );
        assert!(m.header("List-Unsubscribe").is_none(), "a security message");
        let (text, html) = m.text_and_html();
        let link = link_in(&text, "/email/verify/").unwrap();
        assert_eq!(link_in(&html, "/email/verify/"), Some(link.clone()));

        // Opening the link changes nothing; its button does.
        let page = bob.get(&link).await;
        page.assert_status(StatusCode::OK);
        assert!(bob.get("/account").await.contains(BANNER));
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/account");
        let account = bob.get("/account").await;
        assert!(!account.contains(BANNER));
        assert!(account.contains("is verified"));
        assert!(
            crate::ops::last_event(&app, "email.verified")
                .await
                .is_some()
        );
        // Once only.
        bob.get(&link).await.assert_status(StatusCode::GONE);
        app
    })
    .await;
}

#[tokio::test]
async fn send_again_makes_a_new_link_replacing_the_old_and_is_limited() {
    each_engine_with_sink(|app, sink| async move {
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        let first = link_to(&app, &sink, "bob@example.com", "/email/verify/").await;
        for _ in 0..3 {
            bob.submit("/account", "/account/email/verify", &[])
                .await
                .assert_redirect("/account");
        }
        let res = bob.submit("/account", "/account/email/verify", &[]).await;
        res.assert_status(StatusCode::TOO_MANY_REQUESTS);
        let newest = link_to(&app, &sink, "bob@example.com", "/email/verify/").await;
        assert_eq!(sink.to("bob@example.com").len(), 4);
        bob.get(&first).await.assert_status(StatusCode::GONE);
        bob.submit(&newest, &newest, &[])
            .await
            .assert_redirect("/account");
        // Verified: "send again" sends nothing more.
        bob.submit("/account", "/account/email/verify", &[])
            .await
            .assert_redirect("/account");
        deliver(&app).await;
        assert_eq!(sink.to("bob@example.com").len(), 4);
        app
    })
    .await;
}

#[tokio::test]
async fn a_verification_link_expires_after_a_day() {
    each_engine_with_sink(|app, sink| async move {
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        let link = link_to(&app, &sink, "bob@example.com", "/email/verify/").await;
        app.clock.advance(24 * 3600 + 1);
        bob.get(&link).await.assert_status(StatusCode::GONE);
        bob.login("bob@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert!(bob.get("/account").await.contains(BANNER));
        app
    })
    .await;
}

#[tokio::test]
async fn with_verification_required_sign_in_waits_for_the_address() {
    for engine in engines() {
        let sink = SmtpSink::start().await;
        let app = TestApp::with_config(engine, |c| {
            sink.configure(c);
            c.mail.require_email_verification = true;
        })
        .await;
        let mut bob = app.client();
        bob.signup("bob@example.com", "Bob", PASSWORD)
            .await
            .assert_redirect("/login");
        bob.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        let res = bob.login("bob@example.com", PASSWORD).await;
        res.assert_status(StatusCode::FORBIDDEN);
        assert!(res.contains("Confirm your email address first"));
        let link = link_to(&app, &sink, "bob@example.com", "/email/verify/").await;
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/login");
        bob.login("bob@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        app.finish().await;
    }
}

#[tokio::test]
async fn an_invitation_arrives_by_email_and_following_it_proves_the_address() {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        ada.invite("acme", "bob@example.com", "member", &[]).await;
        // The owner is never shown the link.
        let page = ada.get("/orgs/acme/invitations").await;
        assert!(!page.contains("localhost:8080/invitations/"));
        let link = link_to(&app, &sink, "bob@example.com", "/invitations/").await;
        let m = sink
            .to("bob@example.com")
            .into_iter()
            .find(|m| m.text_and_html().0.contains("/invitations/"))
            .unwrap();
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Ada invited you to Acme on Gatehouse")
        );
        assert_eq!(
            m.header("List-Unsubscribe").as_deref(),
            Some("<http://localhost:8080/account/notifications>"),
            "not a security message"
        );
        assert!(m.text_and_html().1.contains("Acme"));

        // Bob never verified his address, but the link reached it.
        assert!(bob.get("/account").await.contains(BANNER));
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/orgs/acme");
        assert_eq!(membership_count(&app, "bob@example.com").await, 1);
        assert!(!bob.get("/account").await.contains(BANNER));
        app
    })
    .await;
}

#[tokio::test]
async fn an_invitation_not_delivered_by_email_is_refused_to_an_account_that_has_not_proven_the_address()
 {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        let link = ada.invite("acme", "bob@example.com", "member", &[]).await;
        // As an invitation made before they were emailed: its link was shown
        // to the owner to pass on, so holding it proves nothing.
        let sql = "UPDATE invitations SET emailed = FALSE";
        match app.db() {
            gatehouse::db::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
            gatehouse::db::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
        .unwrap();
        let page = bob.get(&link).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("please verify that bob@example.com is yours"));
        assert!(!page.contains("Accept and join"));
        let res = bob.post(&link, &[]).await;
        res.assert_status(StatusCode::FORBIDDEN);
        assert_eq!(membership_count(&app, "bob@example.com").await, 0);
        // Nor can someone sign up through it.
        let token = link.trim_start_matches("/invitations/");
        let mut eve = app.client();
        eve.submit(
            &format!("/signup?invitation={token}"),
            "/signup",
            &[
                ("email", "bob@example.com"),
                ("display_name", "Eve"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("invitation", token),
            ],
        )
        .await
        .assert_status(StatusCode::FORBIDDEN);
        assert_eq!(membership_count(&app, "bob@example.com").await, 0);

        // Once Bob verifies his address, he may accept.
        let verify = link_to(&app, &sink, "bob@example.com", "/email/verify/").await;
        bob.submit(&verify, &verify, &[])
            .await
            .assert_redirect("/account");
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/orgs/acme");
        assert_eq!(membership_count(&app, "bob@example.com").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn signing_up_through_an_emailed_invitation_verifies_the_address() {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        ada.invite("acme", "newcomer@example.com", "member", &[])
            .await;
        let link = link_to(&app, &sink, "newcomer@example.com", "/invitations/").await;
        let token = link.trim_start_matches("/invitations/");
        let mut c = app.client();
        let signup = format!("/signup?invitation={token}");
        c.submit(
            &signup,
            "/signup",
            &[
                ("email", "newcomer@example.com"),
                ("display_name", "Newcomer"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("invitation", token),
            ],
        )
        .await
        .assert_redirect("/orgs/acme");
        assert!(!c.get("/account").await.contains(BANNER));
        app
    })
    .await;
}
