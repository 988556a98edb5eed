-- Who made each key, from now on: a person's email for a key made on the
-- pages, `key:gtk_<public id>` for one made over the key-management API
-- with another key. Keys made before this migration have none.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
