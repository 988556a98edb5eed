//! The `/ops` rows, and the public and operations surfaces. The operator
//! console is the plain 404 for everyone but an operator (anonymous
//! included), sends an operator without sudo to `/sudo`, and serves an
//! operator in sudo; each form is posted with valid fields.

use gatehouse::router::tables;

use super::{Expect, World, call, check, snapshot};
use crate::helpers::*;
use crate::orgs::org_id;

/// Every `/ops` route, with the form an operator posts to it (page, fields).
#[allow(clippy::type_complexity)]
pub fn row(
    method: &str,
    path: &str,
) -> Option<Option<(&'static str, Vec<(&'static str, &'static str)>)>> {
    let reason = ("reason", "Support ticket 42");
    Some(match (method, path) {
        ("GET", "/ops")
        | ("GET", "/ops/users")
        | ("GET", "/ops/users/{id}")
        | ("GET", "/ops/orgs")
        | ("GET", "/ops/orgs/{id}")
        | ("GET", "/ops/accounts/new")
        | ("GET", "/ops/accounts/{id}/created")
        | ("GET", "/ops/flags")
        | ("GET", "/ops/master-keys")
        | ("GET", "/ops/outbox")
        | ("GET", "/ops/audit") => None,
        ("POST", "/ops/users/{id}/view") => Some(("/ops/users/{id}", vec![reason])),
        ("POST", "/ops/users/{id}/disable") => Some(("/ops/users/{id}", vec![reason])),
        ("POST", "/ops/users/{id}/enable") => Some(("/ops/users/{id}", vec![reason])),
        // Support tools: the safe ones act at once; the dangerous ones
        // answer their confirmation page (served) until confirmed.
        ("POST", "/ops/users/{id}/reset-mfa")
        | ("POST", "/ops/users/{id}/clear-lockouts")
        | ("POST", "/ops/users/{id}/sign-out")
        | ("POST", "/ops/users/{id}/require-password-change")
        | ("POST", "/ops/users/{id}/send-setup-link")
        | ("POST", "/ops/users/{id}/delete")
        | ("POST", "/ops/users/{id}/keys/{key}/revoke") => Some(("/ops/users/{id}", vec![reason])),
        ("POST", "/ops/orgs/{id}/view")
        | ("POST", "/ops/orgs/{id}/disable")
        | ("POST", "/ops/orgs/{id}/enable")
        | ("POST", "/ops/orgs/{id}/restore") => Some(("/ops/orgs/{id}", vec![reason])),
        ("POST", "/ops/accounts") => Some((
            "/ops/accounts/new",
            vec![
                ("email", "newcomer@example.com"),
                ("display_name", "Newcomer"),
                reason,
            ],
        )),
        ("POST", "/ops/flags/{name}") => Some(("/ops/flags", vec![("enabled", "true"), reason])),
        ("POST", "/ops/master-keys/{public_id}/revoke") => Some(("/ops/master-keys", vec![reason])),
        _ => return None,
    })
}

/// The public and operations surfaces: reachable without signing in.
pub fn public_row(method: &str, path: &str) -> Option<Expect> {
    Some(match (method, path) {
        ("GET", "/") => Expect::Served,
        ("GET", "/login")
        | ("GET", "/signup")
        | ("GET", "/account/deleted")
        | ("GET", "/healthz")
        | ("GET", "/readyz")
        | ("GET", "/static/app.css")
        | ("GET", "/static/passkeys.js")
        | ("GET", "/favicon.ico")
        | ("GET", "/static/favicon.svg") => Expect::Served,
        // Without a pending sign-in there is no challenge to answer.
        ("GET", "/login/mfa") | ("POST", "/login/mfa") | ("POST", "/login/mfa/passkey") => {
            Expect::SignIn
        }
        // Without a passkey's response: the sign-in page again, with 422.
        ("POST", "/login/passkey") => Expect::Served,
        // A token that matches no invitation.
        ("GET", "/invitations/{token}") => Expect::NotFound,
        // Accepting needs an account first.
        ("POST", "/invitations/{token}") => Expect::SignIn,
        ("POST", "/login") | ("POST", "/signup") => Expect::Served,
        // Asking for a reset link is for anyone (a form without its email
        // field answers 422); a token that matches no link is not found.
        ("GET", "/password/forgot") | ("POST", "/password/forgot") => Expect::Served,
        ("GET", "/password/reset/{token}")
        | ("POST", "/password/reset/{token}")
        | ("GET", "/password/setup/{token}")
        | ("POST", "/password/setup/{token}")
        | ("GET", "/email/verify/{token}")
        | ("POST", "/email/verify/{token}")
        | ("GET", "/email/change/{token}")
        | ("POST", "/email/change/{token}") => Expect::NotFound,
        // Sudo and sign-out are for someone signed in.
        ("GET", "/sudo")
        | ("POST", "/logout")
        | ("POST", "/sudo")
        | ("POST", "/sudo/passkey")
        | ("POST", "/sudo/leave") => Expect::SignIn,
        _ => return None,
    })
}

pub async fn walk_public(_app: &TestApp, w: &mut World) {
    for table in [tables::public(), tables::operations()] {
        for (method, path) in table.routes() {
            let expect = public_row(method, path).unwrap();
            let url = path.replace("{token}", "gti_nothing-here");
            // A fresh token, so that a refusal is the route's and not CSRF's.
            w.anonymous
                .get("/login")
                .await
                .assert_status(axum::http::StatusCode::OK);
            let res = call(&mut w.anonymous, method, &url).await;
            check(expect, &res, &format!("anonymous {method} {path}"));
        }
    }
}

pub async fn walk(app: &TestApp, w: &mut World) {
    let table = super::ordered(&tables::ops());
    // Zed has a key, for the operator's "revoke one key" route.
    let mut zed_c = signed_in(app, "zed@example.com", "Zed").await;
    let zed_key = zed_c.create_key("zed", &["profile:read"], "30").await;
    let zed_key = zed_key.split('_').nth(1).unwrap().to_owned();
    let zed = crate::orgs::user_id(app, "zed@example.com")
        .await
        .to_string();
    let acme = org_id(app, "acme").await.to_string();
    let master = gatehouse::operators::create_master_key(app.db(), "matrix", 30, START)
        .await
        .unwrap();
    let master = master.token.expose().split('_').nth(1).unwrap().to_owned();
    let fill = |path: &str| {
        let id = if path.starts_with("/ops/orgs") {
            &acme
        } else {
            &zed
        };
        path.replace("{id}", id)
            .replace("{name}", "account-registration")
            .replace("{public_id}", &master)
            .replace("{key}", &zed_key)
    };

    let before = snapshot(app).await;
    for (method, path) in &table {
        let url = fill(path);
        let what = format!("{method} {path}");
        let res = call(&mut w.anonymous, method, &url).await;
        check(Expect::NotFound, &res, &format!("anonymous {what}"));
        for (who, c) in w.signed_in() {
            if who == "operator" {
                continue;
            }
            c.get("/account").await;
            let res = call(c, method, &url).await;
            check(Expect::NotFound, &res, &format!("{who} {what}"));
            assert!(!res.contains("zed@example.com"), "{who} {what} leaked data");
        }
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a non-operator changed something"
    );

    // Without sudo, an operator is sent to enter it first.
    w.operator
        .submit("/account", "/sudo/leave", &[])
        .await
        .assert_status(axum::http::StatusCode::SEE_OTHER);
    w.operator.get("/account").await;
    for (method, path) in &table {
        let res = call(&mut w.operator, method, &fill(path)).await;
        check(
            Expect::Sudo,
            &res,
            &format!("operator without sudo {method} {path}"),
        );
    }
    w.operator
        .sudo(PASSWORD, "/ops")
        .await
        .assert_redirect("/ops");

    for (method, path) in &table {
        let url = fill(path);
        let what = format!("operator {method} {path}");
        match row(method, path).unwrap() {
            None => check(Expect::Done, &w.operator.get(&url).await, &what),
            Some((page, fields)) => {
                let res = w.operator.submit(&fill(page), &url, &fields).await;
                check(Expect::Done, &res, &what);
            }
        }
    }
}
