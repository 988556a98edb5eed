//! Start-up behaviour of the storage layer.

use gatehouse::db::{ConnectError, Db};

use crate::helpers::*;

#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused() {
    each_engine(|app| async move {
        let sql = "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
                   VALUES (99999, 'from the future', CURRENT_TIMESTAMP, TRUE, X'00', 0)";
        match app.db() {
            Db::Sqlite(p) => {
                sqlx::query(sql).execute(p).await.unwrap();
            }
            Db::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                     VALUES (99999, 'from the future', TRUE, '\\x00', 0)",
                )
                .execute(p)
                .await
                .unwrap();
            }
        }
        let err = app.db().migrate().await.unwrap_err();
        assert!(matches!(err, ConnectError::SchemaTooNew(99999)), "{err}");
        assert!(err.to_string().contains("does not know"));
        app
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_is_one_clear_line_without_credentials() {
    let err = Db::connect("postgres://admin:s3cret-pass@127.0.0.1:1/gatehouse", 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot open the database"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert!(!err.contains('\n'));
    let bad = Db::connect("mysql://x", 1).await.unwrap_err().to_string();
    assert!(bad.contains("sqlite:// or postgres://"));
}

#[tokio::test]
async fn sqlite_creates_its_directory_and_file() {
    let dir =
        std::env::temp_dir().join(format!("gatehouse-fresh-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}/nested/gatehouse.db", dir.display());
    let db = Db::connect(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
    db.close().await;
    assert!(dir.join("nested/gatehouse.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}
