//! Apps that share a host, told apart by path prefix: each is its own issuer (origin plus
//! prefix, RFC 8414 §3.1 path insertion), its own audience, with its own session cookie; a token,
//! code or session of one is worth nothing at the other.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::gatekeeper::{Gate, GateRequest};
use gatehouse_core::site::Site;

use crate::support::*;

const DOCS: &str = "https://wiki.test/docs";

fn at_docs(world: &World) {
    world.mount.set("/docs");
}

#[test]
fn an_app_under_a_prefix_is_its_own_issuer_with_its_own_paths() {
    let world = World::new();
    let docs = Site::resolve(&world.config.apps, ISSUER, HOST, "/docs/guide").unwrap();
    assert_eq!(docs.app.name, "Docs");
    assert_eq!(docs.issuer, DOCS);
    assert_eq!(docs.path("/oauth/token"), "/docs/oauth/token");
    assert_eq!(docs.local_path("/docs/oauth/token"), "/oauth/token");
    assert_eq!(docs.local_path("/docs"), "/");
    assert_eq!(
        docs.resource_metadata_url(),
        "https://wiki.test/.well-known/oauth-protected-resource/docs"
    );
    let wiki = Site::resolve(&world.config.apps, ISSUER, HOST, "/docsx").unwrap();
    assert_eq!(wiki.app.name, "Wiki", "a prefix covers whole segments only");
    assert_ne!(docs.session_cookie(), wiki.session_cookie());
    assert!(
        docs.session_cookie()
            .starts_with("__Host-gatehouse-session-")
    );
}

#[test]
fn tokens_are_issued_for_the_prefixed_app_and_refused_by_its_neighbour() {
    let world = World::new();
    at_docs(&world);
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let location = world.authorize_and_consent(
        &client,
        &session,
        &[("resource", "https://wiki.test/docs/mcp")],
    );
    assert_eq!(param(&location, "iss").as_deref(), Some(DOCS));
    let tokens = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    let claims = claims(&tokens.access_token);
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some(DOCS), Some(DOCS))
    );
    let bearer = format!("Bearer {}", tokens.access_token);
    let req = GateRequest {
        method: "GET",
        path: "/docs/guide",
        authorization: Some(&bearer),
        ..GateRequest::default()
    };
    assert!(matches!(
        block_on(world.server().gate(&req, &world.signer)).unwrap(),
        Gate::Allow(_)
    ));
    world.mount.set("/");
    let req = GateRequest {
        path: "/page",
        ..req
    };
    match block_on(world.server().gate(&req, &world.signer)).unwrap() {
        Gate::Challenge {
            status: 401, error, ..
        } => assert_eq!(error.map(|e| e.reason), Some(Reason::TokenIssuerMismatch)),
        other => panic!("{other:?}"),
    }
    // Its refresh token is unknown to the neighbour too.
    let refreshed = world.refresh(&client, tokens.refresh_token.as_deref().unwrap());
    assert_eq!(error_of(refreshed).reason, Reason::RefreshTokenUnknown);
}

#[test]
fn a_resource_outside_the_prefix_is_invalid_target() {
    let world = World::new();
    at_docs(&world);
    let client = world.public_client();
    let session = world.login("alice@example.com");
    for resource in [
        "https://wiki.test",
        "https://wiki.test/page",
        "https://wiki.test/docsx",
    ] {
        let query = world.authorization_query(&client, REDIRECT, &[("resource", resource)]);
        match world.authorize(&query, Some(&session)) {
            Err(AuthorizeError::Redirect { error, .. }) => {
                assert_eq!(error.code, ErrorCode::InvalidTarget, "{resource}")
            }
            other => panic!("{resource}: {other:?}"),
        }
    }
}

#[test]
fn a_session_of_one_app_is_no_session_of_its_neighbour() {
    let world = World::new();
    let session = world.login("alice@example.com");
    at_docs(&world);
    assert!(
        block_on(world.server().person(Some(&session)))
            .unwrap()
            .is_none()
    );
}

/// RFC 9728 §3.1 and §3.3: the path after the well-known suffix names the resource, and the
/// document's `resource` is that identifier; the bare form names the app's own resource. The
/// rule is the core's (`metadata::document`), not the adapter's.
#[test]
fn a_path_suffixed_metadata_document_names_the_resource_at_that_path() {
    let world = World::new();
    let docs = Site::resolve(&world.config.apps, ISSUER, HOST, "/docs").unwrap();
    let document = |path: &str| -> serde_json::Value {
        let well_known = gatehouse_core::paths::well_known(path).unwrap();
        serde_json::from_slice(
            &gatehouse_core::metadata::document(&docs, true, well_known).unwrap(),
        )
        .unwrap()
    };
    let suffixed = document("/.well-known/oauth-protected-resource/docs/mcp");
    assert_eq!(suffixed["resource"], "https://wiki.test/docs/mcp");
    assert_eq!(suffixed["authorization_servers"][0], DOCS);
    let bare = document("/.well-known/oauth-protected-resource");
    assert_eq!(bare["resource"], docs.resource.as_str());
    let server = document("/.well-known/oauth-authorization-server/docs");
    assert_eq!(server["issuer"], DOCS);
    assert_eq!(server["client_id_metadata_document_supported"], true);
}
