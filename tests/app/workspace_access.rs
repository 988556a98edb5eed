//! A workspace's access tab: owners grant a team one role there, change it
//! and revoke it, in sudo and audited; members read it; the change applies to
//! the team's members and their keys at the next request. Owners see, for
//! any member or service account, each permission per workspace and why.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::{exec, two_orgs, user_id};
use crate::sudo::urlencode;
use crate::workspaces::{grant_key_sql, grant_sql};

const ACCESS: &str = "/orgs/acme/workspaces/default/access";

async fn role_id(app: &TestApp, name: &str) -> String {
    crate::matrix::id_where(app, "SELECT id FROM roles WHERE name = $1", name).await
}

impl Client {
    /// Grants (or changes) a team's role on acme's `default` workspace,
    /// entering sudo first.
    pub async fn grant(&mut self, team: &str, role: &str) -> TestResponse {
        self.ensure_sudo(ACCESS).await;
        self.submit(ACCESS, ACCESS, &[("team", team), ("role", role)])
            .await
    }
}

#[tokio::test]
async fn an_owner_grants_changes_and_revokes_a_teams_role_and_members_follow_at_once() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        let ws = "/orgs/acme/workspaces/default";
        grace.get(ws).await.assert_status(StatusCode::NOT_FOUND);
        let key = grace
            .create_bound_key(&["agents:read", "agents:write"], "acme", &[])
            .await;
        grant_key_sql(&app, &key, "default").await;
        let key_access = "/v1/orgs/acme/workspaces/default/access";
        api(&app.router, Method::GET, key_access, Some(&key), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);

        ada.grant(&team, &role_id(&app, "Viewer").await)
            .await
            .assert_redirect(ACCESS);
        let page = grace.get(ws).await;
        assert!(page.contains("role Viewer ← team Platform"));
        assert!(!page.contains("agents:write"));
        let res = api(&app.router, Method::GET, key_access, Some(&key), None).await;
        assert_eq!(
            json_of(&res)["permissions"],
            serde_json::json!(["agents:read"])
        );

        // One role per team: granting again changes it.
        ada.grant(&team, &role_id(&app, "Creator").await)
            .await
            .assert_redirect(ACCESS);
        assert!(ada.get(ACCESS).await.contains("was Viewer"));
        assert_eq!(app.count("SELECT COUNT(*) FROM workspace_grants").await, 1);
        assert!(grace.get(ws).await.contains("agents:write"));
        let res = api(&app.router, Method::GET, key_access, Some(&key), None).await;
        assert_eq!(
            json_of(&res)["permissions"],
            serde_json::json!(["agents:read", "agents:write"])
        );
        let team_page = ada.get(&format!("/orgs/acme/teams/{team}")).await;
        assert!(
            team_page.contains("default</a>: Creator"),
            "{}",
            team_page.body
        );

        // Revoked: gone for the member and her key at the next request.
        ada.submit(ACCESS, &format!("{ACCESS}/{team}/remove"), &[])
            .await
            .assert_redirect(ACCESS);
        grace.get(ws).await.assert_status(StatusCode::NOT_FOUND);
        api(&app.router, Method::GET, key_access, Some(&key), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action IN \
                 ('workspace.grant_added', 'workspace.grant_changed', 'workspace.grant_removed')"
            )
            .await,
            3
        );
        app
    })
    .await;
}

#[tokio::test]
async fn granting_and_revoking_need_sudo_and_the_grant_form_comes_back_chosen() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        let creator = role_id(&app, "Creator").await;
        app.clock.advance(15 * 60 + 1);
        let res = ada
            .submit(ACCESS, ACCESS, &[("team", &team), ("role", &creator)])
            .await;
        res.assert_redirect(&format!("/sudo?next={}", urlencode(ACCESS)));
        assert_eq!(app.count("SELECT COUNT(*) FROM workspace_grants").await, 0);
        ada.sudo(PASSWORD, ACCESS).await.assert_redirect(ACCESS);
        let form = ada.get(ACCESS).await;
        assert!(
            form.contains(&format!("value=\"{creator}\" selected")),
            "{}",
            form.body
        );
        ada.submit(ACCESS, ACCESS, &[("team", &team), ("role", &creator)])
            .await
            .assert_redirect(ACCESS);
        app.clock.advance(15 * 60 + 1);
        ada.submit(ACCESS, &format!("{ACCESS}/{team}/remove"), &[])
            .await
            .assert_redirect(&format!("/sudo?next={}", urlencode(ACCESS)));
        assert_eq!(app.count("SELECT COUNT(*) FROM workspace_grants").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_reads_the_access_tab_of_a_workspace_they_reach_and_cannot_grant() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        ada.create_workspace("acme", "Staging").await;
        grace
            .get("/orgs/acme/workspaces/staging/access")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        grant_sql(&app, "acme", "default", "Platform", "Viewer").await;
        let page = grace.get(ACCESS).await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("Platform"));
        assert!(!page.contains("Grant role"));
        let creator = role_id(&app, "Creator").await;
        grace
            .submit(ACCESS, ACCESS, &[("team", &team), ("role", &creator)])
            .await
            .assert_status(StatusCode::FORBIDDEN);
        grace
            .submit(ACCESS, &format!("{ACCESS}/{team}/remove"), &[])
            .await
            .assert_status(StatusCode::FORBIDDEN);
        assert_eq!(app.count("SELECT COUNT(*) FROM workspace_grants").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn another_orgs_team_or_role_cannot_be_granted_on_a_workspace() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        let globex_team = olga.create_team("globex", "Secret project").await;
        olga.ensure_sudo("/orgs/globex/roles").await;
        olga.submit(
            "/orgs/globex/roles",
            "/orgs/globex/roles",
            &[("name", "Secret role"), ("permissions", "agents:run")],
        )
        .await
        .assert_redirect("/orgs/globex/roles");
        let globex_role = role_id(&app, "Secret role").await;
        let viewer = role_id(&app, "Viewer").await;
        for (t, r) in [
            (&globex_team, &viewer),
            (&team, &globex_role),
            (&team, &"nope".to_owned()),
        ] {
            let res = ada.grant(t, r).await;
            res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(!res.contains("Secret"), "leaked");
        }
        // The other org's owner, on this org's workspace: 404.
        olga.submit(
            "/orgs/globex/workspaces/default/access",
            ACCESS,
            &[("team", &globex_team), ("role", &viewer)],
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        // Another org's team under this workspace's path: 404.
        grant_sql(&app, "globex", "default", "Secret project", "Viewer").await;
        ada.submit(ACCESS, &format!("{ACCESS}/{globex_team}/remove"), &[])
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(app.count("SELECT COUNT(*) FROM workspace_grants").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn an_owner_sees_why_a_member_or_service_account_may_act_in_each_workspace() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        ada.grant(&team, &role_id(&app, "Runner").await)
            .await
            .assert_redirect(ACCESS);
        let grace_id = user_id(&app, "grace@example.com").await;
        let page = ada.get(&format!("/orgs/acme/members/{grace_id}")).await;
        assert!(
            page.contains("role Runner ← team Platform"),
            "{}",
            page.body
        );
        assert!(page.contains("agents:run"));
        let ada_id = user_id(&app, "ada@example.com").await;
        let page = ada.get(&format!("/orgs/acme/members/{ada_id}")).await;
        assert!(page.contains("they hold every permission in every workspace"));

        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let sa_page = format!("/orgs/acme/service-accounts/{sa}");
        assert!(ada.get(&sa_page).await.contains("they reach no workspace"));
        exec(
            &app,
            "INSERT INTO team_service_accounts (team_id, org_id, service_account_id, created_at) \
             SELECT t.id, t.org_id, sa.id, 0 FROM teams t \
             JOIN service_accounts sa ON sa.org_id = t.org_id AND sa.name = $2 WHERE t.name = $1",
            &["Platform", "Deploy bot"],
        )
        .await;
        let page = ada.get(&sa_page).await;
        assert!(
            page.contains("role Runner ← team Platform"),
            "{}",
            page.body
        );
        app
    })
    .await;
}
