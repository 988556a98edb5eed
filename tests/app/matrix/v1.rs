//! The `/v1` rows: every API route × {no key, a key without the scope, a key
//! with the scope bound to another org, a member's key, an owner's key, the
//! master key}, and another org's ids under acme's slug (404, nothing
//! changed).

use axum::http::{Method, StatusCode};
use gatehouse::router::tables;

use super::{World, snapshot};
use crate::helpers::*;
use crate::orgs::{add_member, user_id};

/// Who a route is for, and the scope it needs.
#[derive(Clone, Copy, Debug)]
pub enum Row {
    /// The key owner's own data.
    Mine(&'static str),
    /// acme's data; members get the status given, owners are served.
    Org(&'static str, StatusCode),
    /// Making, rotating and revoking the key owner's keys: served for the
    /// owner's key-making key, on one of the owner's keys.
    OwnKeys(&'static str),
    /// The org itself (rename, transfer, delete) with `org:admin`: refused
    /// like `Org` for everyone but acme's owner, whose request is
    /// authorized and then answered with the status given (a rename to the
    /// same name; a transfer to and a deletion without a confirmation that
    /// are refused as invalid — the stories make them for real).
    OrgAdmin(StatusCode),
    /// Platform administration: the master key only.
    Admin,
    /// No key needed.
    Open,
}

pub fn row(method: &str, path: &str) -> Option<Row> {
    use Row::*;
    const MEMBERS_ARE_REFUSED: StatusCode = StatusCode::FORBIDDEN;
    Some(match (method, path) {
        ("GET", "/v1/me") => Mine("profile:read"),
        ("PATCH", "/v1/me") => Mine("profile:write"),
        ("GET", "/v1/keys/current") | ("GET", "/v1/keys") => Mine("keys:read"),
        ("GET", "/v1/keys/{id}") => OwnKeys("keys:read"),
        ("POST", "/v1/keys")
        | ("POST", "/v1/keys/{id}/rotate")
        | ("POST", "/v1/keys/{id}/revoke") => OwnKeys("keys:write"),
        ("PATCH", "/v1/orgs/{slug}") => OrgAdmin(StatusCode::OK),
        ("POST", "/v1/orgs/{slug}/transfer") | ("DELETE", "/v1/orgs/{slug}") => {
            OrgAdmin(StatusCode::UNPROCESSABLE_ENTITY)
        }
        ("GET", "/v1/orgs/{slug}/keys") => Org("keys:read", MEMBERS_ARE_REFUSED),
        ("GET", "/v1/orgs/{slug}/members") => Org("members:read", MEMBERS_ARE_REFUSED),
        ("PATCH", "/v1/orgs/{slug}/members/{user_id}")
        | ("DELETE", "/v1/orgs/{slug}/members/{user_id}") => {
            Org("members:write", MEMBERS_ARE_REFUSED)
        }
        ("GET", "/v1/orgs/{slug}/audit") => Org("audit:read", MEMBERS_ARE_REFUSED),
        // A member sees the teams their key reaches (none here).
        ("GET", "/v1/orgs/{slug}/teams") => Org("teams:read", StatusCode::OK),
        ("PUT", "/v1/orgs/{slug}/teams/{team_id}/members/{user_id}")
        | ("DELETE", "/v1/orgs/{slug}/teams/{team_id}/members/{user_id}") => {
            Org("teams:write", MEMBERS_ARE_REFUSED)
        }
        ("POST", "/v1/admin/account/register")
        | ("GET", "/v1/admin/accounts")
        | ("GET", "/v1/admin/orgs")
        | ("POST", "/v1/admin/orgs")
        | ("GET", "/v1/admin/orgs/{id}")
        | ("DELETE", "/v1/admin/orgs/{id}")
        | ("POST", "/v1/admin/orgs/{id}/disable")
        | ("POST", "/v1/admin/orgs/{id}/enable")
        | ("POST", "/v1/admin/orgs/{id}/restore")
        | ("GET", "/v1/admin/accounts/{id}")
        | ("DELETE", "/v1/admin/accounts/{id}")
        | ("POST", "/v1/admin/accounts/{id}/disable")
        | ("POST", "/v1/admin/accounts/{id}/enable")
        | ("GET", "/v1/admin/keys")
        | ("POST", "/v1/admin/keys/{id}/revoke")
        | ("GET", "/v1/admin/audit")
        | ("GET", "/v1/admin/runs") => Admin,
        ("POST", "/v1/account/register")
        | ("POST", "/v1/secret-scanning/reports")
        | ("GET", "/v1/openapi.json") => Open,
        _ => return None,
    })
}

const ALL: &[&str] = &[
    "profile:read",
    "profile:write",
    "keys:read",
    "members:read",
    "members:write",
    "teams:read",
    "teams:write",
    "audit:read",
    "org:admin",
];

fn body(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        // Grace is a member already: served, and nothing changes.
        ("PATCH", "/v1/orgs/{slug}/members/{user_id}") => Some(r#"{"role":"member"}"#),
        ("PATCH", "/v1/orgs/{slug}") => Some("{}"),
        ("POST", "/v1/orgs/{slug}/transfer") => Some(r#"{"email":"nobody@example.com"}"#),
        ("POST", "/v1/admin/orgs") => {
            Some(r#"{"name":"Matrix Made","owner_email":"dora@example.com"}"#)
        }
        ("PATCH", _) => Some(r#"{"display_name":"Renamed"}"#),
        ("PUT", _) => Some(r#"{"role":"viewer"}"#),
        ("POST", "/v1/secret-scanning/reports") => Some("[]"),
        ("POST", "/v1/keys") => {
            Some(r#"{"name":"matrix made","permissions":["profile:read"],"expiresInDays":1}"#)
        }
        ("POST", "/v1/keys/{id}/rotate") => Some(r#"{"grace":"none"}"#),
        ("POST", "/v1/keys/{id}/revoke") => None,
        ("POST", p)
            if p.starts_with("/v1/admin/accounts/")
                || p.starts_with("/v1/admin/keys/")
                || p.starts_with("/v1/admin/orgs/") =>
        {
            None
        }
        ("POST", "/v1/admin/account/register") => Some(
            r#"{"email":"admitted@example.com","display_name":"Admitted","password":"Correct-Horse-Battery-42!"}"#,
        ),
        ("POST", _) => Some(
            r#"{"email":"self@example.com","display_name":"Self","password":"Correct-Horse-Battery-42!"}"#,
        ),
        _ => None,
    }
}

fn code_of(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn method_of(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

pub async fn walk(app: &TestApp, w: &mut World) {
    let table = tables::v1();
    // Team routes reach only the teams a key is granted and its owner is on.
    w.owner
        .put_on_team("acme", &w.team, "ada@example.com")
        .await;
    let owner = w.owner.create_bound_key(ALL, "acme", &[&w.team]).await;
    let member = w.member.create_bound_key(ALL, "acme", &[]).await;
    let elsewhere = w.other_owner.create_bound_key(ALL, "globex", &[]).await;
    let only_profile = w
        .owner
        .create_key("only profile", &["profile:read"], "30")
        .await;
    let only_keys = w.owner.create_key("only keys", &["keys:read"], "30").await;
    let master = gatehouse::operators::create_master_key(app.db(), "matrix v1", 30, START)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
    // The member the removal row removes: not grace, whom the org surface
    // still needs.
    // (Registered with the master key: the sign-up limit per address is
    // spent by the other personas.)
    api(
        &app.router,
        Method::POST,
        "/v1/admin/account/register",
        Some(&master),
        Some(r#"{"email":"dora@example.com","display_name":"Dora","password":"Correct-Horse-Battery-42!"}"#),
    )
    .await
    .assert_status(StatusCode::CREATED);
    add_member(app, "acme", "dora@example.com", "member").await;
    let dora_id = user_id(app, "dora@example.com").await.to_string();
    // The account the admin rows disable, enable and delete (last), and the
    // key they revoke: neither is one the other rows use.
    api(
        &app.router,
        Method::POST,
        "/v1/admin/account/register",
        Some(&master),
        Some(r#"{"email":"erin@example.com","display_name":"Erin","password":"Correct-Horse-Battery-42!"}"#),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let erin_id = user_id(app, "erin@example.com").await.to_string();
    w.member
        .create_key("to revoke", &["profile:read"], "30")
        .await;
    let revoked_key = crate::orgs::key_id_named(app, "to revoke")
        .await
        .to_string();
    // The owner's key-making key, and the key of hers it rotates and revokes.
    let key_maker = w
        .owner
        .create_key(
            "matrix maker",
            &["keys:read", "keys:write", "profile:read"],
            "30",
        )
        .await;
    let own_target = w
        .owner
        .create_key("matrix target", &["profile:read"], "7")
        .await;
    let own_target_id = crate::service_accounts::public_id(&own_target).to_owned();
    // The org the admin org rows disable, enable, restore and delete.
    let made = api(
        &app.router,
        Method::POST,
        "/v1/admin/orgs",
        Some(&master),
        Some(r#"{"name":"Matrix Org","owner_email":"dora@example.com"}"#),
    )
    .await;
    made.assert_status(StatusCode::CREATED);
    let made_org = json_of(&made)["org"]["id"].as_str().unwrap().to_owned();
    let url = |path: &str, team: &str, user: &str| {
        let id = if path.starts_with("/v1/admin/keys/") {
            &revoked_key
        } else if path.starts_with("/v1/admin/orgs/") {
            &made_org
        } else if path.starts_with("/v1/keys/") {
            &own_target_id
        } else {
            &erin_id
        };
        path.replace("{slug}", "acme")
            .replace("{team_id}", team)
            .replace("{user_id}", user)
            .replace("{id}", id)
    };

    // The state-changing rows (PUT, then DELETE) run last; removing grace
    // from the org last of all.
    let mut rows = table.routes().to_vec();
    rows.sort_by_key(|(m, p)| match (*m, p.as_str()) {
        ("DELETE", "/v1/admin/accounts/{id}") => 4,
        ("DELETE", "/v1/orgs/{slug}/members/{user_id}") => 3,
        ("PUT", _) => 1,
        ("DELETE", _) => 2,
        _ => 0,
    });
    for (method, path) in &rows {
        let row = row(method, path).unwrap();
        let m = method_of(method);
        let removes_a_member = *method == "DELETE" && path == "/v1/orgs/{slug}/members/{user_id}";
        let subject = if removes_a_member {
            &dora_id
        } else {
            &w.grace_id
        };
        let path_url = url(path, &w.team, subject);
        let body = body(method, path);
        let send = |key: Option<String>| {
            let m = m.clone();
            let path_url = path_url.clone();
            let router = app.router.clone();
            async move { api(&router, m, &path_url, key.as_deref(), body).await }
        };
        let what = format!("{method} {path}");
        let expect = |res: &TestResponse, status: StatusCode, who: &str| {
            assert_eq!(res.status, status, "{who} {what}: {}", res.body);
        };
        if let Row::Open = row {
            let res = send(None).await;
            assert!(res.status.is_success(), "no key {what}: {}", res.body);
            continue;
        }
        expect(&send(None).await, StatusCode::UNAUTHORIZED, "no key");
        match row {
            Row::Mine(scope) => {
                let without = if scope.starts_with("profile") {
                    &only_keys
                } else {
                    &only_profile
                };
                expect(
                    &send(Some(without.clone())).await,
                    StatusCode::FORBIDDEN,
                    "a key without the scope",
                );
                for (who, key) in [
                    ("another org's key", &elsewhere),
                    ("member's key", &member),
                    ("owner's key", &owner),
                ] {
                    expect(&send(Some(key.clone())).await, StatusCode::OK, who);
                }
                let res = send(Some(master.clone())).await;
                assert!(
                    res.status.is_client_error(),
                    "master key {what}: {}",
                    res.status
                );
            }
            Row::Org(scope, member_status) => {
                let without = if scope.starts_with("profile") {
                    &only_keys
                } else {
                    &only_profile
                };
                expect(
                    &send(Some(without.clone())).await,
                    StatusCode::FORBIDDEN,
                    "a key without the scope",
                );
                let res = send(Some(elsewhere.clone())).await;
                expect(&res, StatusCode::NOT_FOUND, "another org's key");
                assert!(!res.contains("grace@example.com") && !res.contains("Research"));
                let res = send(Some(member.clone())).await;
                expect(&res, member_status, "member's key");
                if member_status != StatusCode::OK {
                    assert!(
                        !res.contains("ada@example.com"),
                        "member's key {what} leaked data"
                    );
                }
                let res = send(Some(master.clone())).await;
                assert!(
                    res.status.is_client_error(),
                    "master key {what}: {}",
                    res.status
                );
                // Another org's team and member under acme's slug.
                if path.contains("{team_id}") || path.contains("{user_id}") {
                    let before = snapshot(app).await;
                    let foreign = url(path, &w.globex_team, &w.oscar_id);
                    let res = api(&app.router, m.clone(), &foreign, Some(&owner), body).await;
                    expect(
                        &res,
                        StatusCode::NOT_FOUND,
                        "owner's key with another org's ids",
                    );
                    assert!(!res.contains("Secret project") && !res.contains("oscar"));
                    assert_eq!(
                        snapshot(app).await,
                        before,
                        "a foreign id changed something"
                    );
                }
                let res = send(Some(owner.clone())).await;
                assert!(
                    res.status.is_success(),
                    "owner's key {what}: {} {}",
                    res.status,
                    res.body
                );
            }
            Row::OwnKeys(scope) => {
                expect(
                    &send(Some(only_profile.clone())).await,
                    StatusCode::FORBIDDEN,
                    "a key without the scope",
                );
                // Reading: another person's key does not find her key.
                // Writing: only a key with keys:write may.
                let (others, owners) = if scope == "keys:read" {
                    (StatusCode::NOT_FOUND, StatusCode::OK)
                } else {
                    (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN)
                };
                expect(&send(Some(member.clone())).await, others, "member's key");
                expect(
                    &send(Some(elsewhere.clone())).await,
                    others,
                    "another org's key",
                );
                expect(&send(Some(owner.clone())).await, owners, "owner's key");
                let res = send(Some(master.clone())).await;
                assert!(res.status.is_client_error(), "master key {what}");
                let res = send(Some(key_maker.clone())).await;
                assert!(
                    res.status.is_success(),
                    "owner's key-making key {what}: {} {}",
                    res.status,
                    res.body
                );
            }
            Row::OrgAdmin(owner_status) => {
                expect(
                    &send(Some(only_profile.clone())).await,
                    StatusCode::FORBIDDEN,
                    "a key without the scope",
                );
                let before = snapshot(app).await;
                let res = send(Some(elsewhere.clone())).await;
                expect(&res, StatusCode::NOT_FOUND, "another org's key");
                let res = send(Some(member.clone())).await;
                expect(&res, StatusCode::FORBIDDEN, "member's key");
                assert_eq!(code_of(&res), "owner_required", "member's key {what}");
                let res = send(Some(master.clone())).await;
                assert!(res.status.is_client_error(), "master key {what}");
                assert_eq!(snapshot(app).await, before, "a refusal changed something");
                expect(
                    &send(Some(owner.clone())).await,
                    owner_status,
                    "owner's key",
                );
            }
            Row::Admin => {
                for (who, key) in [
                    ("another org's key", &elsewhere),
                    ("member's key", &member),
                    ("owner's key", &owner),
                ] {
                    expect(&send(Some(key.clone())).await, StatusCode::FORBIDDEN, who);
                }
                let res = send(Some(master.clone())).await;
                assert!(
                    res.status.is_success(),
                    "master key {what}: {} {}",
                    res.status,
                    res.body
                );
            }
            Row::Open => unreachable!(),
        }
    }
}
