//! `--proto`: the application protocol inside the frames, decoded for display, with no
//! I/O. Each protocol is a module with a `Decoder` (per connection and direction it
//! may keep state: Socket.IO's binary attachments, MQTT's packets split over
//! messages, JSON-RPC's requests waiting for their response) and, where the protocol
//! needs one, the keep-alive answer (`keepalive`): Engine.IO's `2` is answered `3`,
//! graphql-ws' `ping` with `pong`, SignalR's ping with a ping.
//!
//! A message that does not parse is not an error of the session: it is shown as a
//! `Broken` packet saying what was expected, and the session goes on.

use serde_json::{Map, Value};

use crate::event::{Dir, MsgType};

pub mod graphql;
pub mod jsonrpc;
pub mod mqtt;
pub mod signalr;
pub mod socketio;
pub mod stomp;

/// `--proto NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Raw,
    SocketIo,
    GraphqlWs,
    Stomp,
    SignalR,
    Mqtt,
    JsonRpc,
}

impl Proto {
    /// Every name `--proto` takes but `auto`, as the user writes it.
    pub const NAMES: &'static [(&'static str, Proto)] = &[
        ("raw", Proto::Raw),
        ("socketio", Proto::SocketIo),
        ("graphql-ws", Proto::GraphqlWs),
        ("stomp", Proto::Stomp),
        ("signalr", Proto::SignalR),
        ("mqtt", Proto::Mqtt),
        ("jsonrpc", Proto::JsonRpc),
    ];

    pub fn name(self) -> &'static str {
        Proto::NAMES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("raw", |(n, _)| n)
    }

    /// `--proto auto`: from the negotiated subprotocol, else the URL's path and query,
    /// else raw.
    pub fn detect(subprotocol: Option<&str>, path: &str) -> Proto {
        let sub = subprotocol.unwrap_or("").to_ascii_lowercase();
        match sub.as_str() {
            "graphql-transport-ws" | "graphql-ws" => return Proto::GraphqlWs,
            "v10.stomp" | "v11.stomp" | "v12.stomp" | "stomp" => return Proto::Stomp,
            "mqtt" | "mqttv3.1" | "mqttv5" => return Proto::Mqtt,
            "jsonrpc" | "json-rpc" | "jsonrpc-2.0" => return Proto::JsonRpc,
            _ => {}
        }
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let has = |k: &str| q.split('&').any(|kv| kv.split('=').next() == Some(k));
        if p.contains("/socket.io") || has("EIO") {
            Proto::SocketIo
        } else if has("id") && (p.ends_with("hub") || p.contains("/hubs/") || p.contains("signalr"))
        {
            Proto::SignalR
        } else {
            Proto::Raw
        }
    }

    /// A decoder for one connection.
    #[allow(clippy::default_constructed_unit_structs)] // those that keep no state yet
    pub fn decoder(self) -> Box<dyn Decoder> {
        match self {
            Proto::Raw => Box::new(RawDecoder),
            Proto::SocketIo => Box::new(socketio::Decoder::default()),
            Proto::GraphqlWs => Box::new(graphql::Decoder::default()),
            Proto::Stomp => Box::new(stomp::Decoder::default()),
            Proto::SignalR => Box::new(signalr::Decoder::default()),
            Proto::Mqtt => Box::new(mqtt::Decoder::default()),
            Proto::JsonRpc => Box::new(jsonrpc::Decoder::default()),
        }
    }
}

/// One packet of the protocol, as shown: its type (`EVENT`, `next`, `SEND`,
/// `PUBLISH`...), its fields (JSON, as the `proto` object of a `message` event carries
/// them), and a line for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: String,
    pub fields: Map<String, Value>,
    pub summary: String,
    /// A keep-alive (Engine.IO ping/pong, graphql-ws ping/pong, STOMP heart-beat,
    /// SignalR ping, MQTT PINGREQ/PINGRESP): `--hide heartbeat` hides it.
    pub heartbeat: bool,
}

impl Packet {
    pub fn new(kind: impl Into<String>, summary: impl Into<String>) -> Packet {
        Packet {
            kind: kind.into(),
            fields: Map::new(),
            summary: summary.into(),
            heartbeat: false,
        }
    }

    pub fn field(mut self, name: &str, v: impl Into<Value>) -> Packet {
        self.fields.insert(name.to_string(), v.into());
        self
    }

    pub fn heartbeat(mut self) -> Packet {
        self.heartbeat = true;
        self
    }

    /// A message that did not parse as the protocol: what was expected, and where.
    pub fn broken(expected: impl Into<String>) -> Packet {
        let expected = expected.into();
        Packet::new("broken", format!("broken: expected {expected}")).field("expected", expected)
    }
}

/// What one message held: its packets (none while a message is only a part of one: an
/// MQTT packet split over messages, a Socket.IO event waiting for its attachments).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub proto: Proto,
    pub packets: Vec<Packet>,
}

impl Decoded {
    /// All of it a keep-alive (hidden by `--hide heartbeat`).
    pub fn heartbeat(&self) -> bool {
        !self.packets.is_empty() && self.packets.iter().all(|p| p.heartbeat)
    }
}

/// One connection's decoder: `dir` is who sent the message (`In`: the peer, `Out`: us,
/// as the `message` event says); `now_ms` a clock in milliseconds for what is timed
/// (JSON-RPC's round trips, `/emit`'s acks).
pub trait Decoder: Send {
    fn decode(&mut self, dir: Dir, kind: MsgType, payload: &[u8], now_ms: f64) -> Vec<Packet>;

    /// The answer the protocol needs to this message from the peer to keep the
    /// session up (Engine.IO `2` -> `3`), if any: sent by the driver, as a message of
    /// its own.
    fn keepalive(&self, _kind: MsgType, _payload: &[u8]) -> Option<(MsgType, Vec<u8>)> {
        None
    }
}

struct RawDecoder;

impl Decoder for RawDecoder {
    fn decode(&mut self, _: Dir, _: MsgType, _: &[u8], _: f64) -> Vec<Packet> {
        Vec::new()
    }
}

/// The JSON of a text, or `None`.
pub fn json(payload: &[u8]) -> Option<Value> {
    serde_json::from_slice(payload).ok()
}

/// A JSON value shown short, for summaries.
pub fn short(v: &Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() > max {
        let cut: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_detects_from_the_subprotocol_then_the_url() {
        assert_eq!(
            Proto::detect(Some("graphql-transport-ws"), "/"),
            Proto::GraphqlWs
        );
        assert_eq!(Proto::detect(Some("v12.stomp"), "/"), Proto::Stomp);
        assert_eq!(Proto::detect(Some("mqtt"), "/mqtt"), Proto::Mqtt);
        assert_eq!(
            Proto::detect(None, "/socket.io/?EIO=4&transport=websocket"),
            Proto::SocketIo
        );
        assert_eq!(Proto::detect(None, "/chathub?id=abc"), Proto::SignalR);
        assert_eq!(Proto::detect(None, "/chat"), Proto::Raw);
        for (name, p) in Proto::NAMES {
            assert_eq!(p.name(), *name);
        }
    }
}
