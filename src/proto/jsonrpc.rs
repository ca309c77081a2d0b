//! `--proto jsonrpc`: JSON-RPC 2.0 (<https://www.jsonrpc.org/specification>).
//!
//! A message is a request (`method`, `params`, `id`), a notification (no `id`), a
//! response (`result`, or `error` {`code`, `message`, `data`}) or a batch of them (an
//! array: one packet each, with `batch`, its place in the array). Kinds: `request`,
//! `notification`, `response`, `error`.
//!
//! Either side may call the other: a request we sent is answered by the peer, and the
//! reverse. A response is matched to its request by `id` and by who sent it, and gets
//! the request's `method` and the round trip (`rtt_ms`, from the decoder's clock). At
//! most [`MAX_PENDING`] requests wait for their response, the oldest dropped; an `id`
//! over [`MAX_KEY`] bytes of JSON is not waited for (its response shows unmatched), and
//! a method is kept to [`MAX_KEY`] bytes.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{short, Packet};
use crate::event::{Dir, MsgType};

/// The most requests waiting for their response.
pub const MAX_PENDING: usize = 10_000;

/// The longest `id` (as JSON) waited for, and the longest method kept for its response.
pub const MAX_KEY: usize = 256;

/// Who sent the request (true: we did) and its `id` as JSON (`1` and `"1"` differ).
type Key = (bool, String);

#[derive(Debug)]
struct Pending {
    seq: u64,
    method: String,
    at_ms: f64,
}

#[derive(Debug, Default)]
pub struct Decoder {
    pending: HashMap<Key, Pending>,
    /// The same requests, oldest first (by `seq`), to drop the oldest.
    order: BTreeMap<u64, Key>,
    seq: u64,
}

impl super::Decoder for Decoder {
    fn decode(&mut self, dir: Dir, _kind: MsgType, payload: &[u8], now_ms: f64) -> Vec<Packet> {
        let Some(v) = super::json(payload) else {
            return vec![Packet::broken(
                "JSON (a JSON-RPC 2.0 request, notification, response or batch)",
            )];
        };
        match v {
            Value::Array(items) if items.is_empty() => {
                vec![Packet::broken(
                    "a request, notification or response in the batch, got an empty one",
                )]
            }
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| self.one(dir, item, now_ms, true).field("batch", i))
                .collect(),
            v => vec![self.one(dir, v, now_ms, false)],
        }
    }
}

impl Decoder {
    /// Requests waiting for their response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn one(&mut self, dir: Dir, v: Value, now_ms: f64, in_batch: bool) -> Packet {
        let Value::Object(m) = v else {
            let place = if in_batch { " in the batch" } else { "" };
            return Packet::broken(format!(
                "an object (a request, notification or response){place}, got {}",
                short(&v, 40)
            ));
        };
        match m.get("jsonrpc") {
            Some(Value::String(s)) if s == "2.0" => {}
            Some(other) => {
                return Packet::broken(format!("\"jsonrpc\": \"2.0\", got {}", short(other, 20)))
            }
            None => return Packet::broken("\"jsonrpc\": \"2.0\", got none"),
        }
        let id = match m.get("id") {
            None => None,
            Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => Some(id.clone()),
            Some(other) => {
                return Packet::broken(format!(
                    "an \"id\" that is a string, a number or null, got {}",
                    short(other, 20)
                ))
            }
        };
        let is_response = m.contains_key("result") || m.contains_key("error");
        if let Some(method) = m.get("method") {
            let Some(method) = method.as_str() else {
                return Packet::broken(format!("a string \"method\", got {}", short(method, 20)));
            };
            if is_response {
                return Packet::broken(
                    "a request (\"method\") or a response (\"result\" or \"error\"), not both",
                );
            }
            let params = m.get("params");
            if let Some(p) = params {
                if !p.is_array() && !p.is_object() {
                    return Packet::broken(format!(
                        "\"params\" that is an array or an object, got {}",
                        short(p, 20)
                    ));
                }
            }
            let call = format!(
                "{method}({})",
                params.map_or(String::new(), |p| short(p, 80))
            );
            let mut p = match &id {
                None => Packet::new("notification", format!("notification {call}")),
                Some(id) => {
                    self.remember(dir == Dir::Out, id, method, now_ms);
                    Packet::new("request", format!("request #{} {call}", show_id(id)))
                        .field("id", id.clone())
                }
            };
            p = p.field("method", method);
            if let Some(params) = params {
                p = p.field("params", params.clone());
            }
            return p;
        }
        if !is_response {
            return Packet::broken(
                "a \"method\" (a request or notification) or a \"result\" or \"error\" (a response)",
            );
        }
        if m.contains_key("result") && m.contains_key("error") {
            return Packet::broken("either \"result\" or \"error\" in a response, not both");
        }
        let Some(id) = id else {
            return Packet::broken("an \"id\" in the response (null when unknown)");
        };
        if let Some(e) = m.get("error") {
            let (Some(code), Some(message)) = (
                e.get("code").and_then(Value::as_i64),
                e.get("message").and_then(Value::as_str),
            ) else {
                return Packet::broken(format!(
                    "an \"error\" object with an integer \"code\" and a string \"message\", got {}",
                    short(e, 40)
                ));
            };
            let name = code_name(code);
            let text = match name {
                Some(n) if n != message => format!("{code} {n}: {message}"),
                _ => format!("{code} {message}"),
            };
            let mut p = Packet::new("error", String::new())
                .field("id", id.clone())
                .field("error", e.clone());
            if let Some(n) = name {
                p = p.field("code_name", n);
            }
            let (mut p, method, rtt) = self.matched(p, dir, &id, now_ms);
            p.summary = format!("error #{}{method} {text}{rtt}", show_id(&id));
            return p;
        }
        let result = &m["result"];
        let p = Packet::new("response", String::new())
            .field("id", id.clone())
            .field("result", result.clone());
        let (mut p, method, rtt) = self.matched(p, dir, &id, now_ms);
        p.summary = format!(
            "response #{}{method} = {}{rtt}",
            show_id(&id),
            short(result, 80)
        );
        p
    }

    /// A request waits for its response (not one with a null `id`, which no response
    /// can name apart from the errors that have no `id` to give).
    fn remember(&mut self, ours: bool, id: &Value, method: &str, now_ms: f64) {
        if id.is_null() {
            return;
        }
        let key = id.to_string();
        if key.len() > MAX_KEY {
            return;
        }
        let method = if method.len() > MAX_KEY {
            let mut end = MAX_KEY;
            while !method.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &method[..end])
        } else {
            method.to_string()
        };
        self.seq += 1;
        let seq = self.seq;
        let key = (ours, key);
        let old = self.pending.insert(
            key.clone(),
            Pending {
                seq,
                method,
                at_ms: now_ms,
            },
        );
        if let Some(old) = old {
            self.order.remove(&old.seq);
        }
        self.order.insert(seq, key);
        while self.pending.len() > MAX_PENDING {
            let Some((_, k)) = self.order.pop_first() else {
                break;
            };
            self.pending.remove(&k);
        }
    }

    /// The response's request, if it waited: the packet with `method` and `rtt_ms`, and
    /// the parts of the summary (` subtract`, ` (1.2 ms)`).
    fn matched(
        &mut self,
        p: Packet,
        dir: Dir,
        id: &Value,
        now_ms: f64,
    ) -> (Packet, String, String) {
        if id.is_null() {
            return (p, String::new(), String::new());
        }
        // A response from the peer answers a request of ours, and the reverse.
        let key = (dir == Dir::In, id.to_string());
        let Some(req) = self.pending.remove(&key) else {
            return (p, String::new(), String::new());
        };
        self.order.remove(&req.seq);
        let rtt = (now_ms - req.at_ms).max(0.0);
        let rtt = (rtt * 1000.0).round() / 1000.0;
        let (method, took) = (format!(" {}", req.method), format!(" ({rtt:.1} ms)"));
        (
            p.field("method", req.method).field("rtt_ms", rtt),
            method,
            took,
        )
    }
}

/// `#3`, `#abc` (a string id shown as it is), `#null`.
fn show_id(id: &Value) -> String {
    match id {
        Value::String(s) if s.chars().count() > 40 => {
            format!("{}...", s.chars().take(37).collect::<String>())
        }
        Value::String(s) => s.clone(),
        other => short(other, 40),
    }
}

/// The names the spec gives to its error codes.
pub fn code_name(code: i64) -> Option<&'static str> {
    Some(match code {
        -32700 => "Parse error",
        -32600 => "Invalid Request",
        -32601 => "Method not found",
        -32602 => "Invalid params",
        -32603 => "Internal error",
        -32099..=-32000 => "Server error",
        _ => return None,
    })
}

/// A request (`/rpc`): `params` left out when `None`.
pub fn encode_request(method: &str, params: Option<&Value>, id: u64) -> Vec<u8> {
    let mut s = format!("{{\"jsonrpc\":\"2.0\",\"method\":{}", Value::from(method));
    if let Some(p) = params {
        s.push_str(&format!(",\"params\":{p}"));
    }
    s.push_str(&format!(",\"id\":{id}}}"));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;
    use serde_json::json;

    fn all(d: &mut Decoder, dir: Dir, p: &str, now: f64) -> Vec<Packet> {
        d.decode(dir, MsgType::Text, p.as_bytes(), now)
    }

    fn one(d: &mut Decoder, dir: Dir, p: &str, now: f64) -> Packet {
        let mut v = all(d, dir, p, now);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    fn summaries(v: &[Packet]) -> Vec<&str> {
        v.iter().map(|p| p.summary.as_str()).collect()
    }

    /// The spec's examples section, every one: `-->` we send (out), `<--` the server
    /// answers (in).
    #[test]
    fn the_spec_examples() {
        let mut d = Decoder::default();
        // rpc call with positional parameters
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
            100.0,
        );
        assert_eq!(p.kind, "request");
        assert_eq!(p.summary, "request #1 subtract([42,23])");
        assert_eq!(p.fields["method"], "subtract");
        assert_eq!(p.fields["params"], json!([42, 23]));
        assert_eq!(p.fields["id"], 1);
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#,
            101.25,
        );
        assert_eq!(p.kind, "response");
        assert_eq!(p.summary, "response #1 subtract = 19 (1.2 ms)");
        assert_eq!(p.fields["rtt_ms"], 1.25);
        assert_eq!(p.fields["method"], "subtract");
        assert_eq!(p.fields["result"], 19);
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
            0.0,
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "result": -19, "id": 2}"#,
            3.0,
        );
        assert_eq!(p.summary, "response #2 subtract = -19 (3.0 ms)");

        // rpc call with named parameters
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            0.0,
        );
        assert_eq!(
            p.summary,
            // As it came (serde_json keeps the order: `preserve_order`).
            r#"request #3 subtract({"subtrahend":23,"minuend":42})"#
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#,
            0.5,
        );
        assert_eq!(p.summary, "response #3 subtract = 19 (0.5 ms)");
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
            0.0,
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "result": 19, "id": 4}"#,
            0.0,
        );
        assert_eq!(p.summary, "response #4 subtract = 19 (0.0 ms)");

        // a Notification
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
            0.0,
        );
        assert_eq!(p.kind, "notification");
        assert_eq!(p.summary, "notification update([1,2,3,4,5])");
        assert!(!p.fields.contains_key("id"));
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "foobar"}"#,
            0.0,
        );
        assert_eq!(p.summary, "notification foobar()");
        assert!(!p.fields.contains_key("params"));
        assert_eq!(d.pending(), 0);

        // rpc call of non-existent method
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
            0.0,
        );
        assert_eq!(p.summary, "request #1 foobar()");
        assert_eq!(p.fields["id"], "1");
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#,
            2.0,
        );
        assert_eq!(p.kind, "error");
        assert_eq!(
            p.summary,
            "error #1 foobar -32601 Method not found (2.0 ms)"
        );
        assert_eq!(p.fields["code_name"], "Method not found");
        assert_eq!(p.fields["error"]["code"], -32601);

        // rpc call with invalid JSON
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
            0.0,
        );
        assert_eq!(
            p.fields["expected"],
            "JSON (a JSON-RPC 2.0 request, notification, response or batch)"
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
            0.0,
        );
        assert_eq!(p.summary, "error #null -32700 Parse error");
        assert!(!p.fields.contains_key("rtt_ms"));

        // rpc call with invalid Request object
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
            0.0,
        );
        assert_eq!(p.fields["expected"], "a string \"method\", got 1");
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
            0.0,
        );
        assert_eq!(p.summary, "error #null -32600 Invalid Request");

        // rpc call Batch, invalid JSON
        let p = one(
            &mut d,
            Dir::Out,
            "[\n  {\"jsonrpc\": \"2.0\", \"method\": \"sum\", \"params\": [1,2,4], \"id\": \"1\"},\n  {\"jsonrpc\": \"2.0\", \"method\"\n]",
            0.0,
        );
        assert_eq!(p.kind, "broken");
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
            0.0,
        );
        assert_eq!(p.kind, "error");

        // rpc call with an empty Array
        let p = one(&mut d, Dir::Out, "[]", 0.0);
        assert_eq!(
            p.fields["expected"],
            "a request, notification or response in the batch, got an empty one"
        );
        one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
            0.0,
        );

        // rpc call with an invalid Batch (but not empty)
        let p = one(&mut d, Dir::Out, "[1]", 0.0);
        assert_eq!(
            p.fields["expected"],
            "an object (a request, notification or response) in the batch, got 1"
        );
        assert_eq!(p.fields["batch"], 0);
        let p = one(
            &mut d,
            Dir::In,
            r#"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#,
            0.0,
        );
        assert_eq!(p.summary, "error #null -32600 Invalid Request");

        // rpc call with invalid Batch
        let v = all(&mut d, Dir::Out, "[1,2,3]", 0.0);
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|p| p.kind == "broken"));
        let v = all(
            &mut d,
            Dir::In,
            r#"[
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
]"#,
            0.0,
        );
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|p| p.kind == "error"));

        // rpc call Batch
        assert_eq!(d.pending(), 0);
        let v = all(
            &mut d,
            Dir::Out,
            r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
            10.0,
        );
        assert_eq!(
            summaries(&v),
            [
                "request #1 sum([1,2,4])",
                "notification notify_hello([7])",
                "request #2 subtract([42,23])",
                "broken: expected \"jsonrpc\": \"2.0\", got none",
                r#"request #5 foo.get({"name":"myself"})"#,
                "request #9 get_data()",
            ]
        );
        assert_eq!(
            v.iter()
                .map(|p| p.fields["batch"].clone())
                .collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5]
        );
        assert_eq!(d.pending(), 4);
        let v = all(
            &mut d,
            Dir::In,
            r#"[
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
    ]"#,
            14.5,
        );
        assert_eq!(
            summaries(&v),
            [
                "response #1 sum = 7 (4.5 ms)",
                "response #2 subtract = 19 (4.5 ms)",
                "error #null -32600 Invalid Request",
                "error #5 foo.get -32601 Method not found (4.5 ms)",
                r#"response #9 get_data = ["hello",5] (4.5 ms)"#,
            ]
        );
        assert_eq!(d.pending(), 0);

        // rpc call Batch (all notifications): nothing is returned
        let v = all(
            &mut d,
            Dir::Out,
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
            0.0,
        );
        assert_eq!(
            summaries(&v),
            [
                "notification notify_sum([1,2,4])",
                "notification notify_hello([7])"
            ]
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn matched_in_both_directions_by_id_and_sender() {
        let mut d = Decoder::default();
        // The peer calls us (id 1), we call it (id 1 too): two different requests.
        one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
            0.0,
        );
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc":"2.0","method":"add","id":1}"#,
            1.0,
        );
        // Our answer to the peer's request.
        let p = one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc":"2.0","result":"pong","id":1}"#,
            5.0,
        );
        assert_eq!(p.summary, "response #1 ping = \"pong\" (5.0 ms)");
        // The peer's answer to ours.
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":3,"id":1}"#,
            8.0,
        );
        assert_eq!(p.summary, "response #1 add = 3 (7.0 ms)");
        // Answered twice: the second is unmatched.
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":3,"id":1}"#,
            9.0,
        );
        assert_eq!(p.summary, "response #1 = 3");
        assert!(!p.fields.contains_key("method"));
        // `1` and `"1"` are different ids.
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc":"2.0","method":"a","id":"1"}"#,
            0.0,
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":0,"id":1}"#,
            0.0,
        );
        assert_eq!(p.summary, "response #1 = 0");
        assert_eq!(d.pending(), 1);
        // An error whose message is not the standard one.
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc":"2.0","method":"m","id":7}"#,
            0.0,
        );
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"x must be > 0","data":{"x":-1}},"id":7}"#,
            0.3,
        );
        assert_eq!(
            p.summary,
            "error #7 m -32602 Invalid params: x must be > 0 (0.3 ms)"
        );
        assert_eq!(p.fields["error"]["data"], json!({"x": -1}));
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"busy"},"id":null}"#,
            0.0,
        );
        assert_eq!(p.summary, "error #null -32001 Server error: busy");
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","error":{"code":42,"message":"odd"},"id":null}"#,
            0.0,
        );
        assert_eq!(p.summary, "error #null 42 odd");
        assert!(!p.fields.contains_key("code_name"));
    }

    #[test]
    fn pending_requests_are_bounded() {
        let mut d = Decoder::default();
        for id in 0..(MAX_PENDING as u64 + 5) {
            d.decode(
                Dir::Out,
                MsgType::Text,
                &encode_request("m", None, id),
                id as f64,
            );
        }
        assert_eq!(d.pending(), MAX_PENDING);
        assert_eq!(d.order.len(), MAX_PENDING);
        // The five oldest were dropped.
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":0,"id":4}"#,
            0.0,
        );
        assert_eq!(p.summary, "response #4 = 0");
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":0,"id":5}"#,
            20_000.0,
        );
        assert_eq!(p.summary, "response #5 m = 0 (19995.0 ms)");
        // The same id again replaces the one waiting.
        one(
            &mut d,
            Dir::Out,
            r#"{"jsonrpc":"2.0","method":"again","id":6}"#,
            0.0,
        );
        assert_eq!(d.pending(), MAX_PENDING - 1);
        assert_eq!(d.order.len(), d.pending());
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":0,"id":6}"#,
            1.0,
        );
        assert_eq!(p.summary, "response #6 again = 0 (1.0 ms)");
        // Long ids are not waited for; long methods are kept short.
        let long = "x".repeat(1000);
        let v = json!({"jsonrpc": "2.0", "method": "m", "id": long}).to_string();
        let before = d.pending();
        one(&mut d, Dir::Out, &v, 0.0);
        assert_eq!(d.pending(), before);
        let v = json!({"jsonrpc": "2.0", "method": long, "id": "L"}).to_string();
        one(&mut d, Dir::Out, &v, 0.0);
        let p = one(
            &mut d,
            Dir::In,
            r#"{"jsonrpc":"2.0","result":0,"id":"L"}"#,
            0.0,
        );
        assert_eq!(p.fields["method"].as_str().unwrap().len(), MAX_KEY + 3);
    }

    #[test]
    fn encode_request_round_trips() {
        let mut d = Decoder::default();
        let msg = encode_request("subtract", Some(&json!([42, 23])), 3);
        assert_eq!(
            msg,
            br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":3}"#
        );
        let p = one(&mut d, Dir::Out, std::str::from_utf8(&msg).unwrap(), 0.0);
        assert_eq!(p.summary, "request #3 subtract([42,23])");
        let msg = encode_request("we\"ird", None, 4);
        let p = one(&mut d, Dir::Out, std::str::from_utf8(&msg).unwrap(), 0.0);
        assert_eq!(p.summary, "request #4 we\"ird()");
        assert_eq!(p.fields["method"], "we\"ird");
        assert!(!p.fields.contains_key("params"));
        assert_eq!(d.pending(), 2);
    }

    #[test]
    fn broken_messages_say_what_was_expected() {
        let cases: &[(&str, &str)] = &[
            ("", "JSON (a JSON-RPC 2.0 request, notification, response or batch)"),
            ("{", "JSON (a JSON-RPC 2.0 request, notification, response or batch)"),
            ("42", "an object (a request, notification or response), got 42"),
            (r#"{"method":"m","id":1}"#, "\"jsonrpc\": \"2.0\", got none"),
            (r#"{"jsonrpc":"1.0","method":"m","id":1}"#, "\"jsonrpc\": \"2.0\", got \"1.0\""),
            (r#"{"jsonrpc":2,"method":"m","id":1}"#, "\"jsonrpc\": \"2.0\", got 2"),
            (r#"{"jsonrpc":"2.0"}"#, "a \"method\" (a request or notification) or a \"result\" or \"error\" (a response)"),
            (r#"{"jsonrpc":"2.0","id":1}"#, "a \"method\" (a request or notification) or a \"result\" or \"error\" (a response)"),
            (r#"{"jsonrpc":"2.0","method":"m","params":3,"id":1}"#, "\"params\" that is an array or an object, got 3"),
            (r#"{"jsonrpc":"2.0","method":"m","id":[1]}"#, "an \"id\" that is a string, a number or null, got [1]"),
            (r#"{"jsonrpc":"2.0","method":"m","result":1,"id":1}"#, "a request (\"method\") or a response (\"result\" or \"error\"), not both"),
            (r#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"m"},"id":1}"#, "either \"result\" or \"error\" in a response, not both"),
            (r#"{"jsonrpc":"2.0","result":1}"#, "an \"id\" in the response (null when unknown)"),
            (r#"{"jsonrpc":"2.0","error":{"code":"x","message":"m"},"id":1}"#, "an \"error\" object with an integer \"code\" and a string \"message\", got {\"code\":\"x\",\"message\":\"m\"}"),
            (r#"{"jsonrpc":"2.0","error":"bad","id":1}"#, "an \"error\" object with an integer \"code\" and a string \"message\", got \"bad\""),
        ];
        for (msg, expected) in cases {
            let mut d = Decoder::default();
            let p = one(&mut d, Dir::In, msg, 0.0);
            assert_eq!(p.kind, "broken", "{msg}");
            assert_eq!(p.fields["expected"], *expected, "{msg}");
            assert_eq!(d.pending(), 0);
        }
    }

    /// xorshift64: random bytes without a crate.
    use crate::proto::testing::{message, Rng};

    #[test]
    fn random_bytes_and_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            encode_request("subtract", Some(&json!([42, 23])), 1),
            br#"{"jsonrpc":"2.0","result":19,"id":1}"#.to_vec(),
            br#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"}"#
                .to_vec(),
            br#"[{"jsonrpc":"2.0","method":"a","id":2},{"jsonrpc":"2.0","method":"n"},1]"#.to_vec(),
            br#"{"jsonrpc":"2.0","method":"update","params":{"a":[1,2,{"b":null}]}}"#.to_vec(),
        ];
        let alphabet = br#"{}[]":,0123456789-.jsonrpc2methodidresulterror "#;
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut d = Decoder::default();
        let mut now = 0.0;
        for i in 0..20_000 {
            let msg = message(&mut rng, i, alphabet, &seeds);
            let dir = if rng.below(2) == 0 { Dir::In } else { Dir::Out };
            now += 0.5;
            let v = d.decode(dir, MsgType::Text, &msg, now);
            assert!(!v.is_empty());
            assert!(d.pending() <= MAX_PENDING);
            assert_eq!(d.order.len(), d.pending());
        }
        // Many distinct ids: still bounded.
        for id in 0..30_000u64 {
            let dir = if id % 2 == 0 { Dir::In } else { Dir::Out };
            d.decode(dir, MsgType::Text, &encode_request("m", None, id), 0.0);
        }
        assert_eq!(d.pending(), MAX_PENDING);
        assert_eq!(d.order.len(), MAX_PENDING);
    }
}
