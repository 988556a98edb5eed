-- An org disabled by the platform (an operator or the master key, with a
-- reason): its pages and keys answer `org_disabled` until it is enabled
-- again; nothing is deleted.
ALTER TABLE orgs ADD COLUMN disabled_at BIGINT;
