-- The device authorization grant (RFC 8628). docs/storage.md describes both tables.

-- Device codes: the device code is stored as its SHA-256 hash, the user code as an HMAC-SHA256
-- under a key derived from GATEHOUSE_SECRET. Every poll is one UPDATE (slow_down bookkeeping);
-- the decision and the redemption are each one UPDATE guarded by the status, so racing polls
-- redeem a code once.
CREATE TABLE device_codes (
  device_code_hash TEXT PRIMARY KEY,
  user_code_hash TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES clients (client_id),
  resource TEXT NOT NULL,              -- the app's canonical URL (RFC 8707)
  scope TEXT NOT NULL,                 -- space-separated, as asked for and narrowed
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
  grant_id TEXT REFERENCES grants (grant_id), -- set on approval
  interval_secs INTEGER NOT NULL,      -- grows by 5 on every slow_down
  last_polled_at INTEGER,
  polled_too_fast INTEGER NOT NULL DEFAULT 0, -- whether the last poll came too soon
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER,
  redeemed_at INTEGER
);
CREATE INDEX device_codes_by_user_code ON device_codes (user_code_hash, expires_at);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);

-- Wrong user codes typed on the verification page, per person, for the guessing limit
-- (RFC 8628 §5.1).
CREATE TABLE device_user_code_failures (
  subject TEXT NOT NULL,
  failed_at INTEGER NOT NULL
);
CREATE INDEX device_user_code_failures_by_subject ON device_user_code_failures (subject, failed_at);
