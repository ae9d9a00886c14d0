//! The demo app's MCP server: the smallest useful server of the MCP Streamable HTTP transport
//! (MCP specification 2025-06-18, "Transports"), so an agent connected through gatehouse has
//! something to call on the first run. Stateless: every `POST` carries one JSON-RPC 2.0 message
//! and gets a JSON answer (no SSE stream, no session id, which the transport allows).
//!
//! Its two tools show what the gate forwarded: `whoami` (the person, the agent, the scopes) and
//! `leave_note` (echoes a note attributed to both). Pure, so it is tested natively.

use serde_json::{Map, Value, json};

/// Protocol versions this server speaks, newest first (MCP "Lifecycle": the server answers the
/// client's version when it supports it, else its own latest).
const VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// JSON-RPC 2.0 error codes (JSON-RPC 2.0 §5.1).
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// What one `POST /mcp` gets: a JSON-RPC answer, or nothing for a notification (the transport
/// answers those `202 Accepted` with no body).
#[derive(Debug, PartialEq)]
pub enum Answer {
    Json(Value),
    Accepted,
}

/// Answers one JSON-RPC message from `body`; `identity` is the gatehouse headers the origin
/// received (lowercase name → value).
pub fn answer(body: &str, identity: &Map<String, Value>) -> Answer {
    let Ok(message) = serde_json::from_str::<Value>(body) else {
        return Answer::Json(error(Value::Null, PARSE_ERROR, "the body is not JSON"));
    };
    let Some(message) = message.as_object() else {
        return Answer::Json(error(
            Value::Null,
            INVALID_REQUEST,
            "one JSON-RPC object per request",
        ));
    };
    let method = message.get("method").and_then(Value::as_str);
    let Some(id) = message.get("id").cloned() else {
        // A notification (`notifications/initialized`, `notifications/cancelled`) or a response
        // to a request this server never sends: nothing to answer.
        return Answer::Accepted;
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let result = match method {
        Some("initialize") => Ok(initialize(&params)),
        Some("ping") => Ok(json!({})),
        Some("tools/list") => Ok(json!({ "tools": tools() })),
        Some("tools/call") => call(&params, identity),
        Some(_) => Err((METHOD_NOT_FOUND, "no such method")),
        None => Err((INVALID_REQUEST, "a request needs a method")),
    };
    Answer::Json(match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err((code, message)) => error(id, code, message),
    })
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn initialize(params: &Value) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = VERSIONS
        .iter()
        .find(|v| Some(**v) == asked)
        .unwrap_or(&VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": {} },
        "serverInfo": { "name": "gatehouse-demo", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "The gatehouse demo app. `whoami` shows who is calling: the person, and the agent acting for them.",
    })
}

fn tools() -> Value {
    json!([
        {
            "name": "whoami",
            "description": "Who is calling: the person gatehouse identified, the agent acting for them, and the scopes in force.",
            "inputSchema": { "type": "object", "properties": {} },
        },
        {
            "name": "leave_note",
            "description": "Leaves a note, attributed to the person and the agent (nothing is stored).",
            "inputSchema": {
                "type": "object",
                "properties": { "text": { "type": "string", "description": "The note" } },
                "required": ["text"],
            },
        },
    ])
}

fn call(params: &Value, identity: &Map<String, Value>) -> Result<Value, (i64, &'static str)> {
    let field = |name: &str| identity.get(name).cloned().unwrap_or(Value::Null);
    let who = json!({
        "email": field("gatehouse-email"),
        "subject": field("gatehouse-subject"),
        "agent": { "client_id": field("gatehouse-client-id"), "name": field("gatehouse-client-name") },
        "grant_id": field("gatehouse-grant-id"),
        "scope": field("gatehouse-scope"),
    });
    let structured = match params.get("name").and_then(Value::as_str) {
        Some("whoami") => who,
        Some("leave_note") => {
            let text = params
                .pointer("/arguments/text")
                .and_then(Value::as_str)
                .ok_or((INVALID_PARAMS, "leave_note needs a text argument"))?;
            json!({ "note": text, "by": who })
        }
        _ => return Err((INVALID_PARAMS, "no such tool")),
    };
    Ok(json!({
        "content": [{ "type": "text", "text": structured.to_string() }],
        "structuredContent": structured,
        "isError": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Map<String, Value> {
        [
            ("gatehouse-email", "alice@example.com"),
            ("gatehouse-client-id", "c1"),
            ("gatehouse-client-name", "my%20agent"),
            ("gatehouse-scope", "read"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect()
    }

    fn result(body: Value) -> Value {
        match answer(&body.to_string(), &identity()) {
            Answer::Json(v) => v,
            Answer::Accepted => panic!("no answer to {body}"),
        }
    }

    #[test]
    fn initialize_agrees_on_a_version_and_offers_tools() {
        let r = result(
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
        );
        assert_eq!(r["id"], 1);
        assert_eq!(r["result"]["protocolVersion"], "2025-06-18");
        assert!(r["result"]["capabilities"]["tools"].is_object());
        let r = result(
            json!({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}),
        );
        assert_eq!(r["result"]["protocolVersion"], VERSIONS[0]);
    }

    #[test]
    fn whoami_names_the_person_and_the_agent() {
        let r = result(
            json!({"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"whoami","arguments":{}}}),
        );
        let who = &r["result"]["structuredContent"];
        assert_eq!(who["email"], "alice@example.com");
        assert_eq!(who["agent"]["client_id"], "c1");
        assert_eq!(who["scope"], "read");
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), *who);
    }

    #[test]
    fn notifications_are_accepted_and_bad_messages_are_json_rpc_errors() {
        let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string();
        assert_eq!(answer(&note, &identity()), Answer::Accepted);
        let cases = [
            ("not json", PARSE_ERROR),
            ("[1,2]", INVALID_REQUEST),
            (r#"{"jsonrpc":"2.0","id":1}"#, INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#,
                METHOD_NOT_FOUND,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm"}}"#,
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"leave_note"}}"#,
                INVALID_PARAMS,
            ),
        ];
        for (body, code) in cases {
            let Answer::Json(r) = answer(body, &identity()) else {
                panic!("{body}")
            };
            assert_eq!(r["error"]["code"], code, "{body}");
        }
    }
}
