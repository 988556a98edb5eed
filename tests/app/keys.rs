//! Personal API keys through the pages: sudo, show-once, rotation, revocation.

use axum::http::{Method, StatusCode};

use crate::helpers::*;

impl Client {
    /// Creates a key (entering sudo first) and returns its token, read from
    /// the page like a person would copy it.
    pub async fn create_key(&mut self, name: &str, scopes: &[&str], expiry: &str) -> String {
        if self.get("/account/keys/new").await.status != StatusCode::OK {
            self.sudo(PASSWORD, "/account/keys/new")
                .await
                .assert_redirect("/account/keys/new");
        }
        let mut fields = vec![("name", name), ("expiry", expiry)];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        let res = self
            .submit("/account/keys/new", "/account/keys", &fields)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let page = self.get(res.location().unwrap()).await;
        token_in(&page.body).expect("the new key is shown")
    }

    pub async fn key_page_path(&mut self, name: &str) -> String {
        let list = self.get("/account/keys").await;
        let marker = format!("\">{name}</a>");
        let end = list.body.find(&marker).unwrap();
        let start = list.body[..end].rfind("href=\"").unwrap() + 6;
        list.body[start..end].to_owned()
    }
}

pub fn token_in(html: &str) -> Option<String> {
    let start = html.find("value=\"gtk_")? + 7;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

async fn me(app: &TestApp, token: &str) -> TestResponse {
    api(&app.router, Method::GET, "/v1/me", Some(token), None).await
}

fn code_of(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn creating_a_key_needs_sudo_and_comes_back_to_the_form_with_its_values() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.get("/account/keys/new")
            .await
            .assert_redirect("/sudo?next=%2Faccount%2Fkeys%2Fnew");
        let res = c
            .submit(
                "/account/keys",
                "/account/keys",
                &[
                    ("name", "nightly export"),
                    ("scopes", "profile:read"),
                    ("expiry", "60"),
                ],
            )
            .await;
        res.assert_redirect("/sudo?next=%2Faccount%2Fkeys%2Fnew");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_keys").await,
            0,
            "never replayed"
        );
        c.sudo(PASSWORD, "/account/keys/new")
            .await
            .assert_redirect("/account/keys/new");
        let form = c.get("/account/keys/new").await;
        assert!(form.contains("value=\"nightly export\""));
        assert!(form.contains("value=\"profile:read\" checked"));
        assert!(form.contains("value=\"60\" checked"));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn an_expired_sudo_window_sends_creation_and_rotation_back_to_sudo() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        app.clock.advance(15 * 60 + 1);
        let res = c
            .submit(
                "/account/keys",
                "/account/keys",
                &[
                    ("name", "late"),
                    ("scopes", "profile:read"),
                    ("expiry", "7"),
                ],
            )
            .await;
        res.assert_redirect("/sudo?next=%2Faccount%2Fkeys%2Fnew");
        let res = c.post(&format!("{path}/rotate"), &[("grace", "0")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().unwrap().starts_with("/sudo?next="));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM api_keys WHERE rotated_at IS NOT NULL")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_token_is_shown_exactly_once_and_stored_only_as_a_digest() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        let again = c.get(&format!("{path}/reveal")).await;
        assert!(token_in(&again.body).is_none());
        assert!(again.contains("no longer displayed"));
        let list = c.get("/account/keys").await;
        assert!(list.contains("gtk_"), "the prefix is listed");
        assert!(token_in(&list.body).is_none());
        let secrets = app
            .count("SELECT COUNT(*) FROM api_keys WHERE length(secret_digest) = 32")
            .await;
        assert_eq!(secrets, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_reaches_the_api_as_its_owner() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c
            .create_key("ci", &["profile:read", "keys:read"], "30")
            .await;
        let res = me(&app, &token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["email"], "ada@example.com");
        assert_eq!(res.headers.get("cache-control").unwrap(), "no-store");
        assert!(
            res.headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let current = api(
            &app.router,
            Method::GET,
            "/v1/keys/current",
            Some(&token),
            None,
        )
        .await;
        let info = json_of(&current);
        assert_eq!(info["name"], "ci");
        assert_eq!(
            info["scopes"],
            serde_json::json!(["profile:read", "keys:read"])
        );
        assert!(!current.body.contains(&token[20..]), "never the secret");
        // Last use is recorded, at most once a minute.
        let page = c.get("/account/keys").await;
        assert!(page.contains("203.0.113.7"));
        app
    })
    .await;
}

#[tokio::test]
async fn bad_keys_get_401_with_a_stable_code_and_a_challenge() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c.create_key("ci", &["profile:read"], "30").await;
        let missing = api(&app.router, Method::GET, "/v1/me", None, None).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(&missing), "missing_token");
        assert!(
            missing
                .headers
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(code_of(&me(&app, "not-a-key").await), "malformed_token");
        // One character changed: the checksum catches it before any lookup.
        let mut tampered: Vec<char> = token.chars().collect();
        let i = tampered.len() - 10;
        tampered[i] = if tampered[i] == 'a' { 'b' } else { 'a' };
        let tampered: String = tampered.into_iter().collect();
        let res = me(&app, &tampered).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(&res), "invalid_checksum");
        // A well-formed key that does not exist.
        let fake = gatehouse::auth::api_key::issue();
        assert_eq!(
            code_of(&me(&app, fake.token.expose()).await),
            "invalid_token"
        );
        // The right public id with another secret.
        let public_id = &token[4..16];
        let forged = gatehouse::auth::api_key::issue_for(public_id);
        assert_eq!(
            code_of(&me(&app, forged.token.expose()).await),
            "invalid_token"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn cookies_do_not_authenticate_the_api() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let res = c.get("/v1/me").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(&res), "missing_token");
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_without_the_scope_gets_403_naming_it() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c.create_key("reader", &["keys:read"], "30").await;
        let res = me(&app, &token).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let body = json_of(&res);
        assert_eq!(body["error"]["code"], "insufficient_scope");
        assert_eq!(body["error"]["scope"], "profile:read");
        assert!(
            res.headers
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
        let patch = api(
            &app.router,
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some("{}"),
        )
        .await;
        assert_eq!(json_of(&patch)["error"]["scope"], "profile:write");
        app
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_fails_at_once_on_every_instance_and_is_audited() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        let detail = c.get(&path).await;
        assert!(detail.contains("will be refused from its next request"));
        c.post(&format!("{path}/revoke"), &[]).await.assert_redirect("/account/keys");
        assert!(c.get("/account/keys").await.contains("was revoked"));
        let other = app.another_instance();
        for router in [&app.router, &other] {
            let res = api(router, Method::GET, "/v1/me", Some(&token), None).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
            assert_eq!(code_of(&res), "token_revoked");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.rejected' AND detail LIKE '%token_revoked%'").await,
            2
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.revoked'").await, 1);
        // Revoked keys stay listed until removed.
        assert!(c.get("/account/keys").await.contains("Revoked"));
        c.submit(&path, &format!("{path}/remove"), &[]).await.assert_redirect("/account/keys");
        assert!(c.get("/account/keys").await.contains("No API keys yet"));
        app
    })
    .await;
}

#[tokio::test]
async fn an_expired_key_gets_token_expired() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let token = c.create_key("weekly", &["profile:read"], "7").await;
        assert!(c.get("/account/keys").await.contains("Expiring soon"));
        app.clock.advance(7 * 86_400);
        let res = me(&app, &token).await;
        assert_eq!(code_of(&res), "token_expired");
        assert!(
            c.login("ada@example.com", PASSWORD)
                .await
                .status
                .is_redirection()
        );
        assert!(c.get("/account/keys").await.contains("Expired"));
        app
    })
    .await;
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_grace_period_only() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let old = c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        let res = c
            .submit(
                &format!("{path}/rotate"),
                &format!("{path}/rotate"),
                &[("grace", "3600")],
            )
            .await;
        let new = token_in(&c.get(res.location().unwrap()).await.body).unwrap();
        assert_eq!(old[..16], new[..16], "same key id");
        assert_ne!(old, new);
        assert_eq!(me(&app, &old).await.status, StatusCode::OK);
        assert_eq!(me(&app, &new).await.status, StatusCode::OK);
        app.clock.advance(3600);
        assert_eq!(code_of(&me(&app, &old).await), "token_rotated");
        assert_eq!(me(&app, &new).await.status, StatusCode::OK);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.rotated'")
                .await,
            1
        );

        // Rotating with no grace period ends the old secret at once. (The
        // hour and the last-seen write interval also ended the idle
        // session: sign in again.)
        app.clock.advance(60);
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        c.sudo(PASSWORD, &format!("{path}/rotate"))
            .await
            .assert_redirect(&format!("{path}/rotate"));
        let res = c
            .submit(
                &format!("{path}/rotate"),
                &format!("{path}/rotate"),
                &[("grace", "0")],
            )
            .await;
        let newest = token_in(&c.get(res.location().unwrap()).await.body).unwrap();
        assert_eq!(me(&app, &new).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &newest).await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_refuses_its_old_secret_in_grace_as_revoked_too() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let old = c.create_key("ci", &["profile:read"], "30").await;
        let path = c.key_page_path("ci").await;
        let res = c
            .submit(
                &format!("{path}/rotate"),
                &format!("{path}/rotate"),
                &[("grace", "3600")],
            )
            .await;
        let new = token_in(&c.get(res.location().unwrap()).await.body).unwrap();
        assert_eq!(me(&app, &old).await.status, StatusCode::OK);
        c.submit(&path, &format!("{path}/revoke"), &[])
            .await
            .assert_redirect("/account/keys");
        // The old secret is still recognised as this key's, so a program
        // using it learns that the key was revoked.
        for token in [&old, &new] {
            let res = me(&app, token).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
            assert_eq!(code_of(&res), "token_revoked");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn another_users_key_is_not_found() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let token = ada.create_key("ci", &["profile:read"], "30").await;
        let path = ada.key_page_path("ci").await;
        let mut eve = signed_in(&app, "eve@example.com", "Eve").await;
        eve.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        assert_eq!(eve.get(&path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            eve.get(&format!("{path}/rotate")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            eve.submit("/account/keys", &format!("{path}/revoke"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            eve.post(&format!("{path}/rotate"), &[("grace", "0")])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn bad_key_forms_are_explained_and_create_nothing() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        c.sudo(PASSWORD, "/account/keys/new")
            .await
            .assert_redirect("/account/keys/new");
        let res = c
            .submit(
                "/account/keys/new",
                "/account/keys",
                &[("name", ""), ("expiry", "never")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Give the key a name"));
        assert!(res.contains("Choose at least one scope."));
        assert!(
            res.contains("Choose when the key expires."),
            "no expiry is off by default"
        );
        let far = c
            .post(
                "/account/keys",
                &[
                    ("name", "x"),
                    ("scopes", "profile:read"),
                    ("expiry", "custom"),
                    ("expires_on", "2028-01-01"),
                ],
            )
            .await;
        assert!(far.contains("at most 365 days"));
        let past = c
            .post(
                "/account/keys",
                &[
                    ("name", "x"),
                    ("scopes", "root"),
                    ("expiry", "custom"),
                    ("expires_on", "2020-01-01"),
                ],
            )
            .await;
        assert!(past.contains("not a known scope"));
        assert!(past.contains("Choose a date in the future."));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
        let ok = c
            .post(
                "/account/keys",
                &[
                    ("name", "dated"),
                    ("scopes", "profile:read"),
                    ("expiry", "custom"),
                    ("expires_on", "2026-12-31"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        app
    })
    .await;
}

#[tokio::test]
async fn key_creation_and_rotation_are_rate_limited() {
    each_engine_with(
        |c| c.key_issues_per_hour = 3,
        |app| async move {
            let mut c = signed_in(&app, "ada@example.com", "Ada").await;
            for i in 0..3 {
                c.create_key(&format!("k{i}"), &["profile:read"], "30")
                    .await;
            }
            let res = c
                .submit(
                    "/account/keys/new",
                    "/account/keys",
                    &[("name", "k4"), ("scopes", "profile:read"), ("expiry", "30")],
                )
                .await;
            assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(res.contains("Too many attempts"));
            assert!(res.headers.get("retry-after").is_some());
            assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 3);
            app
        },
    )
    .await;
}
