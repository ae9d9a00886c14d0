//! The Worker's bindings and settings: one constant per name in wrangler.toml, and the core
//! configuration built from the settings once per isolate.

use std::cell::OnceCell;
use std::rc::Rc;

use gatehouse_core::config::{Config, ConfigError, Settings};
use worker::Env;

/// The D1 database holding clients, grants, codes, refresh tokens, keys and audit events.
pub const DB: &str = "DB";
/// The KV namespace holding the revoked-grant denylist and read-through caches.
pub const KV: &str = "KV";
/// The producer binding of the `revocations` Queue.
pub const REVOCATIONS: &str = "REVOCATIONS";
/// Variable: the protected apps, as JSON.
const APPS: &str = "APPS";
/// Variable: local accounts, as JSON.
const LOCAL_ACCOUNTS: &str = "LOCAL_ACCOUNTS";
/// Secret: the server secret.
const GATEHOUSE_SECRET: &str = "GATEHOUSE_SECRET";
/// Secret: the admin API's bearer token.
const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// Variable: upstream OpenID Connect providers, as JSON.
const OIDC_PROVIDERS: &str = "OIDC_PROVIDERS";
/// Variable: seconds a signing key signs before rotation.
const SIGNING_KEY_ROTATION_SECS: &str = "SIGNING_KEY_ROTATION_SECS";
/// Variable: the policy of the people who may use the admin API from a browser.
const ADMINS: &str = "ADMINS";
/// Variable: `on` while the database is being moved.
const MIGRATION_MODE: &str = "MIGRATION_MODE";
/// Variable: the `Retry-After` of writes refused in migration mode.
const MIGRATION_RETRY_AFTER_SECS: &str = "MIGRATION_RETRY_AFTER_SECS";
/// Variable: the lifetime of access tokens issued in migration mode.
const MIGRATION_ACCESS_TOKEN_TTL_SECS: &str = "MIGRATION_ACCESS_TOKEN_TTL_SECS";
/// Variable: `on` (default) or `off`, Client ID Metadata Documents.
const CIMD: &str = "CIMD";
/// Variable: the only hosts metadata documents may come from (comma-separated patterns).
const CIMD_ALLOWED_HOSTS: &str = "CIMD_ALLOWED_HOSTS";
/// Variable: hosts metadata documents may not come from.
const CIMD_DENIED_HOSTS: &str = "CIMD_DENIED_HOSTS";
/// Variable: local tests only, plain-http loopback documents.
const CIMD_ALLOW_INSECURE_LOOPBACK: &str = "CIMD_ALLOW_INSECURE_LOOPBACK";

thread_local! {
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

/// The configuration, parsed on an isolate's first request. A misconfiguration is reported on
/// every request until fixed (settings change only with a new deployment, so it is not cached).
pub fn config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    if let Some(config) = CONFIG.with(|c| c.get().cloned()) {
        return Ok(config);
    }
    let read = |name: &str| {
        env.var(name)
            .ok()
            .map(|v| v.to_string())
            .or_else(|| env.secret(name).ok().map(|s| s.to_string()))
    };
    let [
        apps,
        accounts,
        secret,
        rotation,
        admin_token,
        admins,
        migration,
        retry_after,
        ttl,
        cimd,
        cimd_allowed,
        cimd_denied,
        cimd_insecure,
    ] = [
        APPS,
        LOCAL_ACCOUNTS,
        GATEHOUSE_SECRET,
        SIGNING_KEY_ROTATION_SECS,
        ADMIN_TOKEN,
        ADMINS,
        MIGRATION_MODE,
        MIGRATION_RETRY_AFTER_SECS,
        MIGRATION_ACCESS_TOKEN_TTL_SECS,
        CIMD,
        CIMD_ALLOWED_HOSTS,
        CIMD_DENIED_HOSTS,
        CIMD_ALLOW_INSECURE_LOOPBACK,
    ]
    .map(read);
    let providers = read(OIDC_PROVIDERS);
    // The client secrets are Worker secrets named inside OIDC_PROVIDERS.
    let oidc_secrets = gatehouse_core::oidc::provider::secret_names(providers.as_deref())
        .into_iter()
        .filter_map(|name| read(&name).map(|value| (name, value)))
        .collect();
    let config = Rc::new(Config::from_settings(Settings {
        apps: apps.as_deref(),
        local_accounts: accounts.as_deref(),
        secret: secret.as_deref(),
        signing_key_rotation_secs: rotation.as_deref(),
        admin_token: admin_token.as_deref(),
        admins: admins.as_deref(),
        migration_mode: migration.as_deref(),
        migration_retry_after_secs: retry_after.as_deref(),
        migration_access_token_ttl_secs: ttl.as_deref(),
        oidc_providers: providers.as_deref(),
        oidc_secrets: Some(&oidc_secrets),
        cimd: gatehouse_core::cimd::CimdSettings {
            cimd: cimd.as_deref(),
            allowed_hosts: cimd_allowed.as_deref(),
            denied_hosts: cimd_denied.as_deref(),
            allow_insecure_loopback: cimd_insecure.as_deref(),
        },
    })?);
    CONFIG.with(|c| {
        let _ = c.set(config.clone());
    });
    Ok(config)
}
