//! `members:write` and `audit:read` on `/v1/orgs/{slug}/…`: an owner's key
//! changes a member's role or removes them (the last owner stays), and reads
//! the org's audit log with the page's filters and keyset pages.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::{two_orgs, user_id};

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn patch_role(app: &TestApp, key: &str, member: &str, role: &str) -> TestResponse {
    api(
        &app.router,
        Method::PATCH,
        &format!("/v1/orgs/acme/members/{member}"),
        Some(key),
        Some(&format!(r#"{{"role":"{role}"}}"#)),
    )
    .await
}

async fn delete_member(app: &TestApp, key: &str, member: &str) -> TestResponse {
    api(
        &app.router,
        Method::DELETE,
        &format!("/v1/orgs/acme/members/{member}"),
        Some(key),
        None,
    )
    .await
}

#[tokio::test]
async fn changing_a_role_needs_members_write_an_owner_not_a_team_viewer_and_a_member_of_this_org() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let grace_id = user_id(&app, "grace@example.com").await.to_string();
        let oscar_id = user_id(&app, "oscar@example.com").await.to_string();
        let ada_id = user_id(&app, "ada@example.com").await.to_string();
        let read_only = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let owner_key = ada.create_bound_key(&["members:write"], "acme", &[]).await;
        // Grace is a plain member and a Viewer on a team her key reaches:
        // neither makes her an owner of the org.
        let team = ada.create_team("acme", "Research").await;
        ada.put_on_team("acme", &team, "grace@example.com")
            .await;
        let member_key = grace
            .create_bound_key(&["members:write", "audit:read"], "acme", &[&team])
            .await;

        let res = patch_role(&app, &read_only, &grace_id, "owner").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "insufficient_scope");
        let res = delete_member(&app, &read_only, &grace_id).await;
        assert_eq!(code(&res), "insufficient_scope");

        let res = patch_role(&app, &member_key, &ada_id, "member").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "owner_required");
        let res = delete_member(&app, &member_key, &ada_id).await;
        assert_eq!(code(&res), "owner_required");
        let res = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/audit",
            Some(&member_key),
            None,
        )
        .await;
        assert_eq!(code(&res), "owner_required");

        for res in [
            patch_role(&app, &owner_key, &oscar_id, "owner").await,
            delete_member(&app, &owner_key, &oscar_id).await,
            patch_role(&app, &owner_key, "not-a-uuid", "owner").await,
        ] {
            assert_eq!(res.status, StatusCode::NOT_FOUND);
            assert!(!res.contains("oscar"));
        }
        let res = patch_role(&app, &owner_key, &grace_id, "admin").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme' AND m.role = 'owner'")
                .await,
            1
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM memberships").await, 4);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'member.%'")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_owner_key_promotes_demotes_and_removes_and_each_change_is_audited() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let grace_id = user_id(&app, "grace@example.com").await.to_string();
        let key = ada.create_bound_key(&["members:write"], "acme", &[]).await;

        let res = patch_role(&app, &key, &grace_id, "owner").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let body = json_of(&res);
        assert_eq!(body["user_id"], grace_id.as_str());
        assert_eq!(body["role"], "owner");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme' AND m.role = 'owner'").await,
            2
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed' \
                AND org_id IS NOT NULL AND detail LIKE '%\"after\":\"owner\"%' \
                AND detail LIKE '%via_key%'")
                .await,
            1
        );
        // The same role again changes and records nothing.
        patch_role(&app, &key, &grace_id, "owner")
            .await
            .assert_status(StatusCode::OK);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed'")
                .await,
            1
        );
        patch_role(&app, &key, &grace_id, "member")
            .await
            .assert_status(StatusCode::OK);

        let res = delete_member(&app, &key, &grace_id).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'grace@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.removed' AND org_id IS NOT NULL")
                .await,
            1
        );
        let res = delete_member(&app, &key, &grace_id).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed_through_the_api() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let ada_id = user_id(&app, "ada@example.com").await.to_string();
        let key = ada.create_bound_key(&["members:write"], "acme", &[]).await;
        for res in [
            patch_role(&app, &key, &ada_id, "member").await,
            delete_member(&app, &key, &ada_id).await,
        ] {
            assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
            assert_eq!(code(&res), "last_owner");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme' AND m.role = 'owner'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'member.%'")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_audit_endpoint_serves_the_pages_events_with_its_filters_and_keyset_pages() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        for name in ["Alpha", "Beta", "Gamma"] {
            ada.create_team("acme", name).await;
            app.clock.advance(1);
        }
        let key = ada.create_bound_key(&["audit:read"], "acme", &[]).await;
        let no_scope = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let member_key = grace.create_bound_key(&["audit:read"], "acme", &[]).await;
        let get = |token: &str, query: &str| {
            let router = app.router.clone();
            let path = format!("/v1/orgs/acme/audit{query}");
            let token = token.to_owned();
            async move { api(&router, Method::GET, &path, Some(&token), None).await }
        };
        assert_eq!(code(&get(&no_scope, "").await), "insufficient_scope");
        assert_eq!(code(&get(&member_key, "").await), "owner_required");

        let res = get(&key, "?action=team.created&limit=2").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let page = json_of(&res);
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e["action"] == "team.created"));
        assert_eq!(events[0]["detail"]["name"], "Gamma");
        let next = page["next"].as_str().unwrap().to_owned();
        let res = get(&key, &format!("?action=team.created&limit=2&before={next}")).await;
        let page = json_of(&res);
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["detail"]["name"], "Alpha");
        assert!(page["next"].is_null());

        // The same events as the page shows, and the page's filters.
        let all = json_of(&get(&key, "?limit=100").await);
        let html = ada.get("/orgs/acme/audit").await;
        for e in all["events"].as_array().unwrap() {
            assert!(html.contains(e["action"].as_str().unwrap()));
        }
        let res = get(&key, "?actor=nobody").await;
        assert!(json_of(&res)["events"].as_array().unwrap().is_empty());
        let res = get(&key, "?from=1970-01-01&to=1970-01-01").await;
        assert!(json_of(&res)["events"].as_array().unwrap().is_empty());
        for bad in ["?from=yesterday", "?limit=0", "?before=nonsense"] {
            let res = get(&key, bad).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_member_and_audit_endpoints() {
    each_engine(|app| async move {
        let res = api(&app.router, Method::GET, "/v1/openapi.json", None, None).await;
        let doc = json_of(&res);
        let member = &doc["paths"]["/v1/orgs/{slug}/members/{user_id}"];
        for (method, scope) in [("patch", "members:write"), ("delete", "members:write")] {
            assert_eq!(
                member[method]["security"][0]["api_key"][0], scope,
                "{method}"
            );
            assert!(
                member[method]["responses"]["409"].is_object(),
                "{method} 409"
            );
        }
        let audit = &doc["paths"]["/v1/orgs/{slug}/audit"]["get"];
        assert_eq!(audit["security"][0]["api_key"][0], "audit:read");
        for code in ["last_owner", "mfa_required", "owner_required"] {
            assert!(res.contains(code), "{code} documented");
        }
        app
    })
    .await;
}
