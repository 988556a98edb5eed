//! Secrets at rest: which key seals the TOTP secrets, the start-up check
//! that it is the right key, the sweep that seals secrets stored before
//! encryption, and rekeying.
//!
//! Invariants: Gatehouse never serves with a key that cannot open what is
//! stored — start-up opens the key check and one stored secret, or refuses
//! with one line; once start-up is done every stored secret is sealed under
//! the one current key (the sweep runs in one transaction and touches only
//! rows marked plaintext); a rekey rewrites every secret and the key check in
//! one transaction, so storage never holds a mix of keys.
//!
//! Where the key comes from: `GATEHOUSE_SECRET_KEY` when set; else, for a
//! SQLite file, `secret.key` beside it (created on first run, mode 0600);
//! else (PostgreSQL) nowhere — several instances must share one key, and a
//! key file made on each machine would silently diverge, so start-up refuses.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::totp::TotpSecret;
use crate::cipher::{Cipher, CipherError, KeyError, Sealed, SecretKey};
use crate::config::{Config, DatabaseArgs, SecretKeyArgs, SecretText};
use crate::db::Db;
use crate::db::mfa::{PLAINTEXT, StoredSecret};

/// The key file's name, in the SQLite database's directory.
pub const KEY_FILE_NAME: &str = "secret.key";

const KEY_CHECK_CONTEXT: &[u8] = b"gatehouse key check v1";
const KEY_CHECK_VALUE: &[u8] = b"this is the gatehouse secret key";

const KEY_HINT: &str = "it must be 32 random bytes in base64, as `openssl rand -base64 32` prints";

/// Why the secrets cannot be unlocked or rekeyed. Each message is one line
/// that says what to do, and never contains a key.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("GATEHOUSE_SECRET_KEY (--secret-key) is not a usable key: {0}; {KEY_HINT}")]
    MalformedKey(KeyError),
    #[error("the new secret key is not a usable key: {0}; {KEY_HINT}")]
    MalformedNewKey(KeyError),
    #[error(
        "the key file {path} is not a usable key: {reason}; restore it from a backup or set \
         GATEHOUSE_SECRET_KEY"
    )]
    MalformedKeyFile { path: String, reason: KeyError },
    #[error(
        "GATEHOUSE_SECRET_KEY is not set: with PostgreSQL every instance must use the same key, \
         so Gatehouse does not make one up; generate one with `openssl rand -base64 32` and give \
         it to every instance"
    )]
    MissingKey,
    #[error(
        "the secret key does not open the stored {what}: it is not the key they were sealed \
         with; start with that key (`gatehouse rekey` changes to a new one)"
    )]
    WrongKey { what: &'static str },
    #[error("cannot {action} the key file {path}: {reason}")]
    KeyFile {
        action: &'static str,
        path: String,
        reason: std::io::Error,
    },
    #[error("the key file {path} can be read by other users; run `chmod 600 {path}`")]
    KeyFileExposed { path: String },
    #[error("cannot seal a secret: {0}")]
    Cipher(CipherError),
    #[error("cannot read or write the stored secrets: {0}")]
    Db(#[from] sqlx::Error),
}

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `GATEHOUSE_SECRET_KEY` or `--secret-key`.
    Configured,
    /// The key file beside the SQLite database.
    File(PathBuf),
    /// An in-memory SQLite database: a new key each run, like its data.
    Ephemeral,
}

/// The key to use, from the settings or the key file (created if missing).
pub fn resolve_key(
    database: &DatabaseArgs,
    keys: &SecretKeyArgs,
) -> Result<(SecretKey, KeySource), SecretsError> {
    if let Some(text) = &keys.secret_key {
        let key = SecretKey::parse(text.expose()).map_err(SecretsError::MalformedKey)?;
        return Ok((key, KeySource::Configured));
    }
    if !database.is_sqlite() {
        return Err(SecretsError::MissingKey);
    }
    let Some(file) = database.sqlite_file() else {
        return Ok((SecretKey::generate(), KeySource::Ephemeral));
    };
    let path = key_file_path(&file);
    Ok((load_or_create_key_file(&path)?, KeySource::File(path)))
}

/// `secret.key` in the directory of the SQLite file (`data/` by default).
pub fn key_file_path(sqlite_file: &Path) -> PathBuf {
    match sqlite_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(KEY_FILE_NAME),
        _ => PathBuf::from(KEY_FILE_NAME),
    }
}

/// Start-up: resolves the key, checks that it opens what is stored, and
/// seals every secret stored before encryption at rest.
pub async fn unlock(config: &Config, db: &Db, now: i64) -> Result<Cipher, SecretsError> {
    let (key, source) = resolve_key(&config.database, &config.keys)?;
    let cipher = Cipher::new(&key);
    let check = cipher
        .seal(KEY_CHECK_CONTEXT, KEY_CHECK_VALUE)
        .map_err(SecretsError::Cipher)?;
    let sealed = db
        .seal_plaintext_totp_secrets(
            &check,
            now,
            |stored| verify(&cipher, stored),
            |user_id, plaintext| seal_plaintext(&cipher, user_id, plaintext),
        )
        .await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "sealed TOTP secrets stored before encryption at rest"
        );
    }
    if let KeySource::File(path) = &source {
        tracing::info!(key_file = %path.display(), "secrets at rest sealed with the key file");
    }
    Ok(cipher)
}

/// What `rekey` did.
#[derive(Debug)]
pub struct Rekeyed {
    /// TOTP secrets rewritten under the new key.
    pub secrets: u64,
    /// The key file that now holds the new key, when the old one came from it.
    pub key_file: Option<PathBuf>,
}

/// Re-seals every stored secret under `new_key`, in one transaction, after
/// checking that the current key (from the same settings as `serve`) opens
/// them. When the current key came from the key file, the file is replaced
/// with the new key once the transaction has committed.
pub async fn rekey(
    db: &Db,
    database: &DatabaseArgs,
    keys: &SecretKeyArgs,
    new_key: &SecretText,
    now: i64,
) -> Result<Rekeyed, SecretsError> {
    let new_key = SecretKey::parse(new_key.expose()).map_err(SecretsError::MalformedNewKey)?;
    let (old_key, source) = resolve_key(database, keys)?;
    let old = Cipher::new(&old_key);
    let new = Cipher::new(&new_key);
    let check = new
        .seal(KEY_CHECK_CONTEXT, KEY_CHECK_VALUE)
        .map_err(SecretsError::Cipher)?;
    // The new key reaches the disk before the transaction, so that a
    // commit is never left without a copy of the key it used.
    let staged = match &source {
        KeySource::File(path) => Some(stage_key_file(path, &new_key)?),
        _ => None,
    };
    let result = db
        .reseal_all_totp_secrets(
            &check,
            now,
            |stored| verify(&old, stored),
            |user_id, format, stored| {
                if format == PLAINTEXT {
                    return seal_plaintext(&new, user_id, &stored);
                }
                let secret = TotpSecret::open(&old, user_id, &Sealed::from_stored(stored))
                    .map_err(|_| SecretsError::WrongKey {
                        what: "TOTP secrets",
                    })?;
                secret.seal(&new, user_id).map_err(SecretsError::Cipher)
            },
        )
        .await;
    let secrets = match result {
        Ok(n) => n,
        Err(e) => {
            if let Some(staged) = &staged {
                let _ = std::fs::remove_file(staged);
            }
            return Err(e);
        }
    };
    let key_file = match (source, staged) {
        (KeySource::File(path), Some(staged)) => {
            std::fs::rename(&staged, &path).map_err(|reason| SecretsError::KeyFile {
                action: "replace (the new key is in the .new file beside it)",
                path: path.display().to_string(),
                reason,
            })?;
            Some(path)
        }
        _ => None,
    };
    Ok(Rekeyed { secrets, key_file })
}

fn verify(cipher: &Cipher, stored: StoredSecret) -> Result<(), SecretsError> {
    match stored {
        StoredSecret::KeyCheck(sealed) => match cipher.open(KEY_CHECK_CONTEXT, &sealed) {
            Ok(value) if value.as_slice() == KEY_CHECK_VALUE => Ok(()),
            _ => Err(SecretsError::WrongKey {
                what: "secrets (the key check)",
            }),
        },
        StoredSecret::Totp { user_id, sealed } => TotpSecret::open(cipher, user_id, &sealed)
            .map(|_| ())
            .map_err(|_| SecretsError::WrongKey {
                what: "TOTP secrets",
            }),
    }
}

fn seal_plaintext(
    cipher: &Cipher,
    user_id: Uuid,
    plaintext: &[u8],
) -> Result<Sealed, SecretsError> {
    // A plaintext row of the wrong length was unusable before; sealing it
    // as is keeps it exactly as unusable, and it fails where it is read.
    match TotpSecret::from_bytes(plaintext.to_vec()) {
        Some(secret) => secret.seal(cipher, user_id),
        None => cipher.seal(&TotpSecret::sealing_context(user_id), plaintext),
    }
    .map_err(SecretsError::Cipher)
}

fn key_file_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> SecretsError {
    let path = path.display().to_string();
    move |reason| SecretsError::KeyFile {
        action,
        path,
        reason,
    }
}

/// Reads the key file, or `None` when there is none.
fn read_key_file(path: &Path) -> Result<Option<SecretKey>, SecretsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_file_error("read", path)(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(key_file_error("read", path))?
            .permissions()
            .mode();
        // Like ssh with a private key: a key others can read is no secret.
        if mode & 0o077 != 0 {
            return Err(SecretsError::KeyFileExposed {
                path: path.display().to_string(),
            });
        }
    }
    SecretKey::parse(&text)
        .map(Some)
        .map_err(|reason| SecretsError::MalformedKeyFile {
            path: path.display().to_string(),
            reason,
        })
}

fn load_or_create_key_file(path: &Path) -> Result<SecretKey, SecretsError> {
    if let Some(key) = read_key_file(path)? {
        return Ok(key);
    }
    let key = SecretKey::generate();
    let staged = stage_key_file(path, &key)?;
    // A hard link never replaces an existing file: when another process
    // created the key file meanwhile, its key wins and this one is dropped.
    let linked = std::fs::hard_link(&staged, path);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => {
            tracing::info!(key_file = %path.display(), "created a new secret key file; back it up");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key_file(path)?.ok_or_else(|| key_file_error("create", path)(e))
        }
        Err(e) => Err(key_file_error("create", path)(e)),
    }
}

/// Writes `key` to a new file beside `path` (mode 0600 from the start, so
/// it is never readable by others even for a moment) and returns its path.
fn stage_key_file(path: &Path, key: &SecretKey) -> Result<PathBuf, SecretsError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(key_file_error("create the directory of", path))?;
    }
    let staged = path.with_extension(format!("key.{}.new", Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&staged)?;
        file.write_all(key.to_base64().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        key_file_error("write", path)(e)
    })?;
    Ok(staged)
}
