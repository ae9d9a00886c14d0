-- RFC 7009 revocations of refresh tokens write D1 first and the deny entry after the answer
-- (docs/storage.md, "Revocation"). The cron's sweep finishes every grant revoked but not
-- settled, oldest first, a bounded number per run: this partial index holds exactly those rows,
-- so the sweep reads only them however many grants there are.
CREATE INDEX IF NOT EXISTS grants_unsettled ON grants (revoked_at, grant_id)
  WHERE revoked_at IS NOT NULL AND revocation_settled_at IS NULL;
