//! The admin API's endpoints (the decisions are in `gatehouse_core::admin`): JSON in and out,
//! authenticated by `Authorization: Bearer <ADMIN_TOKEN>` or by the browser session of a person
//! the `ADMINS` policy admits; and the admin console's pages, which sit on the same core
//! functions. How each outcome is answered is [`gatehouse_core::answer`]'s.

use gatehouse_core::admin::audit::AuditAnswer;
use gatehouse_core::answer::{self, PageReply};
use gatehouse_core::http::reply::Reply;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::page::Page;
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::Store;

use crate::http::{self, AuthServer, Presented, form_body};
use crate::request::Incoming;

/// `GET …/.gatehouse/admin/grants`.
pub async fn grants<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    answer::admin(
        &server.decision,
        server.admin_grants(&presented.credentials(), query).await,
    )
}

/// `GET …/.gatehouse/admin/audit`.
pub async fn audit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    answer::admin(
        &server.decision,
        server.admin_audit(&presented.credentials(), query).await,
    )
}

/// `GET …/.gatehouse/admin/held`.
pub async fn held<S: Store, K: Signer>(server: &AuthServer<'_, S, K>, req: &Incoming) -> PageReply {
    let presented = Presented::of(server, req);
    answer::admin(
        &server.decision,
        server.admin_held(&presented.credentials()).await,
    )
}

/// `POST …/.gatehouse/admin/revoke`.
pub async fn revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let presented = Presented::of(server, req);
    answer::admin(
        &server.decision,
        server.admin_revoke(&presented.credentials(), &body).await,
    )
}

/// `POST …/.gatehouse/admin/clients/disable`.
pub async fn disable_client<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let presented = Presented::of(server, req);
    answer::admin(
        &server.decision,
        server
            .admin_disable_client(&presented.credentials(), &body)
            .await,
    )
}

/// `GET …/.gatehouse/admin/console/grants`: the console's grants page.
pub async fn console_grants<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    let view = server.console_grants(&presented.credentials(), query).await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_GRANTS,
        view,
        Page::ConsoleGrants,
    )
}

/// `POST …/.gatehouse/admin/console/grants/revoke`: revokes the checked grants, then back to
/// the page (`303`).
pub async fn console_revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let presented = Presented::of(server, req);
    let changed = server.console_revoke(&presented.credentials(), &body).await;
    answer::console_changed(
        &server.decision,
        &server.site,
        paths::ADMIN_CONSOLE_GRANTS,
        changed.map(|(_, back)| back),
    )
}

/// `GET …/.gatehouse/admin/console/clients`: the console's agents page, with a confirmation
/// when one is asked for.
pub async fn console_clients<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    let view = server
        .console_clients(&presented.credentials(), query)
        .await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_CLIENTS,
        view,
        Page::ConsoleClients,
    )
}

/// `POST …/.gatehouse/admin/console/clients/disable` and `…/enable`: the change, then back to
/// the agents page (`303`).
pub async fn console_client_change<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    enable: bool,
) -> PageReply {
    let body = form_body!(req);
    let presented = Presented::of(server, req);
    let credentials = presented.credentials();
    let result = if enable {
        server.console_enable_client(&credentials, &body).await
    } else {
        server.console_disable_client(&credentials, &body).await
    };
    answer::console_changed(
        &server.decision,
        &server.site,
        paths::ADMIN_CONSOLE_CLIENTS,
        result,
    )
}

/// `GET …/.gatehouse/admin/console/people`: the console's people page.
pub async fn console_people<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    let view = server.console_people(&presented.credentials(), query).await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_PEOPLE,
        view,
        Page::ConsolePeople,
    )
}

/// `POST …/.gatehouse/admin/console/people/revoke`: cuts the person off, then back (`303`).
pub async fn console_revoke_person<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let presented = Presented::of(server, req);
    let changed = server
        .console_revoke_person(&presented.credentials(), &body)
        .await;
    answer::console_changed(
        &server.decision,
        &server.site,
        paths::ADMIN_CONSOLE_PEOPLE,
        changed,
    )
}

/// `GET …/.gatehouse/admin/console/state`: migration mode, held writes, and the deep health
/// check's results.
pub async fn console_state<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    env: &worker::Env,
    req: &Incoming,
) -> PageReply {
    let presented = Presented::of(server, req);
    match server.console_state(&presented.credentials()).await {
        Ok(view) => {
            // Only once the admin is known: the deep check makes storage round trips.
            let plan = gatehouse_core::health::Plan::for_config(server.config);
            let report = crate::health::deep(env, plan).await;
            Reply::page(200, Page::ConsoleState(view, report))
        }
        Err(failure) => answer::console_failure(
            &server.decision,
            &server.site,
            paths::ADMIN_CONSOLE_STATE,
            failure,
        ),
    }
}

/// `GET …/.gatehouse/admin/console/audit`: the console's audit page, or its export.
pub async fn console_audit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let presented = Presented::of(server, req);
    let query = url.query.unwrap_or_default();
    match server.console_audit(&presented.credentials(), query).await {
        Ok(AuditAnswer::Page(view)) => Reply::page(200, Page::ConsoleAudit(view)),
        Ok(AuditAnswer::Export(export)) => Reply::download(
            export.content_type,
            export.filename,
            export.body.into_bytes(),
        ),
        Err(failure) => answer::console_failure(
            &server.decision,
            &server.site,
            paths::ADMIN_CONSOLE_AUDIT,
            failure,
        ),
    }
}

/// A console page for `view`, its forms carrying this browser's CSRF token.
fn console_page<S, K, V>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    path: &str,
    view: Result<V, gatehouse_core::server::Failure>,
    page: impl FnOnce(V) -> Page,
) -> PageReply {
    let browser = http::browser(server, req);
    answer::console_page(&server.decision, &server.site, &browser, path, view, page)
}
