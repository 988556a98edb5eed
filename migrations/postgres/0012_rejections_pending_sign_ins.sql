-- A session between a correct password and its second factor names the user
-- it is signing in, so that a password change, "sign out everywhere else",
-- disabling and deleting the account end it too (user_id stays NULL: the
-- session is still anonymous for every page, the list and the cap).
ALTER TABLE sessions ADD COLUMN pending_user_id UUID REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX sessions_pending_user_id ON sessions (pending_user_id);
