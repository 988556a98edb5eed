//! Organizations: the owner console, the last-owner rule, teams, and the
//! structural scoping that makes another org's ids simply not found.

use axum::http::StatusCode;
use gatehouse::db::Db;
use gatehouse::domain::BuiltinRole;
use uuid::Uuid;

use crate::helpers::*;

/// Runs one statement with binds (test set-up only).
pub async fn exec(app: &TestApp, sql: &'static str, binds: &[&str]) {
    match app.db() {
        Db::Sqlite(p) => {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.execute(p).await.unwrap();
        }
    }
}

/// A count with one id bound as `$1` (test assertions only).
pub async fn exec_count(app: &TestApp, sql: &'static str, id: Uuid) -> i64 {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
    }
    .unwrap()
}

/// The id of the API key named `name` (test set-up: names are unique there).
pub async fn key_id_named(app: &TestApp, name: &str) -> Uuid {
    let sql = "SELECT id FROM api_keys WHERE name = $1";
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(name).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(name).fetch_one(p).await,
    }
    .unwrap()
}

pub async fn user_id(app: &TestApp, email: &str) -> Uuid {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

pub async fn org_id(app: &TestApp, slug: &str) -> Uuid {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

/// Makes an existing user a member of an org (as an accepted invitation would).
pub async fn add_member(app: &TestApp, slug: &str, email: &str, role: &str) {
    let org = org_id(app, slug).await;
    let user = user_id(app, email).await;
    match app.db() {
        Db::Sqlite(p) => {
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) SELECT $1, id, $2, lower(display_name), email, $3 FROM users WHERE id = $4")
                .bind(org).bind(role).bind(START).bind(user).execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) SELECT $1, id, $2, lower(display_name), email, $3 FROM users WHERE id = $4")
                .bind(org).bind(role).bind(START).bind(user).execute(p).await.unwrap();
        }
    }
}

impl Client {
    pub async fn create_org(&mut self, name: &str, slug: &str) -> TestResponse {
        self.submit(
            "/account/orgs",
            "/account/orgs",
            &[("name", name), ("slug", slug)],
        )
        .await
    }

    /// Creates a team and returns its id.
    pub async fn create_team(&mut self, slug: &str, name: &str) -> String {
        let res = self
            .submit(
                &format!("/orgs/{slug}/teams"),
                &format!("/orgs/{slug}/teams"),
                &[("name", name)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        res.location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    }
}

/// Org "acme" owned by ada, with grace as a member; "globex" owned by olga
/// with member oscar. Returns the clients of ada, grace and olga.
pub async fn two_orgs(app: &TestApp) -> (Client, Client, Client) {
    let mut ada = signed_in(app, "ada@example.com", "Ada").await;
    ada.create_org("Acme", "acme")
        .await
        .assert_redirect("/orgs/acme");
    let grace = signed_in(app, "grace@example.com", "Grace").await;
    add_member(app, "acme", "grace@example.com", "member").await;
    let mut olga = signed_in(app, "olga@example.com", "Olga").await;
    olga.create_org("Globex", "globex")
        .await
        .assert_redirect("/orgs/globex");
    registered(app, "oscar@example.com", "Oscar").await;
    add_member(app, "globex", "oscar@example.com", "member").await;
    (ada, grace, olga)
}

#[tokio::test]
async fn a_user_creates_an_org_and_becomes_its_owner() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let list = c.get("/account/orgs").await;
        assert!(list.contains("You are not a member of any organization yet"));
        c.create_org("Acme Research, Inc.", "")
            .await
            .assert_redirect("/orgs/acme-research-inc");
        let page = c.get("/orgs/acme-research-inc").await;
        assert!(page.contains("You are an owner of this organization."));
        assert!(page.contains("was created. You are its owner."));
        assert!(c.get("/account/orgs").await.contains("Acme Research, Inc."));
        let taken = c.create_org("Other", "acme-research-inc").await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(taken.contains("That address is taken"));
        let bad = c.create_org("", "Not A Slug").await;
        assert!(bad.contains("Enter the organization"));
        assert!(bad.contains("Use 3 to 40 lowercase letters"));
        assert_eq!(app.count("SELECT COUNT(*) FROM orgs").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a_non_member_gets_404_whether_or_not_the_org_exists() {
    each_engine(|app| async move {
        let (_ada, _grace, mut olga) = two_orgs(&app).await;
        let existing = olga.get("/orgs/acme/members").await;
        let missing = olga.get("/orgs/no-such-org/members").await;
        assert_eq!(existing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(existing.body, missing.body);
        assert!(!existing.contains("Acme"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_sees_their_own_teams_read_only_and_gets_403_on_owner_pages() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        ada.submit(
            &format!("/orgs/acme/teams/{team}"),
            &format!("/orgs/acme/teams/{team}/members"),
            &[("email", "grace@example.com")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{team}"));
        let overview = grace.get("/orgs/acme").await;
        assert_eq!(overview.status, StatusCode::OK);
        assert!(overview.contains("You are a member of this organization."));
        assert!(overview.contains("Research"));
        // Being on a team gives nothing of its own: the team's workspace
        // roles are what it gives, and it holds none yet.
        assert!(overview.contains("None yet"));
        crate::runs::grant_team_role(&app, "acme", "default", &team, BuiltinRole::Runner).await;
        let overview = grace.get("/orgs/acme").await;
        assert!(overview.contains("default: Runner"), "{}", overview.body);
        assert!(!overview.contains("Manage members"));
        for path in [
            "/orgs/acme/members",
            "/orgs/acme/teams",
            "/orgs/acme/audit",
            &format!("/orgs/acme/teams/{team}"),
        ] {
            let res = grace.get(path).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!res.contains("ada@example.com"));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_removed_or_leave() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let ada_id = user_id(&app, "ada@example.com").await;
        ada.submit(&format!("/orgs/acme/members/{ada_id}"), &format!("/orgs/acme/members/{ada_id}/role"), &[("role", "member")]).await.assert_redirect(&format!("/orgs/acme/members/{ada_id}"));
        let page = ada.get(&format!("/orgs/acme/members/{ada_id}")).await;
        assert!(page.contains("must keep at least one owner"));
        ada.post(&format!("/orgs/acme/members/{ada_id}/remove"), &[]).await.assert_redirect(&format!("/orgs/acme/members/{ada_id}"));
        ada.post("/orgs/acme/leave", &[]).await.assert_redirect("/account/orgs");
        assert!(ada.get("/account/orgs").await.contains("You are the only owner of Acme"));
        assert_eq!(app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner'").await, 2);

        // With a second owner, the first may step down.
        let grace_id = user_id(&app, "grace@example.com").await;
        ada.ensure_sudo(&format!("/orgs/acme/members/{grace_id}")).await;
        ada.post(&format!("/orgs/acme/members/{grace_id}/role"), &[("role", "owner")]).await.assert_redirect(&format!("/orgs/acme/members/{grace_id}"));
        ada.post(&format!("/orgs/acme/members/{ada_id}/role"), &[("role", "member")])
            .await
            .assert_redirect(&format!("/orgs/acme/members/{ada_id}"));
        assert_eq!(ada.get("/orgs/acme/members").await.status, StatusCode::FORBIDDEN);
        let audit = app
            .count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed' AND detail LIKE '%\"before\":\"owner\"%'")
            .await;
        assert_eq!(audit, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn removing_a_member_ends_membership_team_roles_and_key_bindings_together() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        ada.submit(
            &format!("/orgs/acme/teams/{team}"),
            &format!("/orgs/acme/teams/{team}/members"),
            &[("email", "grace@example.com")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{team}"));
        grace.create_key("bound", &["profile:read"], "30").await;
        let org = org_id(&app, "acme").await.to_string();
        exec(
            &app,
            "UPDATE api_keys SET org_id = (SELECT id FROM orgs WHERE slug = 'acme')",
            &[],
        )
        .await;
        let _ = org;
        let grace_id = user_id(&app, "grace@example.com").await;
        let detail = ada.get(&format!("/orgs/acme/members/{grace_id}")).await;
        assert!(detail.contains("bound"), "the member's org keys are listed");
        assert!(!detail.contains("secret_digest"));
        ada.post(&format!("/orgs/acme/members/{grace_id}/remove"), &[])
            .await
            .assert_redirect("/orgs/acme/members");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'grace@example.com'")
                .await,
            0
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM team_members").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_keys WHERE org_id IS NOT NULL")
                .await,
            0
        );
        assert_eq!(grace.get("/orgs/acme").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.removed'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_owner_revokes_but_cannot_rotate_a_members_org_key() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let token = grace.create_key("bound", &["profile:read"], "30").await;
        exec(
            &app,
            "UPDATE api_keys SET org_id = (SELECT id FROM orgs WHERE slug = 'acme')",
            &[],
        )
        .await;
        let grace_id = user_id(&app, "grace@example.com").await;
        let public_id = &token[4..16];
        assert_eq!(
            ada.submit(
                &format!("/orgs/acme/members/{grace_id}"),
                &format!("/orgs/acme/members/{grace_id}/keys/{public_id}/rotate"),
                &[]
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "there is no rotate route for owners"
        );
        ada.post(
            &format!("/orgs/acme/members/{grace_id}/keys/{public_id}/revoke"),
            &[],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/members/{grace_id}"));
        let res = api(
            &app.router,
            axum::http::Method::GET,
            "/v1/me",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(json_of(&res)["error"]["code"], "token_revoked");
        app
    })
    .await;
}

#[tokio::test]
async fn teams_are_created_renamed_deleted_restored_and_staffed() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        let dup = ada.post("/orgs/acme/teams", &[("name", "Research")]).await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(dup.contains("A team with this name exists."));
        ada.submit(
            &format!("/orgs/acme/teams/{team}"),
            &format!("/orgs/acme/teams/{team}/rename"),
            &[("name", "Applied research")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{team}"));
        let outsider = ada
            .post(
                &format!("/orgs/acme/teams/{team}/members"),
                &[("email", "olga@example.com")],
            )
            .await;
        assert_eq!(outsider.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(outsider.contains("No member of this organization has that email address."));
        ada.post(
            &format!("/orgs/acme/teams/{team}/members"),
            &[("email", "grace@example.com")],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{team}"));
        let page = ada.get(&format!("/orgs/acme/teams/{team}")).await;
        assert!(page.contains("Applied research"));
        assert!(page.contains("grace@example.com"));
        ada.ensure_sudo(&format!("/orgs/acme/teams/{team}")).await;
        ada.post(&format!("/orgs/acme/teams/{team}/delete"), &[])
            .await
            .assert_redirect("/orgs/acme/teams");
        let list = ada.get("/orgs/acme/teams").await;
        assert!(list.contains("restore it for 30 days"));
        assert!(list.contains("Deleted"));
        ada.post(&format!("/orgs/acme/teams/{team}/restore"), &[])
            .await
            .assert_redirect("/orgs/acme/teams");
        assert!(ada.get("/orgs/acme/teams").await.contains("restored"));
        ada.post(&format!("/orgs/acme/teams/{team}/delete"), &[])
            .await
            .assert_redirect("/orgs/acme/teams");
        app.clock.advance(31 * 86_400);
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(
            ada.get(&format!("/orgs/acme/teams/{team}")).await.status,
            StatusCode::NOT_FOUND
        );
        let grace_id = user_id(&app, "grace@example.com").await;
        assert_eq!(
            ada.submit(
                "/orgs/acme/teams",
                &format!("/orgs/acme/teams/{team}/members/{grace_id}/remove"),
                &[]
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
        app
    })
    .await;
}

#[tokio::test]
async fn ids_from_another_org_are_not_found_even_for_an_owner() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let globex_team = olga.create_team("globex", "Secret project").await;
        let oscar = user_id(&app, "oscar@example.com").await;
        let pages = [
            format!("/orgs/acme/members/{oscar}"),
            format!("/orgs/acme/teams/{globex_team}"),
        ];
        for p in &pages {
            let res = ada.get(p).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{p}");
            assert!(!res.contains("oscar") && !res.contains("Secret project"));
        }
        for p in [
            format!("/orgs/acme/members/{oscar}/role"),
            format!("/orgs/acme/members/{oscar}/remove"),
            format!("/orgs/acme/teams/{globex_team}/delete"),
            format!("/orgs/acme/teams/{globex_team}/rename"),
        ] {
            let res = ada
                .submit("/orgs/acme", &p, &[("role", "owner"), ("name", "pwned")])
                .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{p}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'oscar@example.com' AND role = 'member'").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM teams WHERE name = 'Secret project' AND deleted_at IS NULL").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn the_member_list_searches_sorts_and_pages_by_keyset() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        ada.create_org("Acme", "acme").await.assert_redirect("/orgs/acme");
        let org = org_id(&app, "acme").await;
        for i in 0..120 {
            let id = Uuid::now_v7();
            let email = format!("member{i:03}@example.com");
            let name = format!("Member {i:03}");
            match app.db() {
                Db::Sqlite(p) => {
                    sqlx::query("INSERT INTO users (id, email, password_hash, display_name, created_at, updated_at) VALUES ($1, $2, 'x', $3, 0, 0)")
                        .bind(id).bind(&email).bind(&name).execute(p).await.unwrap();
                    sqlx::query("INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) VALUES ($1, $2, 'member', $3, $4, $5)")
                        .bind(org).bind(id).bind(name.to_lowercase()).bind(&email).bind(i as i64).execute(p).await.unwrap();
                }
                Db::Postgres(p) => {
                    sqlx::query("INSERT INTO users (id, email, password_hash, display_name, created_at, updated_at) VALUES ($1, $2, 'x', $3, 0, 0)")
                        .bind(id).bind(&email).bind(&name).execute(p).await.unwrap();
                    sqlx::query("INSERT INTO memberships (org_id, user_id, role, member_name, member_email, created_at) VALUES ($1, $2, 'member', $3, $4, $5)")
                        .bind(org).bind(id).bind(name.to_lowercase()).bind(&email).bind(i as i64).execute(p).await.unwrap();
                }
            }
        }
        let first = ada.get("/orgs/acme/members").await;
        assert!(first.contains("121 members"));
        assert!(!first.contains("1,000+"));
        assert!(first.contains("Member 000") && first.contains("Member 048"));
        assert!(!first.contains("Member 049"), "50 per page, Ada first");
        let next = first.body.split("rel=\"next\" href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
        let second = ada.get(&next).await;
        assert!(second.contains("Member 049") && second.contains("Member 098"));
        assert!(!second.contains("Member 048"));
        let search = ada.get("/orgs/acme/members?q=member11").await;
        assert!(search.contains("10 members matching"));
        let by_joined = ada.get("/orgs/acme/members?sort=joined").await;
        assert!(by_joined.body.find("Member 000").unwrap() < by_joined.body.find("Member 001").unwrap());
        let wildcard = ada.get("/orgs/acme/members?q=%25").await;
        assert!(wildcard.contains("0 members matching"), "LIKE wildcards are escaped");
        app
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        ada.create_team("acme", "Research").await;
        olga.create_team("globex", "Globex only").await;
        let page = ada.get("/orgs/acme/audit").await;
        assert!(page.contains("team.created"));
        assert!(page.contains("org.created"));
        assert!(!page.contains("Globex only"), "only this org's events");
        let filtered = ada.get("/orgs/acme/audit?action=org.created").await;
        assert!(!filtered.contains("team.created</code>"));
        let bad = ada.get("/orgs/acme/audit?from=yesterday").await;
        assert!(bad.contains("Enter the date as YYYY-MM-DD."));
        let csv = ada.get("/orgs/acme/audit.csv").await;
        assert!(
            csv.headers
                .get("content-disposition")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("acme-audit.csv")
        );
        assert!(csv.body.starts_with("id,occurred_at,actor"));
        assert!(csv.contains("team.created") && !csv.contains("Globex only"));
        let json = ada.get("/orgs/acme/audit.json?action=team.created").await;
        let events: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(events.as_array().unwrap().len(), 1);
        assert_eq!(events[0]["detail"]["name"], "Research");
        app
    })
    .await;
}
