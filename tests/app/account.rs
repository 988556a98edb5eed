//! Self-service: overview, profile, notification preferences, password.

use axum::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn profile_changes_are_saved_and_shown() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let res = c
            .submit(
                "/account/profile",
                "/account/profile",
                &[
                    ("display_name", "Ada Lovelace"),
                    ("phone", "+44 20 7946 0958"),
                    ("job_title", "Analyst"),
                    ("time_zone", "Europe/London"),
                ],
            )
            .await;
        res.assert_redirect("/account/profile");
        let page = c.get("/account/profile").await;
        assert!(page.contains("Profile saved."));
        assert!(page.contains("value=\"Ada Lovelace\""));
        assert!(page.contains("value=\"+44 20 7946 0958\""));
        assert!(page.contains("<option value=\"Europe/London\" selected>"));
        app
    })
    .await;
}

#[tokio::test]
async fn bad_profile_input_is_explained_beside_each_field_and_changes_nothing() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let res = c
            .submit(
                "/account/profile",
                "/account/profile",
                &[
                    ("display_name", ""),
                    ("phone", "call me maybe"),
                    ("job_title", &"x".repeat(101)),
                    ("time_zone", "Mars/Olympus"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Enter a display name."));
        assert!(res.contains("Enter a phone number like"));
        assert!(res.contains("A job title has at most 100 characters."));
        assert!(res.contains("Choose a time zone from the list."));
        assert!(
            res.contains("value=\"call me maybe\""),
            "entered values come back"
        );
        assert!(res.contains("aria-describedby=\"phone-error"));
        let page = c.get("/account/profile").await;
        assert!(page.contains("value=\"Ada\""));
        assert!(!page.contains("call me maybe"));
        app
    })
    .await;
}

#[tokio::test]
async fn self_service_ignores_any_user_id_in_the_form() {
    each_engine(|app| async move {
        let mut other = signed_in(&app, "grace@example.com", "Grace").await;
        let grace_id = app.count("SELECT COUNT(*) FROM users").await;
        assert_eq!(grace_id, 1);
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.submit(
            "/account/profile",
            "/account/profile",
            &[
                ("user_id", "00000000-0000-0000-0000-000000000001"),
                ("id", "1"),
                ("display_name", "Changed"),
                ("time_zone", "UTC"),
            ],
        )
        .await
        .assert_redirect("/account/profile");
        assert!(
            other
                .get("/account/profile")
                .await
                .contains("value=\"Grace\"")
        );
        assert!(
            c.get("/account/profile")
                .await
                .contains("value=\"Changed\"")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn notification_preferences_are_saved_but_security_email_stays_on() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let page = c.get("/account/notifications").await;
        assert!(page.contains("Security alerts by email"));
        assert!(page.contains("cannot be turned off"));
        // Only product updates in app; everything else off, security email
        // omitted as a disabled checkbox would be.
        c.post("/account/notifications", &[("product_in_app", "on")])
            .await
            .assert_redirect("/account/notifications");
        let page = c.get("/account/notifications").await;
        assert!(page.contains("Notification preferences saved."));
        assert!(page.contains("id=\"security_email\" name=\"security_email\" value=\"on\" checked disabled"));
        assert!(page.contains("id=\"product_in_app\" name=\"product_in_app\" value=\"on\" checked>"));
        assert!(page.contains("id=\"api_keys_email\" name=\"api_keys_email\" value=\"on\">"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM notification_prefs WHERE category = 'security' AND email = TRUE")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_password_change_signs_out_every_other_session() {
    each_engine(|app| async move {
        let mut laptop = signed_in(&app, "ada@example.com", "Ada").await;
        let mut phone = app.client();
        phone.ip = "198.51.100.20".into();
        phone
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let mut tablet = app.client();
        tablet
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");

        let res = laptop
            .submit(
                "/account/security",
                "/account/security/password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", NEW_PASSWORD),
                    ("new_password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        res.assert_redirect("/account/security");
        let page = laptop.get("/account/security").await;
        assert!(page.contains("Password changed. Your 2 other sessions were signed out."));
        phone
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        tablet
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        assert_eq!(laptop.get("/account").await.status, StatusCode::OK);

        let mut fresh = app.client();
        assert_eq!(
            fresh.login("ada@example.com", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        fresh
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let mut other = app.client();
        other
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let res = c
            .submit(
                "/account/security",
                "/account/security/password",
                &[
                    ("current_password", "Not-My-Password-99"),
                    ("new_password", NEW_PASSWORD),
                    ("new_password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("That is not your current password."));
        assert!(!res.contains(NEW_PASSWORD));
        assert_eq!(other.get("/account").await.status, StatusCode::OK);
        let mut fresh = app.client();
        fresh
            .login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");

        let weak = c
            .post(
                "/account/security/password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", "aaaaaaaaaaaaaa"),
                    ("new_password_confirm", "aaaaaaaaaaaaaa"),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(weak.contains("too easy to guess"));
        app
    })
    .await;
}

#[tokio::test]
async fn the_overview_lists_recent_activity() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let page = c.get("/account").await;
        assert!(page.contains("Created the account"));
        assert!(page.contains("203.0.113.7"));
        assert!(page.contains("1</span><span class=\"stat-label\">active session"));
        app
    })
    .await;
}
