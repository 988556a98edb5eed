//! The org JSON API and personal keys bound to an org: the binding decides
//! the org, team grants and the owner's *current* membership decide what a
//! key reaches, and every change is audited.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::keys::token_in;
use crate::orgs::{add_member, exec, two_orgs, user_id};

impl Client {
    /// Submits the key form with an org binding and team grants.
    pub async fn post_bound_key(
        &mut self,
        scopes: &[&str],
        org: &str,
        teams: &[&str],
        expiry: &str,
    ) -> TestResponse {
        if self.get("/account/keys/new").await.status != StatusCode::OK {
            self.sudo(PASSWORD, "/account/keys/new")
                .await
                .assert_redirect("/account/keys/new");
        }
        let mut fields = vec![("name", "bound"), ("expiry", expiry), ("org", org)];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        fields.extend(teams.iter().map(|t| ("teams", *t)));
        self.submit("/account/keys/new", "/account/keys", &fields)
            .await
    }

    /// Creates a bound key and returns its token.
    pub async fn create_bound_key(&mut self, scopes: &[&str], org: &str, teams: &[&str]) -> String {
        let res = self.post_bound_key(scopes, org, teams, "30").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let page = self.get(res.location().unwrap()).await;
        token_in(&page.body).expect("the new key is shown")
    }

    /// Puts a member on a team through the owner console.
    pub async fn put_on_team(&mut self, slug: &str, team: &str, email: &str) {
        let res = self
            .submit(
                &format!("/orgs/{slug}/teams/{team}"),
                &format!("/orgs/{slug}/teams/{team}/members"),
                &[("email", email)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
}

async fn get(app: &TestApp, token: &str, path: &str) -> TestResponse {
    api(&app.router, Method::GET, path, Some(token), None).await
}

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn team_names(res: &TestResponse) -> Vec<String> {
    json_of(res)["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_key_bound_to_one_org_cannot_read_another_and_an_unbound_key_reads_none() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let acme = ada
            .create_bound_key(&["members:read", "teams:read"], "acme", &[])
            .await;
        let ok = get(&app, &acme, "/v1/orgs/acme/members").await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        for path in [
            "/v1/orgs/globex/members",
            "/v1/orgs/globex/teams",
            "/v1/orgs/nope/teams",
        ] {
            let res = get(&app, &acme, path).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(code(&res), "not_found");
            assert!(!res.contains("oscar@example.com"));
        }
        let unbound = olga.create_key("plain", &["members:read"], "30").await;
        for path in ["/v1/orgs/globex/members", "/v1/orgs/acme/members"] {
            let res = get(&app, &unbound, path).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(code(&res), "key_not_bound");
        }
        // A bound key without the scope is refused before anything is read.
        let res = get(&app, &acme, "/v1/orgs/acme/teams").await;
        assert_eq!(res.status, StatusCode::OK);
        let res = api(
            &app.router,
            Method::DELETE,
            &format!(
                "/v1/orgs/acme/teams/{}/members/{}",
                uuid::Uuid::nil(),
                uuid::Uuid::nil()
            ),
            Some(&acme),
            None,
        )
        .await;
        assert_eq!(code(&res), "insufficient_scope");
        app
    })
    .await;
}

#[tokio::test]
async fn team_data_is_limited_to_granted_teams_the_owner_is_on_right_now() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        let payroll = ada.create_team("acme", "Payroll").await;
        ada.put_on_team("acme", &research, "grace@example.com")
            .await;
        ada.put_on_team("acme", &payroll, "grace@example.com").await;

        // Only teams of the chosen org that grace is on can be granted.
        let form = grace.get("/account/keys/new").await;
        assert!(form.status == StatusCode::OK || form.status == StatusCode::SEE_OTHER);
        let none = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        let granted = grace
            .create_bound_key(&["teams:read"], "acme", &[&research])
            .await;
        let path = format!("/account/keys/{}", &granted[4..16]);
        let detail = grace.get(&path).await;
        assert!(detail.contains("<dd>Acme</dd>") && detail.contains("<dd>Research</dd>"));
        assert!(team_names(&get(&app, &none, "/v1/orgs/acme/teams").await).is_empty());
        assert_eq!(
            team_names(&get(&app, &granted, "/v1/orgs/acme/teams").await),
            ["Research"]
        );
        // A member's key cannot list members: grace cannot on the pages either.
        let members = grace.create_bound_key(&["members:read"], "acme", &[]).await;
        let res = get(&app, &members, "/v1/orgs/acme/members").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "owner_required");

        // Off the team: the team is gone from the key at once.
        let grace_id = user_id(&app, "grace@example.com").await;
        ada.submit(
            &format!("/orgs/acme/teams/{research}"),
            &format!("/orgs/acme/teams/{research}/members/{grace_id}/remove"),
            &[],
        )
        .await
        .assert_redirect(&format!("/orgs/acme/teams/{research}"));
        assert!(team_names(&get(&app, &granted, "/v1/orgs/acme/teams").await).is_empty());
        // Back on the team: a removed grant does not come back by itself.
        ada.put_on_team("acme", &research, "grace@example.com")
            .await;
        assert!(team_names(&get(&app, &granted, "/v1/orgs/acme/teams").await).is_empty());

        // A deleted team is not reachable either.
        let fresh = grace
            .create_bound_key(&["teams:read"], "acme", &[&research, &payroll])
            .await;
        assert_eq!(
            team_names(&get(&app, &fresh, "/v1/orgs/acme/teams").await).len(),
            2
        );
        ada.ensure_sudo(&format!("/orgs/acme/teams/{payroll}"))
            .await;
        ada.submit(
            &format!("/orgs/acme/teams/{payroll}"),
            &format!("/orgs/acme/teams/{payroll}/delete"),
            &[],
        )
        .await
        .assert_redirect("/orgs/acme/teams");
        assert_eq!(
            team_names(&get(&app, &fresh, "/v1/orgs/acme/teams").await),
            ["Research"]
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_bound_key_loses_the_org_when_its_owner_leaves_it() {
    each_engine(|app| async move {
        let (_ada, mut grace, _olga) = two_orgs(&app).await;
        let token = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        assert_eq!(
            get(&app, &token, "/v1/orgs/acme/teams").await.status,
            StatusCode::OK
        );
        // Even if the membership disappears by another path than the
        // console's removal (which also unbinds the keys), the membership
        // is checked on every request.
        exec(
            &app,
            "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            &["grace@example.com"],
        )
        .await;
        let res = get(&app, &token, "/v1/orgs/acme/teams").await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn leaving_the_org_through_the_console_unbinds_the_key() {
    each_engine(|app| async move {
        let (_ada, mut grace, _olga) = two_orgs(&app).await;
        let token = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        grace
            .submit("/orgs/acme", "/orgs/acme/leave", &[])
            .await
            .assert_redirect("/account/orgs");
        let res = get(&app, &token, "/v1/orgs/acme/teams").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "key_not_bound");
        app
    })
    .await;
}

#[tokio::test]
async fn the_member_list_pages_through_every_member_over_the_api() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        for i in 0..7 {
            let email = format!("m{i}@example.com");
            // From different addresses: sign-up is rate limited per IP.
            let mut c = app.client();
            c.ip = format!("198.51.100.{}", i + 10);
            c.signup(&email, &format!("Member {i}"), PASSWORD)
                .await
                .assert_redirect("/account");
            add_member(&app, "acme", &email, "member").await;
        }
        let token = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let mut seen = Vec::new();
        let mut path = "/v1/orgs/acme/members?limit=4".to_owned();
        loop {
            let res = get(&app, &token, &path).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            let body = json_of(&res);
            for m in body["members"].as_array().unwrap() {
                seen.push(m["email"].as_str().unwrap().to_owned());
            }
            match body["next"].as_str() {
                Some(next) => {
                    path = format!(
                        "/v1/orgs/acme/members?limit=4&{}",
                        serde_urlencoded::to_string([("after", next)]).unwrap()
                    )
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 9, "{seen:?}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 9);
        assert!(!seen.contains(&"oscar@example.com".to_owned()));
        for bad in ["limit=0", "limit=101", "limit=x", "after=nope"] {
            let res = get(&app, &token, &format!("/v1/orgs/acme/members?{bad}")).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn team_membership_changes_over_the_api_are_scoped_and_audited() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        let payroll = ada.create_team("acme", "Payroll").await;
        ada.put_on_team("acme", &research, "ada@example.com").await;
        ada.put_on_team("acme", &payroll, "ada@example.com").await;
        let token = ada
            .create_bound_key(&["teams:write", "teams:read"], "acme", &[&research])
            .await;
        let grace = user_id(&app, "grace@example.com").await;
        let oscar = user_id(&app, "oscar@example.com").await;
        let put = |team: String, user: uuid::Uuid, body: &'static str| {
            let router = app.router.clone();
            let token = token.clone();
            async move {
                api(
                    &router,
                    Method::PUT,
                    &format!("/v1/orgs/acme/teams/{team}/members/{user}"),
                    Some(&token),
                    Some(body),
                )
                .await
            }
        };
        let res = put(research.clone(), grace, "{}").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["added"], true);
        let team = ada.get(&format!("/orgs/acme/teams/{research}")).await;
        assert!(team.contains("grace@example.com"));
        // Older clients still send a per-person role: accepted, ignored,
        // and adding her again changes nothing.
        let res = put(research.clone(), grace, r#"{"role":"creator"}"#).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["added"], false);
        assert!(json_of(&res).get("role").is_none());

        // Not granted, another org's member, a bad role: refused, nothing changes.
        let res = put(payroll.clone(), grace, r#"{"role":"viewer"}"#).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = put(research.clone(), oscar, r#"{"role":"viewer"}"#).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = put(research.clone(), grace, r#"{"role":"admin"}"#).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

        let del = api(
            &app.router,
            Method::DELETE,
            &format!("/v1/orgs/acme/teams/{research}/members/{grace}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.body);
        let again = api(
            &app.router,
            Method::DELETE,
            &format!("/v1/orgs/acme/teams/{research}/members/{grace}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);

        let audit = ada.get("/orgs/acme/audit.json").await;
        assert!(audit.contains("team.member_added"));
        assert!(audit.contains("team.member_removed"));
        assert!(audit.contains("via_key"));
        app
    })
    .await;
}

#[tokio::test]
async fn the_org_key_lifetime_policy_caps_bound_personal_keys() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        exec(
            &app,
            "UPDATE orgs SET max_key_lifetime_days = 30 WHERE slug = 'acme'",
            &[],
        )
        .await;
        let res = ada.post_bound_key(&["teams:read"], "acme", &[], "90").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Acme allows keys bound to it to live at most 30 days"));
        assert!(res.contains("aria-describedby=\"expiry-error\""));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
        // Within the limit, or unbound: fine.
        let res = ada.post_bound_key(&["teams:read"], "acme", &[], "30").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let res = ada.post_bound_key(&["teams:read"], "", &[], "90").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        // The bound key's creation is in the org's log; the unbound one's is not.
        let audit = ada.get("/orgs/acme/audit.json").await;
        assert_eq!(audit.body.matches("api_key.created").count(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn the_key_form_refuses_teams_outside_the_chosen_org() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        let secret = olga.create_team("globex", "Secret").await;
        ada.put_on_team("acme", &research, "ada@example.com").await;
        let form = ada
            .post_bound_key(&["teams:read"], "", &[&research], "30")
            .await;
        assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(form.contains("Choose the organization of these teams."));
        let res = ada
            .post_bound_key(&["teams:read"], "acme", &[&secret], "30")
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let res = ada
            .post_bound_key(&["teams:read"], "globex", &[], "30")
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Choose one of your organizations."));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_service_account_key_changes_team_membership_within_its_grants() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        let payroll = ada.create_team("acme", "Payroll").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let token = ada
            .create_sa_key("acme", &sa, &["teams:write", "members:read"], &[&research])
            .await;
        let grace = user_id(&app, "grace@example.com").await;
        // A member service account's key does not administer the org.
        let path = format!("/v1/orgs/acme/teams/{research}/members/{grace}");
        let res = api(
            &app.router,
            Method::PUT,
            &path,
            Some(&token),
            Some(r#"{"role":"runner"}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        ada.set_sa_role("acme", &sa, "owner").await;
        let put = |team: &str| {
            let (router, token) = (app.router.clone(), token.clone());
            let path = format!("/v1/orgs/acme/teams/{team}/members/{grace}");
            async move {
                api(
                    &router,
                    Method::PUT,
                    &path,
                    Some(&token),
                    Some(r#"{"role":"runner"}"#),
                )
                .await
            }
        };
        assert_eq!(put(&research).await.status, StatusCode::OK);
        assert_eq!(put(&payroll).await.status, StatusCode::NOT_FOUND);
        let members = get(&app, &token, "/v1/orgs/acme/members").await;
        assert_eq!(members.status, StatusCode::OK);
        assert_eq!(json_of(&members)["members"].as_array().unwrap().len(), 2);
        let audit = ada.get("/orgs/acme/audit.json").await;
        assert!(audit.contains("service account: Deploy bot"));
        app
    })
    .await;
}
