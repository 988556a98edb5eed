//! Changing a member's role or removing a member is one transaction with its
//! audit event: when the event cannot be written, the change is not made —
//! on the pages and through the API alike.

use axum::http::{Method, StatusCode};
use gatehouse::db::Db;

use crate::helpers::*;
use crate::orgs::{two_orgs, user_id};

/// From now on every insert into `audit_events` fails, as a full disk or a
/// lost connection would between a change and its record.
async fn break_the_audit_log(app: &TestApp) {
    match app.db() {
        Db::Sqlite(p) => {
            sqlx::query(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events \
                 BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END",
            )
            .execute(p)
            .await
            .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(
                "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$",
            )
            .execute(p)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION audit_down()",
            )
            .execute(p)
            .await
            .unwrap();
        }
    }
}

const GRACE_IS_MEMBER: &str = "SELECT COUNT(*) FROM memberships \
     WHERE member_email = 'grace@example.com' AND role = 'member'";

#[tokio::test]
async fn a_removal_whose_event_cannot_be_written_is_not_made() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace = user_id(&app, "grace@example.com").await;
        let page = format!("/orgs/acme/members/{grace}");
        assert_eq!(ada.get(&page).await.status, StatusCode::OK);
        break_the_audit_log(&app).await;
        let res = ada.post(&format!("{page}/remove"), &[]).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !res.contains("audit log unavailable"),
            "the cause is not shown"
        );
        assert_eq!(app.count(GRACE_IS_MEMBER).await, 1);
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
        assert_eq!(app.count(GRACE_IS_MEMBER).await, 1, "the role is unchanged");
        let res = api(&app.router, Method::DELETE, &path, Some(&key), None).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(app.count(GRACE_IS_MEMBER).await, 1, "still a member");
        app
    })
    .await;
}
