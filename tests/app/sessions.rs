//! The sessions page: listing, revoking one, signing out everywhere else, the
//! per-user cap and the clean-up of expired rows.

use axum::http::StatusCode;

use crate::helpers::*;

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";
pub const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The revoke handles on the sessions page, in page order.
pub fn handles_in(html: &str) -> Vec<String> {
    html.split("action=\"/account/sessions/")
        .skip(1)
        .filter_map(|s| s.split_once("/revoke\"").map(|(h, _)| h.to_owned()))
        .filter(|h| h != "revoke-others")
        .collect()
}

/// A second browser of an existing user, signed in.
async fn another_browser(app: &TestApp, email: &str, ua: &str, ip: &str) -> Client {
    let mut c = app.client();
    c.user_agent = ua.into();
    c.ip = ip.into();
    c.login(email, PASSWORD).await.assert_redirect("/account");
    c
}

#[tokio::test]
async fn the_sessions_page_lists_each_browser_with_this_device_marked() {
    each_engine(|app| async move {
        let mut home = app.client();
        home.user_agent = FIREFOX.into();
        home.signup("ada@example.com", "Ada", PASSWORD)
            .await
            .assert_redirect("/account");
        app.clock.advance(120);
        let _laptop = another_browser(&app, "ada@example.com", CHROME_MAC, "198.51.100.4").await;

        let page = home.get("/account/sessions").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Firefox 132 on Linux"), "{}", page.body);
        assert!(page.contains("Chrome 131 on Mac OSX"));
        assert!(page.contains("198.51.100.4"));
        assert!(page.contains("203.0.113.7"));
        assert_eq!(page.body.matches("badge-this-device").count(), 1);
        // Relative time, with the exact UTC time on hover.
        assert!(page.contains("title=\"2026-11-25 12:00 UTC\">2 minutes ago</time>"));
        // Only the other session can be signed out from the list, by handle.
        let handles = handles_in(&page.body);
        assert_eq!(handles.len(), 1);
        assert_eq!(handles[0].len(), 16);
        assert!(
            home.get("/account/security")
                .await
                .contains("href=\"/account/sessions\"")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_revoked_session_is_refused_on_its_next_request_on_every_instance() {
    each_engine(|app| async move {
        let mut home = signed_in(&app, "ada@example.com", "Ada").await;
        let mut laptop = another_browser(&app, "ada@example.com", CHROME_MAC, "198.51.100.4").await;
        laptop.switch_instance(app.another_instance());
        assert_eq!(laptop.get("/account").await.status, StatusCode::OK);

        let page = home.get("/account/sessions").await;
        let handle = handles_in(&page.body).remove(0);
        home.post(&format!("/account/sessions/{handle}/revoke"), &[])
            .await
            .assert_redirect("/account/sessions");
        let page = home.get("/account/sessions").await;
        assert!(page.contains("Signed out Chrome 131 on Mac OSX (198.51.100.4)."));
        assert!(handles_in(&page.body).is_empty());

        laptop
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        assert_eq!(home.get("/account").await.status, StatusCode::OK);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'session.revoked'")
                .await,
            1
        );
        // The same handle again: gone.
        let res = home
            .post(&format!("/account/sessions/{handle}/revoke"), &[])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_session() {
    each_engine(|app| async move {
        let mut home = signed_in(&app, "ada@example.com", "Ada").await;
        let mut others = Vec::new();
        for ip in ["198.51.100.4", "198.51.100.5", "198.51.100.6"] {
            others.push(another_browser(&app, "ada@example.com", FIREFOX, ip).await);
        }
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;

        let page = home.get("/account/sessions").await;
        assert!(page.contains("Ends your 3 other sessions"));
        home.post("/account/sessions/revoke-others", &[])
            .await
            .assert_redirect("/account/sessions");
        assert!(
            home.get("/account/sessions")
                .await
                .contains("Your 3 other sessions were signed out.")
        );
        for mut c in others {
            c.get("/account")
                .await
                .assert_redirect("/login?next=%2Faccount");
        }
        assert_eq!(home.get("/account").await.status, StatusCode::OK);
        assert_eq!(
            bob.get("/account").await.status,
            StatusCode::OK,
            "other users untouched"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
                .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_handle_of_another_users_session_is_not_found_and_changes_nothing() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        let _bob_laptop = another_browser(&app, "bob@example.com", FIREFOX, "198.51.100.9").await;
        let bob_handle = handles_in(&bob.get("/account/sessions").await.body).remove(0);

        let res = ada
            .submit(
                "/account/sessions",
                &format!("/account/sessions/{bob_handle}/revoke"),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        for bad in ["zz", "0000000000000000", "../../keys"] {
            let res = ada
                .post(&format!("/account/sessions/{bad}/revoke"), &[])
                .await;
            assert!(
                matches!(res.status, StatusCode::NOT_FOUND),
                "{bad}: {}",
                res.status
            );
        }
        assert_eq!(
            handles_in(&bob.get("/account/sessions").await.body).len(),
            1,
            "Bob's other session is still there"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'session.revoked'")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn revoking_without_the_csrf_token_is_refused() {
    each_engine(|app| async move {
        let mut home = signed_in(&app, "ada@example.com", "Ada").await;
        let _laptop = another_browser(&app, "ada@example.com", FIREFOX, "198.51.100.4").await;
        let handle = handles_in(&home.get("/account/sessions").await.body).remove(0);
        let res = home
            .post_raw(&format!("/account/sessions/{handle}/revoke"), &[], &[])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = home
            .post_raw("/account/sessions/revoke-others", &[], &[])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(
            handles_in(&home.get("/account/sessions").await.body).len(),
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_sign_in_beyond_the_cap_evicts_the_oldest_session() {
    each_engine_with(
        |c| c.max_sessions_per_user = 3,
        |app| async move {
            let mut first = signed_in(&app, "ada@example.com", "Ada").await;
            let mut later = Vec::new();
            for ip in ["198.51.100.1", "198.51.100.2"] {
                app.clock.advance(60);
                later.push(another_browser(&app, "ada@example.com", FIREFOX, ip).await);
            }
            // The first session was used most recently, but it is the oldest
            // sign-in: it is the one evicted.
            app.clock.advance(60);
            assert_eq!(first.get("/account").await.status, StatusCode::OK);
            let count = "SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL";
            assert_eq!(app.count(count).await, 3);
            app.clock.advance(60);
            let mut newest =
                another_browser(&app, "ada@example.com", FIREFOX, "198.51.100.3").await;
            assert_eq!(app.count(count).await, 3);
            first
                .get("/account")
                .await
                .assert_redirect("/login?next=%2Faccount");
            for mut c in later {
                assert_eq!(c.get("/account").await.status, StatusCode::OK);
            }
            assert_eq!(newest.get("/account").await.status, StatusCode::OK);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn sudo_keeps_the_sign_in_time_of_the_session() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        for _ in 0..2 {
            app.clock.advance(50 * 60);
            assert_eq!(c.get("/account").await.status, StatusCode::OK);
        }
        c.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        let page = c.get("/account/sessions").await;
        assert!(
            page.contains("title=\"2026-11-25 12:00 UTC\">2 hours ago</time>"),
            "{}",
            page.body
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_clean_up_deletes_expired_sessions_only() {
    each_engine(|app| async move {
        let _old = signed_in(&app, "ada@example.com", "Ada").await;
        app.clock.advance(50 * 60);
        let mut fresh = signed_in(&app, "bob@example.com", "Bob").await;
        // Ada's session is idle for more than an hour, Bob's is not.
        app.clock.advance(20 * 60);
        let now = START + 70 * 60;
        let deleted = app.db().delete_expired_sessions(now).await.unwrap();
        assert!(deleted >= 1, "{deleted}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
                .await,
            1
        );
        assert_eq!(fresh.get("/account").await.status, StatusCode::OK);
        assert_eq!(app.db().delete_expired_sessions(now).await.unwrap(), 0);
        app
    })
    .await;
}

#[tokio::test]
async fn revoking_this_devices_own_handle_signs_it_out() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let id: tower_sessions::session::Id = c.session_cookie().unwrap().parse().unwrap();
        let handle = gatehouse::db::sessions::handle_of(&gatehouse::auth::store::hash_id(&id));
        c.submit(
            "/account/sessions",
            &format!("/account/sessions/{handle}/revoke"),
            &[],
        )
        .await
        .assert_redirect("/login");
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn activity_always_extends_a_short_idle_window_to_its_full_length() {
    each_engine_with(
        |c| c.session_idle_minutes = 2,
        |app| async move {
            let mut c = signed_in(&app, "ada@example.com", "Ada").await;
            const SEEN: &str = "SELECT MAX(last_seen_at) FROM sessions WHERE user_id IS NOT NULL";
            let mut seen = app.count(SEEN).await;
            let mut writes = 0;
            // A request every 20 seconds for ten minutes, then every 119
            // seconds (just inside the window) for ten more: never signed out.
            for step in [20; 30].into_iter().chain([119; 5]) {
                app.clock.advance(step);
                assert_eq!(c.get("/account").await.status, StatusCode::OK);
                let now_seen = app.count(SEEN).await;
                if now_seen != seen {
                    writes += 1;
                    seen = now_seen;
                }
            }
            // Last-seen is written at most once a minute, not on every request.
            assert!(writes <= 10 + 5, "{writes} writes for 35 requests");
            // Idle for longer than the window plus the write interval: gone.
            app.clock.advance(2 * 60 + 60 + 1);
            c.get("/account")
                .await
                .assert_redirect("/login?next=%2Faccount");
            app
        },
    )
    .await;
}

#[tokio::test]
async fn a_request_between_two_writes_still_gets_a_full_idle_window() {
    each_engine_with(
        |c| c.session_idle_minutes = 5,
        |app| async move {
            let mut c = signed_in(&app, "ada@example.com", "Ada").await;
            // 59 s after sign-in: inside the write interval, nothing written.
            app.clock.advance(59);
            assert_eq!(c.get("/account").await.status, StatusCode::OK);
            // Five minutes after that request — 5 min 59 s after the last
            // write — the session is still there.
            app.clock.advance(5 * 60);
            assert_eq!(c.get("/account").await.status, StatusCode::OK);
            // That request was written: idle five minutes plus the interval
            // after it, the session ends.
            app.clock.advance(6 * 60 + 1);
            c.get("/account")
                .await
                .assert_redirect("/login?next=%2Faccount");
            app
        },
    )
    .await;
}
