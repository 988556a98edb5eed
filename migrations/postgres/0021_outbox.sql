-- The durable outbox: every email is a row, inserted in the same
-- transaction as the change that causes it, and sent by a background worker
-- (`jobs::outbox`). A worker claims a row by setting a lease
-- (`claimed_by`, `claimed_until`) on a pending row whose lease has expired;
-- only the claimer sends it. The row id is the message's Message-ID, so a
-- resend after a crash is recognisable. The bodies (which may hold a
-- one-time link) are emptied once the row is sent or given up. `on_behalf_of`
-- names the person a message speaks for (an inviter), so that deleting
-- their account removes what names them.
CREATE TABLE outbox (
    id              UUID PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    security        BOOLEAN NOT NULL,
    on_behalf_of    UUID,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created_at ON outbox (created_at);
