//! `gatehouse-fetch`: fetch a URL like a careful curl, following a Bearer challenge through
//! discovery, registration, the person's consent and login to a token, then retrying.
//!
//! Exit codes (also in the README): 0 the response was 1xx–3xx; 2 usage; 3 network;
//! 4 the response was 4xx/5xx (the body is still written); 5 discovery or authorization failed;
//! 6 consent declined or not askable; 7 the token store failed.

use clap::{Parser, Subcommand};
use gatehouse_fetch::person::Terminal;
use gatehouse_fetch::{Client, Error, GrantChoice, Options, Request, TokenStore};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use ureq::http::Method;
use url::Url;

const EXIT_NETWORK: u8 = 3;
const EXIT_HTTP_ERROR: u8 = 4;
const EXIT_AUTHORIZATION: u8 = 5;
const EXIT_CONSENT: u8 = 6;
const EXIT_STORE: u8 = 7;
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "gatehouse-fetch",
    version,
    args_conflicts_with_subcommands = true
)]
#[command(
    about = "Fetch a URL like curl; on a Bearer challenge, get a token (OAuth 2.1, PKCE, device grant) and retry"
)]
#[command(
    after_help = "Exit codes: 0 ok (1xx-3xx), 2 usage, 3 network, 4 HTTP 4xx/5xx, 5 discovery or authorization failed, 6 consent declined, 7 token store.\nTokens live in $GATEHOUSE_FETCH_HOME, else $XDG_CONFIG_HOME/gatehouse-fetch, else ~/.config/gatehouse-fetch (tokens.json, mode 0600)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The URL to fetch.
    url: Option<String>,
    /// The request method (default GET, or POST with a body).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// A form body (repeatable, joined with `&`); `@file` reads a file, `@-` stdin.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Vec<String>,
    /// A JSON body, sent with `Content-Type` and `Accept: application/json`; `@file`, `@-` too.
    #[arg(long = "json", value_name = "DATA", conflicts_with = "data")]
    json: Option<String>,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Fewer notes on stderr (the login URL or device code is still shown).
    #[arg(short = 's', long = "silent")]
    silent: bool,
    /// Follow redirects (a token never follows one to another origin).
    #[arg(short = 'L', long = "location")]
    location: bool,
    /// At most this many redirects.
    #[arg(long = "max-redirs", default_value_t = 10)]
    max_redirs: u32,
    #[command(flatten)]
    auth: AuthArgs,
}

#[derive(clap::Args)]
struct AuthArgs {
    /// Consent to starting an authorization without asking (non-interactive use).
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// A pre-registered client id, or a Client ID Metadata Document URL (no registration).
    #[arg(long = "client-id", value_name = "ID")]
    client_id: Option<String>,
    /// The name this agent registers under, shown on consent pages (default gatehouse-fetch).
    #[arg(long = "client-name", value_name = "NAME")]
    client_name: Option<String>,
    /// Use the device authorization grant (RFC 8628) instead of a browser.
    #[arg(long = "device")]
    device: bool,
    /// Do not start a browser: print the authorization URL on stderr.
    #[arg(long = "no-browser")]
    no_browser: bool,
    /// Also ask for these scopes (repeatable, or space-separated).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The token store directory (default: see below).
    #[arg(long = "store", value_name = "DIR")]
    store: Option<PathBuf>,
    /// Seconds one network request may take.
    #[arg(long = "timeout", default_value_t = 30)]
    timeout: u64,
    /// Seconds to wait for the person to log in and approve.
    #[arg(long = "auth-timeout", default_value_t = 300)]
    auth_timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Forget the tokens for URL and revoke them at their authorization server (RFC 7009).
    Logout {
        /// A URL the tokens were used for.
        url: String,
        #[command(flatten)]
        auth: AuthArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gatehouse-fetch: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => EXIT_USAGE,
                Error::Network(_) => EXIT_NETWORK,
                Error::Discovery(_) | Error::Authorization(_) => EXIT_AUTHORIZATION,
                Error::ConsentDeclined(_) => EXIT_CONSENT,
                Error::Store(_) => EXIT_STORE,
            })
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    if let Some(Command::Logout { url, auth }) = cli.command {
        return logout(&parse_url(&url)?, &auth, cli.silent);
    }
    let url = parse_url(
        cli.url
            .as_deref()
            .ok_or_else(|| Error::Usage("a URL is required (see --help)".into()))?,
    )?;
    let mut headers = Vec::new();
    for h in &cli.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Error::Usage(format!("header {h:?} is not `Name: value`")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let body = if let Some(json) = &cli.json {
        for (name, value) in [
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ] {
            if !has(&headers, name) {
                headers.push((name.into(), value.into()));
            }
        }
        Some(read_data(json)?)
    } else if !cli.data.is_empty() {
        if !has(&headers, "content-type") {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let parts = cli
            .data
            .iter()
            .map(|d| read_data(d))
            .collect::<Result<Vec<_>, _>>()?;
        Some(parts.join(&b'&'))
    } else {
        None
    };
    let method = match &cli.method {
        Some(m) => Method::from_bytes(m.as_bytes())
            .map_err(|_| Error::Usage(format!("bad method {m:?}")))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut client = client(&cli.auth, cli.silent, cli.location, cli.max_redirs)?;
    let response = client.fetch(&Request {
        method,
        url,
        headers,
        body,
    })?;
    let mut out: Box<dyn Write> = match &cli.output {
        Some(path) => Box::new(
            File::create(path)
                .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let write_failed = |e: io::Error| Error::Network(format!("writing the body: {e}"));
    if cli.include {
        let reason = ureq::http::StatusCode::from_u16(response.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(
            out,
            "{:?} {} {reason}\r\n",
            response.version, response.status
        )
        .map_err(write_failed)?;
        for (name, value) in &response.headers {
            write!(out, "{name}: ")
                .and_then(|()| out.write_all(value.as_bytes()))
                .and_then(|()| out.write_all(b"\r\n"))
                .map_err(write_failed)?;
        }
        out.write_all(b"\r\n").map_err(write_failed)?;
    }
    io::copy(&mut response.body.into_reader(), &mut out).map_err(write_failed)?;
    out.flush().map_err(write_failed)?;
    Ok(if response.status >= 400 {
        EXIT_HTTP_ERROR
    } else {
        0
    })
}

fn logout(url: &Url, auth: &AuthArgs, silent: bool) -> Result<u8, Error> {
    let mut client = client(auth, silent, false, 0)?;
    match client.logout(url)? {
        Some(done) => {
            let revoked = if done.revoked {
                "revoked at"
            } else {
                "forgotten; not confirmed revoked by"
            };
            eprintln!(
                "gatehouse-fetch: tokens for {} {revoked} {}",
                done.resource, done.issuer
            );
        }
        None => eprintln!("gatehouse-fetch: no tokens stored for {url}"),
    }
    Ok(0)
}

fn client(
    auth: &AuthArgs,
    silent: bool,
    follow_redirects: bool,
    max_redirects: u32,
) -> Result<Client<Terminal>, Error> {
    let store = match &auth.store {
        Some(dir) => TokenStore::open(dir.clone())?,
        None => TokenStore::at_default_location()?,
    };
    let scopes = auth
        .scopes
        .iter()
        .flat_map(|s| s.split(' '))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let client_name = match auth.client_name.as_deref().map(str::trim) {
        None => gatehouse_fetch::client::DEFAULT_CLIENT_NAME.to_owned(),
        Some("") => return Err(Error::Usage("--client-name must not be empty".into())),
        Some(_) if auth.client_id.is_some() => {
            return Err(Error::Usage(
                "--client-name names a registration; a --client-id is registered already".into(),
            ));
        }
        Some(name) => name.to_owned(),
    };
    let options = Options {
        client_id: auth.client_id.clone(),
        client_name,
        scopes,
        grant: if auth.device {
            GrantChoice::Device
        } else {
            GrantChoice::Auto
        },
        open_browser: !auth.no_browser,
        follow_redirects,
        max_redirects,
        timeout: Duration::from_secs(auth.timeout),
        authorization_timeout: Duration::from_secs(auth.auth_timeout),
    };
    Ok(Client::new(options, store, Terminal::new(auth.yes, silent)))
}

fn parse_url(s: &str) -> Result<Url, Error> {
    let url = Url::parse(s).map_err(|e| Error::Usage(format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Usage(format!("{s:?} is not an http(s) URL")));
    }
    Ok(url)
}

/// `-d`/`--json` data: literal, `@file`, or `@-` for stdin.
fn read_data(arg: &str) -> Result<Vec<u8>, Error> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Error::Usage(format!("reading stdin: {e}")))?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).map_err(|e| Error::Usage(format!("reading {path}: {e}"))),
        None => Ok(arg.as_bytes().to_vec()),
    }
}
