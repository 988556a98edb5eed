//! Passkeys, end to end through the pages, with a software authenticator
//! built here (ES256 keys, "none" attestation, hand-built authenticator
//! data): registration in sudo, passwordless sign-in, the MFA step, sudo,
//! and each refusal — another origin, another RP id, a replayed response, a
//! counter that goes back, another user's credential, the last factor of a
//! member of an org that requires MFA.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use gatehouse::clock::Clock;

use crate::helpers::*;

/// The test app's public URL, and so the only accepted origin.
pub const ORIGIN: &str = "http://localhost:8080";
const RP_ID: &str = "localhost";

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// A passkey on a software authenticator: its key, its id, the user handle
/// it was made for, and its signature counter.
pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    pub counter: u32,
    /// What the "browser" puts in clientDataJSON and hashes as the RP id:
    /// changed to play a phishing site.
    pub origin: String,
    pub rp_id: String,
}

impl Authenticator {
    pub fn new() -> Self {
        let secret: [u8; 32] = rand::random();
        Self {
            key: SigningKey::from_slice(&secret).unwrap(),
            credential_id: rand::random::<[u8; 16]>().to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            origin: ORIGIN.into(),
            rp_id: RP_ID.into(),
        }
    }

    fn auth_data(&self, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags | if attested.is_some() { AT } else { 0 });
        data.extend_from_slice(&self.counter.to_be_bytes());
        if let Some(attested) = attested {
            data.extend_from_slice(&attested);
        }
        data
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// `navigator.credentials.create` for `options` (the page's JSON).
    pub fn register(&mut self, options: &Value) -> String {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().unwrap();
        self.user_handle = B64.decode(pk["user"]["id"].as_str().unwrap()).unwrap();
        let point = self.key.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        let mut cose = BTreeMap::new();
        cose.insert(Cbor::Integer(1), Cbor::Integer(2));
        cose.insert(Cbor::Integer(3), Cbor::Integer(-7));
        cose.insert(Cbor::Integer(-1), Cbor::Integer(1));
        cose.insert(Cbor::Integer(-2), Cbor::Bytes(point[1..33].to_vec()));
        cose.insert(Cbor::Integer(-3), Cbor::Bytes(point[33..65].to_vec()));
        let mut attested = vec![0u8; 16];
        attested.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend(serde_cbor_2::to_vec(&Cbor::Map(cose)).unwrap());
        let auth_data = self.auth_data(UP | UV | BE | BS, Some(attested));
        let mut object = BTreeMap::new();
        object.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        object.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        object.insert(Cbor::Text("authData".into()), Cbor::Bytes(auth_data));
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(serde_cbor_2::to_vec(&Cbor::Map(object)).unwrap()),
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", challenge)),
            },
            "extensions": {},
        })
        .to_string()
    }

    /// `navigator.credentials.get` for `options`, with the counter moved on.
    pub fn assert(&mut self, options: &Value) -> String {
        self.counter += 1;
        self.assert_at(options, self.counter)
    }

    /// An assertion signed with `counter`, whatever the last one was.
    pub fn assert_at(&self, options: &Value, counter: u32) -> String {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let mut signer = Self {
            key: self.key.clone(),
            credential_id: self.credential_id.clone(),
            user_handle: self.user_handle.clone(),
            counter,
            origin: self.origin.clone(),
            rp_id: self.rp_id.clone(),
        };
        signer.counter = counter;
        let auth_data = signer.auth_data(UP | UV | BE | BS, None);
        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(&auth_data),
                "clientDataJSON": B64.encode(&client_data),
                "signature": B64.encode(der(&signature)),
                "userHandle": B64.encode(&self.user_handle),
            },
            "extensions": {},
        })
        .to_string()
    }

    /// The same key and id claiming another user's handle.
    pub fn claiming(&self, other: &Authenticator) -> Self {
        Self {
            key: self.key.clone(),
            credential_id: self.credential_id.clone(),
            user_handle: other.user_handle.clone(),
            counter: self.counter,
            origin: self.origin.clone(),
            rp_id: self.rp_id.clone(),
        }
    }
}

/// An ECDSA signature in ASN.1 DER, as WebAuthn carries it.
fn der(signature: &Signature) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let (r, s) = signature.split_bytes();
    let mut body = integer(&r);
    body.extend(integer(&s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// The WebAuthn options of the form posting to `action` on `html`.
pub fn options_in(html: &str, action: &str) -> Value {
    let form = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action}: {html}"));
    let marker = "data-options=\"";
    let start = html[form..].find(marker).unwrap() + form + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    serde_json::from_str(&unescape(&html[start..end])).unwrap()
}

/// An attribute value as the browser reads it (named and numeric entities).
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').unwrap() + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "quot" => '"',
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            e if e.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e => char::from_u32(e[1..].parse().unwrap()).unwrap(),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

impl Client {
    /// Adds a passkey named `name` (the client must be in sudo mode).
    pub async fn add_passkey(&mut self, name: &str) -> Authenticator {
        let page = self.get("/account/security/passkeys/new").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let mut authenticator = Authenticator::new();
        let credential =
            authenticator.register(&options_in(&page.body, "/account/security/passkeys"));
        let res = self
            .post(
                "/account/security/passkeys",
                &[("name", name), ("credential", &credential)],
            )
            .await;
        res.assert_redirect("/account/security#passkeys");
        authenticator
    }

    /// Signs in with `passkey` alone, from the sign-in page.
    pub async fn passkey_sign_in(&mut self, passkey: &mut Authenticator) -> TestResponse {
        let page = self.get("/login").await;
        let credential = passkey.assert(&options_in(&page.body, "/login/passkey"));
        self.post("/login/passkey", &[("credential", &credential)])
            .await
    }
}

async fn ada_with_passkey(app: &TestApp) -> (Client, Authenticator) {
    let mut ada = signed_in(app, "ada@example.com", "Ada").await;
    ada.sudo(PASSWORD, "/account")
        .await
        .assert_redirect("/account");
    let passkey = ada.add_passkey("Laptop").await;
    (ada, passkey)
}

async fn events(app: &TestApp, action: &str) -> i64 {
    app.count(match action {
        "passkey.added" => "SELECT COUNT(*) FROM audit_events WHERE action = 'passkey.added'",
        "passkey.counter_regression" => {
            "SELECT COUNT(*) FROM audit_events WHERE action = 'passkey.counter_regression'"
        }
        "passkey.refused" => "SELECT COUNT(*) FROM audit_events WHERE action = 'passkey.refused'",
        _ => unreachable!(),
    })
    .await
}

#[tokio::test]
async fn a_passkey_is_added_in_sudo_mode_listed_and_announced() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        // Adding a passkey needs a fresh confirmation.
        let res = ada.get("/account/security/passkeys/new").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().unwrap().starts_with("/sudo"));
        ada.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");

        // A missing name and a missing response are each said beside the
        // form, and nothing is stored.
        let page = ada.get("/account/security/passkeys/new").await;
        let credential =
            Authenticator::new().register(&options_in(&page.body, "/account/security/passkeys"));
        let res = ada
            .post(
                "/account/security/passkeys",
                &[("name", " "), ("credential", &credential)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Give the passkey a name"));
        let res = ada
            .post("/account/security/passkeys", &[("name", "Laptop")])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Your browser sent no passkey"));
        assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);

        ada.add_passkey("Laptop").await;
        let page = ada.get("/account/security").await;
        assert!(page.contains("value=\"Laptop\""));
        assert!(page.contains("Yes, backed up"));
        assert!(page.contains("Your passkeys are your second factor"));
        assert_eq!(events(&app, "passkey.added").await, 1);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM outbox WHERE recipient = 'ada@example.com' \
                 AND subject = 'A passkey was added to your Gatehouse account'"
            )
            .await,
            1
        );
        // The page's script is served, and allowed by the CSP.
        let script = ada.get("/static/passkeys.js").await;
        assert_eq!(script.status, StatusCode::OK);
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_password_and_counts_as_mfa() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut fresh = app.client();
        fresh
            .passkey_sign_in(&mut passkey)
            .await
            .assert_redirect("/account");
        fresh.get("/account").await.assert_status(StatusCode::OK);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'signin.succeeded' \
                 AND detail LIKE '%\"mfa\":\"passkey\"%'"
            )
            .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM passkeys WHERE last_used_at IS NOT NULL")
                .await,
            1
        );
        // An org that requires MFA lets her in: the passkey is her factor.
        fresh.create_org("Acme", "acme").await;
        crate::orgs::exec(
            &app,
            "UPDATE orgs SET require_mfa = TRUE WHERE slug = $1",
            &["acme"],
        )
        .await;
        fresh.get("/orgs/acme").await.assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn after_the_password_the_passkey_is_the_second_step() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut c = app.client();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let page = c.get("/login/mfa").await;
        // Passkey only: no code form for an account without TOTP.
        assert!(page.contains("Use your passkey"));
        assert!(!page.contains("action=\"/login/mfa\""));
        let credential = passkey.assert(&options_in(&page.body, "/login/mfa/passkey"));
        c.post("/login/mfa/passkey", &[("credential", &credential)])
            .await
            .assert_redirect("/account");
        c.get("/account").await.assert_status(StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn sudo_is_confirmed_with_the_passkey_and_not_the_password_alone() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.post("/sudo/leave", &[]).await;
        // The password alone would skip her second factor.
        let res = ada.sudo(PASSWORD, "/account/security").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("confirm with it"));
        let page = ada.get("/sudo?next=%2Faccount%2Fsecurity").await;
        assert!(!page.contains("name=\"password\""));
        let credential = passkey.assert(&options_in(&page.body, "/sudo/passkey"));
        ada.post(
            "/sudo/passkey",
            &[("credential", &credential), ("next", "/account/security")],
        )
        .await
        .assert_redirect("/account/security");
        ada.get("/account/security/passkeys/new")
            .await
            .assert_status(StatusCode::OK);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'sudo.granted' \
                 AND detail LIKE '%\"method\":\"passkey\"%'"
            )
            .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_response_made_for_another_origin_or_rp_id_is_refused() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut c = app.client();
        // A phishing page relaying the challenge: the browser writes its own
        // origin into the client data.
        passkey.origin = "http://localhost.evil.example:8080".into();
        let res = c.passkey_sign_in(&mut passkey).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.contains("could not be verified for this site"));
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        // An authenticator scoped to another RP id.
        passkey.origin = ORIGIN.into();
        passkey.rp_id = "evil.example".into();
        let res = c.passkey_sign_in(&mut passkey).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(events(&app, "passkey.refused").await, 2);
        // The right one still works.
        passkey.rp_id = RP_ID.into();
        c.passkey_sign_in(&mut passkey)
            .await
            .assert_redirect("/account");
        app
    })
    .await;
}

#[tokio::test]
async fn a_replayed_response_is_refused() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut c = app.client();
        let page = c.get("/login").await;
        let credential = passkey.assert(&options_in(&page.body, "/login/passkey"));
        c.post("/login/passkey", &[("credential", &credential)])
            .await
            .assert_redirect("/account");
        c.logout().await;
        // The same response again: its challenge was answered.
        c.get("/login").await;
        let res = c
            .post("/login/passkey", &[("credential", &credential)])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        // And posted twice in one ceremony, the second meets no ceremony.
        let mut other = app.client();
        let page = other.get("/login").await;
        let credential = passkey.assert(&options_in(&page.body, "/login/passkey"));
        let token = other.csrf.clone().unwrap();
        let first = other
            .post_raw(
                "/login/passkey",
                &[("csrf_token", &token), ("credential", &credential)],
                &[],
            )
            .await;
        first.assert_redirect("/account");
        let mut thief = app.client();
        thief.get("/login").await;
        let res = thief
            .post("/login/passkey", &[("credential", &credential)])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        thief
            .get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_audited() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut c = app.client();
        passkey.counter = 41;
        c.passkey_sign_in(&mut passkey)
            .await
            .assert_redirect("/account");
        c.logout().await;
        // A clone of the authenticator still at 7.
        let page = c.get("/login").await;
        let credential = passkey.assert_at(&options_in(&page.body, "/login/passkey"), 7);
        let res = c
            .post("/login/passkey", &[("credential", &credential)])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.contains("its sign-in counter went backwards"));
        assert_eq!(events(&app, "passkey.counter_regression").await, 1);
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");
        app
    })
    .await;
}

#[tokio::test]
async fn another_users_passkey_is_refused_at_every_step() {
    each_engine(|app| async move {
        let (mut ada, ada_key) = ada_with_passkey(&app).await;
        ada.logout().await;
        let mut bob = signed_in(&app, "bob@example.com", "Bob").await;
        bob.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        let mut bob_key = bob.add_passkey("Bob's phone").await;
        bob.logout().await;

        // At Ada's MFA step, Bob's passkey is not hers.
        let mut c = app.client();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/login/mfa");
        let page = c.get("/login/mfa").await;
        let credential = bob_key.assert(&options_in(&page.body, "/login/mfa/passkey"));
        c.post("/login/mfa/passkey", &[("credential", &credential)])
            .await
            .assert_redirect("/login/mfa");
        let page = c.get("/login/mfa").await;
        assert!(page.contains("not registered for this account"));
        c.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");

        // Passwordless, Bob's credential claiming Ada's user handle.
        let mut forged = bob_key.claiming(&ada_key);
        let mut d = app.client();
        let res = d.passkey_sign_in(&mut forged).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        d.get("/account")
            .await
            .assert_redirect("/login?next=%2Faccount");

        // Bob cannot rename or remove Ada's passkey.
        let mut bob = app.client();
        bob.passkey_sign_in(&mut bob_key)
            .await
            .assert_redirect("/account");
        let ada_id =
            crate::matrix::id_where(&app, "SELECT id FROM passkeys WHERE name = $1", "Laptop")
                .await;
        bob.get("/account").await;
        bob.post(
            &format!("/account/security/passkeys/{ada_id}/rename"),
            &[("name", "mine")],
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
        bob.sudo_with_passkey(&mut bob_key).await;
        bob.post(&format!("/account/security/passkeys/{ada_id}/remove"), &[])
            .await
            .assert_status(StatusCode::NOT_FOUND);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM passkeys WHERE name = 'Laptop'")
                .await,
            1
        );
        app
    })
    .await;
}

impl Client {
    /// Opens sudo mode with `passkey`.
    pub async fn sudo_with_passkey(&mut self, passkey: &mut Authenticator) {
        let page = self.get("/sudo?next=%2Faccount").await;
        let credential = passkey.assert(&options_in(&page.body, "/sudo/passkey"));
        self.post(
            "/sudo/passkey",
            &[("credential", &credential), ("next", "/account")],
        )
        .await
        .assert_redirect("/account");
    }
}

#[tokio::test]
async fn renaming_checks_the_name_and_the_last_required_factor_stays() {
    each_engine(|app| async move {
        let (mut ada, passkey) = ada_with_passkey(&app).await;
        let id = crate::matrix::id_where(&app, "SELECT id FROM passkeys WHERE name = $1", "Laptop")
            .await;
        ada.get("/account/security").await;
        let res = ada
            .post(
                &format!("/account/security/passkeys/{id}/rename"),
                &[("name", "")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains(&format!("id=\"passkey-name-{id}-error\"")));
        ada.post(
            &format!("/account/security/passkeys/{id}/rename"),
            &[("name", "Work laptop")],
        )
        .await
        .assert_redirect("/account/security#passkeys");

        // Acme requires MFA: her only factor cannot go.
        ada.create_org("Acme", "acme").await;
        crate::orgs::exec(
            &app,
            "UPDATE orgs SET require_mfa = TRUE WHERE slug = $1",
            &["acme"],
        )
        .await;
        ada.get("/account/security").await;
        ada.post(&format!("/account/security/passkeys/{id}/remove"), &[])
            .await
            .assert_redirect("/account/security#passkeys");
        let page = ada.get("/account/security").await;
        assert!(page.contains("is your only second factor (or your only passkey)"));
        assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);

        // With a second passkey, the first can go, with a notice.
        ada.add_passkey("Phone").await;
        ada.get("/account/security").await;
        ada.post(&format!("/account/security/passkeys/{id}/remove"), &[])
            .await
            .assert_redirect("/account/security#passkeys");
        assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM outbox WHERE subject = \
                 'A passkey was removed from your Gatehouse account'"
            )
            .await,
            1
        );
        // Removing needs sudo mode.
        ada.post("/sudo/leave", &[]).await;
        ada.get("/account/security").await;
        let phone =
            crate::matrix::id_where(&app, "SELECT id FROM passkeys WHERE name = $1", "Phone").await;
        let res = ada
            .post(&format!("/account/security/passkeys/{phone}/remove"), &[])
            .await;
        assert!(res.location().unwrap().starts_with("/sudo"));
        drop(passkey);
        app
    })
    .await;
}

#[tokio::test]
async fn an_org_can_require_a_passkey_and_sends_members_without_one_to_add_it() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = crate::orgs::two_orgs(&app).await;
        // Grace has TOTP and a key bound to acme: enough for "require MFA".
        let enrolled = crate::mfa::enrol(&app, &mut grace).await;
        app.clock.advance(30);
        let key = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        let teams = |token: String| {
            let router = app.router.clone();
            async move {
                api(
                    &router,
                    axum::http::Method::GET,
                    "/v1/orgs/acme/teams",
                    Some(&token),
                    None,
                )
                .await
            }
        };
        assert_eq!(teams(key.clone()).await.status, StatusCode::OK);

        // The owner needs a passkey of her own first.
        let res = ada
            .submit(
                "/orgs/acme/settings",
                "/orgs/acme/settings",
                &[("require_passkey", "on")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Add a passkey to your own account first"));
        ada.sudo(PASSWORD, "/account")
            .await
            .assert_redirect("/account");
        let mut ada_key = ada.add_passkey("Ada's laptop").await;
        ada.submit(
            "/orgs/acme/settings",
            "/orgs/acme/settings",
            &[("require_passkey", "on")],
        )
        .await
        .assert_redirect("/orgs/acme/settings");
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_passkey = TRUE \
                 AND require_mfa = TRUE"
            )
            .await,
            1
        );
        let page = ada.get("/orgs/acme/settings").await;
        assert!(page.contains("1 member does not have a passkey yet."));

        // Grace's TOTP is not enough now: her pages send her to add a
        // passkey (saying which org asks), and her key stops.
        grace
            .get("/orgs/acme")
            .await
            .assert_redirect("/account/security/passkeys/new?required_by=acme");
        let res = teams(key.clone()).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["code"], "mfa_required");
        let code = crate::mfa::totp_at(&enrolled.secret, app.clock.unix());
        grace
            .sudo_with_code(PASSWORD, &code, "/account")
            .await
            .assert_redirect("/account");
        let page = grace
            .get("/account/security/passkeys/new?required_by=acme")
            .await;
        assert!(page.contains("requires a passkey of its members"));
        let mut authenticator = Authenticator::new();
        let credential =
            authenticator.register(&options_in(&page.body, "/account/security/passkeys"));
        grace
            .post(
                "/account/security/passkeys",
                &[
                    ("name", "Grace's phone"),
                    ("credential", &credential),
                    ("required_by", "acme"),
                ],
            )
            .await
            .assert_redirect("/orgs/acme");
        grace.get("/orgs/acme").await.assert_status(StatusCode::OK);
        assert_eq!(teams(key).await.status, StatusCode::OK);

        // Her only passkey stays while acme requires one, TOTP or not.
        let id = crate::matrix::id_where(
            &app,
            "SELECT id FROM passkeys WHERE name = $1",
            "Grace's phone",
        )
        .await;
        grace.get("/account/security").await;
        grace
            .post(&format!("/account/security/passkeys/{id}/remove"), &[])
            .await
            .assert_redirect("/account/security#passkeys");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM passkeys WHERE name = 'Grace''s phone'")
                .await,
            1
        );

        // Loosening the policy needs sudo mode.
        ada.post("/sudo/leave", &[]).await;
        let res = ada
            .submit("/orgs/acme/settings", "/orgs/acme/settings", &[])
            .await;
        assert!(res.location().unwrap().starts_with("/sudo"));
        ada.sudo_with_passkey(&mut ada_key).await;
        ada.submit("/orgs/acme/settings", "/orgs/acme/settings", &[])
            .await
            .assert_redirect("/orgs/acme/settings");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND require_passkey = TRUE")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_passkey_only_account_is_deleted_with_its_passkey() {
    each_engine(|app| async move {
        let (mut ada, mut passkey) = ada_with_passkey(&app).await;
        let page = ada.get("/account/delete").await;
        assert!(page.contains("Delete my account with your passkey"));
        // The password alone is not enough.
        let res = ada.post("/account/delete", &[("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Your browser sent no passkey"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            1
        );
        let credential = passkey.assert(&options_in(&res.body, "/account/delete"));
        ada.post(
            "/account/delete",
            &[("password", PASSWORD), ("credential", &credential)],
        )
        .await
        .assert_redirect("/account/deleted");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            0
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
        app
    })
    .await;
}
