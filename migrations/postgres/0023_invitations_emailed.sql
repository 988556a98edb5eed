-- Invitations are emailed to the invited address from now on: following
-- such a link proves control of the address. Invitations made before (their
-- link was shown to the owner to pass on by hand) do not, so accepting one
-- needs a verified email.
ALTER TABLE invitations ADD COLUMN emailed BOOLEAN NOT NULL DEFAULT FALSE;
