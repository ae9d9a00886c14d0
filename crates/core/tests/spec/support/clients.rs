//! Clients as the cold-client specs meet them (`refresh_cold_client`, `code_cold_client`,
//! `revoke_cold_client`): their stored records changed, the credentials a request presents,
//! the exact answer of a refusal, and the two-step path (the client read first) to compare with.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::model::client::{AuthMethod, ClientRecord, GrantType};
use gatehouse_core::server::Failure;
use gatehouse_core::store::{ClientStore, ReadFrom, RegistrationLimit};
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;

use super::*;

/// The code, reason and whether a Basic challenge goes with a refusal.
pub fn refusal_of<T: std::fmt::Debug>(result: Result<T, Failure>) -> (ErrorCode, Reason, bool) {
    match result {
        Err(Failure::OAuth {
            error,
            basic_challenge,
        }) => (error.code, error.reason, basic_challenge),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

/// `client`'s stored record.
pub fn record_of(world: &World, client: &Client) -> ClientRecord {
    let id = ClientId::parse(&client.id).unwrap();
    let now = world.server().now;
    block_on(world.store.client(&id, now, ReadFrom::Primary))
        .unwrap()
        .unwrap()
}

/// Stores `record` in place of the client's, recording nothing.
pub fn put_record(world: &World, record: &ClientRecord) {
    let limit = RegistrationLimit {
        max: u64::MAX,
        since: UnixTime(0),
    };
    let event = world.store.audit.borrow().last().unwrap().1.clone();
    assert!(
        block_on(
            world
                .store
                .insert_client(record, "192.0.2.1", &event, limit)
        )
        .unwrap()
    );
    world.store.audit.borrow_mut().pop();
}

/// Changes `client`'s stored record; returns the record as it was.
pub fn alter_record(
    world: &World,
    client: &Client,
    change: impl FnOnce(&mut ClientRecord),
) -> ClientRecord {
    let original = record_of(world, client);
    let mut record = original.clone();
    change(&mut record);
    put_record(world, &record);
    original
}

/// `client`'s id with `secret`, or with none.
pub fn with_secret(client: &Client, secret: Option<&str>) -> Client {
    Client {
        id: client.id.clone(),
        secret: secret.map(str::to_owned),
    }
}

/// A client `world` does not hold, with an id gatehouse issued: the first one a twin (the
/// same secret, the same draws) registers that `world` did not. Reads `world`'s store.
pub fn stranger(world: &World, confidential: bool) -> Client {
    let twin = World::new();
    let now = world.server().now;
    (0..8)
        .map(|_| match confidential {
            true => twin.confidential_client(),
            false => twin.public_client(),
        })
        .find(|candidate| {
            let id = ClientId::parse(&candidate.id).unwrap();
            block_on(world.store.client(&id, now, ReadFrom::Primary))
                .unwrap()
                .is_none()
        })
        .expect("a client not in this store")
}

/// A request sent by some client, answered as the Worker answers it.
pub type Request<'r, T> = &'r dyn Fn(&World) -> Result<T, Failure>;

/// How the same request takes the two-step path, its client read and checked first.
#[derive(Clone, Copy, Debug)]
pub enum TwoStep {
    /// The isolate holds the client from a recent read of the primary (an active client).
    Cached,
    /// Migration mode: nothing is taken in one transaction, so the client is authenticated
    /// first (a client the isolate cannot hold: unknown, disabled or lapsed).
    Paused,
}

/// `request`'s answer on the two-step path `how`, which reads the client once.
pub fn two_step<T>(
    world: &mut World,
    how: TwoStep,
    case: &str,
    request: Request<'_, T>,
) -> Result<T, Failure> {
    let lookups = world.store.client_lookups.get();
    match how {
        TwoStep::Cached => world.store.clients_cached.set(true),
        TwoStep::Paused => migrate(world),
    }
    let result = request(world);
    match how {
        TwoStep::Cached => world.store.clients_cached.set(false),
        TwoStep::Paused => end_migration(world),
    }
    assert_eq!(
        world.store.client_lookups.get(),
        lookups + 1,
        "{case}: {how:?}: the client is read before the request"
    );
    result
}

/// How a case changes the owner's stored registration before the request.
#[derive(Clone, Copy, Debug)]
pub enum Change {
    Nothing,
    /// Disabled by the operator.
    Disabled,
    /// Its registration lapsed now.
    Lapsed,
    /// Registered for `client_secret_post`.
    ForPost,
    /// Registered for the refresh grant alone.
    RefreshGrantOnly,
}

/// What undoes a [`Change`].
pub enum Undo {
    Nothing,
    Enable(ClientId),
    Put(Box<ClientRecord>),
}

impl Change {
    /// Makes the change to `client`'s registration.
    pub fn make(self, world: &World, client: &Client) -> Undo {
        let now = world.server().now;
        let alter = |change: fn(&mut ClientRecord, UnixTime)| {
            Undo::Put(Box::new(alter_record(world, client, |record| {
                change(record, now)
            })))
        };
        match self {
            Self::Nothing => Undo::Nothing,
            Self::Disabled => {
                let id = ClientId::parse(&client.id).unwrap();
                block_on(world.store.disable_client(&id, now)).unwrap();
                Undo::Enable(id)
            }
            Self::Lapsed => alter(|record, now| record.expires_at = Some(now)),
            Self::ForPost => alter(|record, _| {
                record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
            }),
            Self::RefreshGrantOnly => {
                alter(|record, _| record.metadata.grant_types = vec![GrantType::RefreshToken])
            }
        }
    }
}

impl Undo {
    pub fn undo(self, world: &World) {
        match self {
            Self::Nothing => {}
            Self::Enable(id) => block_on(world.store.enable_client(&id)).unwrap(),
            Self::Put(original) => put_record(world, &original),
        }
    }
}

/// Who presents a request for the owner's code or token, and how.
#[derive(Clone, Copy, Debug)]
pub enum Presenting {
    /// The owner, as registered at first: Basic with its secret, or its id alone in the body.
    Owner,
    /// The owner's id, by Basic with this secret.
    Basic(&'static str),
    /// The owner's id and this secret (its own with `None`) in the body.
    Post(Option<&'static str>),
    /// The owner's id alone in the body.
    IdAlone,
    /// A client the store does not hold, with a secret (by Basic) if the owner has one.
    Stranger,
    /// Another client, confidential, registered now: its id by Basic with this secret.
    Other(&'static str),
}

/// The client a request presents: by Basic if it has a secret (its id alone in the body if
/// not) or, if `post`, its id and secret in the body.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client: Client,
    pub post: bool,
}

impl Presenting {
    /// What `owner`'s case presents; [`Self::Stranger`] reads `world`'s store,
    /// [`Self::Other`] writes to it.
    pub fn credentials(self, world: &World, owner: &Client) -> Credentials {
        let (client, post) = match self {
            Self::Owner => (owner.clone(), false),
            Self::Basic(secret) => (with_secret(owner, Some(secret)), false),
            Self::Post(secret) => (with_secret(owner, secret.or(owner.secret.as_deref())), true),
            Self::IdAlone => (with_secret(owner, None), false),
            Self::Stranger => (stranger(world, owner.secret.is_some()), false),
            Self::Other(secret) => (
                with_secret(&world.confidential_client(), Some(secret)),
                false,
            ),
        };
        Credentials { client, post }
    }
}

impl Credentials {
    /// The body and Basic header of a request with `params`.
    pub fn form(&self, params: &[(&str, &str)]) -> (String, Option<String>) {
        if !self.post {
            return client_form(&self.client, params);
        }
        let mut params = params.to_vec();
        params.extend([
            ("client_id", self.client.id.as_str()),
            ("client_secret", self.client.secret.as_deref().unwrap()),
        ]);
        (form(&params), None)
    }
}

/// A request refused by client authentication: whose code or token it presents, the change to
/// that client's registration, who presents it and how, the exact answer, and the two-step path.
#[derive(Clone, Copy)]
pub struct Refusal {
    pub case: &'static str,
    pub owner: fn(&World) -> Client,
    pub change: Change,
    pub presenting: Presenting,
    pub expected: (ErrorCode, Reason, bool),
    pub how: TwoStep,
}

/// The client-authentication refusals a code exchange and a revocation by a client not cached
/// both make, each with its exact answer.
pub fn refusals() -> Vec<Refusal> {
    let public: fn(&World) -> Client = World::public_client;
    let confidential: fn(&World) -> Client = World::confidential_client;
    let refusal = |case, owner, change, presenting, expected, how| Refusal {
        case,
        owner,
        change,
        presenting,
        expected,
        how,
    };
    use ErrorCode::InvalidClient;
    use Reason::{ClientAuthFailed, ClientAuthMethodMismatch, ClientUnknown};
    use TwoStep::{Cached, Paused};
    vec![
        refusal(
            "a wrong secret, by Basic: challenged",
            confidential,
            Change::Nothing,
            Presenting::Basic("not-the-secret"),
            (InvalidClient, ClientAuthFailed, true),
            Cached,
        ),
        refusal(
            "a wrong secret in the body: not challenged",
            confidential,
            Change::ForPost,
            Presenting::Post(Some("not-the-secret")),
            (InvalidClient, ClientAuthFailed, false),
            Cached,
        ),
        refusal(
            "an unknown client",
            public,
            Change::Nothing,
            Presenting::Stranger,
            (InvalidClient, ClientUnknown, false),
            Paused,
        ),
        refusal(
            "an unknown client trying Basic: challenged",
            confidential,
            Change::Nothing,
            Presenting::Stranger,
            (InvalidClient, ClientUnknown, true),
            Paused,
        ),
        refusal(
            "a disabled public client",
            public,
            Change::Disabled,
            Presenting::Owner,
            (InvalidClient, ClientUnknown, false),
            Paused,
        ),
        refusal(
            "a disabled confidential client",
            confidential,
            Change::Disabled,
            Presenting::Owner,
            (InvalidClient, ClientUnknown, true),
            Paused,
        ),
        refusal(
            "a public client's lapsed registration",
            public,
            Change::Lapsed,
            Presenting::Owner,
            (InvalidClient, ClientUnknown, false),
            Paused,
        ),
        refusal(
            "a confidential client's lapsed registration",
            confidential,
            Change::Lapsed,
            Presenting::Owner,
            (InvalidClient, ClientUnknown, true),
            Paused,
        ),
        refusal(
            "Basic by a client registered for post",
            confidential,
            Change::ForPost,
            Presenting::Owner,
            (InvalidClient, ClientAuthMethodMismatch, true),
            Cached,
        ),
        refusal(
            "a confidential client presenting its id alone (the method none)",
            confidential,
            Change::Nothing,
            Presenting::IdAlone,
            (InvalidClient, ClientAuthMethodMismatch, false),
            Cached,
        ),
        refusal(
            "a public client presenting a secret by Basic",
            public,
            Change::Nothing,
            Presenting::Basic("a-secret-it-never-had"),
            (InvalidClient, ClientAuthMethodMismatch, true),
            Cached,
        ),
        refusal(
            "a public client presenting a secret in the body",
            public,
            Change::Nothing,
            Presenting::Post(Some("a-secret-it-never-had")),
            (InvalidClient, ClientAuthMethodMismatch, false),
            Cached,
        ),
        refusal(
            "a public client registered for another method",
            public,
            Change::ForPost,
            Presenting::Owner,
            (InvalidClient, ClientAuthMethodMismatch, false),
            Cached,
        ),
    ]
}
