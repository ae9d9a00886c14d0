//! The site a request arrived at: the protected app that serves it (by host and path prefix)
//! and this server's issuer for that app. Each app is its own issuer-audience pair
//! (`scheme://host[:port]` plus the app's path prefix), so a token issued for one app is never
//! accepted by another, even on the same host.

use crate::app::{App, app_for};
use crate::paths;

/// The issuer and app for one request.
#[derive(Debug)]
pub struct Site<'c> {
    /// `scheme://host[:port]` of the request.
    pub origin: String,
    /// The app served there.
    pub app: &'c App,
    /// The origin plus the app's path prefix, no trailing slash: the `iss` of everything issued
    /// for the app (RFC 8414 §2 allows an issuer with a path; RFC 9207 §2).
    pub issuer: String,
    /// The app's canonical URL (the same string): the audience of its tokens and its RFC 9728
    /// `resource`.
    pub resource: String,
}

impl<'c> Site<'c> {
    /// The site for a request to `origin` (e.g. `https://apps.example.com`, whose host part is
    /// `host`, `host[:port]`) for `path`, or `None` when no app serves that path there. For the
    /// discovery documents, `path` is the issuer or resource path the document is asked for.
    /// `apps` is the configured list (`Config::apps`).
    pub fn resolve(apps: &'c [App], origin: &str, host: &str, path: &str) -> Option<Self> {
        let app = app_for(apps, host, path)?;
        let issuer = format!("{origin}{}", base(app));
        Some(Self {
            origin: origin.to_owned(),
            app,
            resource: issuer.clone(),
            issuer,
        })
    }

    /// One of gatehouse's own paths (`paths::…`) for this app: under its path prefix.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", base(self.app))
    }

    /// The part of a request path below the app's prefix, as gatehouse routes it (`/wiki/oauth/
    /// token` → `/oauth/token`).
    pub fn local_path<'p>(&self, path: &'p str) -> &'p str {
        match path.strip_prefix(base(self.app)) {
            Some("") => "/",
            Some(rest) => rest,
            None => path,
        }
    }

    /// The app's protected resource metadata URL (RFC 9728 §3.1: the well-known path goes
    /// between the host and the resource's path).
    pub fn resource_metadata_url(&self) -> String {
        format!(
            "{}{}{}",
            self.origin,
            paths::OAUTH_PROTECTED_RESOURCE,
            base(self.app)
        )
    }

    /// The canonical resource for a requested RFC 8707 `resource`, when it names this app: same
    /// origin, a path within the app's prefix, no query. Clients such as MCP SDKs send the URL
    /// they were configured with (`https://app.example/mcp`); the token's audience is the app.
    pub fn resource_for(&self, requested: &crate::types::ResourceUri) -> Option<&str> {
        let url = requested.url();
        let same_origin = url.origin().ascii_serialization() == self.origin;
        let prefix = base(self.app);
        let within = prefix.is_empty()
            || url
                .path()
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        (same_origin && within && url.query().is_none()).then_some(self.resource.as_str())
    }

    /// The name of the session cookie for this app ([`crate::http::cookie::session_cookie_name`]).
    pub fn session_cookie(&self) -> String {
        crate::http::cookie::session_cookie_name(&self.app.path_prefix)
    }
}

/// The app's path prefix as a base to put paths under: empty for `/`.
fn base(app: &App) -> &str {
    if app.path_prefix == "/" {
        ""
    } else {
        &app.path_prefix
    }
}
