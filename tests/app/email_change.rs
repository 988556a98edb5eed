//! Email change: asked for in sudo mode on `/account/profile/email`, a link
//! arrives by SMTP at the new address and a notice at the old one; nothing
//! changes until the link is confirmed; confirming changes the address once,
//! ends the other sessions and notifies the old address. Replayed, expired,
//! superseded and cancelled links are refused, and a taken address changes
//! nothing.

use axum::http::StatusCode;

use crate::helpers::*;
use crate::mail::{SmtpSink, deliver, each_engine_with_sink, link_in};

const PAGE: &str = "/account/profile/email";
const LINK: &str = "/email/change/";

/// Enters sudo and asks to move the client's account to `new_email`.
async fn ask_change(c: &mut Client, new_email: &str) -> TestResponse {
    c.sudo(PASSWORD, PAGE).await.assert_redirect(PAGE);
    c.submit(PAGE, PAGE, &[("email", new_email)]).await
}

/// Sends the outbox and returns the newest change link that reached `email`.
async fn change_link(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    deliver(app).await;
    sink.to(email)
        .iter()
        .rev()
        .find_map(|m| link_in(&m.text_and_html().0, LINK))
        .unwrap_or_else(|| panic!("no change link reached {email}"))
}

async fn assert_signed_out(c: &mut Client) {
    let res = c.get("/account").await;
    assert!(res.location().unwrap_or_default().starts_with("/login"));
}

async fn email_of(c: &mut Client) -> String {
    let page = c.get("/account/profile").await;
    page.assert_status(StatusCode::OK);
    let marker = "id=\"email\" type=\"email\" value=\"";
    let at = page.body.find(marker).unwrap() + marker.len();
    page.body[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_link_goes_to_the_new_address_a_notice_to_the_old_and_nothing_changes_before() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let res = ask_change(&mut ada, "ada@new.example").await;
        res.assert_redirect("/account/profile");
        let profile = ada.get("/account/profile").await;
        assert!(profile.contains(
            "We sent a link to ada@new.example; your address stays ada@example.com until you \
             confirm."
        ));
        deliver(&app).await;
        let to_new = sink.to("ada@new.example");
        assert_eq!(to_new.len(), 1);
        let m = &to_new[0];
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Confirm your new email address for Gatehouse")
        );
        assert!(m.header("List-Unsubscribe").is_none(), "a security message");
        let (text, html) = m.text_and_html();
        let link = link_in(&text, LINK).unwrap();
        assert_eq!(link_in(&html, LINK), Some(link.clone()));

        let notice = sink
            .to("ada@example.com")
            .into_iter()
            .find(|m| {
                m.header("Subject").as_deref()
                    == Some("A change of your Gatehouse email address was requested")
            })
            .expect("a notice at the old address");
        let (text, _) = notice.text_and_html();
        assert!(text.contains("ada@new.example"));
        assert!(text.contains("/password/forgot"), "the way to report it");
        assert!(
            link_in(&text, LINK).is_none(),
            "the link goes only to the new address"
        );

        // Neither the request nor opening the link changes the address.
        assert_eq!(email_of(&mut ada).await, "ada@example.com");
        ada.get(&link).await.assert_status(StatusCode::OK);
        assert_eq!(email_of(&mut ada).await, "ada@example.com");
        assert!(ada.get(PAGE).await.contains("Waiting for confirmation"));
        assert!(
            crate::ops::last_event(&app, "email.change_requested")
                .await
                .is_some()
        );
        app
    })
    .await;
}

#[tokio::test]
async fn confirming_changes_the_address_once_ends_other_sessions_and_keeps_this_one() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let mut other = app.client();
        other
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        ask_change(&mut ada, "ada@new.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "ada@new.example").await;
        ada.submit(&link, &link, &[])
            .await
            .assert_redirect("/account/profile");
        let profile = ada.get("/account/profile").await;
        assert!(profile.contains("Your email address is now ada@new.example."));
        assert_eq!(email_of(&mut ada).await, "ada@new.example");
        // The other browser was signed out; this one stays.
        assert_signed_out(&mut other).await;
        assert_eq!(ada.get("/account").await.status, StatusCode::OK);

        // The new address is proven; the old one is told.
        assert!(
            !ada.get("/account")
                .await
                .contains("Please verify your email address.")
        );
        deliver(&app).await;
        assert!(sink.to("ada@example.com").iter().any(|m| {
            m.header("Subject").as_deref() == Some("Your Gatehouse email address was changed")
        }));
        let (_, detail) = crate::ops::last_event(&app, "email.changed").await.unwrap();
        assert_eq!(detail["before"], "ada@example.com");
        assert_eq!(detail["after"], "ada@new.example");
        assert_eq!(detail["sessions_revoked"], 1);

        // Once only.
        ada.get(&link).await.assert_status(StatusCode::GONE);
        let replay = ada.post(&link, &[]).await;
        replay.assert_status(StatusCode::GONE);

        // Sign-in follows the address.
        let mut fresh = app.client();
        let old = fresh.login("ada@example.com", PASSWORD).await;
        assert!(old.location().is_none());
        assert!(old.contains("Incorrect email or password."));
        fresh
            .login("ada@new.example", PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn confirming_signed_out_ends_every_session_of_the_account() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ask_change(&mut ada, "ada@new.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "ada@new.example").await;
        let mut elsewhere = app.client();
        elsewhere
            .submit(&link, &link, &[])
            .await
            .assert_redirect("/login");
        assert_signed_out(&mut ada).await;
        app
    })
    .await;
}

#[tokio::test]
async fn a_second_request_kills_the_first_link_and_links_expire() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ask_change(&mut ada, "ada@first.example")
            .await
            .assert_redirect("/account/profile");
        let first = change_link(&app, &sink, "ada@first.example").await;
        ask_change(&mut ada, "ada@second.example")
            .await
            .assert_redirect("/account/profile");
        let second = change_link(&app, &sink, "ada@second.example").await;
        ada.get(&first).await.assert_status(StatusCode::GONE);
        assert_eq!(email_of(&mut ada).await, "ada@example.com");

        // A day later the newest link is dead too.
        app.clock.advance(24 * 3600 + 1);
        ada.get(&second).await.assert_status(StatusCode::GONE);
        let mut fresh = app.client();
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        fresh.get("/account").await.assert_status(StatusCode::OK);
        let late = fresh.post(&second, &[]).await;
        late.assert_status(StatusCode::GONE);
        assert_eq!(email_of(&mut fresh).await, "ada@example.com");
        app
    })
    .await;
}

#[tokio::test]
async fn changing_the_password_cancels_a_pending_change() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ask_change(&mut ada, "mallory@evil.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "mallory@evil.example").await;
        ada.submit(
            "/account/security/password",
            "/account/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase 42"),
                ("new_password_confirm", "a brand new passphrase 42"),
            ],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
        app.client()
            .get(&link)
            .await
            .assert_status(StatusCode::GONE);
        assert_eq!(email_of(&mut ada).await, "ada@example.com");
        app
    })
    .await;
}

#[tokio::test]
async fn a_link_only_changes_the_account_that_asked_for_it() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        ask_change(&mut ada, "ada@new.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "ada@new.example").await;
        // Bob follows Ada's link while signed in: Ada's account changes, not
        // his, and his session stays.
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/login");
        assert_eq!(email_of(&mut bob).await, "bob@example.com");
        let mut fresh = app.client();
        fresh
            .login("ada@new.example", PASSWORD)
            .await
            .assert_redirect("/account");
        // A made-up token is simply unknown.
        bob.get("/email/change/gti_nothing-here")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn asking_needs_sudo_and_a_csrf_token() {
    each_engine_with_sink(|app, _sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ada.get(PAGE)
            .await
            .assert_redirect("/sudo?next=%2Faccount%2Fprofile%2Femail");
        ada.get("/account").await.assert_status(StatusCode::OK);
        let res = ada.post(PAGE, &[("email", "ada@new.example")]).await;
        res.assert_redirect("/sudo?next=%2Faccount%2Fprofile%2Femail");
        // After sudo, the form comes back with what was typed.
        ada.sudo(PASSWORD, PAGE).await.assert_redirect(PAGE);
        assert!(ada.get(PAGE).await.contains("value=\"ada@new.example\""));
        let missing = ada
            .post_raw(PAGE, &[("email", "ada@new.example")], &[])
            .await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM email_changes").await,
            0,
            "nothing stored"
        );
        // Anonymous: sign in first.
        let res = app.client().get(PAGE).await;
        assert!(res.location().unwrap().starts_with("/login"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_taken_invalid_or_unchanged_address_is_refused_beside_the_field() {
    each_engine_with_sink(|app, sink| async move {
        registered(&app, "bob@example.com", "Bob").await;
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        for (typed, message) in [
            (
                "Bob@Example.com",
                "An account with this email address already exists.",
            ),
            ("ada@example.com", "This is already your email address."),
            ("not an address", ""),
        ] {
            let res = ask_change(&mut ada, typed).await;
            res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.contains("id=\"email-error\""), "{typed}");
            assert!(res.contains(message), "{typed}");
            assert!(res.contains("aria-invalid=\"true\""));
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM email_changes").await, 0);
        deliver(&app).await;
        assert!(sink.to("bob@example.com").iter().all(|m| {
            m.header("Subject").as_deref() == Some("Confirm your email address for Gatehouse")
        }));
        app
    })
    .await;
}

#[tokio::test]
async fn an_address_taken_before_confirming_gives_a_clear_page_and_changes_nothing() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ask_change(&mut ada, "shared@example.com")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "shared@example.com").await;
        // Someone signs up with the address in the meantime.
        registered(&app, "shared@example.com", "Sam").await;
        let page = ada.get(&link).await;
        let token = csrf_in(&page.body).unwrap();
        let res = ada.post_raw(&link, &[("csrf_token", &token)], &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.contains("This address is now used by another account"));
        assert_eq!(email_of(&mut ada).await, "ada@example.com");
        assert!(
            crate::ops::last_event(&app, "email.changed")
                .await
                .is_none()
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_membership_copy_of_the_address_follows_the_change() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ada.submit(
            "/account/orgs",
            "/account/orgs",
            &[("name", "Acme"), ("slug", "acme")],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
        ask_change(&mut ada, "ada@new.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "ada@new.example").await;
        ada.submit(&link, &link, &[])
            .await
            .assert_redirect("/account/profile");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'ada@new.example'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn resetting_the_password_from_the_old_address_cancels_a_pending_change() {
    each_engine_with_sink(|app, sink| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ask_change(&mut ada, "mallory@evil.example")
            .await
            .assert_redirect("/account/profile");
        let link = change_link(&app, &sink, "mallory@evil.example").await;
        // The notice at the old address says what to do: reset.
        let reset = crate::recovery::reset_link(&app, &sink, "ada@example.com").await;
        let mut c = app.client();
        c.submit(
            &reset,
            &reset,
            &[
                ("new_password", "a brand new passphrase 42"),
                ("new_password_confirm", "a brand new passphrase 42"),
            ],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
        app.client()
            .get(&link)
            .await
            .assert_status(StatusCode::GONE);
        app.client()
            .login("ada@example.com", "a brand new passphrase 42")
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}
