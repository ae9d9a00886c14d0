-- Pending upstream OpenID Connect logins (crates/core/src/oidc/state.rs). One row per login
-- started at the provider; the callback consumes it once with
-- `UPDATE … SET used_at = ? WHERE state_hash = ? AND used_at IS NULL RETURNING …`.
-- Nothing secret is stored in the clear: the state and the browser-binding cookie are SHA-256
-- hex; the nonce and the PKCE verifier are derived from the state and never stored.
CREATE TABLE oidc_states (
  state_hash TEXT PRIMARY KEY,
  binding_hash TEXT NOT NULL,
  provider TEXT NOT NULL,
  app TEXT NOT NULL,
  return_to TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX oidc_states_by_expiry ON oidc_states (expires_at);
