-- Failed-login bounds and public clients' remembered consent (issue 15 §5). docs/storage.md
-- describes both.

-- Checked local-account logins (crates/core/src/login_throttle.rs): failures are counted per
-- account and per source over 15 minutes, before any password is hashed; a success makes its
-- source known to the account for 30 days (exempt from that account's bound). An attempt is
-- inserted as a failure, in one statement with the bounds' counts, before its password is
-- hashed, and marked succeeded if it was right; logins refused by a bound are not recorded.
-- Each insert deletes the rows no bound reads any more.
CREATE TABLE login_attempts (
  id INTEGER PRIMARY KEY,
  account_hash TEXT NOT NULL,          -- SHA-256 (hex) of the lowercased email typed
  source TEXT NOT NULL,                -- IPv4 address or IPv6 /64 (registration::source_network)
  succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1)),
  at INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_account ON login_attempts (account_hash, succeeded, at);
CREATE INDEX login_attempts_by_source ON login_attempts (source, succeeded, at);
CREATE INDEX login_attempts_by_outcome ON login_attempts (succeeded, at);

-- The redirect URI (loopback port included) of the request the person last approved on the
-- consent page. A public client's remembered consent holds for this URI only (RFC 8252 §8.6);
-- NULL (device approvals, rows from before this migration) asks the person again.
ALTER TABLE consents ADD COLUMN redirect_uri TEXT;
