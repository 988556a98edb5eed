//! The data export: what it contains, what it never contains, its format,
//! the streaming of audit events across pages, and its rate limit.

use axum::http::{StatusCode, header};
use gatehouse::db::audit::{Actor, Event, Origin};
use serde_json::{Value, json};

use crate::helpers::*;

/// A person with a profile, a key and a session from their own address, like
/// the ones the export and deletion tests compare.
pub struct Person {
    pub client: Client,
    pub email: String,
    pub name: String,
    pub phone: String,
    pub key_name: String,
    pub token: String,
    pub ip: String,
}

pub async fn person(app: &TestApp, slug: &str, name: &str, phone: &str, ip: &str) -> Person {
    let email = format!("{slug}@example.com");
    let mut c = app.client();
    c.ip = ip.into();
    c.signup(&email, name, PASSWORD)
        .await
        .assert_redirect("/account");
    c.submit(
        "/account/profile",
        "/account/profile",
        &[
            ("display_name", name),
            ("phone", phone),
            ("job_title", "Analyst"),
            ("time_zone", "Europe/London"),
        ],
    )
    .await
    .assert_redirect("/account/profile");
    let key_name = format!("{slug}-nightly-sync");
    let token = c.create_key(&key_name, &["profile:read"], "30").await;
    Person {
        client: c,
        email,
        name: name.into(),
        phone: phone.into(),
        key_name,
        token,
        ip: ip.into(),
    }
}

impl Client {
    pub async fn export(&mut self) -> TestResponse {
        self.submit("/account/export", "/account/export", &[]).await
    }
}

#[tokio::test]
async fn the_export_has_the_users_data_and_nothing_of_another_user() {
    each_engine(|app| async move {
        let mut ada = person(
            &app,
            "ada",
            "Ada Lovelace",
            "+44 20 7946 0958",
            "203.0.113.7",
        )
        .await;
        let mut bob = person(
            &app,
            "bob",
            "Bob Babbage",
            "+44 20 7946 0111",
            "198.51.100.77",
        )
        .await;
        // Someone tries Bob's password from Bob's address.
        let mut stranger = app.client();
        stranger.ip = "198.51.100.77".into();
        stranger
            .login(&bob.email, "Wrong-Password-123!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        bob.client.get("/account").await;

        let res = ada.client.export().await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(
            res.headers[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        assert_eq!(
            res.headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"gatehouse-export-2026-11-25.json\""
        );
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
        let doc: Value = serde_json::from_str(&res.body).unwrap();

        // Stable, documented order of the sections.
        let order = [
            "\"schema\"",
            "\"generated_at\"",
            "\"profile\"",
            "\"notification_preferences\"",
            "\"mfa\"",
            "\"organizations\"",
            "\"api_keys\"",
            "\"sessions\"",
            "\"notifications\"",
            "\"audit_events\"",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|k| res.body.find(&format!("{k}:")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert!(res.body.starts_with("{\"schema\":\"gatehouse.export/v1\""));

        assert_eq!(doc["profile"]["email"], "ada@example.com");
        assert_eq!(doc["profile"]["display_name"], "Ada Lovelace");
        assert_eq!(doc["profile"]["phone"], "+44 20 7946 0958");
        assert_eq!(doc["profile"]["time_zone"], "Europe/London");
        assert_eq!(doc["notification_preferences"].as_array().unwrap().len(), 4);
        assert_eq!(
            doc["mfa"],
            json!({"enabled": false, "enabled_at": null, "backup_codes_remaining": 0})
        );
        assert_eq!(doc["organizations"], json!([]));
        assert_eq!(doc["notifications"], json!([]));
        let keys = doc["api_keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["name"], "ada-nightly-sync");
        assert_eq!(keys[0]["scopes"], json!(["profile:read"]));
        assert_eq!(
            keys[0]["prefix"].as_str().unwrap(),
            &ada.token[..16],
            "the prefix is the public part of the key"
        );
        let sessions = doc["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0]["current"], true);
        assert_eq!(sessions[0]["ip"], "203.0.113.7");
        let actions: Vec<&str> = doc["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for expected in [
            "user.signed_up",
            "profile.updated",
            "sudo.granted",
            "api_key.created",
            "account.exported",
        ] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        assert!(
            doc["audit_events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] == "you")
        );

        // No secret of Ada's...
        assert!(!res.body.contains(&ada.token));
        assert!(!res.body.contains(&ada.token[16..]));
        assert!(!res.body.contains("argon2"));
        assert!(!res.body.contains("digest"));
        assert!(!res.body.contains(ada.client.session_cookie().unwrap()));
        // ...and nothing of Bob's.
        let bob_id = app
            .db()
            .find_credentials_by_email(&bob.email)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string();
        for theirs in [
            bob.email.as_str(),
            bob.name.as_str(),
            bob.phone.as_str(),
            bob.key_name.as_str(),
            bob.ip.as_str(),
            &bob.token[..16],
            &bob_id,
        ] {
            assert!(!res.body.contains(theirs), "Bob's {theirs} leaked");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn the_export_reports_mfa_without_its_secret_or_codes() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let enrolled = crate::mfa::enrol(&app, &mut c).await;
        let res = c.export().await;
        let doc: Value = serde_json::from_str(&res.body).unwrap();
        assert_eq!(doc["mfa"]["enabled"], true);
        assert_eq!(doc["mfa"]["backup_codes_remaining"], 10);
        assert!(!res.body.contains(&enrolled.secret));
        for code in &enrolled.codes {
            assert!(!res.body.contains(code.as_str()));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn audit_events_stream_across_pages_in_order_and_only_the_users() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let _bob = signed_in(&app, "bob@example.com", "Bob").await;
        let ada_id = app
            .db()
            .find_credentials_by_email("ada@example.com")
            .await
            .unwrap()
            .unwrap()
            .id;
        let bob_id = app
            .db()
            .find_credentials_by_email("bob@example.com")
            .await
            .unwrap()
            .unwrap()
            .id;
        let origin = Origin::default();
        // Many events in the same second (the clock is pinned): the keyset
        // must break ties by id, across page boundaries (500, 1000).
        let ada_actor = Actor::User {
            id: ada_id,
            email: "ada@example.com".into(),
        };
        let bob_actor = Actor::User {
            id: bob_id,
            email: "bob@example.com".into(),
        };
        for i in 0..1100 {
            let actor = if i % 3 == 0 { &bob_actor } else { &ada_actor };
            let seeded = Event::by(actor.clone())
                .did("test.seeded")
                .detail(json!({ "i": i }))
                .from(&origin);
            app.db()
                .record_event(&seeded, START + i / 400)
                .await
                .unwrap();
        }
        let res = ada.export().await;
        let doc: Value = serde_json::from_str(&res.body).unwrap();
        let events = doc["audit_events"].as_array().unwrap();
        let seeded: Vec<i64> = events
            .iter()
            .filter(|e| e["action"] == "test.seeded")
            .map(|e| e["detail"]["i"].as_i64().unwrap())
            .collect();
        let expected: Vec<i64> = (0..1100).filter(|i| i % 3 != 0).collect();
        assert_eq!(seeded, expected);
        let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total, "no event twice");
        assert!(!res.body.contains("bob@example.com"));
        app
    })
    .await;
}

#[tokio::test]
async fn exports_are_limited_to_five_an_hour_and_audited() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let page = c.get("/account/export").await;
        assert!(page.contains("Download my data"));
        for _ in 0..5 {
            assert_eq!(c.export().await.status, StatusCode::OK);
        }
        let res = c.export().await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers.contains_key(header::RETRY_AFTER));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'account.exported'")
                .await,
            5
        );
        // Another user is not limited by Ada's downloads.
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        assert_eq!(bob.export().await.status, StatusCode::OK);
        // Past the hour's window, and past the idle session (idle window
        // plus the last-seen write interval): sign in again.
        app.clock.advance(3661);
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(c.export().await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn an_export_needs_a_signed_in_user_and_the_csrf_token() {
    each_engine(|app| async move {
        let mut anon = app.client();
        anon.submit("/login", "/account/export", &[])
            .await
            .assert_redirect("/login");
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let res = c.post_raw("/account/export", &[], &[]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        // A user id in the form is ignored: it is always the session's user.
        let _bob = signed_in(&app, "bob@example.com", "Bob").await;
        let res = c
            .submit(
                "/account/export",
                "/account/export",
                &[("user_id", "bob@example.com")],
            )
            .await;
        assert!(res.contains("ada@example.com"));
        assert!(!res.contains("bob@example.com"));
        app
    })
    .await;
}

#[tokio::test]
async fn the_benchmark_seeder_adds_events_that_the_export_streams_in_order() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let n = gatehouse::seed::seed_audit_events(app.db(), "ada@example.com", 12_345, START)
            .await
            .unwrap();
        assert_eq!(n, 12_345);
        let res = c.export().await;
        let doc: Value = serde_json::from_str(&res.body).unwrap();
        let seqs: Vec<i64> = doc["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "bench.event")
            .map(|e| e["detail"]["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (0..12_345).collect::<Vec<_>>());
        app
    })
    .await;
}

#[tokio::test]
async fn the_benchmark_seeder_puts_events_in_the_named_org_audit_log_only() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = crate::orgs::two_orgs(&app).await;
        let n = gatehouse::seed::seed_audit_events_in(
            app.db(),
            "ada@example.com",
            Some("acme"),
            120,
            START,
        )
        .await
        .unwrap();
        assert_eq!(n, 120);
        let acme = ada.get("/orgs/acme/audit").await;
        assert_eq!(acme.status, StatusCode::OK);
        assert!(acme.body.contains("bench.event"));
        let globex = olga.get("/orgs/globex/audit").await;
        assert_eq!(globex.status, StatusCode::OK);
        assert!(!globex.body.contains("bench.event"));
        let unknown = gatehouse::seed::seed_audit_events_in(
            app.db(),
            "ada@example.com",
            Some("nope"),
            1,
            START,
        )
        .await;
        assert!(unknown.is_err());
        app
    })
    .await;
}

#[tokio::test]
async fn the_export_lists_memberships_and_teams() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = crate::orgs::two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        ada.submit(
            &format!("/orgs/acme/teams/{team}"),
            &format!("/orgs/acme/teams/{team}/members"),
            &[("email", "grace@example.com")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{team}"));
        let res = grace.export().await;
        let doc: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        let orgs = doc["organizations"].as_array().unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0]["slug"], "acme");
        assert_eq!(orgs[0]["role"], "member");
        assert_eq!(orgs[0]["teams"], json!(["Research"]));
        assert!(!res.body.contains("Globex"));
        app
    })
    .await;
}

#[tokio::test]
async fn events_others_caused_show_only_allow_listed_fields_and_no_identity() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = crate::orgs::two_orgs(&app).await;
        let ada_id = crate::orgs::user_id(&app, "ada@example.com").await;
        let grace_id = crate::orgs::user_id(&app, "grace@example.com").await;
        // Ada, an owner, puts Grace on one team in the console and on another
        // with a key; an operator looks at Grace's account.
        let research = ada.create_team("acme", "Research").await;
        let payroll = ada.create_team("acme", "Payroll").await;
        ada.put_on_team("acme", &research, "ada@example.com").await;
        ada.put_on_team("acme", &research, "grace@example.com")
            .await;
        ada.put_on_team("acme", &payroll, "ada@example.com").await;
        let token = ada
            .create_bound_key(&["teams:write"], "acme", &[&payroll])
            .await;
        let res = api(
            &app.router,
            axum::http::Method::PUT,
            &format!("/v1/orgs/acme/teams/{payroll}/members/{grace_id}"),
            Some(&token),
            Some("{}"),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let mut opal = crate::ops::operator(&app, "opal@example.com").await;
        let opal_id = crate::orgs::user_id(&app, "opal@example.com").await;
        opal.get(&format!("/ops/users/{grace_id}")).await;
        let reason = "Ticket 5150: checking a billing complaint";
        opal.post(
            &format!("/ops/users/{grace_id}/view"),
            &[("reason", reason)],
        )
        .await
        .assert_redirect(&format!("/ops/users/{grace_id}"));

        let res = grace.export().await;
        assert_eq!(res.status, StatusCode::OK);
        let doc: Value = serde_json::from_str(&res.body).unwrap();
        let events = doc["audit_events"].as_array().unwrap();
        let of = |action: &str| -> Vec<&Value> {
            events.iter().filter(|e| e["action"] == action).collect()
        };
        let added = of("team.member_added");
        assert_eq!(added.len(), 2, "{events:?}");
        for e in &added {
            assert_eq!(e["actor"], "another member");
            assert_eq!(e["ip"], Value::Null);
            assert!(e["detail"].get("via_key").is_none(), "{e}");
        }
        assert_eq!(added[0]["detail"]["team"], "Research");
        assert_eq!(added[1]["detail"]["team"], "Payroll");
        let viewed = of("ops.user.viewed");
        assert!(!viewed.is_empty());
        for e in viewed {
            assert_eq!(e["actor"], "an operator");
            assert_eq!(e["detail"], json!({}));
        }
        // Nothing of Ada or of the operator, in any field.
        for theirs in [
            "ada@example.com",
            &ada_id.to_string(),
            &token[4..16],
            "opal@example.com",
            "Olga Operator",
            &opal_id.to_string(),
            reason,
        ] {
            assert!(!res.body.contains(theirs), "{theirs} leaked");
        }
        // Grace's own events keep their detail.
        assert!(
            events
                .iter()
                .any(|e| e["actor"] == "you" && e["detail"]["schema"] == "gatehouse.export/v1")
        );
        app
    })
    .await;
}
