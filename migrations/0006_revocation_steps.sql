-- A revocation is five idempotent steps (docs/storage.md, "Revocation"): deny entry (KV), grant
-- and refresh tokens, consent, audit event, settled mark. This migration adds what makes the
-- last two safe to run again after a crash.

-- When every step of the grant's revocation was known done. A grant revoked but not settled
-- has steps a crash may have left out: any revocation path, the Queue's consumer or the drain
-- runs them again.
ALTER TABLE grants ADD COLUMN revocation_settled_at INTEGER;

-- Revocations made before this migration ran their steps without the mark; they are taken as
-- settled, so that finishing one never writes a second audit event for it.
UPDATE grants SET revocation_settled_at = revoked_at WHERE revoked_at IS NOT NULL;

-- An event written by a step that may run again carries a key; a second insert with the same
-- key is ignored (`INSERT OR IGNORE`). Other events have none.
ALTER TABLE audit_events ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX audit_events_once ON audit_events (idempotency_key) WHERE idempotency_key IS NOT NULL;
