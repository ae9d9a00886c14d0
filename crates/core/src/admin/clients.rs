//! The admin console's agents (clients) page: every client storage knows, registered or
//! identified by a metadata document, with how many people use it, its live grants and last
//! use; disabling one (the admin API's [`crate::admin::admin_disable_client`]) or enabling it again,
//! each after a confirmation that says what it does.

use serde::Serialize;

use super::{Admins, console_admin};
use crate::admin::AdminCredentials;
use crate::context::Context;
use crate::failure::Failure;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::paths;
use crate::rng::Rng;
use crate::store::{ClientUse, Store};
use crate::types::ClientId;

/// Most clients the page lists.
pub const MAX_CONSOLE_CLIENTS: u32 = 500;

/// What the admin asked to do to a client, to confirm before it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAction {
    /// Disable it at every app, revoking its grants.
    Disable,
    /// Let it authenticate and authorize again.
    Enable,
}

impl ClientAction {
    /// The `confirm` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAction::Disable => "disable",
            ClientAction::Enable => "enable",
        }
    }
}

/// A confirmation the page shows before a change: the client and what the change does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// The change.
    pub action: ClientAction,
    /// The client as listed (its live grants and people are what disabling revokes).
    pub client: ClientUse,
    /// Where the confirming form posts.
    pub post_to: String,
}

/// Everything the agents page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleClients {
    /// Who is looking.
    pub admin: String,
    /// The clients, most recently used first.
    pub clients: Vec<ClientUse>,
    /// Whether the page's bound cut the list short.
    pub truncated: bool,
    /// The change to confirm, when `confirm=disable|enable&client_id=…` asked for one.
    pub confirmation: Option<Confirmation>,
    /// What the change that led here did (`done=` in the query): `disabled` or `enabled`.
    pub done: Option<String>,
    /// Grants the disable that led here revoked (`grants=`).
    pub revoked: Option<u64>,
    /// This page (`GET`).
    pub list_action: String,
    /// The console's pages.
    pub links: crate::admin::console::ConsoleLinks,
}

/// `GET …/.gatehouse/admin/console/clients[?confirm=disable|enable&client_id=…]`.
pub async fn console_clients<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<ConsoleClients, Failure> {
    let admin = console_admin(cx, admins, credentials, None).await?;
    let form = Form::parse(query.as_bytes())?;
    let clients = cx.store.clients_in_use(MAX_CONSOLE_CLIENTS).await?;
    let action = match form.get("confirm")? {
        Some("disable") => Some(ClientAction::Disable),
        Some("enable") => Some(ClientAction::Enable),
        Some(_) => return Err(crate::error::Reason::ConsoleBadFilter.into()),
        None => None,
    };
    let confirmation = match (action, form.get("client_id")?) {
        (Some(action), Some(id)) => {
            let id = ClientId::parse(id)?;
            let client = clients
                .iter()
                .find(|c| c.client_id == id.as_str())
                .cloned()
                .ok_or(crate::error::Reason::ConsoleBadFilter)?;
            let path = match action {
                ClientAction::Disable => paths::ADMIN_CONSOLE_DISABLE,
                ClientAction::Enable => paths::ADMIN_CONSOLE_ENABLE,
            };
            Some(Confirmation {
                action,
                client,
                post_to: cx.site.path(path),
            })
        }
        _ => None,
    };
    Ok(ConsoleClients {
        admin,
        truncated: clients.len() >= MAX_CONSOLE_CLIENTS as usize,
        clients,
        confirmation,
        done: form
            .get("done")?
            .filter(|d| ["disabled", "enabled"].contains(d))
            .map(str::to_owned),
        revoked: form.get("grants")?.and_then(|n| n.parse().ok()),
        list_action: cx.site.path(paths::ADMIN_CONSOLE_CLIENTS),
        links: super::console::console_links(&cx.site),
    })
}

/// `POST …/.gatehouse/admin/console/clients/disable` with `client_id` and the CSRF token:
/// the admin API's disable; returns the page to go back to.
pub async fn console_disable_client<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<String, Failure> {
    let revoked = crate::admin::admin_disable_client(cx, admins, credentials, body).await?;
    Ok(format!(
        "{}?done=disabled&grants={}",
        cx.site.path(paths::ADMIN_CONSOLE_CLIENTS),
        revoked.grants
    ))
}

/// `POST …/.gatehouse/admin/console/clients/enable` with `client_id` and the CSRF token:
/// the client can authenticate and authorize again (its revoked grants stay revoked), after
/// an `admin_action` event naming the admin. Like disabling, refused in migration mode.
pub async fn console_enable_client<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<String, Failure> {
    let form = Form::parse(body)?;
    let by = console_admin(cx, admins, credentials, Some(&form)).await?;
    cx.store.writable()?;
    let client_id = ClientId::parse(form.require("client_id")?)?;
    let detail = serde_json::json!({
        "by": by,
        "action": "enable_client",
        "target": { "client_id": client_id.as_str() },
    });
    cx.audit(AuditKind::AdminAction, None, Some(&client_id), None, detail)
        .await?;
    cx.store.enable_client(&client_id).await?;
    Ok(format!(
        "{}?done=enabled",
        cx.site.path(paths::ADMIN_CONSOLE_CLIENTS)
    ))
}
