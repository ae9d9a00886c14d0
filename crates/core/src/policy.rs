//! The app's access policy, applied to a person: the one check every path that lets a person
//! (or an agent acting for them) in goes through — login to the app, authorization and consent,
//! the device grant's approval, token issuance, introspection, the identity endpoint.
//!
//! Not here: the policy's rules themselves (`config::Policy`: emails, domains, groups), and what
//! follows from a refusal (`grants::live::enforce_policy` revokes the grant).

use crate::site::Site;
use crate::store::Person;

/// Whether the app served at `site` admits `person`.
pub fn admits(site: &Site<'_>, person: &Person) -> bool {
    site.app.policy.admits_person(person)
}
