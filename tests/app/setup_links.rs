//! Account set-up links: an account someone else creates (SCIM
//! provisioning, an operator) has no password, and its person gets a link by
//! email — through the outbox, read here from a real SMTP server — that sets
//! the first password once, for 7 days, for that account only, and signs
//! no one in.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::mail::{SmtpSink, deliver, each_engine_with_sink, link_in};
use crate::ops::operator;
use crate::orgs::two_orgs;
use crate::scim::{provision, scim};

const SETUP: &str = "/password/setup/";

/// Sends the outbox and returns the set-up link's path from the newest
/// message to `email`, checking its subject (`subject` before the dash,
/// which travels as a MIME encoded word).
async fn setup_link(app: &TestApp, sink: &SmtpSink, email: &str, subject: &str) -> String {
    deliver(app).await;
    let got = sink.to(email);
    let m = got.last().expect("a set-up message");
    let got_subject = m.header("Subject").unwrap();
    assert!(
        got_subject.starts_with(&format!("{subject} =?utf-8?b?4oCU?="))
            && got_subject.ends_with(" set your password"),
        "{got_subject}"
    );
    assert!(m.header("List-Unsubscribe").is_none(), "a security message");
    let (text, html) = m.text_and_html();
    let link = link_in(&text, SETUP).expect("a set-up link");
    assert!(html.contains(&link));
    assert!(text.contains("7 days"));
    link
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

/// Posts the form to a link that no longer serves it (with a fresh CSRF
/// token from the sign-in page, so that a refusal is the link's).
async fn post_password(c: &mut Client, link: &str, password: &str) -> TestResponse {
    c.get("/login").await.assert_status(StatusCode::OK);
    c.post(
        link,
        &[
            ("new_password", password),
            ("new_password_confirm", password),
        ],
    )
    .await
}

const ACME_SUBJECT: &str = "You have a Gatehouse account at Acme";

#[tokio::test]
async fn a_scim_provisioned_person_sets_a_password_through_the_emailed_link_once_and_signs_in() {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        provision(&app, &token, "newbie@example.com").await;
        let link = setup_link(&app, &sink, "newbie@example.com", ACME_SUBJECT).await;

        let mut c = app.client();
        let page = c.get(&link).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("Set your password"));
        assert!(page.contains("newbie@example.com"));
        // The rules of sign-up: a weak password is refused beside its field.
        let weak = set_password(&mut c, &link, "password").await;
        weak.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(weak.contains("id=\"new_password-error\""));
        set_password(&mut c, &link, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        assert!(c.get("/login").await.contains("Your password is set"));
        app.client()
            .login("newbie@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM users WHERE email = 'newbie@example.com' \
                 AND email_verified_at IS NOT NULL AND must_change_password = FALSE"
            )
            .await,
            1,
            "the link reached the address"
        );

        // Once only: replayed, the link is gone and the password stays.
        let mut other = app.client();
        other.get(&link).await.assert_status(StatusCode::GONE);
        post_password(&mut other, &link, "Another-Strong-Passphrase-77")
            .await
            .assert_status(StatusCode::GONE);
        app.client()
            .login("newbie@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'password.set_up'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_set_up_link_works_for_7_days_and_then_is_refused() {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        provision(&app, &token, "newbie@example.com").await;
        let link = setup_link(&app, &sink, "newbie@example.com", ACME_SUBJECT).await;
        app.clock.advance(7 * 24 * 3600 - 60);
        let mut c = app.client();
        c.get(&link).await.assert_status(StatusCode::OK);
        app.clock.advance(61);
        let gone = c.get(&link).await;
        gone.assert_status(StatusCode::GONE);
        assert!(gone.contains("This link is no longer valid"));
        post_password(&mut c, &link, NEW_PASSWORD)
            .await
            .assert_status(StatusCode::GONE);
        app.client()
            .login("newbie@example.com", NEW_PASSWORD)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        c.get("/password/setup/not-a-link")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn a_set_up_link_sets_only_its_own_account() {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        provision(&app, &token, "first@example.com").await;
        provision(&app, &token, "second@example.com").await;
        let first = setup_link(&app, &sink, "first@example.com", ACME_SUBJECT).await;
        let second = setup_link(&app, &sink, "second@example.com", ACME_SUBJECT).await;
        assert_ne!(first, second);
        // A reset link is not a set-up link, nor the other way round.
        let reset_path = first.replace(SETUP, "/password/reset/");
        app.client()
            .get(&reset_path)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        // Someone signed in to another account cannot use it.
        ada.get(&first).await.assert_status(StatusCode::FORBIDDEN);
        ada.get("/account").await.assert_status(StatusCode::OK);
        ada.post(
            &first,
            &[
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await
        .assert_status(StatusCode::FORBIDDEN);

        let mut c = app.client();
        set_password(&mut c, &first, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        app.client()
            .login("first@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        app.client()
            .login("second@example.com", NEW_PASSWORD)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        // The second link still works for the second account.
        app.client()
            .get(&second)
            .await
            .assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn linking_an_existing_account_sends_no_set_up_link_and_an_inactive_one_gets_it_at_activation()
 {
    each_engine_with_sink(|app, sink| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        registered(&app, "eve@example.com", "Eve").await;
        let token = ada.create_scim_token("acme", "Okta").await;
        provision(&app, &token, "eve@example.com").await;
        let res = scim(
            &app,
            Method::POST,
            "/Users",
            Some(&token),
            Some(serde_json::json!({
                "userName": "sleeper@example.com",
                "active": false,
            })),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        deliver(&app).await;
        for email in ["eve@example.com", "sleeper@example.com"] {
            assert!(
                sink.to(email)
                    .iter()
                    .all(|m| !m.data.contains("/password/setup/")),
                "{email} gets no set-up link"
            );
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM user_tokens WHERE purpose = 'account_setup'")
                .await,
            0
        );

        // Its first activation is when the sleeper can use the account:
        // the link comes then, once.
        let id = json_of(&res)["id"].as_str().unwrap().to_owned();
        let activate = |active: bool| {
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "value": { "active": active } }],
            })
        };
        for active in [true, false, true] {
            let res = scim(
                &app,
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(&token),
                Some(activate(active)),
            )
            .await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        }
        let link = setup_link(&app, &sink, "sleeper@example.com", ACME_SUBJECT).await;
        assert_eq!(
            sink.to("sleeper@example.com").len(),
            1,
            "one link, not one per activation"
        );
        set_password(&mut app.client(), &link, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_created_account_gets_its_link_by_email_and_no_password_on_the_page() {
    each_engine_with_sink(|app, sink| async move {
        let mut olga = operator(&app, "olga@example.com").await;
        let res = olga
            .submit(
                "/ops/accounts/new",
                "/ops/accounts",
                &[
                    ("email", "grace@example.com"),
                    ("display_name", "Grace Hopper"),
                    ("reason", "onboarding ticket 12"),
                ],
            )
            .await;
        res.assert_status(StatusCode::SEE_OTHER);
        let page = olga.get(res.location().unwrap()).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("emailed to <strong>grace@example.com</strong>"));
        assert!(page.contains("expires in 7 days"));
        assert!(!page.contains("Initial password"));
        assert!(!page.contains("initial-password"));
        let (_, detail) = crate::ops::last_event(&app, "ops.account.created")
            .await
            .unwrap();
        assert_eq!(detail["reason"], "onboarding ticket 12");

        let link = setup_link(
            &app,
            &sink,
            "grace@example.com",
            "You have a Gatehouse account",
        )
        .await;
        let mut grace = app.client();
        set_password(&mut grace, &link, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        grace
            .login("grace@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        // Chosen by the person: no forced change at first sign-in.
        grace.get("/account").await.assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_sends_the_set_up_link_again_only_while_the_account_has_no_password() {
    each_engine_with_sink(|app, sink| async move {
        let mut olga = operator(&app, "olga@example.com").await;
        let created = olga
            .submit(
                "/ops/accounts/new",
                "/ops/accounts",
                &[
                    ("email", "grace@example.com"),
                    ("display_name", "Grace Hopper"),
                    ("reason", "onboarding ticket 12"),
                ],
            )
            .await;
        created.assert_status(StatusCode::SEE_OTHER);
        let subject = "You have a Gatehouse account";
        let first = setup_link(&app, &sink, "grace@example.com", subject).await;
        let id = crate::orgs::user_id(&app, "grace@example.com").await;
        let page = format!("/ops/users/{id}");
        let action = format!("/ops/users/{id}/send-setup-link");
        olga.submit(
            &page,
            &format!("/ops/users/{id}/view"),
            &[("reason", "ticket 13: link lost")],
        )
        .await
        .assert_redirect(&page);
        assert!(olga.get(&page).await.contains("Send the set-up link again"));

        // A reason is required, as for every operator action.
        olga.submit(&page, &action, &[("reason", "")])
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        olga.submit(&page, &action, &[("reason", "ticket 13: link lost")])
            .await
            .assert_redirect(&page);
        assert!(
            olga.get(&page)
                .await
                .contains("A new set-up link was emailed")
        );
        let second = setup_link(&app, &sink, "grace@example.com", subject).await;
        assert_ne!(first, second);
        let mut c = app.client();
        c.get(&first).await.assert_status(StatusCode::GONE);
        set_password(&mut c, &second, NEW_PASSWORD)
            .await
            .assert_redirect("/login");
        let (_, detail) = crate::ops::last_event(&app, "ops.user.setup_link_sent")
            .await
            .unwrap();
        assert_eq!(detail["reason"], "ticket 13: link lost");

        // Once the person has a password there is nothing to send.
        assert!(!olga.get(&page).await.contains("Send the set-up link again"));
        deliver(&app).await;
        let sent = sink.to("grace@example.com").len();
        olga.submit(&page, &action, &[("reason", "ticket 14")])
            .await
            .assert_redirect(&page);
        assert!(olga.get(&page).await.contains("nothing was sent"));
        deliver(&app).await;
        assert_eq!(sink.to("grace@example.com").len(), sent);
        app
    })
    .await;
}
