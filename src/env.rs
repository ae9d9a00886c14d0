//! The Worker's bindings and settings: one constant per binding name in wrangler.toml, and the core
//! configuration built once per isolate from the settings named in `gatehouse_core::config::names`.

use std::cell::OnceCell;
use std::rc::Rc;

use gatehouse_core::config::{Config, ConfigError};
use wasm_bindgen::JsValue;
use worker::Env;

/// The D1 database holding clients, grants, codes, refresh tokens, keys and audit events.
pub const DB: &str = "DB";
/// The KV namespace holding the revoked-grant denylist and read-through caches.
pub const KV: &str = "KV";
/// The producer binding of the `revocations` Queue.
pub const REVOCATIONS: &str = "REVOCATIONS";

thread_local! {
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

/// The configuration, parsed on an isolate's first request. A misconfiguration is reported on
/// every request until fixed (settings change only with a new deployment, so it is not cached).
pub fn config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    if let Some(config) = CONFIG.with(|c| c.get().cloned()) {
        return Ok(config);
    }
    let config = Rc::new(Config::from_lookup(|name| setting(env, name))?);
    CONFIG.with(|c| {
        let _ = c.set(config.clone());
    });
    Ok(config)
}

/// Logs a configuration error for the operator, as one JSON line under a new reference, and
/// returns the reference: the only thing about it the public ever gets (README, "Configuration").
pub fn log_config_error(error: &ConfigError) -> String {
    let reference = crate::random::hex::<8>().unwrap_or_default();
    worker::console_error!(
        "{}",
        serde_json::json!({
            "event": "configuration_error",
            "reference": reference,
            "setting": error.setting,
            "problem": error.problem,
            "fix": error.fix,
        })
    );
    reference
}

/// One setting's text. A variable or secret written as a string is taken as it is; one written
/// in wrangler.toml as a TOML array or table (`APPS = [ … ]`) reaches the Worker as a JSON value,
/// which is read back as its JSON text, so both spellings configure the same thing.
fn setting(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok()?.as_string())
}
