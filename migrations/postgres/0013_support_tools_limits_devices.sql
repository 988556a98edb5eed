-- Support tools: an operator can require a password change or a new MFA
-- enrolment at the user's next sign-in; until then every page sends the user
-- to the page that does it.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN must_enrol_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- What the user must be told about an operator's action on their account,
-- kept until notifications by mail and in-app exist to send it.
CREATE TABLE notification_outbox (
    id         UUID PRIMARY KEY NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT
);
CREATE INDEX notification_outbox_user_id ON notification_outbox (user_id);

-- Browsers that signed in to an account before (OWASP device cookies): the
-- cookie holds a random token, stored here as its SHA-256.
CREATE TABLE trusted_devices (
    token_hash   BYTEA PRIMARY KEY NOT NULL,
    id           UUID NOT NULL UNIQUE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_user_id ON trusted_devices (user_id);

-- `/v1` request quotas: per key and window, how many requests the instances
-- have leased in blocks (never one write per request).
CREATE TABLE api_quota_leases (
    bucket       TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    granted      BIGINT NOT NULL,
    last_grant   BIGINT NOT NULL
);
