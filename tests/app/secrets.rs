//! Secrets at rest: TOTP secrets are stored sealed, survive a rekey, are
//! refused under a wrong key at start-up, and those stored in plaintext
//! before encryption are sealed at start-up. Each "restart" builds a new
//! `AppState` over the same database, as a new process would.

use std::sync::Arc;

use axum::Router;
use gatehouse::auth::secrets::{self, Rekeyed};
use gatehouse::clock::Clock;
use gatehouse::config::Config;
use gatehouse::db::Db;
use gatehouse::{AppState, build_router};
use totp_rs::Secret;
use uuid::Uuid;

use crate::helpers::*;
use crate::mfa::{Enrolled, enrol, totp_at};

const OTHER_KEY: &str = "b3RoZXIga2V5IGZvciBnYXRlaG91c2UgdGVzdHMgMzI=";

/// `user_mfa` as stored: (user id, secret bytes, format).
async fn stored_secrets(db: &Db) -> Vec<(Uuid, Vec<u8>, i64)> {
    let sql = "SELECT user_id, totp_secret, secret_format FROM user_mfa ORDER BY user_id";
    match db {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

fn raw_secret(e: &Enrolled) -> Vec<u8> {
    Secret::try_from_base32(&e.secret)
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn config_with_key(app: &TestApp, key: Option<&str>) -> Config {
    let mut config = (*app.state.config).clone();
    config.keys.secret_key = key.map(|k| k.to_owned().into());
    config
}

/// Starts another process over the app's database with `config`.
async fn restart(app: &TestApp, config: Config) -> anyhow::Result<Router> {
    let state = AppState::new(config, app.db().clone(), app.clock.clone()).await?;
    Ok(build_router(state))
}

/// The start-up error as `main` prints it.
async fn start_up_error(app: &TestApp, config: Config) -> String {
    let err = restart(app, config).await.expect_err("start-up refused");
    format!("{err:#}")
}

/// Signs in with the password and the code of the current step.
async fn sign_in_with_code(router: Router, email: &str, e: &Enrolled, now: i64) {
    let mut c = Client::new(router);
    c.login(email, PASSWORD).await.assert_redirect("/login/mfa");
    c.get("/login/mfa").await;
    c.post("/login/mfa", &[("code", &totp_at(&e.secret, now))])
        .await
        .assert_redirect("/account");
}

async fn mfa_user(app: &TestApp, email: &str) -> Enrolled {
    let mut c = signed_in(app, email, "Ada").await;
    let e = enrol(app, &mut c).await;
    app.clock.advance(30);
    e
}

#[tokio::test]
async fn an_enrolled_totp_secret_is_stored_sealed_and_still_signs_in() {
    each_engine(|app| async move {
        let e = mfa_user(&app, "ada@example.com").await;
        let rows = stored_secrets(app.db()).await;
        assert_eq!(rows.len(), 1);
        let (_, bytes, format) = &rows[0];
        assert_eq!(*format, 1, "sealed with AES-256-GCM");
        // nonce (12) + ciphertext (20) + tag (16)
        assert_eq!(bytes.len(), 48);
        let raw = raw_secret(&e);
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&e.secret) && !text.contains(&e.secret[..8]));
        sign_in_with_code(app.router.clone(), "ada@example.com", &e, app.clock.unix()).await;
        app
    })
    .await;
}

#[tokio::test]
async fn after_a_rekey_only_the_new_key_starts_and_sign_in_works() {
    each_engine(|app| async move {
        let e = mfa_user(&app, "ada@example.com").await;
        let before = stored_secrets(app.db()).await;
        let config = &app.state.config;
        let Rekeyed { secrets, key_file } = secrets::rekey(
            app.db(),
            &config.database,
            &config.keys,
            &OTHER_KEY.to_owned().into(),
            app.clock.unix(),
        )
        .await
        .unwrap();
        assert_eq!((secrets, key_file), (1, None));
        let after = stored_secrets(app.db()).await;
        assert_ne!(before[0].1, after[0].1);
        assert_eq!(after[0].2, 1);

        let err = start_up_error(&app, config_with_key(&app, Some(TEST_SECRET_KEY))).await;
        assert!(err.contains("does not open the stored"), "{err}");
        let router = restart(&app, config_with_key(&app, Some(OTHER_KEY)))
            .await
            .unwrap();
        sign_in_with_code(router, "ada@example.com", &e, app.clock.unix()).await;

        // A rekey with a key that is not the current one changes nothing.
        let wrong = secrets::rekey(
            app.db(),
            &config.database,
            &config.keys,
            &OTHER_KEY.to_owned().into(),
            app.clock.unix(),
        )
        .await;
        assert!(wrong.is_err());
        assert_eq!(stored_secrets(app.db()).await, after);
        app
    })
    .await;
}

#[tokio::test]
async fn a_wrong_or_malformed_key_is_refused_at_start_up_with_one_clear_line() {
    each_engine(|app| async move {
        mfa_user(&app, "ada@example.com").await;
        let err = start_up_error(&app, config_with_key(&app, Some(OTHER_KEY))).await;
        assert_eq!(
            err,
            "the secret key does not open the stored secrets (the key check): it is not the key \
             they were sealed with; start with that key (`gatehouse rekey` changes to a new one)"
        );
        // Malformed keys: neither panics nor echoes the key.
        for (key, why) in [
            ("c2hvcnQga2V5", "it decodes to 9 bytes, not 32"),
            ("not a key at all!", "it is not base64"),
        ] {
            let err = start_up_error(&app, config_with_key(&app, Some(key))).await;
            assert!(err.starts_with("GATEHOUSE_SECRET_KEY (--secret-key) is not a usable key"));
            assert!(err.contains(why), "{err}");
            assert!(!err.contains(key) && !err.contains('\n'), "{err}");
        }
        // Nothing was rewritten under the wrong key: the right one still works.
        let _router = restart(&app, config_with_key(&app, Some(TEST_SECRET_KEY)))
            .await
            .unwrap();
        app
    })
    .await;
}

#[tokio::test]
async fn a_plaintext_secret_from_before_is_sealed_at_start_up_and_still_verifies() {
    each_engine(|app| async move {
        let e = mfa_user(&app, "ada@example.com").await;
        // As migration 0010 leaves a row enrolled before it: the raw bytes,
        // marked plaintext.
        let raw = raw_secret(&e);
        let sql = "UPDATE user_mfa SET totp_secret = $1, secret_format = 0";
        let updated = match app.db() {
            Db::Sqlite(p) => sqlx::query(sql)
                .bind(&raw)
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
            Db::Postgres(p) => sqlx::query(sql)
                .bind(&raw)
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(updated, 1);
        // Until the sweep, a plaintext row (an old instance mid-upgrade)
        // still verifies.
        sign_in_with_code(app.router.clone(), "ada@example.com", &e, app.clock.unix()).await;

        let router = restart(&app, config_with_key(&app, Some(TEST_SECRET_KEY)))
            .await
            .unwrap();
        let sealed = stored_secrets(app.db()).await;
        assert_eq!(sealed[0].2, 1);
        assert_ne!(sealed[0].1, raw);
        assert!(!sealed[0].1.windows(raw.len()).any(|w| w == raw.as_slice()));
        app.clock.advance(30);
        sign_in_with_code(router, "ada@example.com", &e, app.clock.unix()).await;

        // The sweep runs once: a second start-up leaves the sealed row as is.
        let _router = restart(&app, config_with_key(&app, Some(TEST_SECRET_KEY)))
            .await
            .unwrap();
        assert_eq!(stored_secrets(app.db()).await, sealed);
        app
    })
    .await;
}

#[tokio::test]
async fn without_a_key_sqlite_makes_a_private_key_file_and_postgres_refuses() {
    each_engine(|app| async move {
        match app.engine {
            Engine::Postgres => {
                let err = start_up_error(&app, config_with_key(&app, None)).await;
                assert!(
                    err.starts_with("GATEHOUSE_SECRET_KEY is not set: with PostgreSQL every instance must use the same key"),
                    "{err}"
                );
            }
            Engine::Sqlite => sqlite_key_file_story().await,
        }
        app
    })
    .await;
}

/// A database in its own directory with no key configured, as `cargo run`
/// starts: the key file appears beside it, 0600, and is used again.
async fn sqlite_key_file_story() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("gatehouse-key-{}", Uuid::new_v4().simple()));
    let mut config = Config::default();
    config.database.database_url = format!("sqlite://{}/gatehouse.db", dir.display());
    config.hash_concurrency = Some(1);
    config.keys.secret_key = None;
    let db = Db::connect(&config.database.database_url, 2).await.unwrap();
    db.migrate().await.unwrap();
    let clock = Arc::new(gatehouse::clock::FixedClock::at(START));
    AppState::new(config.clone(), db.clone(), clock.clone())
        .await
        .unwrap();
    let key_file = dir.join("secret.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 44, "32 bytes in base64");
    // No stray staging files are left beside it.
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files <= 4, "{files} files"); // db, -wal, -shm, key

    // The next start reads the same file.
    AppState::new(config.clone(), db.clone(), clock.clone())
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);

    // A key file others can read is refused, and so is another key.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = AppState::new(config.clone(), db.clone(), clock.clone())
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("can be read by other users"),
        "{err:#}"
    );
    std::fs::write(&key_file, format!("{OTHER_KEY}\n")).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = AppState::new(config.clone(), db.clone(), clock.clone())
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("does not open the stored"),
        "{err:#}"
    );

    // Rekeying from the key file puts the new key in the file.
    std::fs::write(&key_file, &key).unwrap();
    let done = secrets::rekey(
        &db,
        &config.database,
        &config.keys,
        &OTHER_KEY.to_owned().into(),
        START,
    )
    .await
    .unwrap();
    assert_eq!(done.key_file.as_deref(), Some(key_file.as_path()));
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        OTHER_KEY
    );
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    AppState::new(config, db.clone(), clock).await.unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
