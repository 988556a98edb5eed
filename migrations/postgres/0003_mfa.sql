-- Multi-factor authentication: one TOTP authenticator per user and its
-- backup codes. A row in user_mfa means MFA is on; an enrolment in progress
-- lives only in the session, so an abandoned one leaves nothing here.
--
-- last_used_step is the highest 30-second TOTP step accepted so far: a code
-- whose step is not above it is refused (replay protection, RFC 6238 5.2).
-- Backup codes are stored as SHA-256 digests (they are high-entropy random
-- strings, see src/auth/backup_codes.rs) and are single use.

CREATE TABLE user_mfa (
    user_id        UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    totp_secret    BYTEA NOT NULL,
    last_used_step BIGINT,
    enabled_at     BIGINT NOT NULL
);

CREATE TABLE mfa_backup_codes (
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
