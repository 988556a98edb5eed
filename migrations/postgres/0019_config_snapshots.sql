-- Configuration snapshots (issue 14): every apply of a configuration bundle
-- stores the workspace's bundle (`gatehouse.config/v1`, canonical text)
-- before and after it, in the apply's own transaction. `summary` is a JSON
-- object of counts ({"created": n, "updated": n, "deleted": n});
-- `restored_from` names the snapshot a restore re-applied (no foreign key:
-- a snapshot outlives nothing it names, and the history keeps its word).
CREATE TABLE config_snapshots (
    id            UUID PRIMARY KEY NOT NULL,
    org_id        UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    before_bundle TEXT NOT NULL,
    after_bundle  TEXT NOT NULL,
    summary       TEXT NOT NULL,
    pruned        BOOLEAN NOT NULL,
    restored_from UUID
);
-- A workspace's history, newest first.
CREATE INDEX config_snapshots_workspace ON config_snapshots (workspace_id, created_at, id);
