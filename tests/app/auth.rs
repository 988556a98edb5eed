//! Sign-up, sign-in, sign-out and the sign-in throttle.

use axum::http::StatusCode;
use gatehouse::auth::password::weak_hash_for_tests;
use gatehouse::db::Db;

use crate::helpers::*;

#[tokio::test]
async fn a_new_user_signs_up_and_lands_on_the_overview() {
    each_engine(|app| async move {
        let mut c = app.client();
        let res = c.signup("Ada@Example.com", "Ada Lovelace", PASSWORD).await;
        res.assert_redirect("/account");
        let page = c.get("/account").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Account overview"));
        assert!(page.contains("Welcome to Gatehouse, Ada Lovelace"));
        assert!(page.contains("ada@example.com"), "email is normalised");
        // The flash is shown once.
        assert!(!c.get("/account").await.contains("Welcome to Gatehouse"));
        app
    })
    .await;
}

#[tokio::test]
async fn sign_up_rejects_bad_input_beside_each_field_and_creates_nothing() {
    each_engine(|app| async move {
        let mut c = app.client();
        let res = c
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", "not-an-email"),
                    ("display_name", "   "),
                    ("password", "password1234"),
                    ("password_confirm", "password1234"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Enter an email address like name@example.com."));
        assert!(res.contains("Enter a display name."));
        assert!(res.contains("too easy to guess"));
        assert!(res.contains("aria-invalid=\"true\""));
        assert!(
            res.contains("value=\"not-an-email\""),
            "entered values come back"
        );
        assert!(!res.contains("password1234"), "secrets never come back");

        let short = c
            .post(
                "/signup",
                &[
                    ("email", "ada@example.com"),
                    ("display_name", "Ada"),
                    ("password", "short"),
                    ("password_confirm", "short"),
                ],
            )
            .await;
        assert!(short.contains("Use at least 12 characters"));
        let mismatch = c
            .post(
                "/signup",
                &[
                    ("email", "ada@example.com"),
                    ("display_name", "Ada"),
                    ("password", PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(mismatch.contains("The two passwords do not match."));
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_taken_email_cannot_sign_up_twice() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        let res = c.signup("ADA@example.com", "Impostor", PASSWORD).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("already exists"));
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn registration_is_closed_when_the_flag_is_off() {
    each_engine_with(
        |c| c.registration = Some(false),
        |app| async move {
            let mut c = app.client();
            let page = c.get("/signup").await;
            assert!(page.contains("Registration is closed"));
            assert!(!page.contains("Create account"));
            let login = c.get("/login").await;
            assert!(!login.contains("href=\"/signup\""));
            let res = c
                .post(
                    "/signup",
                    &[
                        ("email", "ada@example.com"),
                        ("display_name", "Ada"),
                        ("password", PASSWORD),
                        ("password_confirm", PASSWORD),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN);
            assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn the_registration_flag_is_read_from_the_database_by_every_instance() {
    each_engine(|app| async move {
        let mut c = app.client();
        assert!(c.get("/signup").await.contains("Create account"));
        app.db()
            .set_flag("account-registration", false, START)
            .await
            .unwrap();
        c.switch_instance(app.another_instance());
        assert!(c.get("/signup").await.contains("Registration is closed"));
        app
    })
    .await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_identical_answers() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut a = app.client();
        let wrong = a.login("ada@example.com", "Wrong-Password-123!").await;
        let mut b = app.client();
        let unknown = b.login("nobody@example.com", "Wrong-Password-123!").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.status, unknown.status);
        // The passkey challenge is new on every page, for everyone.
        let strip = |r: &TestResponse, email: &str| {
            let token = csrf_in(&r.body).unwrap();
            let body = r.body.replace(&token, "TOKEN").replace(email, "EMAIL");
            let start = body.find("data-options=\"").unwrap();
            let end = body[start + 14..].find('"').unwrap() + start + 14;
            format!("{}OPTIONS{}", &body[..start], &body[end..])
        };
        assert_eq!(
            strip(&wrong, "ada@example.com"),
            strip(&unknown, "nobody@example.com")
        );
        assert!(wrong.contains("Incorrect email or password."));
        app
    })
    .await;
}

#[tokio::test]
async fn sign_in_rotates_the_session_id_and_honours_only_local_next() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        assert_eq!(c.get("/login").await.status, StatusCode::OK);
        let before = c
            .session_cookie()
            .cloned()
            .expect("anonymous session for CSRF");
        let res = c
            .post(
                "/login",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("next", "/account/profile"),
                ],
            )
            .await;
        res.assert_redirect("/account/profile");
        let after = c.session_cookie().cloned().unwrap();
        assert_ne!(before, after, "the session id changes at sign-in");

        for evil in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
            let mut e = app.client();
            let page = e.get("/login?next=https%3A%2F%2Fevil.example%2F").await;
            assert!(!page.contains("evil.example"));
            let res = e
                .post(
                    "/login",
                    &[
                        ("email", "ada@example.com"),
                        ("password", PASSWORD),
                        ("next", evil),
                    ],
                )
                .await;
            res.assert_redirect("/account");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn pages_need_a_signed_in_user_and_come_back_after_sign_in() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        c.get("/account/notifications")
            .await
            .assert_redirect("/login?next=%2Faccount%2Fnotifications");
        let page = c.get("/login?next=%2Faccount%2Fnotifications").await;
        assert!(page.contains("value=\"/account/notifications\""));
        let res = c
            .post(
                "/login",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("next", "/account/notifications"),
                ],
            )
            .await;
        res.assert_redirect("/account/notifications");
        app
    })
    .await;
}

#[tokio::test]
async fn sign_out_is_a_post_that_ends_the_session() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let cookie = c.session_cookie().cloned().unwrap();
        assert_eq!(
            c.get("/logout").await.status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        c.logout().await.assert_redirect("/login");
        assert!(c.get("/login").await.contains("You have been signed out."));
        // Replaying the old cookie does not bring the session back.
        let mut replay = app.client();
        replay.cookies.insert("gatehouse_session".into(), cookie);
        replay
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn five_failures_lock_the_account_with_a_growing_delay_that_a_success_resets() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        for _ in 0..5 {
            let r = c.login("ada@example.com", "Wrong-Password-123!").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        // Locked now, even with the right password, and it says until when.
        let locked = c.login("ada@example.com", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(locked.headers.get("retry-after").unwrap(), "30");
        assert!(locked.contains("Try again in 30 seconds."));
        // An unknown account is locked the same way (nothing is revealed).
        let mut d = app.client();
        for _ in 0..5 {
            d.login("nobody@example.com", "Wrong-Password-123!")
                .await
                .assert_status(StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            d.login("nobody@example.com", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );

        app.clock.advance(31);
        // One more failure doubles the delay.
        c.login("ada@example.com", "Wrong-Password-123!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        let again = c.login("ada@example.com", PASSWORD).await;
        assert_eq!(again.headers.get("retry-after").unwrap(), "60");
        app.clock.advance(61);
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        // The success cleared the counter.
        let mut e = app.client();
        assert_eq!(
            e.login("ada@example.com", "Wrong-Password-123!")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        app
    })
    .await;
}

#[tokio::test]
async fn failures_from_one_address_are_throttled_across_accounts() {
    each_engine_with(
        |c| c.signin_max_failures_per_ip = 3,
        |app| async move {
            let mut c = app.client();
            for i in 0..3 {
                c.login(&format!("user{i}@example.com"), "Wrong-Password-123!")
                    .await
                    .assert_status(StatusCode::UNAUTHORIZED);
            }
            let res = c.login("other@example.com", "Wrong-Password-123!").await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(res.headers.get("retry-after").is_some());
            // Another address is not affected.
            let mut d = app.client();
            d.ip = "198.51.100.9".into();
            assert_eq!(
                d.login("other@example.com", "Wrong-Password-123!")
                    .await
                    .status,
                StatusCode::UNAUTHORIZED
            );
            app.clock.advance(15 * 60 + 1);
            assert_eq!(
                c.login("other@example.com", "Wrong-Password-123!")
                    .await
                    .status,
                StatusCode::UNAUTHORIZED
            );
            app
        },
    )
    .await;
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    each_engine_with(
        |c| c.signups_per_ip_per_hour = 2,
        |app| async move {
            for i in 0..2 {
                let mut c = app.client();
                c.signup(&format!("u{i}@example.com"), "User", PASSWORD)
                    .await
                    .assert_redirect("/account");
            }
            let mut c = app.client();
            let res = c.signup("u3@example.com", "User", PASSWORD).await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(res.headers.get("retry-after").is_some());
            assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn a_weaker_password_hash_is_upgraded_at_the_next_sign_in() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let weak = weak_hash_for_tests(PASSWORD);
        match app.db() {
            Db::Sqlite(p) => {
                sqlx::query("UPDATE users SET password_hash = $1")
                    .bind(&weak)
                    .execute(p)
                    .await
                    .unwrap();
            }
            Db::Postgres(p) => {
                sqlx::query("UPDATE users SET password_hash = $1")
                    .bind(&weak)
                    .execute(p)
                    .await
                    .unwrap();
            }
        }
        let mut c = app.client();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let upgraded = app
            .count("SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'")
            .await;
        assert_eq!(upgraded, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn sign_in_and_failures_are_audited_without_secrets() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        c.login("ada@example.com", "Wrong-Password-123!").await.assert_status(StatusCode::UNAUTHORIZED);
        c.login("ada@example.com", PASSWORD).await.assert_redirect("/account");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'signin.failed'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'signin.succeeded'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%Wrong-Password%' OR detail LIKE '%Horse%'")
                .await,
            0
        );
        app
    })
    .await;
}
