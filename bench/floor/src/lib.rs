//! The workers-rs floor of the benchmark: for three scenarios, the least any Rust Worker on the
//! same `worker` and wasm-bindgen versions as gatehouse does, so that the benchmark measures, in
//! the same run, what gatehouse's own work costs above the platform it is built on.
//!
//! - `GET /.well-known/oauth-authorization-server`: a constant JSON document of the size of
//!   gatehouse's.
//! - a request without `Authorization`: a constant `401` with a Bearer challenge.
//! - a request with `Authorization`: forwarded to `ORIGIN` (method, path, query and headers; no
//!   body, as the benchmark's GETs have none), its response returned as it comes.
//!
//! Like gatehouse it takes the runtime's request as it is (`web_sys::Request`): reading
//! `worker::Request`'s `cf` makes workerd build that object, which gatehouse never does.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::{Context, Env, Error, Result, event};

const METADATA: &str = r#"{"issuer":"http://127.0.0.1","authorization_endpoint":"http://127.0.0.1/oauth/authorize","token_endpoint":"http://127.0.0.1/oauth/token","registration_endpoint":"http://127.0.0.1/oauth/register","revocation_endpoint":"http://127.0.0.1/oauth/revoke","introspection_endpoint":"http://127.0.0.1/oauth/introspect","device_authorization_endpoint":"http://127.0.0.1/oauth/device_authorization","jwks_uri":"http://127.0.0.1/oauth/jwks.json","scopes_supported":["read"],"response_types_supported":["code"],"response_modes_supported":["query"],"grant_types_supported":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post","private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["ES256"],"revocation_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post"],"code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true,"client_id_metadata_document_supported":true,"service_documentation":"http://127.0.0.1/"}"#;
const CHALLENGE: &str = r#"Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource", scope="read""#;
const CHALLENGE_BODY: &str = r#"{"error_description":"this resource needs a bearer token; WWW-Authenticate says where to get one"}"#;

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let url = req.url();
    let rest = url.splitn(4, '/').nth(3).unwrap_or_default();
    if rest == ".well-known/oauth-authorization-server" {
        return constant(200, METADATA, None);
    }
    if req.headers().has("Authorization")? {
        return forward(&req, rest, &env.var("ORIGIN")?.to_string()).await;
    }
    constant(401, CHALLENGE_BODY, Some(CHALLENGE))
}

fn constant(status: u16, body: &str, challenge: Option<&str>) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    headers.set("Content-Type", "application/json")?;
    if let Some(challenge) = challenge {
        headers.set("WWW-Authenticate", challenge)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(
        Some(body),
        &init,
    )?)
}

async fn forward(req: &web_sys::Request, rest: &str, origin: &str) -> Result<web_sys::Response> {
    let init = web_sys::RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&req.headers());
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let outgoing = web_sys::Request::new_with_str_and_init(&format!("{origin}/{rest}"), &init)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let answer = JsFuture::from(global.fetch_with_request(&outgoing)).await?;
    answer
        .dyn_into()
        .map_err(|_| Error::RustError("fetch answered something other than a Response".into()))
}
