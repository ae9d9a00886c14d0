//! Scopes (RFC 6749 §3.3): single scope tokens and the space-delimited lists requests carry.
//!
//! Not here: which scopes an app offers or a route requires (configuration and policy), and
//! the `insufficient_scope` challenge (the gatekeeper).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Reason;

/// The most scope tokens one list may hold.
pub const MAX_SCOPES: usize = 50;

/// The longest scope list (and therefore scope token) we accept, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1000;

/// One scope token (RFC 6749 §3.3: `scope-token = 1*NQCHAR`,
/// `NQCHAR = %x21 / %x23-5B / %x5D-7E`, i.e. visible ASCII except `"` and `\`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// Parses one scope token.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        if raw.len() > MAX_SCOPE_BYTES {
            return Err(Reason::ScopeTooLarge);
        }
        if raw.is_empty() || !raw.bytes().all(is_nqchar) {
            return Err(Reason::ScopeMalformed);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 6749 §3.3: `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

/// A set of scopes, parsed from a space-delimited list (RFC 6749 §3.3: "The value of the scope
/// parameter is expressed as a list of space-delimited, case-sensitive strings. [...] If the
/// value contains multiple space-delimited strings, their order does not matter").
///
/// Kept sorted so that [`Display`](fmt::Display), storage and comparisons are deterministic.
/// The empty set is the absent or empty `scope` parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Parses `scope = scope-token *( SP scope-token )` (RFC 6749 §3.3). The empty string is
    /// the empty set. Leading, trailing or repeated spaces are malformed per the ABNF, and so
    /// is any other whitespace. Repeated tokens collapse into one.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        if raw.len() > MAX_SCOPE_BYTES {
            return Err(Reason::ScopeTooLarge);
        }
        if raw.is_empty() {
            return Ok(Self::default());
        }
        let mut scopes = BTreeSet::new();
        for (count, token) in raw.split(' ').enumerate() {
            if count >= MAX_SCOPES {
                return Err(Reason::ScopeTooLarge);
            }
            scopes.insert(Scope::parse(token)?);
        }
        Ok(Self(scopes))
    }

    /// Whether no scope is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many distinct scopes are present.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `scope` is present.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope here is also in `other` (e.g. a refresh asks for no more than was
    /// granted, RFC 6749 §6).
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes present in either set (remembered consent only widens).
    pub fn union(&self, other: &Scopes) -> Scopes {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// The scopes present in both sets.
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Scopes {
    /// The scopes in sorted order, joined by single spaces: the `scope` wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, scope) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl FromStr for Scopes {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for Scope {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl TryFrom<String> for Scopes {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0
    }
}

impl From<Scopes> for String {
    fn from(scopes: Scopes) -> Self {
        scopes.to_string()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::collections::btree_set::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests;
