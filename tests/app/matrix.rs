//! The authorization matrix: every org route × {anonymous, signed-in
//! non-member, owner of another org, member, owner}, plus every id-taking
//! route with ids from another org. The routes come from the router's own
//! table, so a new route without an entry here fails the test.

use axum::http::StatusCode;

use crate::helpers::*;
use crate::orgs::{two_orgs, user_id};

/// What each persona gets on a route.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Sent to sign in.
    SignIn,
    NotFound,
    Forbidden,
    /// Served (2xx, or a redirect back into the console after a POST).
    Served,
}

/// The expectation for members and owners on each route: (member, owner).
fn matrix(method: &str, path: &str) -> Option<(Expect, Expect)> {
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
        ("GET", "/orgs/{slug}/invitations") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/invitations") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/invitations/{id}/revoke") => (Forbidden, Served),
        ("GET", "/orgs/{slug}/settings") => (Forbidden, Served),
        ("POST", "/orgs/{slug}/settings") => (Forbidden, Served),
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

fn check(expect: Expect, res: &TestResponse, what: &str) {
    let ok = match expect {
        Expect::SignIn => {
            res.status == StatusCode::SEE_OTHER
                && res.location().is_some_and(|l| l.starts_with("/login"))
        }
        Expect::NotFound => res.status == StatusCode::NOT_FOUND,
        Expect::Forbidden => res.status == StatusCode::FORBIDDEN,
        Expect::Served => {
            res.status.is_success()
                || (res.status == StatusCode::SEE_OTHER
                    && !res.location().unwrap_or("").starts_with("/login"))
                || res.status == StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    assert!(
        ok,
        "{what}: expected {expect:?}, got {} {:?}",
        res.status,
        res.location()
    );
}

async fn call(c: &mut Client, method: &str, path: &str) -> TestResponse {
    if method == "GET" {
        c.get(path).await
    } else {
        c.post(path, &[]).await
    }
}

#[tokio::test]
async fn every_org_route_answers_each_persona_as_the_matrix_says() {
    each_engine(|app| async move {
        let orgs = gatehouse::router::tables::orgs();
        let table: Vec<(&str, &str)> = orgs
            .routes()
            .iter()
            .map(|(m, p)| (*m, p.as_str()))
            .collect();
        for (method, path) in &table {
            assert!(
                matrix(method, path).is_some(),
                "no matrix entry for {method} {path}"
            );
        }

        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        let globex_team = olga.create_team("globex", "Secret project").await;
        let sa = ada.create_service_account("acme", "Deploy bot").await;
        let sa_key = ada.create_sa_key("acme", &sa, &["teams:read"], &[]).await;
        let sa_key = crate::service_accounts::public_id(&sa_key).to_owned();
        let globex_sa = olga
            .create_service_account("globex", "Secret project bot")
            .await;
        let grace_id = user_id(&app, "grace@example.com").await.to_string();
        let oscar_id = user_id(&app, "oscar@example.com").await.to_string();
        let mut stranger = signed_in(&app, "eve@example.com", "Eve").await;
        let mut anonymous = app.client();
        assert_eq!(anonymous.get("/login").await.status, StatusCode::OK);

        // Ids of acme (team, member, service account) or of globex.
        let fill = |path: &str, id_team: &str, id_member: &str, id_sa: &str| {
            let (id, key) = if path.starts_with("/orgs/{slug}/teams") {
                (id_team, "AAAAAAAAAAAA")
            } else if path.starts_with("/orgs/{slug}/service-accounts") {
                (id_sa, sa_key.as_str())
            } else {
                (id_member, "AAAAAAAAAAAA")
            };
            path.replace("{slug}", "acme")
                .replace("{id}", id)
                .replace("{user}", id_member)
                .replace("{key}", key)
        };

        // Requests that change state run last for each persona.
        let mut ordered = table.clone();
        ordered.sort_by_key(|(m, p)| {
            let destructive = p.ends_with("/remove") || p.ends_with("/delete");
            (
                p.ends_with("/leave"),
                *m == "POST" && destructive,
                *m == "POST",
            )
        });

        // Owners: every page is served; every id from the other org is 404.
        for (method, path) in &ordered {
            let (_, owner) = matrix(method, path).unwrap();
            if path.contains('{')
                && path != &"/orgs/{slug}"
                && (path.contains("{id}") || path.contains("{user}"))
            {
                let foreign = fill(path, &globex_team, &oscar_id, &globex_sa);
                let res = call(&mut ada, method, &foreign).await;
                check(
                    Expect::NotFound,
                    &res,
                    &format!("owner with another org's id {method} {path}"),
                );
                assert!(!res.contains("Secret project") && !res.contains("oscar@example.com"));
            }
            if *method == "GET" {
                check(
                    owner,
                    &call(&mut ada, method, &fill(path, &team, &grace_id, &sa)).await,
                    &format!("owner {method} {path}"),
                );
            }
        }

        for (method, path) in &ordered {
            let (member, _owner) = matrix(method, path).unwrap();
            let url = fill(path, &team, &grace_id, &sa);
            let what = format!("{method} {path}");
            check(
                Expect::SignIn,
                &call(&mut anonymous, method, &url).await,
                &format!("anonymous {what}"),
            );
            for (who, c) in [
                ("non-member", &mut stranger),
                ("other org's owner", &mut olga),
            ] {
                let res = call(c, method, &url).await;
                check(Expect::NotFound, &res, &format!("{who} {what}"));
                assert!(
                    !res.contains("Acme") && !res.contains("grace@example.com"),
                    "{who} {what} leaked data"
                );
            }
            let res = call(&mut grace, method, &url).await;
            check(member, &res, &format!("member {what}"));
            if member == Expect::Forbidden {
                assert!(
                    !res.contains("ada@example.com"),
                    "member {what} leaked data"
                );
            }
        }

        app
    })
    .await;
}
