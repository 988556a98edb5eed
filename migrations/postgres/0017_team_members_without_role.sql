-- A team no longer gives each member a role of their own: what a member may
-- do in a workspace comes from the role granted to the team on that
-- workspace (DESIGN.md §2a). Migration 0014 carried every per-person role
-- over into team grants (members above the team's lowest role moved to
-- "‹team› · Runner/Creator" teams), so the column holds nothing that is
-- read any more and goes.
ALTER TABLE team_members DROP COLUMN role;
