//! The admin API, for operators and their automation: list an app's grants by person or client,
//! revoke by grant, person or client, and read the audit log. Authenticated by the `ADMIN_TOKEN`
//! secret as a bearer token (compared by hash in constant time); without that secret the API
//! answers as if it did not exist.
//!
//! Revoking a person also ends their browser sessions: "when a person is cut off, their agents'
//! tokens die too".

use serde::Serialize;

use crate::audit::AuditEvent;
use crate::error::Reason;
use crate::form::Form;
use crate::gatekeeper::request::bearer_token;
use crate::grant_id::GrantId;
use crate::rng::Rng;
use crate::secret::AdminToken;
use crate::server::{Failure, Server};
use crate::signer::Signer;
use crate::store::{GrantRecord, RevocationReason, Store};
use crate::types::ClientId;

/// Most audit events one query returns.
pub const MAX_AUDIT_EVENTS: u32 = 500;

/// A grant as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct AdminGrant {
    /// The grant.
    pub grant_id: String,
    /// The person.
    pub subject: String,
    /// Their email.
    pub email: String,
    /// The agent.
    pub client_id: String,
    /// The scopes granted.
    pub scope: String,
    /// Where the agent receives codes.
    pub redirect_uri: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<u64>,
}

impl From<GrantRecord> for AdminGrant {
    fn from(grant: GrantRecord) -> Self {
        Self {
            grant_id: grant.grant_id.as_str().to_owned(),
            subject: grant.person.subject,
            email: grant.person.email,
            client_id: grant.client_id.as_str().to_owned(),
            scope: grant.scopes.to_string(),
            redirect_uri: grant.redirect_uri,
            created_at: grant.created_at.0,
            revoked_at: grant.revoked_at.map(|t| t.0),
        }
    }
}

/// An audit event as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct AdminAuditEvent {
    /// Unix seconds.
    pub at: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// What a revocation did.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Revoked {
    /// How many live grants were revoked.
    pub grants: usize,
}

/// Whom a request is about: `subject` and/or `client_id`, at least one.
struct Filter {
    subject: Option<String>,
    client_id: Option<ClientId>,
}

impl Filter {
    fn parse(form: &Form) -> Result<Self, Reason> {
        let subject = form.get("subject")?.map(str::to_owned);
        let client_id = form.get("client_id")?.map(ClientId::parse).transpose()?;
        if subject.is_none() && client_id.is_none() {
            return Err(Reason::AdminFilterRequired);
        }
        Ok(Self { subject, client_id })
    }
}

impl<S: Store, K: Signer, R: Rng> Server<'_, S, K, R> {
    /// Checks the admin bearer token; `AdminApiOff` when no `ADMIN_TOKEN` is set.
    fn admin(&self, authorization: Option<&str>) -> Result<(), Failure> {
        let Some(expected) = &self.config.admin_token else {
            return Err(Reason::AdminApiOff.into());
        };
        let presented = bearer_token(authorization)
            .ok()
            .flatten()
            .ok_or(Reason::AdminUnauthorized)?;
        if AdminToken::from_presented(presented).hash().ct_eq(expected) {
            Ok(())
        } else {
            Err(Reason::AdminUnauthorized.into())
        }
    }

    /// `GET …/.gatehouse/admin/grants?subject=…&client_id=…`.
    pub async fn admin_grants(
        &self,
        authorization: Option<&str>,
        query: &str,
    ) -> Result<Vec<AdminGrant>, Failure> {
        self.admin(authorization)?;
        let filter = Filter::parse(&Form::parse(query.as_bytes())?)?;
        let grants = self
            .store
            .grants_matching(
                &self.site.resource,
                filter.subject.as_deref(),
                filter.client_id.as_ref(),
            )
            .await?;
        Ok(grants.into_iter().map(AdminGrant::from).collect())
    }

    /// `POST …/.gatehouse/admin/revoke` with `grant_id`, or `subject` and/or `client_id`: revokes
    /// the matching live grants at this app; revoking a person also ends their sessions.
    pub async fn admin_revoke(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Revoked, Failure> {
        self.admin(authorization)?;
        let form = Form::parse(body)?;
        let grants: Vec<GrantId> = match form.get("grant_id")? {
            Some(id) => {
                let grant = self
                    .store
                    .grant(&GrantId::from_stored(id.to_owned()))
                    .await?;
                grant
                    .filter(|g| g.app == self.site.resource && g.revoked_at.is_none())
                    .map(|g| g.grant_id)
                    .into_iter()
                    .collect()
            }
            None => {
                let filter = Filter::parse(&form)?;
                if let Some(subject) = &filter.subject {
                    self.store.revoke_sessions_of(subject, self.now).await?;
                }
                self.store
                    .grants_matching(
                        &self.site.resource,
                        filter.subject.as_deref(),
                        filter.client_id.as_ref(),
                    )
                    .await?
                    .into_iter()
                    .filter(|g| g.revoked_at.is_none())
                    .map(|g| g.grant_id)
                    .collect()
            }
        };
        for grant_id in &grants {
            self.revoke_grant(grant_id, RevocationReason::AdminRequest)
                .await?;
        }
        Ok(Revoked {
            grants: grants.len(),
        })
    }

    /// `GET …/.gatehouse/admin/audit?subject=…&client_id=…&limit=…`: newest first.
    pub async fn admin_audit(
        &self,
        authorization: Option<&str>,
        query: &str,
    ) -> Result<Vec<AdminAuditEvent>, Failure> {
        self.admin(authorization)?;
        let form = Form::parse(query.as_bytes())?;
        let limit = form
            .get("limit")?
            .and_then(|l| l.parse::<u32>().ok())
            .unwrap_or(100)
            .min(MAX_AUDIT_EVENTS);
        let events = self
            .store
            .events(
                &self.site.resource,
                form.get("subject")?,
                form.get("client_id")?,
                limit,
            )
            .await?;
        Ok(events
            .into_iter()
            .map(|(at, event)| AdminAuditEvent { at: at.0, event })
            .collect())
    }
}
