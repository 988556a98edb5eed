//! A key's workspace grants over the API: a key manages its own principal's
//! keys (an owner-level key also the org's service-account keys), never
//! grants beyond the workspaces it holds itself, and every change is audited
//! and applies at the next request.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::two_orgs;
use crate::service_accounts::public_id;
use crate::workspaces::{grant_key_sql, grant_sql};

fn ws_slugs(res: &TestResponse) -> Vec<String> {
    json_of(res)["workspaces"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", res.body))
        .iter()
        .map(|w| w["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn call(
    app: &TestApp,
    method: Method,
    token: &str,
    target: &str,
    ws: Option<&str>,
) -> TestResponse {
    let path = match ws {
        Some(ws) => format!("/v1/orgs/acme/keys/{}/workspaces/{ws}", public_id(target)),
        None => format!("/v1/orgs/acme/keys/{}/workspaces", public_id(target)),
    };
    api(&app.router, method, &path, Some(token), None).await
}

#[tokio::test]
async fn a_key_grants_its_siblings_only_the_workspaces_it_holds_itself() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        ada.create_workspace("acme", "Staging")
            .await
            .assert_redirect("/orgs/acme/workspaces/staging");
        let admin = ada
            .create_bound_key(&["keys:read", "keys:write"], "acme", &[])
            .await;
        grant_key_sql(&app, &admin, "default").await;
        let worker = ada.create_bound_key(&["agents:read"], "acme", &[]).await;
        let access = "/v1/orgs/acme/workspaces/default/access";
        api(&app.router, Method::GET, access, Some(&worker), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);

        let res = call(&app, Method::PUT, &admin, &worker, Some("default")).await;
        res.assert_status(StatusCode::OK);
        assert_eq!(ws_slugs(&res), ["default"]);
        api(&app.router, Method::GET, access, Some(&worker), None)
            .await
            .assert_status(StatusCode::OK);
        // Not beyond the caller: staging is not granted to `admin`, not even
        // to itself.
        for target in [&worker, &admin] {
            call(&app, Method::PUT, &admin, target, Some("staging"))
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        // A key with only keys:read reads, but changes nothing.
        let res = call(&app, Method::PUT, &worker, &worker, Some("default")).await;
        res.assert_status(StatusCode::FORBIDDEN);
        let reader = ada.create_bound_key(&["keys:read"], "acme", &[]).await;
        let res = call(&app, Method::GET, &reader, &worker, None).await;
        assert_eq!(ws_slugs(&res), ["default"]);
        call(&app, Method::DELETE, &reader, &worker, Some("default"))
            .await
            .assert_status(StatusCode::FORBIDDEN);

        let res = call(&app, Method::DELETE, &admin, &worker, Some("default")).await;
        res.assert_status(StatusCode::OK);
        assert!(ws_slugs(&res).is_empty());
        api(&app.router, Method::GET, access, Some(&worker), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        call(&app, Method::DELETE, &admin, &worker, Some("default"))
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action IN \
                 ('api_key.workspace_granted', 'api_key.workspace_ungranted')"
            )
            .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_cannot_see_or_change_another_persons_keys_but_an_owner_key_manages_sa_keys() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_sql(&app, "acme", "default", "Platform", "Viewer").await;
        let ada_key = ada
            .create_bound_key(&["keys:read", "keys:write"], "acme", &[])
            .await;
        grant_key_sql(&app, &ada_key, "default").await;
        let grace_key = grace
            .create_bound_key(&["keys:read", "keys:write"], "acme", &[])
            .await;
        grant_key_sql(&app, &grace_key, "default").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let sa_key = ada.create_sa_key("acme", &sa, &["agents:read"], &[]).await;

        // A member's key: not the owner's key, not a service account's.
        for target in [&ada_key, &sa_key] {
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let ws = (method != Method::GET).then_some("default");
                call(&app, method.clone(), &grace_key, target, ws)
                    .await
                    .assert_status(StatusCode::NOT_FOUND);
            }
        }
        // Nor the other way round for a person's key.
        call(&app, Method::PUT, &ada_key, &grace_key, Some("default"))
            .await
            .assert_status(StatusCode::NOT_FOUND);
        // An owner's key manages the org's service-account keys.
        let res = call(&app, Method::PUT, &ada_key, &sa_key, Some("default")).await;
        assert_eq!(ws_slugs(&res), ["default"]);
        // Another org's key: 404 under this org.
        let globex_key = olga
            .create_bound_key(&["keys:read", "keys:write"], "globex", &[])
            .await;
        call(&app, Method::GET, &globex_key, &ada_key, None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_key_workspaces").await,
            3
        );
        app
    })
    .await;
}

async fn ws_id(app: &TestApp, org_ws: &str) -> String {
    crate::matrix::id_where(
        app,
        "SELECT w.id FROM workspaces w JOIN orgs o ON o.id = w.org_id \
         WHERE o.slug || '/' || w.slug = $1",
        org_ws,
    )
    .await
}

/// Grace is on a team holding Viewer on acme's `default` (not on its
/// `staging`); the ids of those two workspaces and of globex's `default`.
async fn grace_views_default(app: &TestApp) -> (Client, [String; 3]) {
    let (mut ada, grace, _olga) = two_orgs(app).await;
    ada.create_workspace("acme", "Staging")
        .await
        .assert_redirect("/orgs/acme/workspaces/staging");
    let team = ada.create_team("acme", "Platform").await;
    ada.put_on_team("acme", &team, "grace@example.com").await;
    grant_sql(app, "acme", "default", "Platform", "Viewer").await;
    let ids = [
        ws_id(app, "acme/default").await,
        ws_id(app, "acme/staging").await,
        ws_id(app, "globex/default").await,
    ];
    (grace, ids)
}

impl Client {
    /// Submits the personal key form bound to `org` with workspace ids.
    async fn post_key_with_workspaces(&mut self, org: &str, workspaces: &[&str]) -> TestResponse {
        self.ensure_sudo("/account/keys/new").await;
        let mut fields = vec![
            ("name", "ci"),
            ("expiry", "30"),
            ("org", org),
            ("scopes", "agents:read"),
        ];
        fields.extend(workspaces.iter().map(|w| ("workspaces", *w)));
        self.submit("/account/keys/new", "/account/keys", &fields)
            .await
    }
}

#[tokio::test]
async fn a_new_key_is_granted_the_workspaces_checked_on_its_form_and_only_those_one_reaches() {
    each_engine(|app| async move {
        let (mut grace, [default, staging, globex]) = grace_views_default(&app).await;

        grace.ensure_sudo("/account/keys/new").await;
        let form = grace.get("/account/keys/new").await;
        assert!(form.contains(&format!("value=\"{default}\"")));
        assert!(!form.contains(&format!("value=\"{staging}\"")));
        for bad in [&staging, &globex] {
            let res = grace.post_key_with_workspaces("acme", &[bad]).await;
            res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.contains("Choose only live workspaces"), "{}", res.body);
        }
        let none = grace.post_key_with_workspaces("", &[&default]).await;
        none.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_key_workspaces").await,
            0
        );

        let res = grace.post_key_with_workspaces("acme", &[&default]).await;
        res.assert_status(StatusCode::SEE_OTHER);
        let page = grace.get(res.location().unwrap()).await;
        let token = crate::keys::token_in(&page.body).unwrap();
        let res = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/workspaces",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(ws_slugs(&res), ["default"]);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.workspace_granted'"
            )
            .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_key_page_grants_in_sudo_only_workspaces_one_reaches_and_takes_them_away() {
    each_engine(|app| async move {
        let (mut grace, [default, staging, globex]) = grace_views_default(&app).await;
        let res = grace.post_key_with_workspaces("acme", &[]).await;
        res.assert_status(StatusCode::SEE_OTHER);
        let token = crate::keys::token_in(&grace.get(res.location().unwrap()).await.body).unwrap();
        let page_path = grace.key_page_path("ci").await;
        let listed = || {
            let (router, token) = (app.router.clone(), token.clone());
            async move {
                let res = api(&router, Method::GET, "/v1/orgs/acme/workspaces", Some(&token), None)
                    .await;
                ws_slugs(&res)
            }
        };
        let page = grace.get(&page_path).await;
        assert!(page.contains("This key reaches no workspace."), "{}", page.body);
        assert!(page.contains(&format!("value=\"{default}\"")));
        assert!(!page.contains(&format!("value=\"{staging}\"")), "one she does not reach");
        assert!(listed().await.is_empty());

        // Granting widens the key: out of sudo it leads to sudo and changes nothing.
        grace.submit(&page_path, "/sudo/leave", &[]).await.assert_status(StatusCode::SEE_OTHER);
        let grant = format!("{page_path}/workspaces");
        grace.get(&page_path).await;
        let res = grace.post(&grant, &[("workspace", &default)]).await;
        assert!(res.location().unwrap_or_default().starts_with("/sudo"), "{:?}", res.location());
        assert!(listed().await.is_empty());
        grace.sudo(PASSWORD, &page_path).await.assert_redirect(&page_path);
        // What she was choosing is kept across the prompt.
        assert!(grace.get(&page_path).await.contains(&format!("value=\"{default}\" selected")));

        // A workspace she does not reach, one of another org, nothing: refused.
        for bad in [staging.as_str(), globex.as_str(), "", "not-an-id"] {
            grace.submit(&page_path, &grant, &[("workspace", bad)]).await.assert_redirect(&page_path);
            assert!(grace.get(&page_path).await.contains("Choose a live workspace"), "{bad}");
        }
        assert!(listed().await.is_empty());
        assert_eq!(app.count("SELECT COUNT(*) FROM api_key_workspaces").await, 0);

        grace.submit(&page_path, &grant, &[("workspace", &default)]).await.assert_redirect(&page_path);
        let page = grace.get(&page_path).await;
        assert!(page.contains("The key now reaches default."), "{}", page.body);
        assert_eq!(listed().await, ["default"]);

        // Taking it away needs no sudo, and holds from the next request.
        grace.submit(&page_path, "/sudo/leave", &[]).await.assert_status(StatusCode::SEE_OTHER);
        grace
            .submit(&page_path, &format!("{page_path}/workspaces/default/remove"), &[])
            .await
            .assert_redirect(&page_path);
        assert!(listed().await.is_empty());
        let again = grace.post(&format!("{page_path}/workspaces/default/remove"), &[]).await;
        again.assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action IN \
                 ('api_key.workspace_granted', 'api_key.workspace_ungranted') AND org_id IS NOT NULL"
            )
            .await,
            2
        );
        // A revoked key is granted nothing, even in sudo.
        grace
            .submit(&page_path, &format!("{page_path}/revoke"), &[])
            .await
            .assert_status(StatusCode::SEE_OTHER);
        grace.ensure_sudo(&page_path).await;
        grace.post(&grant, &[("workspace", &default)]).await.assert_redirect(&page_path);
        assert!(grace.get(&page_path).await.contains("This key can no longer be used."));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_key_workspaces").await, 0);
        app
    })
    .await;
}
