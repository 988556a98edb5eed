-- Email change: a signed-in user (in sudo mode) asks to move their account
-- to `new_email`; a link is sent there and the address changes only when it
-- is followed. The link's secret is stored as its SHA-256 only; it works
-- once (`used_at`), until `expires_at`, only while it is the user's newest
-- request and only while the account's address is still `old_email` (the
-- one it was asked from). Asking again, changing or resetting the password
-- spends the earlier requests.
CREATE TABLE email_changes (
    token_digest BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    old_email    TEXT NOT NULL,
    new_email    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX email_changes_user ON email_changes (user_id, created_at);
CREATE INDEX email_changes_expires_at ON email_changes (expires_at);
