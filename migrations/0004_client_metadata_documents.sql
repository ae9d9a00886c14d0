-- Client ID Metadata Documents: the `jti` of every accepted `private_key_jwt` client assertion
-- (RFC 7523 §3 item 7: "The authorization server MAY ensure that JWTs are not replayed"), kept
-- until the assertion expires (at most 10 minutes and 30 s of leeway ahead). D1 rather than KV:
-- single use needs an atomic check-and-insert, which KV's eventual consistency cannot give.
-- docs/storage.md describes the table.
CREATE TABLE client_assertion_jtis (
  jti_hash TEXT PRIMARY KEY,           -- SHA-256 hex of "<client_id> <jti>"
  expires_at INTEGER NOT NULL          -- after this, the row may be taken over by a new use
);
