//! RFC 7009 revocations as a client sends them, and what they left in storage.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::revocation::Pending;
use gatehouse_core::server::Failure;
use gatehouse_core::store::GrantStore as _;

use super::*;

/// `client`'s revocation of `token` (Basic for a client with a secret, the id in the body for
/// one without), answered and finished.
pub fn revoke_as(world: &World, client: &Client, token: &str) -> Result<(), Failure> {
    let (body, basic) = client_form(client, &[("token", token)]);
    world.revoke(body.as_bytes(), basic.as_deref())
}

/// What `POST /oauth/revoke` by `client` does before it answers, and what it leaves for after.
pub fn pending_revocation(world: &World, client: &Client, token: &str) -> Pending {
    let (body, basic) = client_form(client, &[("token", token)]);
    block_on(world.server().revoke(body.as_bytes(), basic.as_deref())).unwrap()
}

/// How many `grant_revoked` events are recorded.
pub fn grant_revoked_events(world: &World) -> usize {
    world
        .store
        .audit
        .borrow()
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::GrantRevoked)
        .count()
}

/// Whether D1 has the grant revoked.
pub fn revoked_in_d1(world: &World, grant: &GrantId) -> bool {
    block_on(world.store.grant(grant))
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}
