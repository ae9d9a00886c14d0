//! The fetch loop: send, follow redirects under the origin rules, and when a Bearer challenge
//! comes back, refresh or authorize and send again.
//!
//! Rules kept here, in one place:
//! - a token is attached only to a request whose URL its resource covers (`origin::covers`),
//!   hop by hop, so a redirect to another origin never carries it; headers the caller set that
//!   carry credentials (`Authorization`, `Cookie`, `Proxy-Authorization`) are dropped when a
//!   redirect changes origin, as browsers and curl do;
//! - no token is sent, and no authorization started, for a URL that is plain `http` off the
//!   loopback (RFC 6750 §5.3: bearer tokens need TLS);
//! - a request the caller already authorized (`Authorization` header) is sent as is;
//! - each step happens at most once per fetch: one refresh, one authorization, one step-up for
//!   `insufficient_scope` (RFC 6750 §3.1) asking for the union of the held and needed scopes.

use crate::Error;
use crate::browser;
use crate::challenge::BearerChallenge;
use crate::device;
use crate::discovery::{self, AuthorizationServerMetadata, Discovered};
use crate::http::Http;
use crate::loopback::Listener;
use crate::origin;
use crate::person::{ConsentPrompt, Person};
use crate::pkce::Pkce;
use crate::registration;
use crate::revocation;
use crate::secret::Secret;
use crate::store::{TokenRecord, TokenStore};
use crate::token::{self, Outcome, TokenResponse};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ureq::Body;
use ureq::http::{HeaderMap, Method};
use url::Url;

/// An access token this close to its expiry is refreshed before use.
const EXPIRY_SKEW_SECS: u64 = 30;
/// Headers that carry the caller's credentials; dropped when a redirect leaves the origin.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Which grant gets a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantChoice {
    /// The authorization code grant, unless no browser can be opened and the server offers the
    /// device grant.
    Auto,
    /// Always the authorization code grant with a loopback redirect.
    Code,
    /// Always the device authorization grant (RFC 8628).
    Device,
}

/// The `client_name` registered when none is given.
pub const DEFAULT_CLIENT_NAME: &str = "gatehouse-fetch";

/// How the client behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// A pre-registered client id, or a Client ID Metadata Document URL; `None`: register.
    pub client_id: Option<String>,
    /// The `client_name` sent when registering (shown on consent pages).
    pub client_name: String,
    /// Scopes to ask for in addition to those a challenge names.
    pub scopes: Vec<String>,
    /// Which grant to use.
    pub grant: GrantChoice,
    /// Start the system browser at the authorization URL (else only show it).
    pub open_browser: bool,
    /// Follow redirects (each hop under the origin rules).
    pub follow_redirects: bool,
    /// How many redirects at most.
    pub max_redirects: u32,
    /// Per-request network timeout.
    pub timeout: Duration,
    /// How long to wait for the person to finish logging in.
    pub authorization_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: None,
            client_name: DEFAULT_CLIENT_NAME.into(),
            scopes: Vec::new(),
            grant: GrantChoice::Auto,
            open_browser: true,
            follow_redirects: false,
            max_redirects: 10,
            timeout: Duration::from_secs(30),
            authorization_timeout: Duration::from_secs(300),
        }
    }
}

/// A request to fetch.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// Header names and values, as given.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A plain `GET`.
    pub fn get(url: Url) -> Self {
        Request {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// The final response.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The HTTP version.
    pub version: ureq::http::Version,
    /// Its headers.
    pub headers: HeaderMap,
    /// The URL that answered (after redirects).
    pub url: Url,
    /// The body, unread.
    pub body: Body,
}

/// What `logout` did.
#[derive(Debug)]
pub struct Logout {
    /// The resource whose tokens were forgotten.
    pub resource: String,
    /// Their issuer.
    pub issuer: String,
    /// Whether the server confirmed the revocation (RFC 7009); `false` when it has no endpoint.
    pub revoked: bool,
}

/// The client: a store, a person to ask, and an HTTP agent.
pub struct Client<P: Person> {
    http: Http,
    store: TokenStore,
    person: P,
    options: Options,
}

struct Sent {
    response: ureq::http::Response<Body>,
    url: Url,
    token: Option<TokenRecord>,
}

impl<P: Person> Client<P> {
    /// A client with these options, tokens and person.
    pub fn new(options: Options, store: TokenStore, person: P) -> Self {
        Client {
            http: Http::new(options.timeout),
            store,
            person,
            options,
        }
    }

    /// The token store.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// Fetches `request`, authorizing as needed.
    pub fn fetch(&mut self, request: &Request) -> Result<Response, Error> {
        let caller_authorized = request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
        let (mut refreshed, mut authorized, mut stepped_up) = (false, false, false);
        loop {
            let sent = self.send(request, !caller_authorized)?;
            let status = sent.response.status().as_u16();
            let challenge = BearerChallenge::from_headers(
                sent.response
                    .headers()
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            let Some(challenge) = challenge.filter(|_| {
                matches!(status, 401 | 403) && !caller_authorized && origin::is_secure(&sent.url)
            }) else {
                return Ok(finish(sent));
            };
            if status == 403 && !challenge.is_insufficient_scope() {
                return Ok(finish(sent));
            }
            match &sent.token {
                // RFC 6750 §3.1 insufficient_scope: ask again for what we hold plus what is needed.
                Some(held) if challenge.is_insufficient_scope() => {
                    if stepped_up {
                        return Ok(finish(sent));
                    }
                    stepped_up = true;
                    self.authorize(&sent.url, &challenge, Some(held))?;
                }
                // RFC 6750 §3.1 invalid_token: expired or revoked; a refresh may do.
                Some(held) if status == 401 && !refreshed && held.refresh_token.is_some() => {
                    refreshed = true;
                    self.refresh(held)?;
                }
                _ => {
                    if authorized {
                        return Ok(finish(sent));
                    }
                    authorized = true;
                    self.authorize(&sent.url, &challenge, None)?;
                }
            }
        }
    }

    /// Sends `request`, following redirects if asked; attaches a stored token per hop.
    fn send(&mut self, request: &Request, attach: bool) -> Result<Sent, Error> {
        let (mut method, mut url, mut body) = (
            request.method.clone(),
            request.url.clone(),
            request.body.clone(),
        );
        let mut headers = request.headers.clone();
        let mut hops = 0;
        loop {
            let token = if attach && origin::is_secure(&url) {
                self.usable_token(&url)?
            } else {
                None
            };
            let mut sent_headers = headers.clone();
            if let Some(t) = &token {
                sent_headers.push(("authorization".into(), format!("Bearer {}", t.access_token)));
            }
            let response = self
                .http
                .send(&method, &url, &sent_headers, body.as_deref())?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let next = match (
                self.options.follow_redirects && matches!(status, 301 | 302 | 303 | 307 | 308),
                location,
            ) {
                (true, Some(location)) => url
                    .join(&location)
                    .map_err(|e| Error::Network(format!("bad redirect {location:?}: {e}")))?,
                _ => {
                    return Ok(Sent {
                        response,
                        url,
                        token,
                    });
                }
            };
            hops += 1;
            if hops > self.options.max_redirects {
                return Err(Error::Network(format!(
                    "more than {} redirects",
                    self.options.max_redirects
                )));
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Error::Network(format!("refusing a redirect to {next}")));
            }
            if !origin::same_origin(&url, &next) {
                headers
                    .retain(|(n, _)| !CREDENTIAL_HEADERS.iter().any(|c| n.eq_ignore_ascii_case(c)));
            }
            // RFC 9110 §15.4: 303 becomes GET; so do 301/302 after POST, as user agents do.
            if status == 303 && method != Method::HEAD
                || matches!(status, 301 | 302) && method == Method::POST
            {
                method = Method::GET;
                body = None;
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            }
            url = next;
        }
    }

    /// The stored token covering `url`, refreshed first when it is (nearly) expired.
    fn usable_token(&mut self, url: &Url) -> Result<Option<TokenRecord>, Error> {
        let Some(record) = self.store.token_for(url).cloned() else {
            return Ok(None);
        };
        let expired = record
            .expires_at
            .is_some_and(|at| at <= now().saturating_add(EXPIRY_SKEW_SECS));
        if !expired {
            return Ok(Some(record));
        }
        if record.refresh_token.is_some() && self.refresh(&record)? {
            return Ok(self.store.token_for(url).cloned());
        }
        Ok(None)
    }

    /// Refreshes `record` (RFC 6749 §6); `false` (and the tokens forgotten) when refused.
    fn refresh(&mut self, record: &TokenRecord) -> Result<bool, Error> {
        let Some(refresh_token) = record.refresh_token.clone().map(Secret::new) else {
            return Ok(false);
        };
        match token::refresh(
            &self.http,
            &record.token_endpoint,
            &record.client_id,
            &refresh_token,
            &record.resource,
        )? {
            Outcome::Tokens(tokens) => {
                let mut next = record.clone();
                apply(&mut next, tokens);
                self.store.put_token(next)?;
                Ok(true)
            }
            Outcome::Refused(_) => {
                self.store.remove_token(&record.issuer, &record.resource)?;
                Ok(false)
            }
        }
    }

    /// Discovery, consent, client id, a grant, and the tokens stored.
    fn authorize(
        &mut self,
        url: &Url,
        challenge: &BearerChallenge,
        held: Option<&TokenRecord>,
    ) -> Result<(), Error> {
        let found = discovery::discover(&self.http, url, challenge)?;
        let mut scopes: Vec<String> = Vec::new();
        let held_scopes = held
            .map(|h| h.scope.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default();
        for s in self
            .options
            .scopes
            .iter()
            .cloned()
            .chain(held_scopes)
            .chain(challenge.scopes())
        {
            if !s.is_empty() && !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let prompt = ConsentPrompt {
            resource: &found.resource,
            issuer: &found.server.issuer,
            scopes: &scopes,
            step_up: held.is_some(),
        };
        if !self.person.consent(&prompt)? {
            return Err(Error::ConsentDeclined(
                "the person declined the authorization".into(),
            ));
        }
        let client_id = self.client_id(&found.server)?;
        let scope = scopes.join(" ");
        let tokens = match self.grant(&found.server)? {
            GrantChoice::Device => self.device_grant(&found, &client_id, &scope)?,
            _ => self.code_grant(&found, &client_id, &scope)?,
        };
        let mut record = TokenRecord {
            issuer: found.server.issuer.clone(),
            resource: found.resource_metadata.resource.clone(),
            client_id,
            token_endpoint: found.server.token_endpoint.clone(),
            revocation_endpoint: found.server.revocation_endpoint.clone(),
            access_token: String::new(),
            refresh_token: None,
            expires_at: None,
            scope,
        };
        apply(&mut record, tokens);
        self.store.put_token(record)
    }

    fn client_id(&mut self, server: &AuthorizationServerMetadata) -> Result<String, Error> {
        if let Some(id) = &self.options.client_id {
            // A URL client id is a Client ID Metadata Document; only servers that say so fetch it.
            if id.starts_with("https://") && !server.client_id_metadata_document_supported {
                return Err(Error::Authorization(format!(
                    "{} does not accept Client ID Metadata Documents",
                    server.issuer
                )));
            }
            return Ok(id.clone());
        }
        // One registration per name: another --client-name registers anew.
        let name = &self.options.client_name;
        if let Some(id) = self.store.client_for(&server.issuer, name) {
            return Ok(id.to_owned());
        }
        let id = registration::register(&self.http, server, name)?;
        self.store.put_client(&server.issuer, name, &id)?;
        Ok(id)
    }

    fn grant(&self, server: &AuthorizationServerMetadata) -> Result<GrantChoice, Error> {
        match self.options.grant {
            GrantChoice::Device if !server.offers_device_grant() => {
                Err(Error::Authorization(format!(
                    "{} does not offer the device authorization grant",
                    server.issuer
                )))
            }
            GrantChoice::Auto
                if self.options.open_browser
                    && !browser::available()
                    && server.offers_device_grant() =>
            {
                Ok(GrantChoice::Device)
            }
            GrantChoice::Device => Ok(GrantChoice::Device),
            _ => Ok(GrantChoice::Code),
        }
    }

    /// RFC 6749 §4.1 with PKCE S256 (RFC 7636), `resource` (RFC 8707), `state`, and a loopback
    /// redirect (RFC 8252 §7.3); the response's `iss` is checked (RFC 9207).
    fn code_grant(
        &mut self,
        found: &Discovered,
        client_id: &str,
        scope: &str,
    ) -> Result<TokenResponse, Error> {
        let server = &found.server;
        let endpoint = server.authorization_endpoint.as_ref().ok_or_else(|| {
            Error::Discovery(format!("{} has no authorization_endpoint", server.issuer))
        })?;
        let listener = Listener::bind()?;
        let pkce = Pkce::generate()?;
        let state = Secret::random(16)?;
        let mut url = endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", listener.redirect_uri().as_str())
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", state.expose_secret())
                .append_pair("resource", &found.resource_metadata.resource);
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
        }
        let opened = self.options.open_browser && browser::open(&url);
        self.person.visit(&url, opened);
        let code = listener.wait(
            &state,
            &server.issuer,
            server.authorization_response_iss_parameter_supported,
            self.options.authorization_timeout,
        )?;
        token::exchange_code(
            &self.http,
            &server.token_endpoint,
            client_id,
            &code,
            listener.redirect_uri(),
            pkce.verifier(),
            &found.resource_metadata.resource,
        )
    }

    /// RFC 8628: the person enters a code elsewhere while we poll.
    fn device_grant(
        &mut self,
        found: &Discovered,
        client_id: &str,
        scope: &str,
    ) -> Result<TokenResponse, Error> {
        let endpoint = found
            .server
            .device_authorization_endpoint
            .as_ref()
            .ok_or_else(|| Error::Discovery("no device_authorization_endpoint".into()))?;
        let authorization = device::start(
            &self.http,
            endpoint,
            client_id,
            scope,
            &found.resource_metadata.resource,
        )?;
        self.person.enter_code(&authorization);
        device::poll(
            &self.http,
            &found.server.token_endpoint,
            client_id,
            &authorization,
        )
    }

    /// Forgets the tokens covering `url` and revokes them at their issuer (RFC 7009).
    pub fn logout(&mut self, url: &Url) -> Result<Option<Logout>, Error> {
        let Some(record) = self.store.token_for(url).cloned() else {
            return Ok(None);
        };
        self.store.remove_token(&record.issuer, &record.resource)?;
        let mut revoked = false;
        if let Some(endpoint) = &record.revocation_endpoint {
            if let Some(refresh) = &record.refresh_token {
                revoked = revocation::revoke(
                    &self.http,
                    endpoint,
                    &record.client_id,
                    &Secret::new(refresh.clone()),
                    "refresh_token",
                )?;
            }
            let access = revocation::revoke(
                &self.http,
                endpoint,
                &record.client_id,
                &Secret::new(record.access_token.clone()),
                "access_token",
            )?;
            revoked = revoked || access;
        }
        Ok(Some(Logout {
            resource: record.resource,
            issuer: record.issuer,
            revoked,
        }))
    }
}

/// Copies a token response into a record; a refresh that returns no new refresh token keeps the
/// old one (RFC 6749 §6), and one that names no scope keeps the old scope (RFC 6749 §5.1).
fn apply(record: &mut TokenRecord, tokens: TokenResponse) {
    record.access_token = tokens.access_token;
    if tokens.refresh_token.is_some() {
        record.refresh_token = tokens.refresh_token;
    }
    record.expires_at = tokens.expires_in.map(|s| now().saturating_add(s));
    if let Some(scope) = tokens.scope {
        record.scope = scope;
    }
}

fn finish(sent: Sent) -> Response {
    let (parts, body) = sent.response.into_parts();
    Response {
        status: parts.status.as_u16(),
        version: parts.version,
        headers: parts.headers,
        url: sent.url,
        body,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
