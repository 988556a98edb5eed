-- An org's policy "require a phishing-resistant factor" (issue 18): every
-- member must have a passkey. It implies "require MFA" (a passkey is MFA).
ALTER TABLE orgs ADD COLUMN require_passkey BOOLEAN NOT NULL DEFAULT FALSE;
