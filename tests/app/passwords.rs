//! Passwords are Unicode-normalised (NFKC) before hashing: the same accented
//! password typed composed or decomposed signs in, for new accounts and for
//! hashes made from the raw input before normalisation.

use argon2::PasswordHasher as _;
use gatehouse::db::Db;

use crate::helpers::*;

/// "Café" with é as one code point (U+00E9), as most keyboards type it.
const COMPOSED: &str = "Caf\u{e9}-Correct-Horse-9!";
/// The same with e + U+0301 COMBINING ACUTE ACCENT, as some input methods
/// (and macOS file names pasted from) produce.
const DECOMPOSED: &str = "Cafe\u{301}-Correct-Horse-9!";

async fn password_hash(db: &Db, email: &str) -> String {
    let sql = "SELECT password_hash FROM users WHERE email = $1";
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
    }
    .unwrap()
}

async fn signs_in(app: &TestApp, email: &str, password: &str) {
    let mut c = app.client();
    let res = c.login(email, password).await;
    assert_eq!(
        res.location(),
        Some("/account"),
        "{password:?}: {}",
        res.body
    );
}

#[tokio::test]
async fn a_password_signs_in_typed_composed_or_decomposed() {
    each_engine(|app| async move {
        assert_ne!(COMPOSED, DECOMPOSED);
        app.client()
            .signup("ada@example.com", "Ada", COMPOSED)
            .await
            .assert_redirect("/account");
        app.client()
            .signup("bob@example.com", "Bob", DECOMPOSED)
            .await
            .assert_redirect("/account");
        for email in ["ada@example.com", "bob@example.com"] {
            signs_in(&app, email, COMPOSED).await;
            signs_in(&app, email, DECOMPOSED).await;
            let res = app.client().login(email, "Cafe-Correct-Horse-9!").await;
            assert_eq!(res.status, axum::http::StatusCode::UNAUTHORIZED);
        }
        app
    })
    .await;
}

#[tokio::test]
async fn a_hash_made_from_the_raw_decomposed_input_still_signs_in_and_is_rehashed() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        // The hash as Gatehouse made it before normalisation: argon2id at
        // today's parameters over the raw, decomposed bytes.
        let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).unwrap();
        let old = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(DECOMPOSED.as_bytes())
            .unwrap()
            .to_string();
        let sql = "UPDATE users SET password_hash = $1 WHERE email = $2";
        let email = "ada@example.com";
        let updated = match app.db() {
            Db::Sqlite(p) => sqlx::query(sql)
                .bind(&old)
                .bind(email)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
            Db::Postgres(p) => sqlx::query(sql)
                .bind(&old)
                .bind(email)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
        };
        assert_eq!(updated.unwrap(), 1);
        let res = app.client().login("ada@example.com", COMPOSED).await;
        assert_eq!(
            res.status,
            axum::http::StatusCode::UNAUTHORIZED,
            "not yet rehashed"
        );

        signs_in(&app, "ada@example.com", DECOMPOSED).await;
        let new = password_hash(app.db(), "ada@example.com").await;
        assert_ne!(new, old, "rehashed from the normalised form");
        signs_in(&app, "ada@example.com", COMPOSED).await;
        signs_in(&app, "ada@example.com", DECOMPOSED).await;
        assert_eq!(password_hash(app.db(), "ada@example.com").await, new);
        app
    })
    .await;
}
