//! `--proto socketio`: Engine.IO v4 packets (one per WebSocket message: `0` open, `1`
//! close, `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop) and the Socket.IO v5
//! packet inside a `4` (`TYPE[ATTACHMENTS-][/NAMESPACE,][ACK_ID][JSON]`: CONNECT,
//! DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK). A binary event's
//! attachments come as the binary messages after it: the packet is shown once they
//! are all there, each `{"_placeholder":true,"num":N}` replaced by the attachment (as
//! `{"_binary": HEX}`). The server pings (`2`); the answer is `3` (`keepalive`).

use serde_json::{json, Value};

use super::{short, Packet};
use crate::event::{Dir, MsgType};

/// The most attachments one packet may announce (more is broken, not waited for).
const MAX_ATTACHMENTS: usize = 1024;
/// The most bytes of attachments held for one packet.
const MAX_HELD: usize = 64 << 20;

#[derive(Debug, Default)]
pub struct Decoder {
    /// Per direction (in, out): a binary packet waiting for its attachments.
    waiting: [Option<Waiting>; 2],
    /// Events that asked for an ack, by (sent by us, id): when (for the ack's RTT).
    asked: std::collections::HashMap<(bool, u64), f64>,
}

/// The most events waiting for their ack that are remembered.
const MAX_ASKED: usize = 10_000;

impl Decoder {
    /// An event that asks for an ack is remembered; an ack gets the time it took.
    fn timed(&mut self, dir: Dir, mut p: Packet, now_ms: f64) -> Packet {
        let Some(id) = p.fields.get("id").and_then(Value::as_u64) else {
            return p;
        };
        let ours = dir == Dir::Out;
        match p.kind.as_str() {
            "EVENT" | "BINARY_EVENT" => {
                if self.asked.len() >= MAX_ASKED {
                    self.asked.clear();
                }
                self.asked.insert((ours, id), now_ms);
            }
            "ACK" | "BINARY_ACK" => {
                if let Some(at) = self.asked.remove(&(!ours, id)) {
                    let rtt = ((now_ms - at) * 1000.0).round() / 1000.0;
                    p.summary.push_str(&format!(" ({rtt} ms)"));
                    p = p.field("rtt_ms", rtt);
                }
            }
            _ => {}
        }
        p
    }
}

#[derive(Debug)]
struct Waiting {
    packet: Packet,
    data: Value,
    need: usize,
    got: Vec<Vec<u8>>,
    held: usize,
}

const TYPES: [&str; 7] = [
    "CONNECT",
    "DISCONNECT",
    "EVENT",
    "ACK",
    "CONNECT_ERROR",
    "BINARY_EVENT",
    "BINARY_ACK",
];

impl super::Decoder for Decoder {
    fn decode(&mut self, dir: Dir, kind: MsgType, payload: &[u8], now_ms: f64) -> Vec<Packet> {
        let slot = &mut self.waiting[usize::from(dir == Dir::Out)];
        if kind == MsgType::Binary {
            let Some(w) = slot.as_mut() else {
                return vec![Packet::new(
                    "binary",
                    format!(
                        "binary message of {} bytes (no packet waits for it)",
                        payload.len()
                    ),
                )
                .field("len", payload.len())];
            };
            w.held += payload.len();
            if w.held > MAX_HELD {
                *slot = None;
                return vec![Packet::broken(format!(
                    "attachments within {} MiB in all",
                    MAX_HELD >> 20
                ))];
            }
            w.got.push(payload.to_vec());
            if w.got.len() < w.need {
                return Vec::new();
            }
            let Some(w) = slot.take() else {
                return Vec::new();
            };
            let p = attach(w);
            return vec![self.timed(dir, p, now_ms)];
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return vec![Packet::broken("an Engine.IO packet as UTF-8 text")];
        };
        let mut chars = text.chars();
        let Some(t) = chars.next() else {
            return vec![Packet::broken(
                "an Engine.IO packet type (0-6), got an empty message",
            )];
        };
        let rest = chars.as_str();
        match t {
            '0' => {
                let v = super::json(rest.as_bytes()).unwrap_or(Value::Null);
                let mut p = Packet::new(
                    "open",
                    format!(
                        "open sid={} pingInterval={} pingTimeout={}",
                        v["sid"].as_str().unwrap_or("?"),
                        v["pingInterval"],
                        v["pingTimeout"]
                    ),
                )
                .field("engine", "open");
                if let Value::Object(m) = v {
                    p.fields.extend(m);
                }
                vec![p]
            }
            '1' => vec![Packet::new("close", "close").field("engine", "close")],
            '2' => vec![Packet::new("ping", format!("ping{}", spaced(rest)))
                .field("engine", "ping")
                .field("data", rest)
                .heartbeat()],
            '3' => vec![Packet::new("pong", format!("pong{}", spaced(rest)))
                .field("engine", "pong")
                .field("data", rest)
                .heartbeat()],
            '4' => match socketio(rest) {
                Ok((packet, data, 0)) => {
                    let p = finish(packet, data);
                    vec![self.timed(dir, p, now_ms)]
                }
                Ok((packet, data, need)) => {
                    *slot = Some(Waiting {
                        packet,
                        data,
                        need,
                        got: Vec::new(),
                        held: 0,
                    });
                    Vec::new()
                }
                Err(expected) => vec![Packet::broken(expected)],
            },
            '5' => vec![Packet::new("upgrade", "upgrade").field("engine", "upgrade")],
            '6' => vec![Packet::new("noop", "noop").field("engine", "noop")],
            c => vec![Packet::broken(format!(
                "an Engine.IO packet type 0-6, got {c:?}"
            ))],
        }
    }

    fn keepalive(&self, kind: MsgType, payload: &[u8]) -> Option<(MsgType, Vec<u8>)> {
        // The server's ping (with its data, `2probe`) is answered with a pong.
        match (kind, payload.split_first()) {
            (MsgType::Text, Some((b'2', rest))) => {
                let mut out = vec![b'3'];
                out.extend_from_slice(rest);
                Some((MsgType::Text, out))
            }
            _ => None,
        }
    }
}

fn spaced(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" {s:?}")
    }
}

/// A Socket.IO packet's header and data, and how many attachments follow it.
fn socketio(s: &str) -> Result<(Packet, Value, usize), String> {
    let mut it = s.char_indices().peekable();
    let Some((_, t)) = it.next() else {
        return Err("a Socket.IO packet type (0-6) after the Engine.IO 4".into());
    };
    let Some(ty) = t.to_digit(10).filter(|d| *d <= 6) else {
        return Err(format!("a Socket.IO packet type 0-6, got {t:?}"));
    };
    let name = TYPES[ty as usize];
    let mut at = t.len_utf8();
    let digits = |from: usize| s[from..].bytes().take_while(u8::is_ascii_digit).count();
    let mut attachments = 0usize;
    if ty == 5 || ty == 6 {
        let n = digits(at);
        if n == 0 || s.as_bytes().get(at + n) != Some(&b'-') {
            return Err(format!(
                "{name}: the number of attachments and '-' after the type"
            ));
        }
        attachments = s[at..at + n]
            .parse()
            .ok()
            .filter(|n| *n <= MAX_ATTACHMENTS)
            .ok_or_else(|| format!("{name}: at most {MAX_ATTACHMENTS} attachments"))?;
        at += n + 1;
    }
    let mut namespace = "/".to_string();
    if s[at..].starts_with('/') {
        let end = s[at..].find(',').map_or(s.len(), |i| at + i);
        namespace = s[at..end].to_string();
        at = (end + 1).min(s.len());
    }
    let n = digits(at);
    let id: Option<u64> = if n > 0 {
        let id = s[at..at + n]
            .parse()
            .map_err(|_| format!("{name}: an ack id that fits in 64 bits"))?;
        at += n;
        Some(id)
    } else {
        None
    };
    let body = &s[at..];
    let data = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body)
            .map_err(|e| format!("{name}: JSON data after the header ({e})"))?
    };
    if matches!(ty, 2 | 3 | 5 | 6) && !data.is_array() {
        return Err(format!(
            "{name}: a JSON array of data, got {}",
            short(&data, 40)
        ));
    }
    let mut p = Packet::new(name, String::new())
        .field("engine", "message")
        .field("namespace", namespace.clone());
    if let Some(id) = id {
        p = p.field("id", id);
    }
    if attachments > 0 {
        p = p.field("attachments", attachments);
    }
    Ok((p, data, attachments))
}

/// The packet with its data in place, and its summary.
fn finish(mut p: Packet, data: Value) -> Packet {
    let ns = p.fields["namespace"].as_str().unwrap_or("/").to_string();
    let ns_shown = if ns == "/" {
        String::new()
    } else {
        format!(" {ns}")
    };
    let id = p.fields.get("id").and_then(Value::as_u64);
    let id_shown = id.map_or(String::new(), |i| format!(" ack={i}"));
    let kind = p.kind.clone();
    p.summary = match kind.as_str() {
        "EVENT" | "BINARY_EVENT" => {
            let args: Vec<Value> = data
                .as_array()
                .map_or(Vec::new(), |a| a.iter().skip(1).cloned().collect());
            let event = data[0].as_str().unwrap_or("?").to_string();
            p = p
                .field("event", event.clone())
                .field("args", Value::Array(args.clone()));
            format!(
                "{kind}{ns_shown} {event}{id_shown} {}",
                short(&Value::Array(args), 160)
            )
        }
        "ACK" | "BINARY_ACK" => {
            p = p.field("args", data.clone());
            format!(
                "{kind}{ns_shown} {} {}",
                id.map_or("?".to_string(), |i| i.to_string()),
                short(&data, 160)
            )
        }
        "CONNECT_ERROR" => {
            let msg = data["message"].as_str().unwrap_or("").to_string();
            p = p.field("data", data);
            format!("{kind}{ns_shown} {msg:?}")
        }
        _ => {
            if !data.is_null() {
                p = p.field("data", data.clone());
            }
            let d = if data.is_null() {
                String::new()
            } else {
                format!(" {}", short(&data, 120))
            };
            format!(
                "{kind}{}{d}",
                if ns == "/" {
                    " /".to_string()
                } else {
                    ns_shown
                }
            )
        }
    };
    p
}

/// Put each attachment where its placeholder is.
fn attach(w: Waiting) -> Packet {
    fn fill(v: &mut Value, got: &[Vec<u8>]) {
        match v {
            Value::Object(m) if m.get("_placeholder") == Some(&Value::Bool(true)) => {
                if let Some(b) = m
                    .get("num")
                    .and_then(Value::as_u64)
                    .and_then(|n| got.get(n as usize))
                {
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    *v = json!({ "_binary": hex });
                }
            }
            Value::Object(m) => m.values_mut().for_each(|c| fill(c, got)),
            Value::Array(a) => a.iter_mut().for_each(|c| fill(c, got)),
            _ => {}
        }
    }
    let mut data = w.data;
    fill(&mut data, &w.got);
    finish(w.packet, data)
}

/// `/emit`: `42[/NAMESPACE,][ID]["EVENT",ARG...]`, an Engine.IO message holding a
/// Socket.IO EVENT.
pub fn encode_event(
    namespace: Option<&str>,
    event: &str,
    args: &[Value],
    ack: Option<u64>,
) -> Vec<u8> {
    let mut out = String::from("42");
    if let Some(ns) = namespace.filter(|n| *n != "/") {
        out.push_str(ns);
        out.push(',');
    }
    if let Some(id) = ack {
        out.push_str(&id.to_string());
    }
    let mut data = vec![Value::String(event.to_string())];
    data.extend(args.iter().cloned());
    out.push_str(&Value::Array(data).to_string());
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;

    fn dec(d: &mut Decoder, text: &str) -> Vec<Packet> {
        d.decode(Dir::In, MsgType::Text, text.as_bytes(), 0.0)
    }

    #[test]
    fn engine_io_packets_and_the_pong_for_a_ping() {
        let mut d = Decoder::default();
        let p = dec(
            &mut d,
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#,
        );
        assert_eq!(p[0].kind, "open");
        assert_eq!(p[0].fields["pingInterval"], 25000);
        assert!(
            p[0].summary.contains("sid=lv_VI97HAXpY6yYWAAAC"),
            "{}",
            p[0].summary
        );
        let p = dec(&mut d, "2");
        assert!(p[0].heartbeat && p[0].kind == "ping");
        assert_eq!(
            d.keepalive(MsgType::Text, b"2"),
            Some((MsgType::Text, b"3".to_vec()))
        );
        assert_eq!(
            d.keepalive(MsgType::Text, b"2probe"),
            Some((MsgType::Text, b"3probe".to_vec()))
        );
        assert_eq!(d.keepalive(MsgType::Text, b"42[\"x\"]"), None);
        assert!(dec(&mut d, "3")[0].heartbeat);
    }

    #[test]
    fn socket_io_packets_as_the_v5_protocol_writes_them() {
        let mut d = Decoder::default();
        // Examples from the Socket.IO v5 protocol description.
        let p = &dec(&mut d, "40")[0];
        assert_eq!(
            (p.kind.as_str(), p.fields["namespace"].as_str()),
            ("CONNECT", Some("/"))
        );
        let p = &dec(&mut d, r#"40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#)[0];
        assert_eq!(p.fields["namespace"], "/admin");
        assert_eq!(p.fields["data"]["sid"], "oSO0OpakMV_3jnilAAAA");
        let p = &dec(&mut d, r#"42["foo"]"#)[0];
        assert_eq!(
            (p.kind.as_str(), p.fields["event"].as_str()),
            ("EVENT", Some("foo"))
        );
        assert_eq!(p.summary, r#"EVENT foo []"#);
        let p = &dec(&mut d, r#"42/admin,13["bar",{"a":1}]"#)[0];
        assert_eq!(p.fields["id"], 13);
        assert_eq!(p.fields["args"], json!([{"a": 1}]));
        assert_eq!(p.summary, r#"EVENT /admin bar ack=13 [{"a":1}]"#);
        let p = &dec(&mut d, r#"43/admin,13["bar"]"#)[0];
        assert_eq!(p.kind, "ACK");
        assert_eq!(p.summary, r#"ACK /admin 13 ["bar"]"#);
        let p = &dec(&mut d, r#"44{"message":"Not authorized"}"#)[0];
        assert_eq!(p.kind, "CONNECT_ERROR");
        assert_eq!(p.fields["data"]["message"], "Not authorized");
        assert_eq!(dec(&mut d, "41")[0].kind, "DISCONNECT");
    }

    #[test]
    fn an_ack_gets_the_time_since_its_event_and_emit_encodes() {
        let mut d = Decoder::default();
        let ev = encode_event(
            Some("/admin"),
            "ask",
            &[json!("q"), json!({"n": 1})],
            Some(7),
        );
        assert_eq!(ev, br#"42/admin,7["ask","q",{"n":1}]"#);
        d.decode(Dir::Out, MsgType::Text, &ev, 100.0);
        let p = &d.decode(Dir::In, MsgType::Text, br#"43/admin,7["ok"]"#, 102.5)[0];
        assert_eq!(p.fields["rtt_ms"], 2.5);
        assert!(p.summary.ends_with("(2.5 ms)"), "{}", p.summary);
        assert_eq!(encode_event(None, "x", &[], None), br#"42["x"]"#);
    }

    #[test]
    fn a_binary_event_waits_for_its_attachments() {
        let mut d = Decoder::default();
        let head = r#"452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert!(dec(&mut d, head).is_empty(), "waits");
        // The other direction is not mixed in.
        assert_eq!(
            d.decode(Dir::Out, MsgType::Binary, &[9], 0.0)[0].kind,
            "binary"
        );
        assert!(d
            .decode(Dir::In, MsgType::Binary, &[1, 2, 3], 0.0)
            .is_empty());
        let p = d.decode(Dir::In, MsgType::Binary, &[0xff], 0.0);
        assert_eq!(p[0].kind, "BINARY_EVENT");
        assert_eq!(p[0].fields["event"], "upload");
        assert_eq!(
            p[0].fields["args"],
            json!([{"_binary": "010203"}, {"_binary": "ff"}])
        );
    }

    #[test]
    fn broken_packets_say_what_was_expected() {
        let mut d = Decoder::default();
        for (text, says) in [
            ("", "an Engine.IO packet type"),
            ("9", "an Engine.IO packet type 0-6"),
            ("4", "a Socket.IO packet type"),
            ("48", "a Socket.IO packet type 0-6"),
            ("42{not json", "JSON data"),
            (r#"42{"a":1}"#, "a JSON array"),
            ("45[]", "the number of attachments"),
            ("459999-[]", "at most 1024 attachments"),
        ] {
            let p = dec(&mut d, text);
            assert_eq!(p[0].kind, "broken", "{text}");
            assert!(p[0].summary.contains(says), "{text}: {}", p[0].summary);
        }
    }

    #[test]
    fn any_bytes_never_panic() {
        let mut d = Decoder::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| b"0123456-/,[]{}\"_placeholder:true,num"[(x as usize >> (i % 32)) % 36])
                .collect();
            let kind = if x % 5 == 0 {
                MsgType::Binary
            } else {
                MsgType::Text
            };
            let _ = d.decode(Dir::In, kind, &bytes, 0.0);
        }
    }
}
