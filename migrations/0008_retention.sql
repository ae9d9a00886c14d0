-- The retention sweep (docs/storage.md, "Retention"): the cron deletes lapsed rows a few
-- hundred at a time, each statement a range of one of these indexes, so that a sweep never
-- scans a table that holds every agent's live token.

-- Rotated refresh tokens, by when they were rotated (kept a day to recognise reuse). Partial:
-- the live token of each grant is not in it.
CREATE INDEX IF NOT EXISTS refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL;
-- Live refresh tokens by expiry: those of abandoned grants lapse.
CREATE INDEX IF NOT EXISTS refresh_tokens_live_by_expiry ON refresh_tokens (expires_at) WHERE rotated_at IS NULL;
-- Client assertion ids, by the expiry of their assertion.
CREATE INDEX IF NOT EXISTS client_assertion_jtis_by_expiry ON client_assertion_jtis (expires_at);
-- Wrong user codes, by when they were typed.
CREATE INDEX IF NOT EXISTS device_user_code_failures_by_time ON device_user_code_failures (failed_at);
