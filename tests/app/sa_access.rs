//! Service accounts hold an org role like a person (member by default; an
//! owner may make one an owner, in sudo, audited) and sit on teams like a
//! person: a member service account's key does not administer the org, and
//! its workspace access is its teams' roles, cut at the next request when it
//! leaves a team.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::{two_orgs, user_id};
use crate::sudo::urlencode;
use crate::workspaces::grant_key_sql;

async fn role_id(app: &TestApp, name: &str) -> String {
    crate::matrix::id_where(app, "SELECT id FROM roles WHERE name = $1", name).await
}

#[tokio::test]
async fn only_an_owner_service_accounts_key_administers_the_org_and_promotion_needs_sudo() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let page = format!("/orgs/acme/service-accounts/{sa}");
        assert!(ada.get(&page).await.contains("a <strong>member</strong>"));
        let token = ada
            .create_sa_key("acme", &sa, &["teams:write"], &[&team])
            .await;
        let grace = user_id(&app, "grace@example.com").await;
        let path = format!("/v1/orgs/acme/teams/{team}/members/{grace}");
        let put = || {
            api(
                &app.router,
                Method::PUT,
                &path,
                Some(&token),
                Some(r#"{"role":"viewer"}"#),
            )
        };
        let res = put().await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["code"], "owner_required");

        // Promotion without sudo: sent to sudo, nothing changed.
        app.clock.advance(15 * 60 + 1);
        ada.submit(&page, &format!("{page}/role"), &[("role", "owner")])
            .await
            .assert_redirect(&format!("/sudo?next={}", urlencode(&page)));
        assert_eq!(put().await.status, StatusCode::FORBIDDEN);
        ada.set_sa_role("acme", &sa, "owner").await;
        assert!(ada.get(&page).await.contains("an <strong>owner</strong>"));
        assert_eq!(put().await.status, StatusCode::OK);

        // Demotion needs no sudo, and bites at the next request.
        app.clock.advance(15 * 60 + 1);
        ada.submit(&page, &format!("{page}/role"), &[("role", "member")])
            .await
            .assert_redirect(&page);
        assert_eq!(put().await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'service_account.role_changed'"
            )
            .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_service_account_on_a_team_holds_its_role_and_its_key_loses_it_when_it_leaves() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let token = ada
            .create_sa_key("acme", &sa, &["agents:read", "agents:write"], &[])
            .await;
        grant_key_sql(&app, &token, "default").await;
        let access = "/v1/orgs/acme/workspaces/default/access";
        api(&app.router, Method::GET, access, Some(&token), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);

        let team_page = format!("/orgs/acme/teams/{team}");
        ada.submit(
            &team_page,
            &format!("{team_page}/service-accounts"),
            &[("service_account", &sa)],
        )
        .await
        .assert_redirect(&team_page);
        assert!(
            ada.get(&team_page)
                .await
                .contains("Remove Deploy bot from Platform")
        );
        ada.grant(&team, &role_id(&app, "Viewer").await)
            .await
            .assert_status(StatusCode::SEE_OTHER);
        let res = api(&app.router, Method::GET, access, Some(&token), None).await;
        res.assert_status(StatusCode::OK);
        // Bounded by its team's role: Viewer, whatever the key's scopes.
        assert_eq!(
            json_of(&res)["permissions"],
            serde_json::json!(["agents:read"])
        );

        ada.submit(
            &team_page,
            &format!("{team_page}/service-accounts/{sa}/remove"),
            &[],
        )
        .await
        .assert_redirect(&team_page);
        api(&app.router, Method::GET, access, Some(&token), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action IN \
                 ('team.service_account_added', 'team.service_account_removed')"
            )
            .await,
            2
        );
        app
    })
    .await;
}

#[tokio::test]
async fn another_orgs_service_account_cannot_be_put_on_a_team() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Platform").await;
        let globex_sa = olga
            .create_service_account("globex", "Secret project bot")
            .await;
        let team_page = format!("/orgs/acme/teams/{team}");
        for id in [globex_sa.as_str(), "nope"] {
            let res = ada
                .submit(
                    &team_page,
                    &format!("{team_page}/service-accounts"),
                    &[("service_account", id)],
                )
                .await;
            res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(!res.contains("Secret project bot"));
        }
        ada.submit(
            &team_page,
            &format!("{team_page}/service-accounts/{globex_sa}/remove"),
            &[],
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM team_service_accounts")
                .await,
            0
        );
        // Nor may another org's owner change this org's service account.
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        olga.submit(
            "/orgs/globex/service-accounts",
            &format!("/orgs/acme/service-accounts/{sa}/role"),
            &[("role", "owner")],
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM service_accounts WHERE role = 'owner'")
                .await,
            0
        );
        app
    })
    .await;
}
