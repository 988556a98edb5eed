//! Roles: the built-ins are read-only; owners define custom roles from the
//! permission catalog, in sudo and audited; a custom role's name is never a
//! built-in's nor another role's of the org; editing a role changes its
//! holders' permissions at their next request; deleting is refused while the
//! role is granted, naming where.

use axum::http::StatusCode;

use crate::helpers::*;
use crate::orgs::{exec, two_orgs};
use crate::sudo::urlencode;
use crate::workspaces::grant_sql;

const ROLES: &str = "/orgs/acme/roles";

async fn role_id(app: &TestApp, name: &str) -> String {
    crate::matrix::id_where(app, "SELECT id FROM roles WHERE name = $1", name).await
}

impl Client {
    /// Submits the custom role form of acme (entering sudo first).
    pub async fn create_role(&mut self, name: &str, permissions: &[&str]) -> TestResponse {
        self.ensure_sudo(ROLES).await;
        self.post_role(name, permissions).await
    }

    /// Submits the custom role form of acme as the session stands.
    pub async fn post_role(&mut self, name: &str, permissions: &[&str]) -> TestResponse {
        let mut fields = vec![("name", name), ("description", "")];
        fields.extend(permissions.iter().map(|p| ("permissions", *p)));
        self.submit(ROLES, ROLES, &fields).await
    }
}

#[tokio::test]
async fn the_built_in_roles_are_listed_with_their_permissions_and_cannot_be_changed() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = ada.get(ROLES).await;
        page.assert_status(StatusCode::OK);
        for name in ["Viewer", "Runner", "Creator"] {
            assert!(page.contains(&format!(">{name}</a>")), "{name}");
        }
        let viewer = role_id(&app, "Viewer").await;
        let path = format!("{ROLES}/{viewer}");
        let page = ada.get(&path).await;
        assert!(page.contains("Built-in roles cannot be changed"));
        assert!(!page.contains("Save role"));
        let res = ada
            .submit(&path, &path, &[("name", "Everything"), ("permissions", "runs:write")])
            .await;
        res.assert_status(StatusCode::NOT_FOUND);
        ada.submit(&path, &format!("{path}/delete"), &[])
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM roles WHERE org_id IS NULL AND name = 'Viewer' AND permissions = 681")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_custom_role_takes_no_built_in_or_taken_name_and_needs_a_permission() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        ada.create_role("Operator", &["agents:run", "runs:read"])
            .await
            .assert_redirect(ROLES);
        for (name, perms, message) in [
            ("viewer", vec!["agents:run"], "built-in roles"),
            (" CREATOR ", vec!["agents:run"], "built-in roles"),
            ("operator", vec!["agents:run"], "has this name"),
            ("Empty", vec![], "at least one permission"),
            ("Bogus", vec!["agents:fly"], "from the list"),
        ] {
            let res = ada.create_role(name, &perms).await;
            res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.contains(message), "{name}: {}", res.body);
            assert!(res.contains(&format!("value=\"{name}\"")), "{name} kept");
        }
        // The entered permissions are kept checked.
        let res = ada.create_role("viewer", &["agents:run"]).await;
        assert!(res.contains("value=\"agents:run\" checked"));
        // Another org may use the same name.
        olga.ensure_sudo("/orgs/globex/roles").await;
        olga.submit(
            "/orgs/globex/roles",
            "/orgs/globex/roles",
            &[("name", "Operator"), ("permissions", "runs:read")],
        )
        .await
        .assert_redirect("/orgs/globex/roles");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM roles WHERE org_id IS NOT NULL")
                .await,
            2
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'role.created'")
                .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn creating_editing_and_deleting_a_role_need_sudo_and_the_form_comes_back_filled() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let res = ada.post_role("Operator", &["agents:run"]).await;
        res.assert_redirect(&format!("/sudo?next={}", urlencode(ROLES)));
        assert_eq!(app.count("SELECT COUNT(*) FROM roles").await, 3);
        ada.sudo(PASSWORD, ROLES).await.assert_redirect(ROLES);
        let form = ada.get(ROLES).await;
        assert!(form.contains("value=\"Operator\""));
        assert!(form.contains("value=\"agents:run\" checked"));
        ada.post_role("Operator", &["agents:run"])
            .await
            .assert_redirect(ROLES);

        let path = format!("{ROLES}/{}", role_id(&app, "Operator").await);
        app.clock.advance(15 * 60 + 1);
        ada.submit(&path, &format!("{path}/delete"), &[])
            .await
            .assert_redirect(&format!("/sudo?next={}", urlencode(&path)));
        let res = ada
            .submit(
                &path,
                &path,
                &[("name", "Runner of runs"), ("permissions", "runs:read")],
            )
            .await;
        res.assert_redirect(&format!("/sudo?next={}", urlencode(&path)));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM roles WHERE name = 'Operator'")
                .await,
            1
        );
        ada.sudo(PASSWORD, &path).await.assert_redirect(&path);
        assert!(ada.get(&path).await.contains("value=\"Runner of runs\""));
        app
    })
    .await;
}

#[tokio::test]
async fn editing_a_role_changes_what_its_holders_may_do_at_their_next_request() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Ops").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        ada.create_role("Operator", &["agents:run"])
            .await
            .assert_redirect(ROLES);
        grant_sql(&app, "acme", "default", "Ops", "Operator").await;
        let ws = "/orgs/acme/workspaces/default";
        let page = grace.get(ws).await;
        assert!(page.contains("agents:run"));
        assert!(page.contains("role Operator ← team Ops"));
        assert!(!page.contains("runs:read"));

        let path = format!("{ROLES}/{}", role_id(&app, "Operator").await);
        ada.submit(
            &path,
            &path,
            &[
                ("name", "Operator"),
                ("description", "Reads runs"),
                ("permissions", "runs:read"),
            ],
        )
        .await
        .assert_redirect(&path);
        let page = grace.get(ws).await;
        assert!(page.contains("runs:read"));
        assert!(!page.contains("<code>agents:run</code>"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'role.updated'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_granted_role_cannot_be_deleted_and_the_refusal_names_where() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        ada.create_team("acme", "Ops").await;
        ada.create_role("Operator", &["agents:run"])
            .await
            .assert_redirect(ROLES);
        grant_sql(&app, "acme", "default", "Ops", "Operator").await;
        let path = format!("{ROLES}/{}", role_id(&app, "Operator").await);
        ada.submit(&path, &format!("{path}/delete"), &[])
            .await
            .assert_redirect(&path);
        let page = ada.get(&path).await;
        assert!(
            page.contains("still granted (team Ops on workspace default)"),
            "{}",
            page.body
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM roles").await, 4);

        exec(
            &app,
            "DELETE FROM workspace_grants WHERE org_id IN (SELECT id FROM orgs WHERE slug = $1)",
            &["acme"],
        )
        .await;
        ada.submit(&path, &format!("{path}/delete"), &[])
            .await
            .assert_redirect(ROLES);
        assert_eq!(app.count("SELECT COUNT(*) FROM roles").await, 3);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'role.deleted'")
                .await,
            1
        );
        app
    })
    .await;
}
