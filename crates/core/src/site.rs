//! The site a request arrived at: this server's issuer (the request's origin) and the protected
//! app served there. Each app host is its own issuer-audience pair, so a token issued on one
//! app's host is never accepted for another.

use crate::config::{App, Config};

/// The issuer and app for one request.
#[derive(Debug)]
pub struct Site<'c> {
    /// `scheme://host[:port]` of the request, no trailing slash: the `iss` of everything issued
    /// here (RFC 8414 §2; RFC 9207 §2).
    pub issuer: String,
    /// The app served on this host.
    pub app: &'c App,
    /// The app's canonical URL: the audience of its tokens and its RFC 9728 `resource`.
    pub resource: String,
}

impl<'c> Site<'c> {
    /// The site for a request to `origin` (e.g. `https://wiki.example.com`) whose host part is
    /// `host` (`host[:port]`), or `None` when no app is served there.
    pub fn resolve(config: &'c Config, origin: &str, host: &str) -> Option<Self> {
        let app = config.app_for_host(host)?;
        Some(Self {
            issuer: origin.to_owned(),
            app,
            resource: origin.to_owned(),
        })
    }

    /// The canonical resource for a requested RFC 8707 `resource`, when it names this app: same
    /// origin as the app, any path within it. Clients such as MCP SDKs send the URL they were
    /// configured with (`https://app.example/mcp`); the token's audience is still the app.
    pub fn resource_for(&self, requested: &crate::types::ResourceUri) -> Option<&str> {
        let url = requested.url();
        let same_origin = url.origin().ascii_serialization() == self.issuer;
        (same_origin && url.query().is_none()).then_some(self.resource.as_str())
    }
}
