-- The request id (`x-request-id`) of the request that caused an event, so an
-- audit event can be matched with the log lines of its request.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
