//! The token store: one JSON file, `tokens.json`, in the user's configuration directory
//! (`$GATEHOUSE_FETCH_HOME`, else `$XDG_CONFIG_HOME/gatehouse-fetch`, else
//! `~/.config/gatehouse-fetch`). The directory is created with mode 0700 and the file is
//! always written with mode 0600, through a new file renamed over the old one so that a crash
//! never leaves half a file and the mode never depends on the umask.
//!
//! Tokens are kept per issuer and resource (RFC 8707): a token is looked up by the URL about to
//! be fetched, and only a resource that covers that URL (`origin::covers`) yields one. Client
//! registrations are kept per issuer. Concurrent runs may each save; the last write wins, which
//! costs at most a re-authorization.

use crate::Error;
use crate::origin::covers;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use url::Url;

/// The environment variable that moves the store (tests, several identities).
pub const HOME_ENV: &str = "GATEHOUSE_FETCH_HOME";
const FILE: &str = "tokens.json";

/// Tokens for one resource from one issuer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The authorization server (RFC 8414 issuer).
    pub issuer: String,
    /// The resource indicator the tokens are bound to, exactly as the resource's metadata names
    /// it (RFC 8707 compares it as a string).
    pub resource: String,
    /// The client they were issued to.
    pub client_id: String,
    /// Where to refresh them.
    pub token_endpoint: Url,
    /// Where to revoke them on logout (RFC 7009), if the server has one.
    pub revocation_endpoint: Option<Url>,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// Seconds since the epoch after which the access token is not used.
    pub expires_at: Option<u64>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// A client id obtained from (or given for) an issuer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The issuer.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The `client_name` it was registered under; absent in stores written before
    /// `--client-name`, which registered as [`DEFAULT_CLIENT_NAME`](crate::client::DEFAULT_CLIENT_NAME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Contents {
    #[serde(default)]
    clients: Vec<ClientRecord>,
    #[serde(default)]
    tokens: Vec<TokenRecord>,
}

impl ClientRecord {
    fn registered_as(&self, client_name: &str) -> bool {
        self.client_name
            .as_deref()
            .unwrap_or(crate::client::DEFAULT_CLIENT_NAME)
            == client_name
    }
}

/// The store on disk.
pub struct TokenStore {
    dir: PathBuf,
    contents: Contents,
}

impl TokenStore {
    /// The store in the directory `HOME_ENV` or the XDG rules name.
    pub fn at_default_location() -> Result<Self, Error> {
        Self::open(default_dir()?)
    }

    /// The store in `dir` (created 0700 when missing).
    pub fn open(dir: PathBuf) -> Result<Self, Error> {
        let path = dir.join(FILE);
        let contents = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Store(format!("{} is not a token store: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => return Err(Error::Store(format!("cannot read {}: {e}", path.display()))),
        };
        Ok(TokenStore { dir, contents })
    }

    /// The file the store lives in.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The tokens whose resource covers `url`, the most specific resource first.
    pub fn token_for(&self, url: &Url) -> Option<&TokenRecord> {
        self.contents
            .tokens
            .iter()
            .filter_map(|t| {
                Url::parse(&t.resource)
                    .ok()
                    .filter(|r| covers(r, url))
                    .map(|r| (t, r.path().len()))
            })
            .max_by_key(|(_, specificity)| *specificity)
            .map(|(t, _)| t)
    }

    /// Puts (or replaces) the tokens for the record's issuer and resource, and saves.
    pub fn put_token(&mut self, record: TokenRecord) -> Result<(), Error> {
        self.contents
            .tokens
            .retain(|t| !(t.issuer == record.issuer && t.resource == record.resource));
        self.contents.tokens.push(record);
        self.save()
    }

    /// Forgets the tokens for an issuer and resource, and saves.
    pub fn remove_token(&mut self, issuer: &str, resource: &str) -> Result<(), Error> {
        self.contents
            .tokens
            .retain(|t| !(t.issuer == issuer && t.resource == resource));
        self.save()
    }

    /// The client id registered with `issuer`, if any.
    pub fn client_for(&self, issuer: &str, client_name: &str) -> Option<&str> {
        self.contents
            .clients
            .iter()
            .find(|c| c.issuer == issuer && c.registered_as(client_name))
            .map(|c| c.client_id.as_str())
    }

    /// Remembers the client id registered at `issuer` under `client_name`, and saves.
    pub fn put_client(
        &mut self,
        issuer: &str,
        client_name: &str,
        client_id: &str,
    ) -> Result<(), Error> {
        self.contents
            .clients
            .retain(|c| c.issuer != issuer || !c.registered_as(client_name));
        self.contents.clients.push(ClientRecord {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_name: Some(client_name.into()),
        });
        self.save()
    }

    /// Forgets the client id for `issuer` (the server no longer knows it), and saves.
    pub fn remove_client(&mut self, issuer: &str) -> Result<(), Error> {
        self.contents.clients.retain(|c| c.issuer != issuer);
        self.save()
    }

    fn save(&self) -> Result<(), Error> {
        let fail = |what: &str, path: &Path, e: std::io::Error| {
            Error::Store(format!("cannot {what} {}: {e}", path.display()))
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| fail("create", &self.dir, e))?;
        let tmp = self.dir.join(format!(".{FILE}.{}", std::process::id()));
        let bytes =
            serde_json::to_vec_pretty(&self.contents).map_err(|e| Error::Store(e.to_string()))?;
        let _ = fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| fail("create", &tmp, e))?;
        // The mode given to open() is reduced by the umask; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| fail("chmod", &tmp, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| fail("write", &tmp, e))?;
        fs::rename(&tmp, self.path()).map_err(|e| fail("replace", &self.path(), e))
    }
}

fn default_dir() -> Result<PathBuf, Error> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = non_empty(HOME_ENV) {
        return Ok(dir);
    }
    if let Some(config) = non_empty("XDG_CONFIG_HOME") {
        return Ok(config.join("gatehouse-fetch"));
    }
    non_empty("HOME")
        .map(|home| home.join(".config").join("gatehouse-fetch"))
        .ok_or_else(|| {
            Error::Store(format!(
                "neither {HOME_ENV}, XDG_CONFIG_HOME nor HOME is set"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(resource: &str, token: &str) -> TokenRecord {
        TokenRecord {
            issuer: "https://as.example".into(),
            resource: resource.into(),
            client_id: "c".into(),
            token_endpoint: Url::parse("https://as.example/token").unwrap(),
            revocation_endpoint: None,
            access_token: token.into(),
            refresh_token: None,
            expires_at: None,
            scope: "read".into(),
        }
    }

    #[test]
    fn files_are_private_and_tokens_stay_with_their_resource() {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-fetch-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut store = TokenStore::open(dir.join("nested")).unwrap();
        store
            .put_token(record("https://app.example/", "root"))
            .unwrap();
        store
            .put_token(record("https://app.example/api", "api"))
            .unwrap();
        store
            .put_client("https://as.example", "gatehouse-fetch", "c")
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir.join("nested")), 0o700);

        let store = TokenStore::open(dir.join("nested")).unwrap();
        let at = |u: &str| {
            store
                .token_for(&Url::parse(u).unwrap())
                .map(|t| t.access_token.clone())
        };
        assert_eq!(at("https://app.example/api/x").as_deref(), Some("api"));
        assert_eq!(at("https://app.example/other").as_deref(), Some("root"));
        assert_eq!(at("https://evil.example/api/x"), None);
        assert_eq!(at("http://app.example/api/x"), None);
        assert_eq!(
            store.client_for("https://as.example", "gatehouse-fetch"),
            Some("c")
        );
        assert_eq!(store.client_for("https://as.example", "Report bot"), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
