//! Workspaces (DESIGN.md §2a): owners create, rename, archive and restore
//! them, audited; members see only the workspaces their teams are granted,
//! and a workspace they do not reach does not exist for them (404); a key
//! lists only the workspaces granted to it that its principal reaches.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::{exec, two_orgs};
use crate::service_accounts::public_id;

impl Client {
    /// Creates a workspace through the owner's form.
    pub async fn create_workspace(&mut self, slug: &str, name: &str) -> TestResponse {
        self.submit(
            &format!("/orgs/{slug}/workspaces"),
            &format!("/orgs/{slug}/workspaces"),
            &[("name", name), ("slug", ""), ("description", "")],
        )
        .await
    }
}

/// Grants the team `team` of the workspace's org the built-in or custom
/// role `role` on the workspace `ws` (test set-up).
pub async fn grant_sql(app: &TestApp, org: &str, ws: &str, team: &str, role: &str) {
    exec(
        app,
        "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
         SELECT w.id, t.id, w.org_id, r.id, 0 FROM orgs o \
         JOIN workspaces w ON w.org_id = o.id AND w.slug = $2 \
         JOIN teams t ON t.org_id = o.id AND t.name = $3 \
         JOIN roles r ON r.name = $4 AND (r.org_id IS NULL OR r.org_id = o.id) \
         WHERE o.slug = $1",
        &[org, ws, team, role],
    )
    .await;
}

/// Grants the key with this token the workspace `ws` of its org.
pub async fn grant_key_sql(app: &TestApp, token: &str, ws: &str) {
    exec(
        app,
        "INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at) \
         SELECT k.id, w.id, w.org_id, 0 FROM api_keys k \
         JOIN workspaces w ON w.org_id = k.org_id AND w.slug = $2 WHERE k.public_id = $1",
        &[public_id(token), ws],
    )
    .await;
}

fn slugs(res: &TestResponse) -> Vec<String> {
    json_of(res)["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_owner_creates_a_workspace_and_a_member_without_a_grant_cannot_see_it() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        ada.create_workspace("acme", "Staging")
            .await
            .assert_redirect("/orgs/acme/workspaces/staging");
        let list = ada.get("/orgs/acme/workspaces").await;
        assert!(
            list.contains("/orgs/acme/workspaces/default\""),
            "{}",
            list.body
        );
        assert!(list.contains("/orgs/acme/workspaces/staging\""));
        let page = ada.get("/orgs/acme/workspaces/staging").await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("owner of the organization"));
        assert!(page.contains("/orgs/acme/workspaces/staging/agents"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'workspace.created'")
                .await,
            1
        );

        let list = grace.get("/orgs/acme/workspaces").await;
        list.assert_status(StatusCode::OK);
        assert!(!list.contains("/orgs/acme/workspaces/staging"));
        assert!(!list.contains("Create a workspace"));
        for ws in ["staging", "default", "nope"] {
            grace
                .get(&format!("/orgs/acme/workspaces/{ws}"))
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        app
    })
    .await;
}

#[tokio::test]
async fn a_workspace_slug_is_unique_in_its_org_only_and_bad_input_is_kept() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let taken = ada.create_workspace("acme", "Default").await;
        taken.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(taken.contains("has this slug"), "{}", taken.body);
        assert!(taken.contains("value=\"Default\""));
        let bad = ada
            .submit(
                "/orgs/acme/workspaces",
                "/orgs/acme/workspaces",
                &[
                    ("name", ""),
                    ("slug", "Not A Slug"),
                    ("description", "kept"),
                ],
            )
            .await;
        bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("Enter the workspace"));
        assert!(bad.contains("value=\"Not A Slug\""));
        assert!(bad.contains(">kept</textarea>"));
        olga.create_workspace("globex", "Staging")
            .await
            .assert_redirect("/orgs/globex/workspaces/staging");
        ada.create_workspace("acme", "Staging")
            .await
            .assert_redirect("/orgs/acme/workspaces/staging");
        assert_eq!(app.count("SELECT COUNT(*) FROM workspaces").await, 4);
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_cannot_create_rename_or_archive_a_workspace() {
    each_engine(|app| async move {
        let (_ada, mut grace, _olga) = two_orgs(&app).await;
        let csrf_page = grace.get("/orgs/acme/workspaces").await;
        csrf_page.assert_status(StatusCode::OK);
        for (action, fields) in [
            (
                "/orgs/acme/workspaces",
                vec![("name", "Mine"), ("slug", "mine")],
            ),
            (
                "/orgs/acme/workspaces/default/settings",
                vec![("name", "Hijacked"), ("description", "")],
            ),
            ("/orgs/acme/workspaces/default/archive", vec![]),
        ] {
            let res = grace.submit("/orgs/acme/workspaces", action, &fields).await;
            res.assert_status(StatusCode::FORBIDDEN);
        }
        grace
            .get("/orgs/acme/workspaces/default/settings")
            .await
            .assert_status(StatusCode::FORBIDDEN);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM workspaces WHERE name = 'default' AND archived_at IS NULL"
            )
            .await,
            2
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM workspaces").await, 2);
        app
    })
    .await;
}

#[tokio::test]
async fn another_orgs_owner_gets_404_for_a_workspace_and_changes_nothing() {
    each_engine(|app| async move {
        let (_ada, _grace, mut olga) = two_orgs(&app).await;
        olga.get("/orgs/globex/workspaces").await;
        for path in [
            "/orgs/acme/workspaces",
            "/orgs/acme/workspaces/default",
            "/orgs/acme/workspaces/default/settings",
        ] {
            olga.get(path).await.assert_status(StatusCode::NOT_FOUND);
        }
        for action in [
            "/orgs/acme/workspaces/default/archive",
            "/orgs/acme/workspaces/default/settings",
        ] {
            olga.submit("/orgs/globex/workspaces", action, &[("name", "x")])
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM workspaces WHERE archived_at IS NULL AND name = 'default'"
            )
            .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_owner_renames_archives_and_restores_a_workspace_each_audited() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grace_sees_creator(&app, &mut ada, &mut grace).await;

        let settings = "/orgs/acme/workspaces/default/settings";
        ada.submit(
            settings,
            settings,
            &[("name", "Production"), ("description", "Live traffic")],
        )
        .await
        .assert_redirect(settings);
        let bad = ada
            .submit(
                settings,
                settings,
                &[("name", " "), ("description", "keep me")],
            )
            .await;
        bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains(">keep me</textarea>"));

        // Archiving stops every write and run in it: sudo first.
        let res = ada
            .submit(settings, "/orgs/acme/workspaces/default/archive", &[])
            .await;
        assert!(
            res.location().unwrap_or_default().starts_with("/sudo"),
            "{:?}",
            res.location()
        );
        assert!(
            !ada.get("/orgs/acme/workspaces")
                .await
                .contains("Restore Production")
        );
        ada.ensure_sudo(settings).await;
        ada.submit(settings, "/orgs/acme/workspaces/default/archive", &[])
            .await
            .assert_redirect("/orgs/acme/workspaces");
        let list = ada.get("/orgs/acme/workspaces").await;
        assert!(list.contains("Restore Production"), "{}", list.body);
        // Archived: read-only for everyone, and gone from a member's list.
        let page = grace.get("/orgs/acme/workspaces/default").await;
        assert!(page.contains("archived"));
        assert!(page.contains("agents:read"));
        assert!(!page.contains("agents:write"));
        assert!(
            !grace
                .get("/orgs/acme/workspaces")
                .await
                .contains("Production")
        );

        ada.submit(
            "/orgs/acme/workspaces",
            "/orgs/acme/workspaces/default/restore",
            &[],
        )
        .await
        .assert_redirect("/orgs/acme/workspaces");
        assert!(
            grace
                .get("/orgs/acme/workspaces/default")
                .await
                .contains("agents:write")
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action IN \
                 ('workspace.renamed', 'workspace.archived', 'workspace.restored')"
            )
            .await,
            3
        );
        app
    })
    .await;
}

/// Grace is on Platform, granted Viewer on `default`, and on Builders,
/// granted Creator: her permissions are the union, each with its source.
async fn grace_sees_creator(app: &TestApp, ada: &mut Client, grace: &mut Client) {
    grant_sql(app, "acme", "default", "Platform", "Viewer").await;
    let builders = ada.create_team("acme", "Builders").await;
    ada.put_on_team("acme", &builders, "grace@example.com")
        .await;
    grant_sql(app, "acme", "default", "Builders", "Creator").await;
    let page = grace.get("/orgs/acme/workspaces/default").await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.contains("role Creator ← team Builders"),
        "{}",
        page.body
    );
    assert!(page.contains("role Viewer ← team Platform"));
    assert!(page.contains("agents:write"));
}

#[tokio::test]
async fn a_key_lists_only_the_workspaces_granted_to_it_that_its_principal_reaches() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        ada.create_workspace("acme", "Staging")
            .await
            .assert_redirect("/orgs/acme/workspaces/staging");
        let list = "/v1/orgs/acme/workspaces";

        // An owner's key reaches nothing it was not granted.
        let owner_key = ada.create_bound_key(&["teams:read"], "acme", &[]).await;
        let res = api(&app.router, Method::GET, list, Some(&owner_key), None).await;
        res.assert_status(StatusCode::OK);
        assert!(slugs(&res).is_empty());
        grant_key_sql(&app, &owner_key, "staging").await;
        let res = api(&app.router, Method::GET, list, Some(&owner_key), None).await;
        assert_eq!(slugs(&res), ["staging"]);

        // A member's key granted both reaches only what her teams reach.
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_sql(&app, "acme", "default", "Platform", "Viewer").await;
        let key = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        grant_key_sql(&app, &key, "staging").await;
        grant_key_sql(&app, &key, "default").await;
        let res = api(&app.router, Method::GET, list, Some(&key), None).await;
        assert_eq!(slugs(&res), ["default"]);
        // Off the team: the next request reaches nothing.
        ada.submit(
            &format!("/orgs/acme/teams/{team}"),
            &format!(
                "/orgs/acme/teams/{team}/members/{}/remove",
                crate::orgs::user_id(&app, "grace@example.com").await
            ),
            &[],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
        let res = api(&app.router, Method::GET, list, Some(&key), None).await;
        assert!(slugs(&res).is_empty());

        // Another org's key: 404; an unbound key: 403.
        let other = olga.create_bound_key(&["teams:read"], "globex", &[]).await;
        api(&app.router, Method::GET, list, Some(&other), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        api(&app.router, Method::GET, list, None, None)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        app
    })
    .await;
}
