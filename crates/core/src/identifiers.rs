//! The keys that tag the identifiers gatehouse issues and later looks up by what a client sends:
//! client ids, authorization codes, refresh tokens and device codes ([`crate::tag`]). Each kind has a key of its
//! own, so a value of one kind is never taken for another.
//!
//! Why: a made-up `client_id`, `code`, `refresh_token` or `device_code` used to cost a D1 query each, so anyone
//! could turn requests into database load (issue 15 §6). A value whose tag does not match is
//! refused before storage is asked, in the one place each kind is parsed for a lookup:
//! [`crate::cimd::find_client`] for client ids, [`IdentifierKeys::code`],
//! [`IdentifierKeys::refresh_token`] and [`IdentifierKeys::device_code`] for the secrets.
//!
//! What happens to identifiers that exist without a tag:
//! - client ids registered before tags (`c_` and 32 hex digits) and clients the operator inserted
//!   (`source = 'static'`) are still accepted: an untagged id is looked up only if the store
//!   lists it among the untagged clients ([`crate::store::ClientStore::untagged_client_may_exist`]),
//!   which the Worker answers from memory, reloaded at most once a second per isolate;
//! - Client ID Metadata Document ids are URLs and carry no tag: they go through
//!   [`crate::cimd`] as before;
//! - authorization codes, refresh tokens and device codes issued before tags are refused like
//!   made-up ones (`invalid_grant`): a code lives a minute and a device code ten, and an agent
//!   whose refresh token ends goes through authorization again. Only hashes of them are stored,
//!   so no list of them can be kept.
//!
//! Authorization codes and refresh tokens name their grant: their tagged body is
//! `<grant id>.<random part>` ([`named_body`], [`grant_named_by`]), so that a token request
//! knows the grant before storage answers, and reads the grant's KV entries alongside its one D1
//! batch. The tag covers the id: only gatehouse names a grant this way.
//!
//! A new `GATEHOUSE_SECRET` makes every tagged value forged: registered clients, codes and
//! refresh tokens end with it, as sessions do, unless the old secret is kept as
//! `GATEHOUSE_SECRET_PREVIOUS`: then values tagged under either are accepted, and new ones are
//! tagged under the new secret ([`crate::server_secret::ServerSecret`]).

use crate::grant_id::GrantId;
use crate::rng::Rng;
use crate::secret::{AuthorizationCode, DeviceCode, RefreshToken};
use crate::server_secret::ServerSecret;
use crate::tag::TagKey;

/// The label of the key that tags client ids.
const CLIENT_ID_LABEL: &str = "client-id";
/// The label of the key that tags authorization codes.
const CODE_LABEL: &str = "authorization-code";
/// The label of the key that tags refresh tokens.
const REFRESH_TOKEN_LABEL: &str = "refresh-token";
/// The label of the key that tags device codes.
const DEVICE_CODE_LABEL: &str = "device-code";

/// The tag keys of issued identifiers, derived once with the configuration.
#[derive(Debug)]
pub struct IdentifierKeys {
    /// Tags the ids of dynamically registered clients (RFC 7591 §3.2.1 `client_id`).
    pub client_ids: TagKey,
    codes: TagKey,
    refresh_tokens: TagKey,
    device_codes: TagKey,
}

impl IdentifierKeys {
    /// The keys derived from the server secret.
    pub fn derive(secret: &ServerSecret) -> Self {
        Self {
            client_ids: TagKey::derive(secret, CLIENT_ID_LABEL),
            codes: TagKey::derive(secret, CODE_LABEL),
            refresh_tokens: TagKey::derive(secret, REFRESH_TOKEN_LABEL),
            device_codes: TagKey::derive(secret, DEVICE_CODE_LABEL),
        }
    }

    /// A new authorization code (RFC 6749 §4.1.2) of `grant_id`: 256 random bits after the
    /// grant's id, tagged.
    pub fn issue_code(&self, grant_id: &GrantId, rng: &(impl Rng + ?Sized)) -> AuthorizationCode {
        let random = AuthorizationCode::issue(rng);
        AuthorizationCode::from_presented(
            self.codes
                .seal(&named_body(grant_id, random.expose_secret())),
        )
    }

    /// An authorization code in the format issued before codes named their grant (random part
    /// only, tagged). Nothing issues it any more; tests make one to show such codes still work.
    #[cfg(any(test, feature = "testing"))]
    pub fn issue_unnamed_code(&self, rng: &(impl Rng + ?Sized)) -> AuthorizationCode {
        AuthorizationCode::issue_tagged(&self.codes, rng)
    }

    /// The code a client presented, if gatehouse issued it; `None` (an unknown code) otherwise,
    /// decided without storage.
    pub fn code(&self, presented: &str) -> Option<AuthorizationCode> {
        AuthorizationCode::open(&self.codes, presented)
    }

    /// A refresh token in the format issued before tokens carried their grant id (random part
    /// only, tagged). Nothing issues it any more; tests make one to show such tokens still open.
    #[cfg(test)]
    pub fn issue_refresh_token(&self, rng: &(impl Rng + ?Sized)) -> RefreshToken {
        RefreshToken::issue_tagged(&self.refresh_tokens, rng)
    }

    /// The refresh token whose random part is `body`, tagged: a rotation's successor, derived
    /// rather than drawn (`grants::refresh_token`).
    pub fn seal_refresh_token(&self, body: &str) -> RefreshToken {
        RefreshToken::from_presented(self.refresh_tokens.seal(body))
    }

    /// The refresh token whose random part is `body`, tagged under the previous secret while a
    /// rotation is under way: the successor a rotation made before the secret changed.
    pub fn seal_refresh_token_previous(&self, body: &str) -> Option<RefreshToken> {
        self.refresh_tokens
            .seal_previous(body)
            .map(RefreshToken::from_presented)
    }

    /// The refresh token a client presented, if gatehouse issued it; `None` (an unknown token)
    /// otherwise, decided without storage.
    pub fn refresh_token(&self, presented: &str) -> Option<RefreshToken> {
        RefreshToken::open(&self.refresh_tokens, presented)
    }

    /// A new device code (RFC 8628 §3.2), tagged.
    pub fn issue_device_code(&self, rng: &(impl Rng + ?Sized)) -> DeviceCode {
        DeviceCode::issue_tagged(&self.device_codes, rng)
    }

    /// The device code a client presented, if gatehouse issued it; `None` (an unknown code)
    /// otherwise, decided without storage.
    pub fn device_code(&self, presented: &str) -> Option<DeviceCode> {
        DeviceCode::open(&self.device_codes, presented)
    }
}

/// Between the grant id and the random part of a tagged body. Not in the base64url alphabet of
/// the random part, nor in a grant id; the tag splits at the last one.
const GRANT_SEPARATOR: char = '.';

/// `{grant id}.{random part}`: the body of a code or refresh token that names its grant.
pub(crate) fn named_body(grant_id: &GrantId, random: &str) -> String {
    format!("{}{GRANT_SEPARATOR}{random}", grant_id.as_str())
}

/// The grant a tagged code or refresh token (already opened: its tag is gatehouse's) names;
/// `None` for one issued before they named their grant (its body is the random part alone).
pub(crate) fn grant_named_by(opened: &str) -> Option<GrantId> {
    let (body, _tag) = opened.rsplit_once('.')?;
    let (grant_id, _random) = body.split_once(GRANT_SEPARATOR)?;
    Some(GrantId::from_stored(grant_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    fn keys(secret: &str) -> IdentifierKeys {
        IdentifierKeys::derive(&crate::server_secret::ServerSecret::parse_for_tests(secret))
    }

    #[test]
    fn issued_codes_and_refresh_tokens_open_and_only_as_their_own_kind() {
        let keys = keys("one-secret-one-secret-one-secret!!");
        let rng = SeqRng::default();
        let grant = GrantId::from_stored("g_0123".into());
        let code = keys.issue_code(&grant, &rng);
        let refresh = keys.issue_refresh_token(&rng);
        assert!(keys.code(code.expose_secret()).is_some());
        assert!(keys.refresh_token(refresh.expose_secret()).is_some());
        assert!(keys.code(refresh.expose_secret()).is_none());
        assert!(keys.refresh_token(code.expose_secret()).is_none());
        let device = keys.issue_device_code(&rng);
        assert!(keys.device_code(device.expose_secret()).is_some());
        assert!(keys.device_code(code.expose_secret()).is_none());
        assert!(keys.code(device.expose_secret()).is_none());
        // The grant id, a dot, 256 random bits, a dot, a 128-bit tag.
        assert_eq!(code.expose_secret().len(), 6 + 1 + 43 + 1 + 22);
        assert_eq!(grant_named_by(code.expose_secret()), Some(grant));
        let unnamed = keys.issue_unnamed_code(&rng);
        assert!(keys.code(unnamed.expose_secret()).is_some());
        assert_eq!(grant_named_by(unnamed.expose_secret()), None);
    }

    #[test]
    fn untagged_and_foreign_values_do_not_open() {
        let keys = keys("one-secret-one-secret-one-secret!!");
        let other = self::keys("another-secret-another-secret-!!!!");
        let rng = SeqRng::default();
        let untagged = RefreshToken::issue(&rng);
        assert!(keys.refresh_token(untagged.expose_secret()).is_none());
        assert!(keys.code(untagged.expose_secret()).is_none());
        let foreign = other.issue_refresh_token(&rng);
        assert!(keys.refresh_token(foreign.expose_secret()).is_none());
    }

    #[test]
    fn during_a_rotation_identifiers_of_both_secrets_open_and_new_ones_use_the_new_one() {
        let (old_secret, new_secret) = (
            "one-secret-one-secret-one-secret!!",
            "another-secret-another-secret-!!!!",
        );
        let before = keys(old_secret);
        let during = IdentifierKeys::derive(
            &crate::server_secret::ServerSecret::rotated_for_tests(new_secret, old_secret),
        );
        let after = keys(new_secret);
        let rng = SeqRng::default();
        let old = (
            before.issue_code(&GrantId::from_stored("g_0123".into()), &rng),
            before.issue_refresh_token(&rng),
            before.issue_device_code(&rng),
        );
        assert!(during.code(old.0.expose_secret()).is_some());
        assert!(during.refresh_token(old.1.expose_secret()).is_some());
        assert!(during.device_code(old.2.expose_secret()).is_some());
        let client_id = before.client_ids.seal("c_body");
        assert_eq!(
            during.client_ids.verdict(&client_id),
            crate::tag::Verdict::Issued
        );
        let new = during.issue_refresh_token(&rng);
        assert!(after.refresh_token(new.expose_secret()).is_some());
        assert!(before.refresh_token(new.expose_secret()).is_none());
        assert!(after.refresh_token(old.1.expose_secret()).is_none());
    }

    #[test]
    fn a_sealed_successor_opens() {
        let keys = keys("one-secret-one-secret-one-secret!!");
        let successor = keys.seal_refresh_token("derived-body");
        assert!(keys.refresh_token(successor.expose_secret()).is_some());
    }
}
