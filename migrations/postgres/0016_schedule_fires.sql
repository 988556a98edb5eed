-- The last due time each schedule fired (jobs::schedules): the scheduler
-- looks for due times after it, so a due time is never fired twice, even
-- after a restart; the unique index runs_schedule_due makes concurrent
-- instances agree on one run per due time.
CREATE TABLE schedule_fires (
    schedule_id UUID PRIMARY KEY NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    last_due_at BIGINT NOT NULL
);
-- Run history filtered by status, newest first.
CREATE INDEX runs_workspace_status ON runs (workspace_id, status, created_at, id);
