//! The org console's rows: every `/orgs` route × {anonymous, no-org user,
//! other org's member and owner, operator, member, owner}; every POST as an
//! owner with a valid form (through the sudo redirect where it needs sudo);
//! and every id-taking route with another org's ids, which is 404 and
//! changes nothing.

use gatehouse::router::tables;

use super::{Expect, World, call, check, snapshot};
use crate::helpers::*;
use crate::orgs::add_member;

/// The expectation for members and owners on each route: (member, owner).
pub fn row(method: &str, path: &str) -> Option<(Expect, Expect)> {
    use Expect::*;
    Some(match (method, path) {
        ("GET", "/orgs/{slug}") => (Served, Served),
        ("POST", "/orgs/{slug}/leave") => (Served, Served),
        ("GET", "/orgs/{slug}/members") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/members/{id}") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/members/{id}/role") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/members/{id}/remove") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/members/{id}/keys/{key}/revoke") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/teams") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/teams/{id}") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/rename") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/delete") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/restore") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/members") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/members/{user}/remove") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/service-accounts") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/teams/{id}/service-accounts/{sa}/remove") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts/{id}/role") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/roles") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/roles") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/roles/{id}") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/roles/{id}") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/roles/{id}/delete") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/invitations") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/invitations") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/invitations/{id}/revoke") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/settings") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/settings/scim") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings/scim") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings/scim/{token}/revoke") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings/rename") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/settings/transfer") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings/transfer") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/settings/delete") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings/delete") => (Forbidden, Served),
        // Only a deleted org can be restored: a live one is 404 for all.
        ("POST", "/orgs/{slug}/restore") => (NotFound, NotFound),
        ("GET", "/orgs/{slug}/service-accounts") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/service-accounts/{id}") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts/{id}/delete") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/service-accounts/{id}/keys/new") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts/{id}/keys") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/service-accounts/{id}/keys/{key}/reveal") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/service-accounts/{id}/keys/{key}/revoke") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/audit") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/audit.csv") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/audit.json") => (Forbidden, Served),
        _ => return None,
    })
}

/// Ids to put in a path: the team, member, service account, key and
/// invitation it names.
struct Ids<'a> {
    team: &'a str,
    member: &'a str,
    sa: &'a str,
    sa_key: &'a str,
    member_key: &'a str,
    invitation: &'a str,
    role: &'a str,
    scim_token: &'a str,
}

fn fill(path: &str, ids: &Ids) -> String {
    let (id, key) = if path.starts_with("/orgs/{slug}/teams") {
        (ids.team, "AAAAAAAAAAAA")
    } else if path.starts_with("/orgs/{slug}/service-accounts") {
        (ids.sa, ids.sa_key)
    } else if path.starts_with("/orgs/{slug}/invitations") {
        (ids.invitation, "AAAAAAAAAAAA")
    } else if path.starts_with("/orgs/{slug}/roles") {
        (ids.role, "AAAAAAAAAAAA")
    } else {
        (ids.member, ids.member_key)
    };
    path.replace("{slug}", "acme")
        .replace("{id}", id)
        .replace("{user}", ids.member)
        .replace("{sa}", ids.sa)
        .replace("{key}", key)
        .replace("{token}", ids.scim_token)
}

type OwnerPost = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    bool,
);

/// How an owner posts each form: (route, the page holding the form, its
/// fields, whether it needs sudo), in an order where each step leaves what
/// the next needs.
fn owner_posts() -> Vec<OwnerPost> {
    let sa = "/orgs/{slug}/service-accounts/{id}";
    vec![
        (
            "/orgs/{slug}/teams",
            "/orgs/{slug}/teams",
            vec![("name", "Platform")],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/rename",
            "/orgs/{slug}/teams/{id}",
            vec![("name", "R and D")],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/members",
            "/orgs/{slug}/teams/{id}",
            vec![("email", "grace@example.com")],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/members/{user}/remove",
            "/orgs/{slug}/teams/{id}",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/service-accounts",
            "/orgs/{slug}/teams/{id}",
            vec![("service_account", "{sa}")],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/service-accounts/{sa}/remove",
            "/orgs/{slug}/teams/{id}",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/teams/{id}/delete",
            "/orgs/{slug}/teams/{id}",
            vec![],
            true,
        ),
        (
            "/orgs/{slug}/teams/{id}/restore",
            "/orgs/{slug}/teams",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/roles",
            "/orgs/{slug}/roles",
            vec![("name", "Operator"), ("permissions", "agents:run")],
            true,
        ),
        (
            "/orgs/{slug}/roles/{id}",
            "/orgs/{slug}/roles/{id}",
            vec![("name", "Auditors"), ("permissions", "runs:read")],
            true,
        ),
        (
            "/orgs/{slug}/roles/{id}/delete",
            "/orgs/{slug}/roles/{id}",
            vec![],
            true,
        ),
        (
            "/orgs/{slug}/invitations",
            "/orgs/{slug}/invitations",
            vec![("email", "another@example.com"), ("role", "member")],
            true,
        ),
        (
            "/orgs/{slug}/invitations/{id}/revoke",
            "/orgs/{slug}/invitations",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/settings",
            "/orgs/{slug}/settings",
            vec![("max_key_lifetime_days", "90")],
            false,
        ),
        (
            "/orgs/{slug}/settings/rename",
            "/orgs/{slug}/settings",
            vec![("name", "Acme Corporation"), ("slug", "acme")],
            false,
        ),
        (
            "/orgs/{slug}/settings/scim",
            "/orgs/{slug}/settings/scim",
            vec![("name", "Second IdP")],
            true,
        ),
        (
            "/orgs/{slug}/settings/scim/{token}/revoke",
            "/orgs/{slug}/settings/scim",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/service-accounts",
            "/orgs/{slug}/service-accounts",
            vec![("name", "Build bot"), ("description", "")],
            true,
        ),
        (
            "/orgs/{slug}/service-accounts/{id}/keys",
            "/orgs/{slug}/service-accounts/{id}/keys/new",
            vec![
                ("name", "robot 2"),
                ("expiry", "30"),
                ("scopes", "teams:read"),
            ],
            true,
        ),
        (
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
            vec![("grace", "0")],
            true,
        ),
        (
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/revoke",
            sa,
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/service-accounts/{id}/role",
            sa,
            vec![("role", "owner")],
            true,
        ),
        (
            "/orgs/{slug}/service-accounts/{id}/delete",
            sa,
            vec![],
            true,
        ),
        (
            "/orgs/{slug}/members/{id}/role",
            "/orgs/{slug}/members/{id}",
            vec![("role", "owner")],
            true,
        ),
        (
            "/orgs/{slug}/members/{id}/keys/{key}/revoke",
            "/orgs/{slug}/members/{id}",
            vec![],
            false,
        ),
        (
            "/orgs/{slug}/members/{id}/remove",
            "/orgs/{slug}/members/{id}",
            vec![],
            false,
        ),
        // Ada deletes acme and restores it (from her account page), then
        // hands her ownership to Ann and stays a member.
        (
            "/orgs/{slug}/settings/delete",
            "/orgs/{slug}/settings/delete",
            vec![("confirm", "acme")],
            true,
        ),
        ("/orgs/{slug}/restore", "/account/orgs", vec![], true),
        (
            "/orgs/{slug}/settings/transfer",
            "/orgs/{slug}/settings/transfer",
            vec![("email", "ann@example.com")],
            true,
        ),
        // Ann is an owner, so Ada may leave; she leaves last.
        ("/orgs/{slug}/leave", "/orgs/{slug}", vec![], false),
    ]
}

pub async fn walk(app: &TestApp, w: &mut World) {
    let table = super::ordered(&tables::orgs());
    let posts = owner_posts();
    for (method, path) in &table {
        if *method == "POST" {
            assert!(
                posts.iter().any(|(route, ..)| route == path),
                "no owner form for POST {path}"
            );
        }
    }
    let fields_of = |path: &str| {
        posts
            .iter()
            .find(|(route, ..)| *route == path)
            .map(|(_, _, fields, _)| fields.clone())
            .unwrap_or_default()
    };

    // Another org's ids under acme's slug: 404, nothing shown, nothing
    // changed, even with a valid form (the owner is in sudo here).
    let before = snapshot(app).await;
    let foreign = [
        Ids {
            team: &w.globex_team,
            member: &w.oscar_id,
            sa: &w.globex_sa,
            sa_key: &w.globex_sa_key,
            member_key: &w.globex_sa_key,
            invitation: &w.globex_invitation,
            role: &w.globex_role,
            scim_token: &w.globex_scim_token,
        },
        // acme's member and service account with globex's keys.
        Ids {
            team: &w.globex_team,
            member: &w.grace_id,
            sa: &w.sa,
            sa_key: &w.globex_sa_key,
            member_key: &w.globex_member_key,
            invitation: &w.globex_invitation,
            role: &w.globex_role,
            scim_token: &w.globex_scim_token,
        },
    ];
    for (i, ids) in foreign.iter().enumerate() {
        for (method, path) in &table {
            let names_one = if i == 0 {
                path.contains("{id}")
                    || path.contains("{user}")
                    || path.contains("{key}")
                    || path.contains("{token}")
            } else {
                path.contains("{key}")
            };
            if !names_one {
                continue;
            }
            let url = fill(path, ids);
            let res = if *method == "GET" {
                w.owner.get(&url).await
            } else {
                let fields = fields_of(path);
                w.owner.post(&url, &fields).await
            };
            let what = format!("owner with another org's id {method} {path} ({url})");
            check(Expect::NotFound, &res, &what);
            assert!(
                !res.contains("Secret project") && !res.contains("oscar@example.com"),
                "{what} leaked data"
            );
        }
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a foreign id changed something"
    );

    let own = Ids {
        team: &w.team,
        member: &w.grace_id,
        sa: &w.sa,
        sa_key: &w.sa_key,
        member_key: "AAAAAAAAAAAA",
        invitation: &w.invitation,
        role: &w.role,
        scim_token: &w.scim_token,
    };
    for (method, path) in table.iter().filter(|(m, _)| *m == "GET") {
        let (_, owner) = row(method, path).unwrap();
        let res = w.owner.get(&fill(path, &own)).await;
        check(owner, &res, &format!("owner {method} {path}"));
    }

    for (method, path) in &table {
        let (member, _) = row(method, path).unwrap();
        let url = fill(path, &own);
        let what = format!("{method} {path}");
        check(
            Expect::SignIn,
            &call(&mut w.anonymous, method, &url).await,
            &format!("anonymous {what}"),
        );
        for (who, c) in [
            ("no-org user", &mut w.no_org),
            ("other org's member", &mut w.other_member),
            ("other org's owner", &mut w.other_owner),
            ("operator", &mut w.operator),
        ] {
            let res = call(c, method, &url).await;
            check(Expect::NotFound, &res, &format!("{who} {what}"));
            assert!(
                !res.contains("Acme") && !res.contains("grace@example.com"),
                "{who} {what} leaked data"
            );
        }
        let res = call(&mut w.member, method, &url).await;
        check(member, &res, &format!("member {what}"));
        if member == Expect::Forbidden {
            assert!(
                !res.contains("ada@example.com"),
                "member {what} leaked data"
            );
        }
    }

    // Grace left above; she comes back with a key bound to acme for the
    // owner to revoke.
    add_member(app, "acme", "grace@example.com", "member").await;
    let grace_key = w
        .member
        .create_bound_key(&["teams:read"], "acme", &[])
        .await;
    let grace_key = crate::service_accounts::public_id(&grace_key).to_owned();
    let rotated = w.sa_key.clone();
    let own = Ids {
        member_key: &grace_key,
        sa_key: &rotated,
        ..own
    };
    for (route, page, fields, sudo) in &posts {
        let action = fill(route, &own);
        let page = fill(page, &own);
        let what = format!("owner POST {route}");
        let filled: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, fill(v, &own))).collect();
        let fields: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if *sudo {
            w.owner
                .submit(&page, "/sudo/leave", &[])
                .await
                .assert_status(axum::http::StatusCode::SEE_OTHER);
            w.owner
                .get(&format!("/orgs/acme/service-accounts/{}", w.sa))
                .await;
            let res = w.owner.post(&action, &fields).await;
            check(Expect::Sudo, &res, &format!("{what} without sudo"));
            w.owner.sudo(PASSWORD, &page).await.assert_redirect(&page);
        }
        let before = super::effects(app).await;
        let res = w.owner.submit(&page, &action, &fields).await;
        check(Expect::Done, &res, &what);
        // Served means done: something changed, or was audited.
        assert_ne!(super::effects(app).await, before, "{what} did nothing");
    }
}
