-- TOTP secrets encrypted at rest (AES-256-GCM, see src/cipher.rs).
--
-- SQL has no key, so this migration cannot encrypt: it only marks every
-- existing secret as plaintext (secret_format 0). At start-up Gatehouse
-- seals every row still at 0 and sets it to 1 (nonce || ciphertext || tag
-- in totp_secret), in one transaction; rows at 1 are never touched again.
-- The column keeps the format explicit instead of guessing it from the
-- length of the bytes.
ALTER TABLE user_mfa ADD COLUMN secret_format BIGINT NOT NULL DEFAULT 0;

-- One known value sealed under the current key, so that a wrong key is
-- refused at start-up (and by rekey) before anything is written with it.
CREATE TABLE secret_key_check (
    id         BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    sealed     BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
