//! The `/scim/v2` rows: every SCIM route × {no token, a revoked token, the
//! other org's token, acme's token}. Without a live token every route is a
//! SCIM 401; another org's token gets 404 for acme's user and group ids and
//! changes nothing; acme's token reaches the handler.

use axum::http::{Method, StatusCode};
use gatehouse::router::tables;
use serde_json::json;

use super::{World, snapshot};
use crate::helpers::*;
use crate::scim::scim;

/// Whether a route names one of the org's users.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Row {
    /// Discovery and the user list: the token's org, no id.
    Org,
    /// `/Users/{id}`: 404 for another org's token.
    User,
    /// `/Groups/{id}`: 404 for another org's token.
    Group,
}

pub fn row(method: &str, path: &str) -> Option<Row> {
    Some(match (method, path) {
        ("GET", "/scim/v2/ServiceProviderConfig")
        | ("GET", "/scim/v2/ResourceTypes")
        | ("GET", "/scim/v2/ResourceTypes/{id}")
        | ("GET", "/scim/v2/Schemas")
        | ("GET", "/scim/v2/Schemas/{id}")
        | ("GET", "/scim/v2/Users")
        | ("POST", "/scim/v2/Users")
        | ("GET", "/scim/v2/Groups")
        | ("POST", "/scim/v2/Groups")
        | ("POST", "/scim/v2/.search") => Row::Org,
        ("GET", "/scim/v2/Users/{id}")
        | ("PUT", "/scim/v2/Users/{id}")
        | ("PATCH", "/scim/v2/Users/{id}")
        | ("DELETE", "/scim/v2/Users/{id}") => Row::User,
        ("GET", "/scim/v2/Groups/{id}")
        | ("PUT", "/scim/v2/Groups/{id}")
        | ("PATCH", "/scim/v2/Groups/{id}")
        | ("DELETE", "/scim/v2/Groups/{id}") => Row::Group,
        _ => return None,
    })
}

fn method_of(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET)
}

pub async fn walk(app: &TestApp, w: &mut World) {
    let acme = w.owner.create_scim_token("acme", "Okta").await;
    let globex = w
        .other_owner
        .create_scim_token("globex", "Globex IdP")
        .await;
    let revoked = w.owner.create_scim_token("acme", "Old").await;
    let old = super::id_where(app, "SELECT id FROM scim_tokens WHERE name = $1", "Old").await;
    let page = "/orgs/acme/settings/scim";
    w.owner
        .submit(page, &format!("{page}/{old}/revoke"), &[])
        .await
        .assert_redirect(page);
    // A group of acme's, made by its identity provider, with Grace on it.
    let group = crate::scim_groups::create_group(app, &acme, "Provisioned", &[&w.grace_id]).await;
    let before = snapshot(app).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }],
        "userName": "grace@example.com",
    });
    for (method, path) in tables::scim().routes() {
        let kind = row(method, path).unwrap();
        let id = if kind == Row::Group {
            &group
        } else {
            &w.grace_id
        };
        let url = path.trim_start_matches("/scim/v2").replace("{id}", id);
        for bearer in [None, Some(revoked.as_str()), Some("gtk_nonsense")] {
            let res = scim(app, method_of(method), &url, bearer, Some(body.clone())).await;
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bearer:?}"
            );
            assert!(!res.contains("grace"), "{method} {path} leaked");
        }
        if *method == "POST" {
            // Provisioning names its person in the body: the story tests do it.
            continue;
        }
        let res = scim(
            app,
            method_of(method),
            &url,
            Some(&globex),
            Some(body.clone()),
        )
        .await;
        if kind != Row::Org {
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "globex's token {method} {path}"
            );
        }
        assert!(
            !res.contains("grace@example.com") && !res.contains("Provisioned"),
            "globex's token {method} {path} leaked"
        );
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "another org's token changed something"
    );
    // acme's token reads every document and its own member.
    for (method, path) in tables::scim().routes().iter().filter(|(m, _)| *m == "GET") {
        let id = if path.starts_with("/scim/v2/Groups") {
            &group
        } else {
            &w.grace_id
        };
        let url = path.trim_start_matches("/scim/v2").replace("{id}", id);
        let url = if path.ends_with("/ResourceTypes/{id}") {
            "/ResourceTypes/User".to_owned()
        } else if path.ends_with("/Schemas/{id}") {
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User".to_owned()
        } else {
            url
        };
        let res = scim(app, Method::GET, &url, Some(&acme), None).await;
        assert_eq!(
            res.status,
            StatusCode::OK,
            "acme's token {method} {path}: {}",
            res.body
        );
    }
}
