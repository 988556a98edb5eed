-- Passkeys (issue 18): WebAuthn credentials, each a second factor, a sudo
-- factor and (discoverable) a way to sign in without a password.
-- `credential_id` is the authenticator's id (base64url), unique across
-- accounts; `credential` is the webauthn-rs Passkey as JSON (public key,
-- counter, backup state); `backed_up` is what the authenticator last said.
CREATE TABLE passkeys (
    id            UUID PRIMARY KEY NOT NULL,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    backed_up     BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
