-- gatehouse's D1 schema. docs/storage.md describes every table: who writes it, what is hashed,
-- and how long rows live. Times are Unix seconds. Secrets are never stored in the clear: codes,
-- refresh tokens, client secrets and session ids are stored as SHA-256 hashes (hex), raw values
-- exist only in responses.

-- OAuth clients: registered by RFC 7591, configured by the operator, or fetched as a Client ID
-- Metadata Document.
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('dynamic', 'static', 'metadata_document')),
  secret_hash TEXT,                    -- NULL for public clients
  token_endpoint_auth_method TEXT NOT NULL,
  metadata TEXT NOT NULL,              -- the validated client metadata, as JSON
  registered_from TEXT,                -- source network of a dynamic registration (rate limits)
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at INTEGER,                  -- unused dynamic registrations expire
  disabled_at INTEGER
);
CREATE INDEX clients_by_expiry ON clients (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX clients_by_source ON clients (registered_from, created_at);

-- People known to gatehouse: local accounts and people who logged in upstream.
CREATE TABLE people (
  subject TEXT PRIMARY KEY,            -- stable: 'local:<email>' or '<issuer>#<sub>'
  email TEXT NOT NULL,
  name TEXT,
  groups TEXT NOT NULL DEFAULT '[]',   -- JSON array, as last seen at login
  created_at INTEGER NOT NULL,
  last_login_at INTEGER
);
CREATE INDEX people_by_email ON people (email);

-- A grant: a person lets a client act for them at one app with some scopes. The unit of consent,
-- of revocation and of the connected-agents page.
CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  subject TEXT NOT NULL REFERENCES people (subject),
  client_id TEXT NOT NULL REFERENCES clients (client_id),
  app TEXT NOT NULL,                   -- the app's canonical URL, the tokens' audience
  scope TEXT NOT NULL,                 -- space-separated, as granted
  redirect_uri TEXT NOT NULL,          -- tells installations of one client apart
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX grants_by_subject ON grants (subject, revoked_at);
CREATE INDEX grants_by_client ON grants (client_id, revoked_at);
CREATE INDEX grants_by_app ON grants (app, revoked_at);

-- Consent remembered per person x client x app; a new scope asks again.
CREATE TABLE consents (
  subject TEXT NOT NULL REFERENCES people (subject),
  client_id TEXT NOT NULL REFERENCES clients (client_id),
  app TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  withdrawn_at INTEGER,
  PRIMARY KEY (subject, client_id, app)
);

-- Authorization codes: single use is one atomic `UPDATE ... WHERE used_at IS NULL`.
CREATE TABLE authorization_codes (
  code_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id),
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,        -- PKCE S256 challenge
  resource TEXT NOT NULL,
  scope TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_by_grant ON authorization_codes (grant_id);

-- Refresh tokens: one row per token ever issued (so a rotated token presented again is
-- recognised as reuse), of which exactly one per grant is live (rotated_at IS NULL), enforced
-- by the partial unique index. Rotation is a compare-and-swap on rotated_at IS NULL.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated_at INTEGER,
  successor_hash TEXT
);
CREATE UNIQUE INDEX refresh_tokens_one_live_per_grant ON refresh_tokens (grant_id) WHERE rotated_at IS NULL;
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

-- Browser sessions after login (the __Host- session cookie), hashed.
CREATE TABLE sessions (
  session_hash TEXT PRIMARY KEY,
  subject TEXT NOT NULL REFERENCES people (subject),
  app TEXT,                            -- NULL for the authorization server's own session
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_by_subject ON sessions (subject, revoked_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Token signing keys (ES256). The private key is encrypted with a Worker secret; keys overlap
-- during rotation so that tokens signed by the previous key still verify.
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL DEFAULT 'ES256',
  public_jwk TEXT NOT NULL,
  private_key_encrypted TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retires_at INTEGER NOT NULL,         -- stops signing
  expires_at INTEGER NOT NULL          -- leaves the JWKS
);
CREATE INDEX signing_keys_by_creation ON signing_keys (created_at);

-- Audit events: who (person), through what (client), did what, at which app, when, from where.
CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT,
  client_id TEXT,
  app TEXT,
  grant_id TEXT,
  source_ip TEXT,
  detail TEXT NOT NULL DEFAULT '{}'   -- JSON
);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_subject ON audit_events (subject, at);
CREATE INDEX audit_events_by_client ON audit_events (client_id, at);

-- Receipts of health probes sent through the revocations Queue by GET /healthz.
CREATE TABLE health_probes (
  nonce TEXT PRIMARY KEY,
  consumed_at INTEGER NOT NULL
);
CREATE INDEX health_probes_by_time ON health_probes (consumed_at);
