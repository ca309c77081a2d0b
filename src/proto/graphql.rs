//! `--proto graphql-ws`: GraphQL over WebSocket, both protocols in use: the
//! graphql-transport-ws protocol (`graphql-ws` the library: connection_init/ack,
//! ping/pong, subscribe, next, error, complete) and the legacy subscriptions-transport-ws
//! one (subprotocol `graphql-ws`: connection_init/ack/error, ka, start, data, error,
//! complete, stop, connection_terminate). One JSON message each, `type` its kind. A
//! `ping` from the peer is answered `pong` (`keepalive`); `ping`, `pong` and `ka` are
//! heartbeats.

use serde_json::{json, Value};

use super::{short, Packet};
use crate::event::{Dir, MsgType};

#[derive(Debug, Default)]
pub struct Decoder;

const TYPES: &[&str] = &[
    "connection_init",
    "connection_ack",
    "connection_error",
    "connection_terminate",
    "ping",
    "pong",
    "ka",
    "subscribe",
    "start",
    "next",
    "data",
    "error",
    "complete",
    "stop",
];

impl super::Decoder for Decoder {
    fn decode(&mut self, _dir: Dir, kind: MsgType, payload: &[u8], _now_ms: f64) -> Vec<Packet> {
        if kind == MsgType::Binary {
            return vec![Packet::broken(
                "a text message (GraphQL over WebSocket is JSON text)",
            )];
        }
        let Some(v) = super::json(payload) else {
            return vec![Packet::broken("a JSON object with a \"type\"")];
        };
        let Some(t) = v["type"].as_str() else {
            return vec![Packet::broken(format!(
                "a JSON object with a \"type\", got {}",
                short(&v, 60)
            ))];
        };
        if !TYPES.contains(&t) {
            return vec![Packet::broken(format!(
                "a GraphQL over WebSocket message type (connection_init, subscribe, next, ...), got {t:?}"
            ))];
        }
        let id = v["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| v["id"].as_u64().map(|n| n.to_string()));
        let payload = v.get("payload").cloned().unwrap_or(Value::Null);
        let mut p = Packet::new(t, String::new());
        if let Some(id) = &id {
            p = p.field("id", id.clone());
        }
        let id_shown = id.as_deref().map_or(String::new(), |i| format!(" {i}"));
        p.summary = match t {
            "subscribe" | "start" => {
                let query = payload["query"]
                    .as_str()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let vars = &payload["variables"];
                p = p.field("query", query.clone());
                if !vars.is_null() {
                    p = p.field("variables", vars.clone());
                }
                if let Some(op) = payload["operationName"].as_str() {
                    p = p.field("operationName", op);
                }
                let vars_shown = if vars.is_null() {
                    String::new()
                } else {
                    format!(" {}", short(vars, 80))
                };
                format!(
                    "{t}{id_shown} {}{vars_shown}",
                    short(&json!(query), 120).trim_matches('"')
                )
            }
            "next" | "data" => {
                p = p.field("payload", payload.clone());
                format!("{t}{id_shown} {}", short(&payload, 160))
            }
            "error" | "connection_error" => {
                p = p.field("payload", payload.clone());
                let msg = payload[0]["message"]
                    .as_str()
                    .or(payload["message"].as_str())
                    .map_or_else(|| short(&payload, 120), |m| format!("{m:?}"));
                format!("{t}{id_shown} {msg}")
            }
            _ => {
                if !payload.is_null() {
                    p = p.field("payload", payload.clone());
                }
                let d = if payload.is_null() {
                    String::new()
                } else {
                    format!(" {}", short(&payload, 80))
                };
                format!("{t}{id_shown}{d}")
            }
        };
        if matches!(t, "ping" | "pong" | "ka") {
            p = p.heartbeat();
        }
        vec![p]
    }

    fn keepalive(&self, kind: MsgType, payload: &[u8]) -> Option<(MsgType, Vec<u8>)> {
        let v = super::json(payload).filter(|_| kind == MsgType::Text)?;
        (v["type"] == "ping").then(|| (MsgType::Text, br#"{"type":"pong"}"#.to_vec()))
    }
}

/// `/subscribe QUERY [VARS]` in graphql-transport-ws (`legacy`: subscriptions-transport-ws'
/// `start`).
pub fn encode_subscribe(id: &str, query: &str, variables: Option<&Value>, legacy: bool) -> Vec<u8> {
    let mut payload = json!({ "query": query });
    if let Some(v) = variables {
        payload["variables"] = v.clone();
    }
    let t = if legacy { "start" } else { "subscribe" };
    json!({ "id": id, "type": t, "payload": payload })
        .to_string()
        .into_bytes()
}

/// `connection_init`, which both protocols send first.
pub fn encode_init() -> Vec<u8> {
    br#"{"type":"connection_init"}"#.to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;

    fn dec(text: &str) -> Packet {
        Decoder
            .decode(Dir::In, MsgType::Text, text.as_bytes(), 0.0)
            .remove(0)
    }

    #[test]
    fn graphql_transport_ws_messages() {
        assert_eq!(
            dec(r#"{"type":"connection_ack"}"#).summary,
            "connection_ack"
        );
        let p = dec(
            r#"{"id":"1","type":"subscribe","payload":{"query":"subscription {\n  greetings\n}","variables":{"n":3}}}"#,
        );
        assert_eq!(p.kind, "subscribe");
        assert_eq!(p.fields["query"], "subscription { greetings }");
        assert_eq!(
            p.summary,
            r#"subscribe 1 subscription { greetings } {"n":3}"#
        );
        let p = dec(r#"{"id":"1","type":"next","payload":{"data":{"greetings":"Hi"}}}"#);
        assert_eq!(p.summary, r#"next 1 {"data":{"greetings":"Hi"}}"#);
        let p = dec(r#"{"id":"1","type":"error","payload":[{"message":"bad query"}]}"#);
        assert_eq!(p.summary, r#"error 1 "bad query""#);
        assert_eq!(dec(r#"{"id":"1","type":"complete"}"#).summary, "complete 1");
        assert!(dec(r#"{"type":"ping"}"#).heartbeat);
        assert_eq!(
            Decoder.keepalive(MsgType::Text, br#"{"type":"ping"}"#),
            Some((MsgType::Text, br#"{"type":"pong"}"#.to_vec()))
        );
        assert_eq!(
            Decoder.keepalive(MsgType::Text, br#"{"type":"pong"}"#),
            None
        );
    }

    #[test]
    fn legacy_subscriptions_transport_ws_messages() {
        assert!(dec(r#"{"type":"ka"}"#).heartbeat);
        let p = dec(r#"{"id":"2","type":"start","payload":{"query":"subscription { t }"}}"#);
        assert_eq!(p.summary, "start 2 subscription { t }");
        let p = dec(r#"{"id":"2","type":"data","payload":{"data":{"t":1}}}"#);
        assert_eq!(p.kind, "data");
        assert_eq!(dec(r#"{"id":"2","type":"stop"}"#).summary, "stop 2");
    }

    #[test]
    fn encoders_round_trip_and_broken_messages_say_what_was_expected() {
        let p = dec(std::str::from_utf8(&encode_subscribe(
            "7",
            "subscription { a }",
            Some(&json!({"x": 1})),
            false,
        ))
        .unwrap());
        assert_eq!(
            (p.kind.as_str(), p.fields["id"].as_str()),
            ("subscribe", Some("7"))
        );
        assert_eq!(
            dec(std::str::from_utf8(&encode_init()).unwrap()).kind,
            "connection_init"
        );
        for (text, says) in [
            ("nope", "a JSON object"),
            ("[1]", "with a \"type\""),
            (
                r#"{"type":"hello"}"#,
                "a GraphQL over WebSocket message type",
            ),
        ] {
            let p = dec(text);
            assert_eq!(p.kind, "broken", "{text}");
            assert!(p.summary.contains(says), "{text}: {}", p.summary);
        }
        assert_eq!(
            Decoder.decode(Dir::In, MsgType::Binary, b"x", 0.0)[0].kind,
            "broken"
        );
    }
}
