//! `--proto signalr`: the ASP.NET Core SignalR JSON hub protocol
//! (<https://github.com/dotnet/aspnetcore/blob/main/src/SignalR/docs/specs/HubProtocol.md>).
//!
//! Every record is a JSON object ended by the record separator 0x1E; a message may hold
//! several, and a record may be split over messages: the part with no 0x1E yet is kept
//! (per direction, at most [`MAX_PARTIAL`] bytes) until the rest comes. First the
//! handshake (`{"protocol":"json","version":1}`, answered `{}` or `{"error":"..."}`),
//! then messages by `type`: 1 Invocation, 2 StreamItem, 3 Completion, 4
//! StreamInvocation, 5 CancelInvocation, 6 Ping, 7 Close, 8 Ack, 9 Sequence. A packet's
//! fields are the record's members but `type` (its kind says it).
//!
//! The MessagePack hub protocol (binary) is not decoded: its messages show as broken.
//!
//! Keep-alive: a Ping from the peer is answered with a Ping. The server wants a message
//! from the client at least every 30 s by default and pings every 15 s, so answering its
//! pings is enough to keep the session up.

use serde_json::{Map, Value};

use super::{short, Packet};
use crate::event::{Dir, MsgType};

/// The record separator that ends every record.
pub const RS: u8 = 0x1E;

/// The most kept of a record whose 0x1E has not come yet, per direction.
pub const MAX_PARTIAL: usize = 16 << 20;

/// A Ping, as we send it.
pub const PING: &[u8] = b"{\"type\":6}\x1e";

const NAMES: [&str; 9] = [
    "Invocation",
    "StreamItem",
    "Completion",
    "StreamInvocation",
    "CancelInvocation",
    "Ping",
    "Close",
    "Ack",
    "Sequence",
];

#[derive(Debug, Default)]
pub struct Decoder {
    /// What came after the last 0x1E, per direction (`In`, `Out`).
    partial: [Vec<u8>; 2],
    /// The handshake was answered (a later `{}` is not a handshake response).
    answered: bool,
}

fn side(dir: Dir) -> usize {
    match dir {
        Dir::In => 0,
        Dir::Out => 1,
    }
}

impl super::Decoder for Decoder {
    fn decode(&mut self, dir: Dir, kind: MsgType, payload: &[u8], _now_ms: f64) -> Vec<Packet> {
        let i = side(dir);
        if !payload.contains(&RS) {
            // No record ends here: held (only what may start one), bounded.
            let held = &mut self.partial[i];
            if held.is_empty() {
                if payload.is_empty() {
                    return vec![Packet::broken(
                        "a JSON record ended by 0x1E, got an empty message",
                    )];
                }
                if let Some(p) = bad_start(kind, payload) {
                    return vec![p];
                }
            }
            if held.len() + payload.len() > MAX_PARTIAL {
                let n = held.len() + payload.len();
                self.partial[i] = Vec::new();
                return vec![too_long(n)];
            }
            held.extend_from_slice(payload);
            return Vec::new();
        }
        let mut held = std::mem::take(&mut self.partial[i]);
        let all: &[u8] = if held.is_empty() {
            payload
        } else {
            held.extend_from_slice(payload);
            &held
        };
        let mut out = Vec::new();
        let mut records = all.split(|&b| b == RS);
        // The last piece is what follows the last 0x1E (empty when the message ends
        // with one): kept for the next message.
        let tail = records.next_back().unwrap_or_default();
        for r in records {
            out.push(self.record(kind, r));
        }
        if tail.len() > MAX_PARTIAL {
            out.push(too_long(tail.len()));
        } else if let Some(p) = bad_start(kind, tail) {
            out.push(p);
        } else if !tail.is_empty() {
            self.partial[i] = tail.to_vec();
        }
        out
    }

    fn keepalive(&self, _kind: MsgType, payload: &[u8]) -> Option<(MsgType, Vec<u8>)> {
        let mut records = payload.split(|&b| b == RS);
        records.next_back();
        records
            .filter(|r| r.len() <= 256)
            .any(|r| {
                super::json(r).is_some_and(|v| v.get("type").and_then(Value::as_u64) == Some(6))
            })
            .then(|| (MsgType::Text, PING.to_vec()))
    }
}

impl Decoder {
    /// Bytes held for a record not ended yet, both directions.
    pub fn pending_bytes(&self) -> usize {
        self.partial.iter().map(Vec::len).sum()
    }

    fn record(&mut self, kind: MsgType, r: &[u8]) -> Packet {
        let Some(v) = super::json(r) else {
            if r.iter().all(u8::is_ascii_whitespace) {
                return Packet::broken("a JSON record before the record separator (0x1E)");
            }
            if kind == MsgType::Binary && r.first() != Some(&b'{') {
                return Packet::broken(
                    "a JSON record (the JSON hub protocol; MessagePack is not decoded)",
                );
            }
            return Packet::broken(format!("a JSON record, got {}", shown(r)));
        };
        let Value::Object(mut m) = v else {
            return Packet::broken(format!("a JSON object, got {}", short(&v, 40)));
        };
        let Some(t) = m.remove("type") else {
            return self.handshake(m);
        };
        let Some(n) = t.as_u64().filter(|n| (1..=9).contains(n)) else {
            return Packet::broken(format!("a \"type\" of 1 to 9, got {}", short(&t, 20)));
        };
        let name = NAMES[n as usize - 1];
        if let Err(e) = check(n, &m) {
            return Packet::broken(format!("{e} in {} (type {n})", a(name)));
        }
        let s = |k: &str| m.get(k).and_then(Value::as_str);
        let id = s("invocationId").map(|i| format!(" id={i}"));
        let id = id.as_deref().unwrap_or("");
        let summary = match n {
            1 | 4 => {
                let mut x = format!("{name} {}({}){id}", s("target").unwrap_or(""), args(&m));
                if let Some(st) = m.get("streamIds") {
                    x.push_str(&format!(" streams={}", short(st, 40)));
                }
                x
            }
            2 => format!("{name}{id} {}", short(&m["item"], 60)),
            3 => match (m.get("result"), m.get("error")) {
                (Some(r), _) => format!("{name}{id} = {}", short(r, 60)),
                (_, Some(e)) => format!("{name}{id} error {}", short(e, 60)),
                _ => format!("{name}{id}"),
            },
            7 => {
                let mut x = name.to_string();
                if let Some(e) = m.get("error") {
                    x.push_str(&format!(" error {}", short(e, 60)));
                }
                if m.get("allowReconnect") == Some(&Value::Bool(true)) {
                    x.push_str(" allowReconnect");
                }
                x
            }
            8 | 9 => format!("{name} sequenceId={}", m["sequenceId"]),
            _ => format!("{name}{id}"),
        };
        let mut p = Packet::new(name, summary);
        p.fields = m;
        if n == 6 {
            p = p.heartbeat();
        }
        p
    }

    /// A record with no `type`: the handshake request or its response.
    fn handshake(&mut self, m: Map<String, Value>) -> Packet {
        if let Some(proto) = m.get("protocol") {
            let Some(name) = proto.as_str() else {
                return Packet::broken(format!(
                    "a string \"protocol\" in the handshake, got {}",
                    short(proto, 20)
                ));
            };
            let mut summary = format!("handshake protocol={name}");
            if let Some(v) = m.get("version") {
                summary.push_str(&format!(" version={}", short(v, 20)));
            }
            if name != "json" {
                summary.push_str(" (only json is decoded)");
            }
            let mut p = Packet::new("handshake", summary);
            p.fields = m;
            return p;
        }
        if m.keys().all(|k| k == "error" || k == "minorVersion") && !self.answered {
            self.answered = true;
            let summary = match m.get("error") {
                Some(e) => format!("handshake response error {}", short(e, 80)),
                None => "handshake response ok".to_string(),
            };
            let mut p = Packet::new("handshake response", summary);
            p.fields = m;
            return p;
        }
        Packet::broken(if self.answered {
            "a \"type\" (1 to 9): the handshake was answered already"
        } else {
            "a \"type\" (1 to 9), or a handshake {\"protocol\":...} or its response {} / {\"error\":...}"
        })
    }
}

/// The members a message of type `n` must (or may only) have, as the spec says.
fn check(n: u64, m: &Map<String, Value>) -> Result<(), String> {
    let string = |k: &str, needed: bool| match m.get(k) {
        None if needed => Err(format!("a string \"{k}\"")),
        Some(v) if !v.is_string() => Err(format!("a string \"{k}\", got {}", short(v, 20))),
        _ => Ok(()),
    };
    let array = |k: &str, needed: bool| match m.get(k) {
        None if needed => Err(format!("an array \"{k}\"")),
        Some(v) if !v.is_array() => Err(format!("an array \"{k}\", got {}", short(v, 20))),
        _ => Ok(()),
    };
    match n {
        1 | 4 => {
            string("invocationId", n == 4)?;
            string("target", true)?;
            array("arguments", true)?;
            array("streamIds", false)
        }
        2 => {
            string("invocationId", true)?;
            if m.contains_key("item") {
                Ok(())
            } else {
                Err("an \"item\"".into())
            }
        }
        3 => {
            string("invocationId", true)?;
            string("error", false)?;
            if m.contains_key("result") && m.contains_key("error") {
                Err("either a \"result\" or an \"error\", not both".into())
            } else {
                Ok(())
            }
        }
        5 => string("invocationId", true),
        7 => {
            string("error", false)?;
            match m.get("allowReconnect") {
                Some(v) if !v.is_boolean() => Err(format!(
                    "a boolean \"allowReconnect\", got {}",
                    short(v, 20)
                )),
                _ => Ok(()),
            }
        }
        8 | 9 => match m.get("sequenceId") {
            Some(v) if v.is_u64() => Ok(()),
            Some(v) => Err(format!("a number \"sequenceId\", got {}", short(v, 20))),
            None => Err("a number \"sequenceId\"".into()),
        },
        _ => Ok(()),
    }
}

fn too_long(n: usize) -> Packet {
    Packet::broken(format!(
        "a record separator (0x1E) within {} MiB, got {n} bytes without one",
        MAX_PARTIAL >> 20
    ))
}

/// A broken packet when `b`, the start of a record, cannot start a JSON object (so is
/// not held waiting for its 0x1E): MessagePack's binary messages, plain text.
fn bad_start(kind: MsgType, b: &[u8]) -> Option<Packet> {
    let first = *b.iter().find(|c| !c.is_ascii_whitespace())?;
    if first == b'{' {
        return None;
    }
    Some(if kind == MsgType::Binary {
        Packet::broken("a JSON record (the JSON hub protocol; MessagePack is not decoded)")
    } else {
        Packet::broken(format!("a JSON record ended by 0x1E, got {}", shown(b)))
    })
}

/// "an Invocation", "a Completion".
fn a(name: &str) -> String {
    let an = matches!(
        name.as_bytes().first(),
        Some(b'A' | b'E' | b'I' | b'O' | b'U')
    );
    format!("{} {name}", if an { "an" } else { "a" })
}

/// `"bob","hi"`: the arguments, short.
fn args(m: &Map<String, Value>) -> String {
    let Some(Value::Array(a)) = m.get("arguments") else {
        return String::new();
    };
    let mut s = String::new();
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if s.chars().count() > 80 {
            s.push_str("...");
            break;
        }
        s.push_str(&short(v, 40));
    }
    s
}

fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(40)];
    short(
        &Value::String(String::from_utf8_lossy(cut).into_owned()),
        40,
    )
}

/// The handshake request of the JSON protocol, version 1.
pub fn encode_handshake() -> Vec<u8> {
    b"{\"protocol\":\"json\",\"version\":1}\x1e".to_vec()
}

/// An Invocation (`/invoke`): `arguments` as the array it is, else as the one argument;
/// `invocation_id` `None` for a non-blocking one (no Completion comes).
pub fn encode_invocation(target: &str, arguments: &Value, invocation_id: Option<&str>) -> Vec<u8> {
    let args = match arguments {
        Value::Array(_) => arguments.to_string(),
        other => Value::Array(vec![other.clone()]).to_string(),
    };
    let mut s = String::from("{\"type\":1,");
    if let Some(id) = invocation_id {
        s.push_str(&format!("\"invocationId\":{},", Value::from(id)));
    }
    s.push_str(&format!(
        "\"target\":{},\"arguments\":{args}}}",
        Value::from(target)
    ));
    let mut out = s.into_bytes();
    out.push(RS);
    out
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;
    use serde_json::json;

    fn all(d: &mut Decoder, dir: Dir, p: &[u8]) -> Vec<Packet> {
        d.decode(dir, MsgType::Text, p, 0.0)
    }

    fn one(d: &mut Decoder, dir: Dir, p: &[u8]) -> Packet {
        let mut v = all(d, dir, p);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    /// A record as the spec writes it (indented JSON), with its 0x1E.
    fn rec(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(RS);
        v
    }

    #[test]
    fn handshake_and_response() {
        let mut d = Decoder::default();
        let p = one(&mut d, Dir::Out, &encode_handshake());
        assert_eq!(p.kind, "handshake");
        assert_eq!(p.summary, "handshake protocol=json version=1");
        assert_eq!(p.fields["protocol"], "json");
        // The spec's example asks for messagepack.
        let p = one(
            &mut d,
            Dir::Out,
            &rec("{\n    \"protocol\": \"messagepack\",\n    \"version\": 1\n}"),
        );
        assert_eq!(
            p.summary,
            "handshake protocol=messagepack version=1 (only json is decoded)"
        );
        // The spec's error response, then the handshake is over.
        let p = one(
            &mut d,
            Dir::In,
            &rec("{\n    \"error\": \"Requested protocol 'messagepack' is not available.\"\n}"),
        );
        assert_eq!(p.kind, "handshake response");
        assert_eq!(
            p.summary,
            "handshake response error \"Requested protocol 'messagepack' is not available.\""
        );
        let p = one(&mut d, Dir::In, b"{}\x1e");
        assert_eq!(p.kind, "broken");
        assert_eq!(
            p.fields["expected"],
            "a \"type\" (1 to 9): the handshake was answered already"
        );

        // `{}` and, in the same message, the first ping.
        let mut d = Decoder::default();
        let v = all(&mut d, Dir::In, b"{}\x1e{\"type\":6}\x1e");
        assert_eq!(v[0].kind, "handshake response");
        assert_eq!(v[0].summary, "handshake response ok");
        assert_eq!(v[1].kind, "Ping");
        assert!(v[1].heartbeat);
        assert!(v[1].fields.is_empty());
    }

    #[test]
    fn the_spec_json_examples() {
        let cases: &[(&str, &str, &str)] = &[
            (
                r#"{"type": 1, "invocationId": "123", "target": "Send", "arguments": [42, "Test Message"]}"#,
                "Invocation",
                r#"Invocation Send(42,"Test Message") id=123"#,
            ),
            (
                r#"{"type": 1, "target": "Send", "arguments": [42, "Test Message"]}"#,
                "Invocation",
                r#"Invocation Send(42,"Test Message")"#,
            ),
            (
                r#"{"type": 1, "invocationId": "123", "target": "Send", "arguments": [42], "streamIds": ["1"]}"#,
                "Invocation",
                r#"Invocation Send(42) id=123 streams=["1"]"#,
            ),
            (
                r#"{"type": 4, "invocationId": "123", "target": "Send", "arguments": [42, "Test Message"]}"#,
                "StreamInvocation",
                r#"StreamInvocation Send(42,"Test Message") id=123"#,
            ),
            (
                r#"{"type": 2, "invocationId": "123", "item": 42}"#,
                "StreamItem",
                "StreamItem id=123 42",
            ),
            (
                r#"{"type": 3, "invocationId": "123"}"#,
                "Completion",
                "Completion id=123",
            ),
            (
                r#"{"type": 3, "invocationId": "123", "result": 42}"#,
                "Completion",
                "Completion id=123 = 42",
            ),
            (
                r#"{"type": 3, "invocationId": "123", "error": "It didn't work!"}"#,
                "Completion",
                r#"Completion id=123 error "It didn't work!""#,
            ),
            (
                r#"{"type": 5, "invocationId": "123"}"#,
                "CancelInvocation",
                "CancelInvocation id=123",
            ),
            (r#"{"type": 6}"#, "Ping", "Ping"),
            (r#"{"type": 7}"#, "Close", "Close"),
            (
                r#"{"type": 7, "error": "Connection closed because of an error!"}"#,
                "Close",
                r#"Close error "Connection closed because of an error!""#,
            ),
            (
                r#"{"type": 7, "error": "Connection closed because of an error!", "allowReconnect": true}"#,
                "Close",
                r#"Close error "Connection closed because of an error!" allowReconnect"#,
            ),
            (
                r#"{"type": 8, "sequenceId": 1394}"#,
                "Ack",
                "Ack sequenceId=1394",
            ),
            (
                r#"{"type": 9, "sequenceId": 1234}"#,
                "Sequence",
                "Sequence sequenceId=1234",
            ),
            (
                r#"{"type": 1, "headers": {"Foo": "Bar"}, "invocationId": "123", "target": "Send", "arguments": [42, "Test Message"]}"#,
                "Invocation",
                r#"Invocation Send(42,"Test Message") id=123"#,
            ),
        ];
        let mut d = Decoder::default();
        for (record, kind, summary) in cases {
            let p = one(&mut d, Dir::In, &rec(record));
            assert_eq!(p.kind, *kind, "{record}");
            assert_eq!(p.summary, *summary, "{record}");
            assert_eq!(p.heartbeat, *kind == "Ping");
            // The fields are the record's members but `type`.
            let mut want: Map<String, Value> = serde_json::from_str(record).unwrap();
            want.remove("type");
            assert_eq!(p.fields, want);
        }
        // The spec's protocol error: both a result and an error.
        let p = one(
            &mut d,
            Dir::In,
            &rec(r#"{"type": 3, "invocationId": "123", "result": 42, "error": "It didn't work!"}"#),
        );
        assert_eq!(
            p.fields["expected"],
            "either a \"result\" or an \"error\", not both in a Completion (type 3)"
        );
    }

    #[test]
    fn several_records_and_records_split_over_messages() {
        let mut d = Decoder::default();
        let msg = b"{\"type\":2,\"invocationId\":\"1\",\"item\":0}\x1e{\"type\":2,\"invocationId\":\"1\",\"item\":1}\x1e{\"type\":3,\"invocationId\":\"1\"}\x1e";
        let v = all(&mut d, Dir::In, msg);
        assert_eq!(
            v.iter().map(|p| p.summary.as_str()).collect::<Vec<_>>(),
            ["StreamItem id=1 0", "StreamItem id=1 1", "Completion id=1"]
        );
        // Split anywhere, one direction at a time: the same packets.
        for cut in 1..msg.len() {
            let mut d = Decoder::default();
            let mut v = all(&mut d, Dir::In, &msg[..cut]);
            // A message the other way in between does not disturb it.
            assert_eq!(one(&mut d, Dir::Out, PING).kind, "Ping");
            v.extend(all(&mut d, Dir::In, &msg[cut..]));
            assert_eq!(
                v.iter().map(|p| p.summary.as_str()).collect::<Vec<_>>(),
                ["StreamItem id=1 0", "StreamItem id=1 1", "Completion id=1"],
                "cut at {cut}"
            );
            assert_eq!(d.pending_bytes(), 0);
        }
        // Held until the rest comes: no packet yet.
        let mut d = Decoder::default();
        assert!(all(&mut d, Dir::In, b"{\"type\":").is_empty());
        assert_eq!(d.pending_bytes(), 8);
        assert_eq!(one(&mut d, Dir::In, b"6}\x1e").kind, "Ping");
    }

    #[test]
    fn a_record_without_an_end_is_bounded() {
        let mut d = Decoder::default();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..16 {
            assert!(all(&mut d, Dir::In, &chunk).is_empty());
        }
        assert_eq!(d.pending_bytes(), 16 << 20);
        let p = one(&mut d, Dir::In, b" ");
        assert_eq!(
            p.fields["expected"],
            "a record separator (0x1E) within 16 MiB, got 16777217 bytes without one"
        );
        assert_eq!(d.pending_bytes(), 0);
        // And decoding goes on.
        assert_eq!(one(&mut d, Dir::In, PING).kind, "Ping");
    }

    #[test]
    fn keepalive_answers_a_ping_with_a_ping() {
        let d = Decoder::default();
        assert_eq!(
            d.keepalive(MsgType::Text, b"{\"type\":6}\x1e"),
            Some((MsgType::Text, b"{\"type\":6}\x1e".to_vec()))
        );
        assert_eq!(
            d.keepalive(MsgType::Text, b"{}\x1e{ \"type\" : 6 }\x1e"),
            Some((MsgType::Text, PING.to_vec()))
        );
        assert_eq!(
            d.keepalive(MsgType::Text, b"{\"type\":6}"),
            None,
            "not ended"
        );
        assert_eq!(d.keepalive(MsgType::Text, b"{\"type\":7}\x1e"), None);
        assert_eq!(d.keepalive(MsgType::Text, b"garbage\x1e"), None);
    }

    #[test]
    fn encoders_round_trip() {
        let mut d = Decoder::default();
        let msg = encode_invocation("SendMessage", &json!(["bob", "hi"]), Some("1"));
        assert_eq!(
            msg,
            b"{\"type\":1,\"invocationId\":\"1\",\"target\":\"SendMessage\",\"arguments\":[\"bob\",\"hi\"]}\x1e"
        );
        let p = one(&mut d, Dir::Out, &msg);
        assert_eq!(p.kind, "Invocation");
        assert_eq!(p.summary, r#"Invocation SendMessage("bob","hi") id=1"#);
        assert_eq!(p.fields["arguments"], json!(["bob", "hi"]));
        // Non-blocking, one argument that is not an array, a target needing quotes.
        let p = one(
            &mut d,
            Dir::Out,
            &encode_invocation("a\"b", &json!({"x": 1}), None),
        );
        assert_eq!(p.summary, r#"Invocation a"b({"x":1})"#);
        assert!(!p.fields.contains_key("invocationId"));
        assert_eq!(p.fields["arguments"], json!([{"x": 1}]));
        let p = one(
            &mut d,
            Dir::Out,
            &encode_invocation("Nothing", &json!([]), None),
        );
        assert_eq!(p.summary, "Invocation Nothing()");
    }

    #[test]
    fn broken_records_say_what_was_expected() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json\x1e", "a JSON record, got \"not json\""),
            (b"\x1e", "a JSON record before the record separator (0x1E)"),
            (b"[1]\x1e", "a JSON object, got [1]"),
            (b"{\"type\":10}\x1e", "a \"type\" of 1 to 9, got 10"),
            (b"{\"type\":\"1\"}\x1e", "a \"type\" of 1 to 9, got \"1\""),
            (b"{\"type\":0}\x1e", "a \"type\" of 1 to 9, got 0"),
            (b"{\"x\":1}\x1e", "a \"type\" (1 to 9), or a handshake {\"protocol\":...} or its response {} / {\"error\":...}"),
            (b"{\"protocol\":1}\x1e", "a string \"protocol\" in the handshake, got 1"),
            (b"{\"type\":1,\"arguments\":[]}\x1e", "a string \"target\" in an Invocation (type 1)"),
            (b"{\"type\":1,\"target\":\"x\"}\x1e", "an array \"arguments\" in an Invocation (type 1)"),
            (b"{\"type\":1,\"target\":\"x\",\"arguments\":[],\"invocationId\":1}\x1e", "a string \"invocationId\", got 1 in an Invocation (type 1)"),
            (b"{\"type\":4,\"target\":\"x\",\"arguments\":[]}\x1e", "a string \"invocationId\" in a StreamInvocation (type 4)"),
            (b"{\"type\":2,\"invocationId\":\"1\"}\x1e", "an \"item\" in a StreamItem (type 2)"),
            (b"{\"type\":5}\x1e", "a string \"invocationId\" in a CancelInvocation (type 5)"),
            (b"{\"type\":7,\"allowReconnect\":\"yes\"}\x1e", "a boolean \"allowReconnect\", got \"yes\" in a Close (type 7)"),
            (b"{\"type\":8}\x1e", "a number \"sequenceId\" in an Ack (type 8)"),
        ];
        for (msg, expected) in cases {
            let mut d = Decoder::default();
            let p = one(&mut d, Dir::In, msg);
            assert_eq!(p.kind, "broken", "{msg:?}");
            assert_eq!(p.fields["expected"], *expected, "{msg:?}");
        }
        // MessagePack (binary) is said to be not decoded.
        // MessagePack frames a message by a length, not 0x1E: nothing is held.
        let mut d = Decoder::default();
        for msg in [
            &b"\x0c\x96\x01\x80\xa3xyz"[..],
            b"\x0c\x96\x01\x80\xa3xyz\x1e",
        ] {
            let v = d.decode(Dir::In, MsgType::Binary, msg, 0.0);
            assert_eq!(
                v[0].fields["expected"],
                "a JSON record (the JSON hub protocol; MessagePack is not decoded)"
            );
            assert_eq!(d.pending_bytes(), 0);
        }
        // Text that cannot start a record is not held either.
        let p = one(&mut d, Dir::In, b"hello");
        assert_eq!(
            p.fields["expected"],
            "a JSON record ended by 0x1E, got \"hello\""
        );
        let p = one(&mut d, Dir::In, b"");
        assert_eq!(
            p.fields["expected"],
            "a JSON record ended by 0x1E, got an empty message"
        );
        assert_eq!(d.pending_bytes(), 0);
        // A broken record between good ones.
        let v = all(&mut d, Dir::In, b"{\"type\":6}\x1e{\x1e{\"type\":6}\x1e");
        assert_eq!(
            v.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(),
            ["Ping", "broken", "Ping"]
        );
    }

    /// xorshift64: random bytes without a crate.
    use crate::proto::testing::{message, Rng};

    #[test]
    fn random_bytes_and_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            encode_handshake(),
            b"{}\x1e{\"type\":6}\x1e".to_vec(),
            encode_invocation("Send", &json!([1, "x", {"a": [null]}]), Some("7")),
            b"{\"type\":3,\"invocationId\":\"1\",\"result\":[1,2]}\x1e".to_vec(),
            b"{\"type\":7,\"error\":\"e\",\"allowReconnect\":true}\x1e".to_vec(),
            b"{\"type\":2,\"invocationId\":\"1\",\"item\":{\"deep\":[[[]]]}}\x1e{\"type\":"
                .to_vec(),
        ];
        let alphabet = b"\x1e{}[]\":,0169typetargetarguments ";
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut d = Decoder::default();
        for i in 0..20_000 {
            let msg = message(&mut rng, i, alphabet, &seeds);
            let dir = if rng.below(2) == 0 { Dir::In } else { Dir::Out };
            let kind = if rng.below(2) == 0 {
                MsgType::Text
            } else {
                MsgType::Binary
            };
            let before = d.pending_bytes();
            let v = d.decode(dir, kind, &msg, 0.0);
            let _ = d.keepalive(kind, &msg);
            // One packet per 0x1E at most (plus one for a record over the bound), and
            // what is held is at most what came, never more than the bound.
            let seps = msg.iter().filter(|&&b| b == RS).count();
            assert!(v.len() <= seps + 1, "{msg:?}");
            assert!(d.pending_bytes() <= before + msg.len());
            assert!(d.partial.iter().all(|p| p.len() <= MAX_PARTIAL));
        }
    }
}
