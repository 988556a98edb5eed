//! SCIM 2.0 provisioning: an org's SCIM tokens on its settings pages, and
//! what an identity provider does with one under `/scim/v2` — the sequences
//! Okta and Entra send, deprovisioning in one step, and the token's reach.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::keys::token_in;
use crate::orgs::{add_member, two_orgs, user_id};

const PAGE: &str = "/orgs/acme/settings/scim";

impl Client {
    /// Makes a SCIM token of `slug` (entering sudo first) and returns it,
    /// read from the page like an owner would copy it.
    pub async fn create_scim_token(&mut self, slug: &str, name: &str) -> String {
        let page = format!("/orgs/{slug}/settings/scim");
        self.sudo(PASSWORD, &page).await.assert_redirect(&page);
        let res = self.submit(&page, &page, &[("name", name)]).await;
        res.assert_redirect(&page);
        let shown = self.get(&page).await;
        assert_eq!(shown.status, StatusCode::OK);
        token_in(&shown.body).expect("the new SCIM token is shown")
    }
}

/// A SCIM request with `application/scim+json`, as identity providers send.
pub async fn scim(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut c = Client::new(app.router.clone());
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{path}"));
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/scim+json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    c.send(req.body(body).unwrap()).await
}

pub fn assert_scim_error(res: &TestResponse, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(res.status, status, "{}", res.body);
    let body = json_of(res);
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], json!(status.as_u16().to_string()));
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], json!(t), "{}", res.body);
    }
}

pub fn deactivate(value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": value } }],
    })
}

pub async fn provision(app: &TestApp, token: &str, email: &str) -> String {
    let res = scim(
        app,
        Method::POST,
        "/Users",
        Some(token),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "name": { "givenName": "New", "familyName": "Person" },
            "externalId": format!("okta-{email}"),
            "active": true,
        })),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    json_of(&res)["id"].as_str().unwrap().to_owned()
}

async fn state_counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM memberships",
        "SELECT COUNT(*) FROM memberships WHERE suspended_at IS NOT NULL",
        "SELECT COUNT(*) FROM team_members",
        "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL",
        "SELECT COUNT(*) FROM audit_events",
    ] {
        counts.push(app.count(sql).await);
    }
    counts
}

#[tokio::test]
async fn an_owner_creates_a_scim_token_in_sudo_sees_it_once_and_revokes_it() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _) = two_orgs(&app).await;
        grace.get(PAGE).await.assert_status(StatusCode::FORBIDDEN);
        ada.get(PAGE).await.assert_status(StatusCode::OK);
        ada.submit(PAGE, PAGE, &[("name", "Okta")])
            .await
            .assert_redirect("/sudo?next=%2Forgs%2Facme%2Fsettings%2Fscim");
        assert_eq!(app.count("SELECT COUNT(*) FROM scim_tokens").await, 0);
        let token = ada.create_scim_token("acme", "Okta").await;
        let again = ada.get(PAGE).await;
        assert!(!again.contains(&token), "shown once");
        assert!(again.contains("Okta") && again.contains("Never used"));
        scim(&app, Method::GET, "/Users", Some(&token), None)
            .await
            .assert_status(StatusCode::OK);
        assert!(
            !ada.get(PAGE).await.contains("Never used"),
            "last use shown"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'scim_token.created'")
                .await,
            1
        );
        let id =
            crate::matrix::id_where(&app, "SELECT id FROM scim_tokens WHERE name = $1", "Okta")
                .await;
        ada.submit(PAGE, &format!("{PAGE}/{id}/revoke"), &[])
            .await
            .assert_redirect(PAGE);
        let refused = scim(&app, Method::GET, "/Users", Some(&token), None).await;
        assert_scim_error(&refused, StatusCode::UNAUTHORIZED, None);
        app
    })
    .await;
}

#[tokio::test]
async fn requests_without_a_valid_scim_token_get_a_scim_401() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        let personal = ada.create_key("not scim", &["profile:read"], "30").await;
        let mut wrong = token.clone();
        wrong.replace_range(20..22, "zz");
        for bearer in [
            None,
            Some("nonsense"),
            Some(personal.as_str()),
            Some(wrong.as_str()),
        ] {
            let res = scim(&app, Method::GET, "/Users", bearer, None).await;
            assert_scim_error(&res, StatusCode::UNAUTHORIZED, None);
            assert!(res.headers.contains_key(header::WWW_AUTHENTICATE));
        }
        app
    })
    .await;
}

#[tokio::test]
async fn discovery_documents_are_scim_json() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        for path in [
            "/ServiceProviderConfig",
            "/ResourceTypes",
            "/Schemas",
            "/ResourceTypes/User",
        ] {
            let res = scim(&app, Method::GET, path, Some(&token), None).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            assert_eq!(
                res.headers[header::CONTENT_TYPE],
                "application/scim+json",
                "{path}"
            );
        }
        let spc = json_of(
            &scim(
                &app,
                Method::GET,
                "/ServiceProviderConfig",
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(spc["patch"]["supported"], json!(true));
        assert_eq!(spc["bulk"]["supported"], json!(false));
        let wrong = scim(&app, Method::DELETE, "/Schemas", Some(&token), None).await;
        assert_scim_error(&wrong, StatusCode::METHOD_NOT_ALLOWED, None);
        let missing = scim(&app, Method::GET, "/Nothing", Some(&token), None).await;
        assert_scim_error(&missing, StatusCode::NOT_FOUND, None);
        app
    })
    .await;
}

#[tokio::test]
async fn an_okta_style_sequence_provisions_deactivates_reactivates_and_removes_a_member() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        let users = app.count("SELECT COUNT(*) FROM users").await;
        // Okta looks the person up first, finds nobody, and creates them.
        let found = scim(&app, Method::GET, "/Users?filter=userName%20eq%20%22newbie%40example.com%22&startIndex=1&count=100", Some(&token), None).await;
        assert_eq!(json_of(&found)["totalResults"], json!(0));
        let id = provision(&app, &token, "Newbie@Example.com").await;
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users + 1);
        // The account has no password: it cannot sign in until one is set.
        let mut newbie = app.client();
        let login = newbie.login("newbie@example.com", PASSWORD).await;
        assert_ne!(login.location(), Some("/account"));
        let got = json_of(&scim(&app, Method::GET, &format!("/Users/{id}"), Some(&token), None).await);
        assert_eq!(got["userName"], json!("newbie@example.com"));
        assert_eq!(got["externalId"], json!("okta-Newbie@Example.com"));
        assert_eq!(got["active"], json!(true));
        let found = json_of(&scim(&app, Method::GET, "/Users?filter=userName%20eq%20%22newbie%40example.com%22", Some(&token), None).await);
        assert_eq!(found["totalResults"], json!(1));
        assert_eq!(found["Resources"][0]["id"], json!(id));

        let off = scim(&app, Method::PATCH, &format!("/Users/{id}"), Some(&token), Some(deactivate(json!(false)))).await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.body);
        assert_eq!(json_of(&off)["active"], json!(false));
        assert_eq!(app.count("SELECT COUNT(*) FROM memberships WHERE suspended_at IS NOT NULL").await, 1);
        let on = scim(&app, Method::PATCH, &format!("/Users/{id}"), Some(&token), Some(deactivate(json!(true)))).await;
        assert_eq!(json_of(&on)["active"], json!(true));

        let gone = scim(&app, Method::DELETE, &format!("/Users/{id}"), Some(&token), None).await;
        gone.assert_status(StatusCode::NO_CONTENT);
        scim(&app, Method::GET, &format!("/Users/{id}"), Some(&token), None)
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users + 1, "the account stays");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE actor_label = 'scim:Okta' AND action LIKE 'scim.user_%'").await,
            4,
            "provisioned, deprovisioned, restored, removed — by the token's name"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_entra_style_sequence_with_capitalised_names_and_false_strings_deprovisions_and_restores()
 {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Entra").await;
        let created = scim(
            &app,
            Method::POST,
            "/Users",
            Some(&token),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "UserName": "entra.user@example.com",
                "Active": "True",
                "DisplayName": "Entra User",
                "ExternalId": "0a1b-entra",
                "emails": [{ "Primary": true, "type": "work", "value": "entra.user@example.com" }],
                "roles": [],
            })),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = json_of(&created)["id"].as_str().unwrap().to_owned();
        assert_eq!(json_of(&created)["displayName"], json!("Entra User"));
        let found = json_of(
            &scim(
                &app,
                Method::GET,
                "/Users?filter=externalId+eq+%220a1b-entra%22",
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(found["totalResults"], json!(1));
        let patch = |value: &str| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    { "op": "Replace", "path": "active", "value": value },
                    { "op": "Add", "path": "name.givenName", "value": "Ignored" },
                ],
            })
        };
        let off = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(patch("False")),
        )
        .await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.body);
        assert_eq!(json_of(&off)["active"], json!(false));
        let on = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(patch("True")),
        )
        .await;
        assert_eq!(json_of(&on)["active"], json!(true));
        app
    })
    .await;
}

#[tokio::test]
async fn a_token_of_org_a_gets_404_for_the_users_of_org_b() {
    each_engine(|app| async move {
        let (mut ada, _, mut olga) = two_orgs(&app).await;
        let acme = ada.create_scim_token("acme", "Okta").await;
        let globex = olga.create_scim_token("globex", "Globex IdP").await;
        let oscar = user_id(&app, "oscar@example.com").await.to_string();
        let grace = user_id(&app, "grace@example.com").await.to_string();
        scim(
            &app,
            Method::GET,
            &format!("/Users/{grace}"),
            Some(&acme),
            None,
        )
        .await
        .assert_status(StatusCode::OK);
        let before = state_counts(&app).await;
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(deactivate(json!(false)))),
            (
                Method::PUT,
                Some(json!({ "userName": "oscar@example.com", "active": false })),
            ),
            (Method::DELETE, None),
        ] {
            let res = scim(
                &app,
                method.clone(),
                &format!("/Users/{oscar}"),
                Some(&acme),
                body,
            )
            .await;
            assert_scim_error(&res, StatusCode::NOT_FOUND, None);
            assert!(!res.contains("oscar"), "{method} leaked");
        }
        let list = scim(&app, Method::GET, "/Users", Some(&globex), None).await;
        assert!(!list.contains("grace@example.com") && list.contains("oscar@example.com"));
        assert_eq!(state_counts(&app).await, before, "nothing changed");
        app
    })
    .await;
}

#[tokio::test]
async fn deprovisioning_cuts_keys_teams_and_pages_at_the_next_request_in_one_audited_step() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        let key = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        let own = grace.create_key("personal", &["profile:read"], "30").await;
        let token = ada.create_scim_token("acme", "Okta").await;
        api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/teams",
            Some(&key),
            None,
        )
        .await
        .assert_status(StatusCode::OK);
        grace.get("/orgs/acme").await.assert_status(StatusCode::OK);

        let found = json_of(
            &scim(
                &app,
                Method::GET,
                "/Users?filter=USERNAME%20EQ%20%22grace%40example.com%22",
                Some(&token),
                None,
            )
            .await,
        );
        let id = found["Resources"][0]["id"].as_str().unwrap().to_owned();
        let off = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(deactivate(json!(false))),
        )
        .await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.body);

        let refused = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/teams",
            Some(&key),
            None,
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        grace
            .get("/orgs/acme")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert!(!grace.get("/account/orgs").await.contains("Acme"));
        api(&app.router, Method::GET, "/v1/me", Some(&own), None)
            .await
            .assert_status(StatusCode::OK);
        assert_eq!(app.count("SELECT COUNT(*) FROM team_members").await, 0);
        assert!(
            ada.get(&format!("/orgs/acme/members/{id}"))
                .await
                .contains("Deactivated")
        );
        assert!(
            ada.get("/orgs/acme/members")
                .await
                .contains("Deactivated (SCIM)")
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'scim.user_deprovisioned' \
                 AND actor_label = 'scim:Okta' AND detail LIKE '%Research%' \
                 AND detail LIKE '%keys_revoked%gtk_%'"
            )
            .await,
            1,
            "one event lists what was cut"
        );

        // Reactivated: the org is back, the revoked key is not.
        let on = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(deactivate(json!("true"))),
        )
        .await;
        assert_eq!(on.status, StatusCode::OK, "{}", on.body);
        grace.get("/orgs/acme").await.assert_status(StatusCode::OK);
        api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/teams",
            Some(&key),
            None,
        )
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
        app
    })
    .await;
}

#[tokio::test]
async fn provisioning_an_email_that_already_has_an_account_links_it() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let mut eve = signed_in(&app, "eve@example.com", "Eve").await;
        eve.get("/orgs/acme")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        let token = ada.create_scim_token("acme", "Okta").await;
        let users = app.count("SELECT COUNT(*) FROM users").await;
        let id = provision(&app, &token, "EVE@example.com").await;
        assert_eq!(id, user_id(&app, "eve@example.com").await.to_string());
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users").await,
            users,
            "no second account"
        );
        eve.get("/orgs/acme").await.assert_status(StatusCode::OK);
        // A second POST for the same person is a uniqueness conflict.
        let again = scim(
            &app,
            Method::POST,
            "/Users",
            Some(&token),
            Some(json!({ "userName": "eve@example.com" })),
        )
        .await;
        assert_scim_error(&again, StatusCode::CONFLICT, Some("uniqueness"));
        app
    })
    .await;
}

#[tokio::test]
async fn bad_scim_input_gets_a_scim_400_and_changes_nothing() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        let grace = user_id(&app, "grace@example.com").await.to_string();
        let before = state_counts(&app).await;
        let mut c = Client::new(app.router.clone());
        let broken = c
            .send(
                Request::post("/scim/v2/Users")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/scim+json")
                    .body(Body::from("{\"userName\": "))
                    .unwrap(),
            )
            .await;
        assert_scim_error(&broken, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
        let cases: Vec<(Method, String, Value, &str)> = vec![
            (Method::POST, "/Users".into(), json!({ "userName": "not an email" }), "invalidValue"),
            (Method::POST, "/Users".into(), json!({ "displayName": "No user name" }), "invalidValue"),
            (Method::POST, "/Users".into(), json!({ "userName": "x@example.com", "active": "maybe" }), "invalidValue"),
            (Method::PATCH, format!("/Users/{grace}"), deactivate(json!("maybe")), "invalidValue"),
            (Method::PATCH, format!("/Users/{grace}"), json!({ "Operations": [] }), "invalidSyntax"),
            (
                Method::PATCH,
                format!("/Users/{grace}"),
                json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "explode" }] }),
                "invalidSyntax",
            ),
            (Method::PUT, format!("/Users/{grace}"), json!({ "userName": "someone.else@example.com" }), "mutability"),
        ];
        for (method, path, body, scim_type) in cases {
            let res = scim(&app, method.clone(), &path, Some(&token), Some(body)).await;
            assert_scim_error(&res, StatusCode::BAD_REQUEST, Some(scim_type));
        }
        let filter = scim(&app, Method::GET, "/Users?filter=title%20co%20%22x%22", Some(&token), None).await;
        assert_scim_error(&filter, StatusCode::BAD_REQUEST, Some("invalidFilter"));
        assert_eq!(state_counts(&app).await, before, "nothing changed");
        app
    })
    .await;
}

#[tokio::test]
async fn the_last_active_owner_cannot_be_deprovisioned_or_removed() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        let id = user_id(&app, "ada@example.com").await.to_string();
        let before = state_counts(&app).await;
        let off = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(deactivate(json!(false))),
        )
        .await;
        assert_scim_error(&off, StatusCode::CONFLICT, None);
        let gone = scim(
            &app,
            Method::DELETE,
            &format!("/Users/{id}"),
            Some(&token),
            None,
        )
        .await;
        assert_scim_error(&gone, StatusCode::CONFLICT, None);
        assert_eq!(state_counts(&app).await, before);
        registered(&app, "ann@example.com", "Ann").await;
        add_member(&app, "acme", "ann@example.com", "owner").await;
        let off = scim(
            &app,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&token),
            Some(deactivate(json!(false))),
        )
        .await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.body);
        app
    })
    .await;
}

#[tokio::test]
async fn list_paging_follows_start_index_and_count() {
    each_engine(|app| async move {
        let (mut ada, _, _) = two_orgs(&app).await;
        let token = ada.create_scim_token("acme", "Okta").await;
        for n in 0..3 {
            provision(&app, &token, &format!("p{n}@example.com")).await;
        }
        // ada, grace and three provisioned people.
        let page = json_of(
            &scim(
                &app,
                Method::GET,
                "/Users?startIndex=2&count=2",
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(page["totalResults"], json!(5));
        assert_eq!(page["startIndex"], json!(2));
        assert_eq!(page["itemsPerPage"], json!(2));
        assert_eq!(page["Resources"].as_array().map(Vec::len), Some(2));
        let none = json_of(&scim(&app, Method::GET, "/Users?count=0", Some(&token), None).await);
        assert_eq!(none["totalResults"], json!(5));
        assert_eq!(none["Resources"], json!([]));
        app
    })
    .await;
}

#[tokio::test]
async fn a_scim_token_is_refused_past_its_limit_with_a_scim_429() {
    each_engine_with(
        |c| {
            c.api_requests_per_minute = 3;
            c.api_quota_lease = 1;
        },
        |app| async move {
            let (mut ada, _, mut olga) = two_orgs(&app).await;
            let token = ada.create_scim_token("acme", "Okta").await;
            let other = olga.create_scim_token("globex", "Globex IdP").await;
            for _ in 0..3 {
                scim(&app, Method::GET, "/Users", Some(&token), None)
                    .await
                    .assert_status(StatusCode::OK);
            }
            let limited = scim(&app, Method::GET, "/Users", Some(&token), None).await;
            assert_scim_error(&limited, StatusCode::TOO_MANY_REQUESTS, None);
            assert!(limited.headers.contains_key(header::RETRY_AFTER));
            // The limit is the token's own.
            scim(&app, Method::GET, "/Users", Some(&other), None)
                .await
                .assert_status(StatusCode::OK);
            app
        },
    )
    .await;
}
