//! gatehouse-fetch: a web-fetch client that follows `WWW-Authenticate` to a token.
//!
//! A request that meets `401`/`403` with a Bearer challenge (RFC 6750 §3) is taken through
//! protected-resource discovery (RFC 9728), authorization-server discovery (RFC 8414, in the MCP
//! probe order), dynamic registration (RFC 7591), the person's consent, the authorization code
//! grant with PKCE S256 and a loopback redirect (RFC 7636, RFC 8252) or the device grant
//! (RFC 8628), and then retried with the token. Tokens are stored per issuer and resource,
//! refreshed, and never sent to another origin.
//!
//! ```no_run
//! use gatehouse_fetch::{Client, Options, Request, TokenStore, person::Terminal};
//! let store = TokenStore::at_default_location()?;
//! let mut client = Client::new(Options::default(), store, Terminal::new(false, false));
//! let url = url::Url::parse("https://wiki.example.com/api/whoami").map_err(|e| gatehouse_fetch::Error::Usage(e.to_string()))?;
//! let mut response = client.fetch(&Request::get(url))?;
//! println!("{}", response.status);
//! # Ok::<(), gatehouse_fetch::Error>(())
//! ```

pub mod browser;
pub mod challenge;
pub mod client;
pub mod device;
pub mod discovery;
pub mod error;
pub mod http;
pub mod loopback;
pub mod origin;
pub mod person;
pub mod pkce;
pub mod registration;
pub mod revocation;
pub mod secret;
pub mod store;
pub mod token;

pub use client::{Client, GrantChoice, Options, Request, Response};
pub use error::Error;
pub use store::TokenStore;
