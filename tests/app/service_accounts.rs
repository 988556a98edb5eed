//! Service accounts and their keys through the owner console: sudo for
//! creation and rotation, the secret shown once, revocation, and deletion
//! that stops every key at once.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::keys::token_in;
use crate::orgs::two_orgs;

impl Client {
    /// Makes a service account of `slug` an owner (or member) through its
    /// page, entering sudo first.
    pub async fn set_sa_role(&mut self, slug: &str, sa: &str, role: &str) {
        let page = format!("/orgs/{slug}/service-accounts/{sa}");
        self.ensure_sudo(&page).await;
        self.submit(&page, &format!("{page}/role"), &[("role", role)])
            .await
            .assert_redirect(&page);
    }

    /// Creates a service account and returns its id.
    pub async fn create_service_account(&mut self, slug: &str, name: &str) -> String {
        self.ensure_sudo(&format!("/orgs/{slug}/service-accounts"))
            .await;
        let res = self
            .submit(
                &format!("/orgs/{slug}/service-accounts"),
                &format!("/orgs/{slug}/service-accounts"),
                &[("name", name), ("description", "for tests")],
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

    /// Creates a key of a service account (entering sudo first when needed)
    /// and returns its token as the reveal page shows it.
    pub async fn create_sa_key(
        &mut self,
        slug: &str,
        sa: &str,
        scopes: &[&str],
        teams: &[&str],
    ) -> String {
        let form = format!("/orgs/{slug}/service-accounts/{sa}/keys/new");
        if self.get(&form).await.status != StatusCode::OK {
            self.sudo(PASSWORD, &form).await.assert_redirect(&form);
            assert_eq!(self.get(&form).await.status, StatusCode::OK);
        }
        let mut fields = vec![("name", "robot"), ("expiry", "30")];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        fields.extend(teams.iter().map(|t| ("teams", *t)));
        let res = self
            .post(&format!("/orgs/{slug}/service-accounts/{sa}/keys"), &fields)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let page = self.get(res.location().unwrap()).await;
        token_in(&page.body).expect("the new key is shown")
    }
}

/// The public id of a token (`gtk_<id>_…`).
pub fn public_id(token: &str) -> &str {
    &token[4..16]
}

async fn teams_of(app: &TestApp, token: &str, slug: &str) -> TestResponse {
    api(
        &app.router,
        Method::GET,
        &format!("/v1/orgs/{slug}/teams"),
        Some(token),
        None,
    )
    .await
}

#[tokio::test]
async fn creating_a_service_account_key_needs_sudo_and_shows_it_once() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        // Creating it opened a sudo window; let it close.
        app.clock.advance(15 * 60 + 1);
        let list = ada.get("/orgs/acme/service-accounts").await;
        assert!(list.contains("Deploy bot"));
        let page = format!("/orgs/acme/service-accounts/{sa}/keys/new");
        let res = ada.get(&page).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().unwrap().starts_with("/sudo?next="));
        // A submission without sudo is kept for the form, never replayed.
        let res = ada
            .submit(
                &format!("/orgs/acme/service-accounts/{sa}"),
                &format!("/orgs/acme/service-accounts/{sa}/keys"),
                &[("name", "ci"), ("scopes", "teams:read"), ("expiry", "7")],
            )
            .await;
        assert!(res.location().unwrap().starts_with("/sudo?next="));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);

        let token = ada.create_sa_key("acme", &sa, &["keys:read"], &[]).await;
        let reveal = format!(
            "/orgs/acme/service-accounts/{sa}/keys/{}/reveal",
            public_id(&token)
        );
        let again = ada.get(&reveal).await;
        assert!(token_in(&again.body).is_none(), "shown once");
        assert!(again.contains("no longer displayed"));
        let res = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // A service account has no profile: /v1/me refuses with a stable code.
        let me = api(&app.router, Method::GET, "/v1/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&me)["error"]["code"], "insufficient_scope");
        let token2 = ada.create_sa_key("acme", &sa, &["profile:read"], &[]).await;
        let me = api(&app.router, Method::GET, "/v1/me", Some(&token2), None).await;
        assert_eq!(me.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&me)["error"]["code"], "service_account_key");

        let audit = ada.get("/orgs/acme/audit").await;
        assert!(audit.contains("service_account.created"));
        assert!(audit.contains("api_key.created"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_revoked_or_rotated_service_account_key_stops_working() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let token = ada.create_sa_key("acme", &sa, &["keys:read"], &[]).await;
        let base = format!(
            "/orgs/acme/service-accounts/{sa}/keys/{}",
            public_id(&token)
        );
        // Rotation needs sudo too.
        app.clock.advance(15 * 60 + 1);
        let res = ada.get(&format!("{base}/rotate")).await;
        assert!(res.location().unwrap().starts_with("/sudo?next="));
        ada.sudo(PASSWORD, &format!("{base}/rotate"))
            .await
            .assert_redirect(&format!("{base}/rotate"));
        let res = ada
            .submit(
                &format!("{base}/rotate"),
                &format!("{base}/rotate"),
                &[("grace", "0")],
            )
            .await;
        res.assert_redirect(&format!("{base}/reveal"));
        let new_token = token_in(&ada.get(&format!("{base}/reveal")).await.body).unwrap();
        let old = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&new_token),
            None,
        )
        .await;
        assert_eq!(new.status, StatusCode::OK);

        ada.submit(
            &format!("/orgs/acme/service-accounts/{sa}"),
            &format!("{base}/revoke"),
            &[],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/service-accounts/{sa}"));
        let res = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&new_token),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&res)["error"]["code"], "token_revoked");
        let audit = ada.get("/orgs/acme/audit.json").await;
        assert!(audit.contains("api_key.rotated") && audit.contains("api_key.revoked"));
        app
    })
    .await;
}

#[tokio::test]
async fn deleting_a_service_account_kills_its_keys_at_once() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let token = ada
            .create_sa_key("acme", &sa, &["teams:read"], &[&team])
            .await;
        let res = teams_of(&app, &token, "acme").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["teams"][0]["name"], "Research");

        ada.submit(
            &format!("/orgs/acme/service-accounts/{sa}"),
            &format!("/orgs/acme/service-accounts/{sa}/delete"),
            &[],
        )
        .await
        .assert_redirect("/orgs/acme/service-accounts");
        let res = teams_of(&app, &token, "acme").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&res)["error"]["code"], "token_revoked");
        assert_eq!(
            ada.get(&format!("/orgs/acme/service-accounts/{sa}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let list = ada.get("/orgs/acme/service-accounts").await;
        assert!(list.contains("its keys no longer work"));
        assert!(!list.contains(&format!("/service-accounts/{sa}\"")));
        assert!(
            ada.get("/orgs/acme/audit")
                .await
                .contains("service_account.deleted")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_service_account_key_gets_only_its_granted_teams_and_its_org() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        ada.create_team("acme", "Payroll").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let granted = ada
            .create_sa_key("acme", &sa, &["teams:read"], &[&research])
            .await;
        let none = ada.create_sa_key("acme", &sa, &["teams:read"], &[]).await;
        let body = json_of(&teams_of(&app, &granted, "acme").await);
        let names: Vec<&str> = body["teams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Research"]);
        let body = json_of(&teams_of(&app, &none, "acme").await);
        assert!(body["teams"].as_array().unwrap().is_empty());
        let other = teams_of(&app, &granted, "globex").await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        assert_eq!(json_of(&other)["error"]["code"], "not_found");
        app
    })
    .await;
}

#[tokio::test]
async fn the_org_key_lifetime_policy_caps_service_account_keys() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        crate::orgs::exec(
            &app,
            "UPDATE orgs SET max_key_lifetime_days = 30 WHERE slug = 'acme'",
            &[],
        )
        .await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let form = format!("/orgs/acme/service-accounts/{sa}/keys/new");
        ada.sudo(PASSWORD, &form).await.assert_redirect(&form);
        assert!(ada.get(&form).await.contains("at most 30 days"));
        let res = ada
            .post(
                &format!("/orgs/acme/service-accounts/{sa}/keys"),
                &[("name", "ci"), ("scopes", "keys:read"), ("expiry", "90")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Acme allows keys bound to it to live at most 30 days"));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
        app
    })
    .await;
}
