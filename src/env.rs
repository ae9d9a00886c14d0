//! The names of the Worker's bindings, as declared in wrangler.toml. One constant each, so a
//! renamed binding is a compile error here rather than a runtime surprise.

/// The D1 database holding clients, grants, codes, refresh tokens, keys and audit events.
pub const DB: &str = "DB";
/// The KV namespace holding the revoked-grant denylist and read-through caches.
pub const KV: &str = "KV";
/// The producer binding of the `revocations` Queue.
pub const REVOCATIONS: &str = "REVOCATIONS";
