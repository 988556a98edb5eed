//! The `/account` rows: anonymous is sent to sign in; every signed-in
//! persona is served its own account; a route naming a key or a session
//! answers 404 to everyone but the person it belongs to, and changes
//! nothing; the owner of the account posts each form with valid fields.

use gatehouse::router::tables;

use super::{Expect, World, call, check, snapshot};
use crate::helpers::*;
use crate::sessions::handles_in;

/// Whether a route names something of one person (a key, a session).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Row {
    /// The caller's own account: served to every signed-in persona.
    Mine,
    /// Names one person's key or session: 404 for anyone else.
    Theirs,
}

pub fn row(method: &str, path: &str) -> Option<Row> {
    use Row::*;
    Some(match (method, path) {
        ("GET", "/account")
        | ("POST", "/account/email/verify")
        | ("GET", "/account/profile")
        | ("POST", "/account/profile")
        | ("GET", "/account/profile/email")
        | ("POST", "/account/profile/email")
        | ("GET", "/account/notifications")
        | ("POST", "/account/notifications")
        | ("GET", "/account/security")
        | ("GET", "/account/security/password")
        | ("POST", "/account/security/password")
        | ("GET", "/account/sessions")
        | ("POST", "/account/sessions/revoke-others")
        | ("GET", "/account/delete")
        | ("POST", "/account/delete")
        | ("GET", "/account/export")
        | ("POST", "/account/export")
        | ("GET", "/account/orgs")
        | ("POST", "/account/orgs")
        | ("GET", "/account/keys")
        | ("POST", "/account/keys")
        | ("GET", "/account/keys/new")
        | ("GET", "/account/security/mfa/setup")
        | ("POST", "/account/security/mfa/setup")
        | ("GET", "/account/security/mfa/backup-codes")
        | ("POST", "/account/security/mfa/backup-codes")
        | ("GET", "/account/security/mfa/backup-codes.txt")
        | ("GET", "/account/security/mfa/disable")
        | ("POST", "/account/security/mfa/disable")
        | ("GET", "/account/security/passkeys/new")
        | ("POST", "/account/security/passkeys") => Mine,
        ("POST", "/account/sessions/{handle}/revoke")
        | ("GET", "/account/keys/{id}")
        | ("GET", "/account/keys/{id}/reveal")
        | ("GET", "/account/keys/{id}/rotate")
        | ("POST", "/account/keys/{id}/rotate")
        | ("POST", "/account/keys/{id}/workspaces")
        | ("POST", "/account/keys/{id}/workspaces/{ws}/remove")
        | ("POST", "/account/keys/{id}/revoke")
        | ("POST", "/account/keys/{id}/remove")
        | ("POST", "/account/security/passkeys/{id}/rename")
        | ("POST", "/account/security/passkeys/{id}/remove") => Theirs,
        _ => return None,
    })
}

/// How the owner of an account posts each form: (route, form page, fields,
/// needs sudo). `None` for a form that re-checks a secret (password or MFA
/// code) and so is only shown to reach its handler (422 without it) here;
/// its own tests post it for real.
#[allow(clippy::type_complexity)]
fn owner_posts() -> Vec<(
    &'static str,
    Option<(&'static str, Vec<(&'static str, &'static str)>, bool)>,
)> {
    vec![
        // First, while Ada is in sudo from the start: she has a passkey
        // (and no TOTP) only until it is removed here, and sudo by password
        // alone is refused to a passkey-only account. Its own tests check
        // that removal needs sudo.
        (
            "/account/security/passkeys/{id}/rename",
            Some(("/account/security", vec![("name", "Phone")], false)),
        ),
        (
            "/account/security/passkeys/{id}/remove",
            Some(("/account/security", vec![], false)),
        ),
        // Needs an authenticator's response: tests/app/passkeys.rs.
        ("/account/security/passkeys", None),
        (
            "/account/profile",
            Some((
                "/account/profile",
                vec![
                    ("display_name", "Ada L."),
                    ("phone", ""),
                    ("job_title", ""),
                    ("time_zone", "UTC"),
                ],
                false,
            )),
        ),
        // Asks for the change only: the address stays until the link
        // sent to the new one is followed (tests/app/email_change.rs).
        (
            "/account/profile/email",
            Some((
                "/account/profile/email",
                vec![("email", "ada.new@example.com")],
                true,
            )),
        ),
        (
            "/account/notifications",
            Some(("/account/notifications", vec![], false)),
        ),
        // "Send the verification link again" (Ada's address is unverified).
        ("/account/email/verify", Some(("/account", vec![], false))),
        (
            "/account/orgs",
            Some((
                "/account/orgs",
                vec![("name", "Initech"), ("slug", "initech")],
                false,
            )),
        ),
        (
            "/account/keys",
            Some((
                "/account/keys/new",
                vec![
                    ("name", "second"),
                    ("expiry", "30"),
                    ("scopes", "profile:read"),
                ],
                true,
            )),
        ),
        (
            "/account/keys/{id}/rotate",
            Some(("/account/keys/{id}/rotate", vec![("grace", "0")], true)),
        ),
        // Granting a workspace widens the key: sudo. Taking it away does not.
        (
            "/account/keys/{id}/workspaces",
            Some(("/account/keys/{id}", vec![("workspace", "{ws_id}")], true)),
        ),
        (
            "/account/keys/{id}/workspaces/{ws}/remove",
            Some(("/account/keys/{id}", vec![], false)),
        ),
        (
            "/account/keys/{id}/revoke",
            Some(("/account/keys/{id}", vec![], false)),
        ),
        (
            "/account/keys/{id}/remove",
            Some(("/account/keys/{id}", vec![], false)),
        ),
        (
            "/account/sessions/{handle}/revoke",
            Some(("/account/sessions", vec![], false)),
        ),
        (
            "/account/sessions/revoke-others",
            Some(("/account/sessions", vec![], false)),
        ),
        ("/account/security/password", None),
        ("/account/export", None),
        ("/account/delete", None),
        ("/account/security/mfa/setup", None),
        ("/account/security/mfa/backup-codes", None),
        ("/account/security/mfa/disable", None),
    ]
}

pub async fn walk(app: &TestApp, w: &mut World) {
    let table = super::ordered(&tables::account());
    let posts = owner_posts();
    // Everyone in sudo, so the pages that need it open.
    for (_, c) in w.signed_in() {
        c.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
    }
    // Ada's key (bound to acme, so that it can be granted its `default`
    // workspace) and a second browser's session, to be named by others.
    let res = w
        .owner
        .submit(
            "/account/keys/new",
            "/account/keys",
            &[
                ("name", "matrix"),
                ("expiry", "30"),
                ("org", "acme"),
                ("scopes", "agents:read"),
            ],
        )
        .await;
    assert_eq!(
        res.status,
        axum::http::StatusCode::SEE_OTHER,
        "{}",
        res.body
    );
    let ws_id = super::id_where(
        app,
        "SELECT w.id FROM workspaces w JOIN orgs o ON o.id = w.org_id \
         WHERE o.slug = 'acme' AND w.slug = $1",
        "default",
    )
    .await;
    let key_page = w.owner.key_page_path("matrix").await;
    let key = key_page.rsplit('/').next().unwrap().to_owned();
    let mut second = app.client();
    second
        .login("ada@example.com", PASSWORD)
        .await
        .assert_redirect("/account");
    let handles = handles_in(&w.owner.get("/account/sessions").await.body);
    let handle = handles
        .first()
        .expect("the other browser's session")
        .clone();
    // Ada's passkey, to be named by others (and renamed, then removed, by
    // her first of all).
    w.owner.add_passkey("matrix").await;
    let passkey = super::id_where(app, "SELECT id FROM passkeys WHERE name = $1", "matrix").await;
    let fill = |path: &str| {
        let path = if path.starts_with("/account/security/passkeys/{id}") {
            path.replace("{id}", "{passkey}")
        } else {
            path.to_owned()
        };
        path.replace("{passkey}", &passkey)
            .replace("{id}", &key)
            .replace("{handle}", &handle)
            .replace("{ws_id}", &ws_id)
            .replace("{ws}", "default")
    };

    for (method, path) in &table {
        assert!(
            *method == "GET" || posts.iter().any(|(route, _)| route == path),
            "no owner form for POST {path}"
        );
        let what = format!("{method} {path}");
        let url = fill(path);
        check(
            Expect::SignIn,
            &call(&mut w.anonymous, method, &url).await,
            &format!("anonymous {what}"),
        );
        let before = snapshot(app).await;
        for (who, c) in w.signed_in() {
            let mine = who == "owner";
            match row(method, path).unwrap() {
                Row::Mine if *method == "GET" => {
                    check(Expect::Served, &c.get(&url).await, &format!("{who} {what}"));
                }
                // Posted for real by the owner below.
                Row::Mine => {}
                Row::Theirs if mine => {
                    if *method == "GET" {
                        check(Expect::Served, &c.get(&url).await, &format!("{who} {what}"));
                    }
                }
                Row::Theirs => {
                    c.get("/account").await;
                    let res = call(c, method, &url).await;
                    check(Expect::NotFound, &res, &format!("{who} {what} (Ada's)"));
                    assert!(!res.contains("matrix"), "{who} {what} leaked Ada's key");
                }
            }
        }
        if method == &"POST" {
            assert_eq!(
                snapshot(app).await,
                before,
                "someone else's {what} changed something"
            );
        }
    }

    for (route, form) in &posts {
        let what = format!("owner POST {route}");
        let action = fill(route);
        match form {
            Some((page, fields, sudo)) => {
                let page = fill(page);
                let filled: Vec<(&str, String)> =
                    fields.iter().map(|(k, v)| (*k, fill(v))).collect();
                let fields: Vec<(&str, &str)> =
                    filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let fields = &fields;
                if *sudo {
                    w.owner
                        .submit(&page, "/sudo/leave", &[])
                        .await
                        .assert_status(axum::http::StatusCode::SEE_OTHER);
                    w.owner.get("/account").await;
                    let res = w.owner.post(&action, fields).await;
                    check(Expect::Sudo, &res, &format!("{what} without sudo"));
                    w.owner.sudo(PASSWORD, &page).await.assert_redirect(&page);
                }
                let before = super::effects(app).await;
                let res = w.owner.submit(&page, &action, fields).await;
                check(Expect::Done, &res, &what);
                // Served means done: something changed, or was audited.
                assert_ne!(super::effects(app).await, before, "{what} did nothing");
            }
            None => {
                for (who, c) in w.signed_in() {
                    c.get("/account").await;
                    let res = c.post(&action, &[]).await;
                    check(Expect::Served, &res, &format!("{who} {what} (no fields)"));
                }
            }
        }
    }
    // The second browser was signed out by the owner.
    check(
        Expect::SignIn,
        &second.get("/account").await,
        "a revoked session",
    );
}
