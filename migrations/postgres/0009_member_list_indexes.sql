-- The member list's indexes carry both name and email, so a search (a
-- substring match on either) scans one index without visiting the table, and
-- the "date joined" order gets an index of its own. Paged by keyset on each.
DROP INDEX memberships_by_name;
DROP INDEX memberships_by_email;
CREATE INDEX memberships_by_name ON memberships (org_id, member_name, user_id, member_email);
CREATE INDEX memberships_by_email ON memberships (org_id, member_email, user_id, member_name);
CREATE INDEX memberships_by_joined ON memberships (org_id, created_at, user_id, member_name, member_email);
