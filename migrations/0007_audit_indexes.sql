-- The admin console's audit search: an index for each filter it offers, each ending in `at` so
-- that a time range and the newest-first order read the index too. `audit_events_by_subject`
-- (subject, at) and `audit_events_by_client` (client_id, at) exist since 0001; every query names
-- the app, and the kind is the remaining filter.
CREATE INDEX IF NOT EXISTS audit_events_by_app ON audit_events (app, at);
CREATE INDEX IF NOT EXISTS audit_events_by_kind ON audit_events (kind, at);
