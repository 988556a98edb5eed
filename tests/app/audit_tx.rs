//! The audit log is written in the same transaction as the change it records:
//! when the event cannot be written, the change is not made either. And every
//! event says where it came from — address, user agent and the request id the
//! response carried in `x-request-id` — for API calls as for pages.

use axum::http::{Method, StatusCode};
use gatehouse::db::Db;

use crate::helpers::*;
use crate::keys::token_in;
use crate::orgs::{two_orgs, user_id};

/// From now on every insert into `audit_events` fails, as a full disk or a
/// lost connection would between a change and its record.
async fn break_the_audit_log(app: &TestApp) {
    app.start_failing(
        "audit_down",
        "INSERT",
        "audit_events",
        "audit log unavailable",
    )
    .await;
}

async fn repair_the_audit_log(app: &TestApp) {
    app.stop_failing("audit_down", "audit_events").await;
}

fn assert_error_page(res: &TestResponse) {
    assert_eq!(
        res.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        res.body
    );
    assert!(res.contains("Something went wrong"));
}

#[tokio::test]
async fn a_key_rotation_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let old = ada.create_key("ci", &["profile:read"], "30").await;
        let rotate = format!("{}/rotate", ada.key_page_path("ci").await);
        break_the_audit_log(&app).await;

        let res = ada.submit(&rotate, &rotate, &[("grace", "0")]).await;
        assert_error_page(&res);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_keys WHERE rotated_at IS NOT NULL")
                .await,
            0
        );
        let me = api(&app.router, Method::GET, "/v1/me", Some(&old), None).await;
        assert_eq!(me.status, StatusCode::OK, "the old secret still works");

        // Once events can be written again, the same rotation goes through
        // with its record.
        repair_the_audit_log(&app).await;
        let res = ada.submit(&rotate, &rotate, &[("grace", "0")]).await;
        let new = token_in(&ada.get(res.location().unwrap()).await.body).unwrap();
        assert_ne!(new, old);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.rotated'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_role_change_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace_id = user_id(&app, "grace@example.com").await;
        let member = format!("/orgs/acme/members/{grace_id}");
        // Promoting needs sudo: enter it first, so the change itself fails.
        ada.ensure_sudo(&member).await;
        break_the_audit_log(&app).await;

        let res = ada
            .submit(&member, &format!("{member}/role"), &[("role", "owner")])
            .await;
        assert_error_page(&res);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'grace@example.com' AND role = 'member'")
                .await,
            1,
            "grace is still a member, not an owner"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_invitation_acceptance_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        registered(&app, "bob@example.com", "Bob").await;
        let link = ada
            .invite("acme", "bob@example.com", "member", &[&research])
            .await;
        let mut bob = app.client();
        bob.login("bob@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        break_the_audit_log(&app).await;

        assert_error_page(&bob.submit(&link, &link, &[]).await);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'bob@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM team_members tm JOIN users u ON u.id = tm.user_id WHERE u.email = 'bob@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE accepted_at IS NOT NULL")
                .await,
            0,
            "the link is not spent"
        );

        repair_the_audit_log(&app).await;
        bob.submit(&link, &link, &[])
            .await
            .assert_redirect("/orgs/acme");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.accepted'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_team_whose_event_cannot_be_written_is_not_created() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        break_the_audit_log(&app).await;

        let teams = "/orgs/acme/teams";
        let res = ada.submit(teams, teams, &[("name", "Research")]).await;
        assert_error_page(&res);
        assert_eq!(app.count("SELECT COUNT(*) FROM teams").await, 0);
        app
    })
    .await;
}

const GRACE_IS_MEMBER: &str = "SELECT COUNT(*) FROM memberships \
     WHERE member_email = 'grace@example.com' AND role = 'member'";

#[tokio::test]
async fn a_removal_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let page = format!("/orgs/acme/members/{grace}");
        break_the_audit_log(&app).await;

        let res = ada.submit(&page, &format!("{page}/remove"), &[]).await;
        assert_error_page(&res);
        assert!(
            !res.contains("audit log unavailable"),
            "the cause is not shown"
        );
        assert_eq!(
            app.count(GRACE_IS_MEMBER).await,
            1,
            "grace is still a member"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn leaving_whose_event_cannot_be_written_is_not_done() {
    each_engine(|app| async move {
        let (_ada, mut grace, _olga) = two_orgs(&app).await;
        break_the_audit_log(&app).await;

        let res = grace.submit("/account/orgs", "/orgs/acme/leave", &[]).await;
        assert_error_page(&res);
        assert_eq!(
            app.count(GRACE_IS_MEMBER).await,
            1,
            "grace is still a member"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_api_role_change_or_removal_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let key = ada.create_bound_key(&["members:write"], "acme", &[]).await;
        break_the_audit_log(&app).await;

        let path = format!("/v1/orgs/acme/members/{grace}");
        let res = api(
            &app.router,
            Method::PATCH,
            &path,
            Some(&key),
            Some(r#"{"role":"owner"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!res.contains("audit log unavailable"));
        assert_eq!(app.count(GRACE_IS_MEMBER).await, 1, "the role is unchanged");
        let res = api(&app.router, Method::DELETE, &path, Some(&key), None).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(app.count(GRACE_IS_MEMBER).await, 1, "still a member");
        app
    })
    .await;
}

/// `(ip, user_agent, request_id)` of the only event with this action.
async fn origin_of(
    app: &TestApp,
    action: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    let sql = "SELECT ip, user_agent, request_id FROM audit_events WHERE action = $1";
    match app.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).bind(action).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_as(sql).bind(action).fetch_one(p).await.unwrap(),
    }
}

fn request_id(res: &TestResponse) -> String {
    res.headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every response names its request")
        .to_owned()
}

#[tokio::test]
async fn an_api_event_records_the_address_user_agent_and_request_id() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let token = ada
            .create_key("api", &["profile:read", "profile:write"], "30")
            .await;
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(r#"{"display_name":"Ada Lovelace"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        let (ip, agent, id) = origin_of(&app, "profile.updated").await;
        assert_eq!(ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(
            agent.as_deref(),
            Some("Mozilla/5.0 (X11; Linux x86_64) Gatehouse-Test")
        );
        assert_eq!(id, Some(request_id(&res)));
        app
    })
    .await;
}

#[tokio::test]
async fn every_event_names_the_request_that_caused_it() {
    each_engine(|app| async move {
        let mut ada = app.client();
        let signup = ada
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", "ada@example.com"),
                    ("display_name", "Ada"),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                ],
            )
            .await;
        signup.assert_redirect("/account");
        let (_, _, id) = origin_of(&app, "user.signed_up").await;
        assert_eq!(id, Some(request_id(&signup)));

        // Page events of several kinds: a change, a refusal, a sign-in.
        let orgs = "/account/orgs";
        ada.submit(orgs, orgs, &[("name", "Acme"), ("slug", "acme")])
            .await
            .assert_redirect("/orgs/acme");
        ada.logout().await.assert_redirect("/login");
        assert_eq!(
            ada.login("ada@example.com", "not the password")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        let key = ada.create_key("ci", &["profile:write"], "30").await;
        api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&key),
            Some(r#"{"display_name":"Ada L."}"#),
        )
        .await;

        assert!(app.count("SELECT COUNT(*) FROM audit_events").await >= 8);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE request_id IS NULL OR request_id = ''"
            )
            .await,
            0
        );
        // Ids are per request: the events of separate requests differ.
        assert!(
            app.count("SELECT COUNT(DISTINCT request_id) FROM audit_events")
                .await
                >= 8
        );
        app
    })
    .await;
}
