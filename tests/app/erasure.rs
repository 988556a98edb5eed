//! Erasure of an org member with a full history: after deletion no table, in
//! any text, uuid or binary column, holds the person's email, display name or
//! id — including invitations and the events others recorded about them. The
//! tables and columns are read from the database's own catalogue, so a table
//! added later is searched without changing this test.

use axum::http::StatusCode;
use gatehouse::clock::Clock;
use gatehouse::db::Db;
use uuid::Uuid;

use crate::helpers::*;
use crate::mfa::{enrol, totp_at};
use crate::ops::operator;
use crate::orgs::{add_member, two_orgs, user_id};
use crate::service_accounts::public_id;

/// `(table, column, kind)` of every column of every application table.
async fn columns(app: &TestApp) -> Vec<(String, String, String)> {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_as(
            "SELECT m.name, c.name, upper(c.type) FROM sqlite_master m \
             JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Db::Postgres(p) => sqlx::query_as(
            "SELECT table_name::text, column_name::text, upper(data_type::text) \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    }
}

/// Every `table.column` whose value contains `text` (as text, or as bytes in
/// a binary column), or equals `id` in a uuid column.
async fn found_in(app: &TestApp, text: &str, id: Option<Uuid>) -> Vec<String> {
    let mut hits = Vec::new();
    let cols = columns(app).await;
    assert!(cols.len() > 40, "the catalogue lists the tables: {cols:?}");
    for (table, column, kind) in cols {
        let is_text = kind.contains("TEXT") || kind.contains("CHAR");
        let is_bytes = kind.contains("BLOB") || kind.contains("BYTEA");
        let is_uuid = kind == "UUID";
        let q = |cond: &str| {
            sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{table}\" WHERE {cond}",))
        };
        let like = format!("%{text}%");
        let n: i64 = match app.db() {
            Db::Sqlite(p) if is_text => sqlx::query_scalar(q(&format!("\"{column}\" LIKE $1")))
                .bind(&like)
                .fetch_one(p)
                .await
                .unwrap(),
            Db::Sqlite(p) if is_bytes => {
                let mut n: i64 = sqlx::query_scalar(q(&format!("instr(\"{column}\", $1) > 0")))
                    .bind(text.as_bytes())
                    .fetch_one(p)
                    .await
                    .unwrap();
                if let Some(id) = id {
                    n += sqlx::query_scalar::<_, i64>(q(&format!("\"{column}\" = $1")))
                        .bind(id)
                        .fetch_one(p)
                        .await
                        .unwrap();
                }
                n
            }
            Db::Postgres(p) if is_text => sqlx::query_scalar(q(&format!("\"{column}\" ILIKE $1")))
                .bind(&like)
                .fetch_one(p)
                .await
                .unwrap(),
            Db::Postgres(p) if is_bytes => {
                sqlx::query_scalar(q(&format!("position($1 in \"{column}\") > 0")))
                    .bind(text.as_bytes())
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
            Db::Postgres(p) if is_uuid && id.is_some() => {
                sqlx::query_scalar(q(&format!("\"{column}\" = $1")))
                    .bind(id)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
            _ => 0,
        };
        if n > 0 {
            hits.push(format!("{table}.{column} ({n})"));
        }
    }
    hits
}

#[tokio::test]
async fn a_deleted_org_member_with_history_leaves_nothing_in_any_table() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let email = "vera@example.com";
        let name = "Vera Victimova";
        let mut vera = signed_in(&app, email, name).await;
        let vera_id = user_id(&app, email).await;

        // Invited to Acme as an owner (received, accepted), on a team.
        let research = ada.create_team("acme", "Research").await;
        let link = ada.invite("acme", email, "owner", &[&research]).await;
        assert_eq!(vera.get(&link).await.status, StatusCode::OK);
        vera.post(&link, &[]).await.assert_redirect("/orgs/acme");
        ada.put_on_team("acme", &research, email).await;
        // Sent: Vera invites someone else, whose invitation must stay valid.
        let sent = vera.invite("acme", "ivan@example.com", "member", &[]).await;

        // Keys: personal, and two bound to Acme, one revoked by Ada.
        vera.create_key("vera-laptop", &["profile:read"], "30")
            .await;
        vera.create_bound_key(&["teams:read"], "acme", &[]).await;
        let revoked = vera.create_bound_key(&["teams:read"], "acme", &[]).await;
        let member_page = format!("/orgs/acme/members/{vera_id}");
        assert_eq!(ada.get(&member_page).await.status, StatusCode::OK);
        let res = ada
            .post(
                &format!("{member_page}/keys/{}/revoke", public_id(&revoked)),
                &[],
            )
            .await;
        res.assert_redirect(&member_page);

        // Globex: a member, removed by Olga, then invited again (pending).
        add_member(&app, "globex", email, "member").await;
        olga.get(&format!("/orgs/globex/members/{vera_id}")).await;
        olga.post(&format!("/orgs/globex/members/{vera_id}/remove"), &[])
            .await
            .assert_redirect("/orgs/globex/members");
        olga.invite("globex", email, "member", &[]).await;

        // An operator looks at the account; Vera turns MFA on.
        let mut opal = operator(&app, "opal@example.com").await;
        opal.get(&format!("/ops/users/{vera_id}")).await;
        opal.post(
            &format!("/ops/users/{vera_id}/view"),
            &[("reason", "Ticket 4411: Vera asked for help")],
        )
        .await
        .assert_redirect(&format!("/ops/users/{vera_id}"));
        let enrolled = enrol(&app, &mut vera).await;
        app.clock.advance(30);
        let before = app.count("SELECT COUNT(*) FROM audit_events").await;
        let about_vera = found_in(&app, email, None).await;
        for table in ["audit_events.detail", "invitations.email", "memberships"] {
            assert!(
                about_vera.iter().any(|h| h.starts_with(table)),
                "the story put Vera's email in {table}: {about_vera:?}"
            );
        }

        let code = totp_at(&enrolled.secret, app.clock.unix());
        vera.delete_account(&[("password", PASSWORD), ("code", &code)])
            .await
            .assert_redirect("/account/deleted");

        for text in [email, name, &vera_id.to_string()] {
            let hits = found_in(&app, text, Some(vera_id)).await;
            assert!(hits.is_empty(), "{text} remains in {hits:?}");
        }
        // The trail stays (one more event: the deletion), under one pseudonym
        // used in the detail of the events others recorded about Vera.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events").await,
            before + 1
        );
        for action in ["invitation.accepted", "member.removed", "ops.user.viewed"] {
            let sql = format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' \
                 AND detail LIKE '%deleted-user-%'"
            );
            assert!(
                app.count(Box::leak(sql.into_boxed_str())).await >= 1,
                "{action}"
            );
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(DISTINCT actor_label) FROM audit_events \
                 WHERE actor_label LIKE 'deleted-user-%'"
            )
            .await,
            1
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.revoked' \
                 AND actor_label = 'ada@example.com' AND detail LIKE '%\"owner\":\"%'"
            )
            .await,
            1,
            "Ada's revocation stays, naming the pseudonym as the key's owner"
        );
        // Ivan's invitation still works; the others' data is untouched.
        let mut ivan = signed_in(&app, "ivan@example.com", "Ivan").await;
        assert!(ivan.get(&sent).await.contains("Join Acme"));
        assert!(!found_in(&app, "ada@example.com", None).await.is_empty());
        app
    })
    .await;
}
