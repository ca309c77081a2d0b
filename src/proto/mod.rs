//! `--proto`: the application protocol inside the frames, decoded for display, with no
//! I/O. Each protocol is a module with a `Decoder` (per connection and direction it
//! may keep state: Socket.IO's binary attachments, MQTT's packets split over
//! messages, JSON-RPC's requests waiting for their response) and, where the protocol
//! needs one, the keep-alive answer (`keepalive`): Engine.IO's `2` is answered `3`,
//! graphql-ws' `ping` with `pong`, SignalR's ping with a ping.
//!
//! A message that does not parse is not an error of the session: it is shown as a
//! `Broken` packet saying what was expected, and the session goes on.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::event::{Dir, Event, Leg, MsgType, OpCode};

pub mod graphql;
pub mod jsonrpc;
pub mod mqtt;
pub mod signalr;
pub mod socketio;
pub mod stomp;
#[cfg(test)]
pub(crate) mod testing;

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

/// `--proto`: a protocol, or `auto` (chosen per connection from its subprotocol and
/// path, `Proto::detect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Auto,
    Is(Proto),
}

impl Pick {
    pub fn parse(s: &str) -> Result<Pick, String> {
        if s == "auto" {
            return Ok(Pick::Auto);
        }
        Proto::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, p)| Pick::Is(*p))
            .ok_or_else(|| {
                let names: Vec<&str> = Proto::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "--proto: expected auto or one of {}, got {s:?}",
                    names.join(", ")
                )
            })
    }

    /// The protocol of a connection with this subprotocol and request path.
    pub fn resolve(self, subprotocol: Option<&str>, path: &str) -> Proto {
        match self {
            Pick::Auto => Proto::detect(subprotocol, path),
            Pick::Is(p) => p,
        }
    }
}

/// `--hide` and `--filter`: what is not shown (it is still received, counted, recorded).
#[derive(Debug, Clone, Default)]
pub struct Show {
    /// `--hide heartbeat`: the protocol's keep-alives (`Packet::heartbeat`).
    pub heartbeat: bool,
    /// `--hide ping`, `--hide pong`: WebSocket ping and pong frames.
    pub ping: bool,
    pub pong: bool,
    /// `--filter REGEX` or `--filter PATH=VALUE`: only data messages that match.
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone)]
pub enum Filter {
    /// Matches the text (binary: its hex), or a packet's summary.
    Regex(regex::Regex),
    /// A JSON message, or a packet's fields, with this value at this dotted path.
    Path(String, Value),
}

impl Show {
    /// `--hide WHAT[,WHAT]` (heartbeat, ping, pong; repeatable) and `--filter`.
    pub fn parse(hide: &[String], filter: Option<&str>) -> Result<Show, String> {
        let mut s = Show::default();
        for w in hide.iter().flat_map(|h| h.split(',')) {
            match w.trim() {
                "heartbeat" | "heartbeats" => s.heartbeat = true,
                "ping" => s.ping = true,
                "pong" => s.pong = true,
                other => {
                    return Err(format!(
                        "--hide: expected heartbeat, ping or pong (comma-separated), got {other:?}"
                    ))
                }
            }
        }
        if let Some(f) = filter {
            let path_value = f.split_once('=').filter(|(p, _)| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_alphanumeric() || "._$[]-".contains(c))
            });
            s.filter = Some(match path_value {
                Some((p, v)) => Filter::Path(
                    p.trim_start_matches("$.").to_string(),
                    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string())),
                ),
                None => Filter::Regex(regex::Regex::new(f).map_err(|e| {
                    let why = e.to_string();
                    let why = why.lines().last().unwrap_or("").trim().to_string();
                    format!("--filter: expected a regex or PATH=VALUE, got {f:?} ({why})")
                })?),
            });
        }
        Ok(s)
    }

    /// Does a data message (and what it decoded to) pass `--filter`?
    pub fn passes(&self, kind: MsgType, payload: &[u8], packets: &[Packet]) -> bool {
        let Some(f) = &self.filter else {
            return true;
        };
        match f {
            Filter::Regex(r) => {
                let text = match kind {
                    MsgType::Text => String::from_utf8_lossy(payload).into_owned(),
                    MsgType::Binary => payload.iter().map(|b| format!("{b:02x}")).collect(),
                };
                r.is_match(&text) || packets.iter().any(|p| r.is_match(&p.summary))
            }
            Filter::Path(path, want) => {
                let at = |v: &Value| {
                    path.split('.').try_fold(v, |v, k| match v {
                        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
                        _ => v.get(k),
                    }) == Some(want)
                };
                json(payload).is_some_and(|v| at(&v))
                    || packets.iter().any(|p| at(&Value::Object(p.fields.clone())))
            }
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

/// What `--proto`, `--hide` and `--filter` make of the events of an output: each
/// connection's protocol (chosen from its handshake) and decoder, per client (`listen`,
/// `relay`) and leg (`relay`); what a whole frame decoded to, for its `message` event;
/// and whether an event is shown.
pub struct View {
    pick: Pick,
    show: &'static Show,
    /// The protocol each connection was found to speak (by client id).
    protos: HashMap<Option<u64>, Proto>,
    conns: HashMap<(Option<u64>, Option<Leg>), Conn>,
    start: std::time::Instant,
    /// Some connection speaks a protocol, or something is hidden: else frames and
    /// messages pass with no lookup (the hot path of a raw session).
    active: bool,
}

struct Conn {
    proto: Proto,
    dec: Box<dyn Decoder>,
    /// The last whole frame's packets, and whether they were hidden: its `message`
    /// event comes next.
    pending: Option<(Decoded, bool)>,
}

/// How an event is to be shown.
pub enum Seen {
    Plain,
    Hidden,
    /// With its packets; `at_frame`: shown already under the frame.
    Decoded(Decoded, bool),
}

impl View {
    pub fn new(pick: Pick, show: &'static Show) -> View {
        View {
            pick,
            show,
            protos: HashMap::new(),
            conns: HashMap::new(),
            start: std::time::Instant::now(),
            active: false,
        }
        .settled()
    }

    /// Whether anything is to be done for frames and messages, once a connection's
    /// protocol was chosen.
    fn settled(mut self) -> View {
        self.settle();
        self
    }

    fn settle(&mut self) {
        let show = self.show;
        self.active = show.heartbeat
            || show.ping
            || show.pong
            || show.filter.is_some()
            || matches!(self.pick, Pick::Is(p) if p != Proto::Raw)
            || self.protos.values().any(|p| *p != Proto::Raw);
    }

    /// The hot path of a raw session: with nothing active, frames, messages and pongs
    /// pass as they are, with no lookup.
    #[inline]
    pub fn passes(&self, ev: &Event<'_>) -> bool {
        !self.active
            && matches!(
                ev,
                Event::Frame(_) | Event::Message { .. } | Event::Pong { .. }
            )
    }

    fn conn(&mut self, client: Option<u64>, leg: Option<Leg>) -> &mut Conn {
        let proto = self
            .protos
            .get(&client)
            .copied()
            .unwrap_or_else(|| self.pick.resolve(None, ""));
        self.conns.entry((client, leg)).or_insert_with(|| Conn {
            proto,
            dec: proto.decoder(),
            pending: None,
        })
    }

    #[inline]
    pub fn see(&mut self, client: Option<u64>, leg: Option<Leg>, ev: &Event<'_>) -> Seen {
        if self.passes(ev) {
            return Seen::Plain;
        }
        self.see_active(client, leg, ev)
    }

    #[inline(never)]
    fn see_active(&mut self, client: Option<u64>, leg: Option<Leg>, ev: &Event<'_>) -> Seen {
        // The clock is read only for what is decoded (not once per event).
        let start = self.start;
        let now_ms = move || start.elapsed().as_secs_f64() * 1e3;
        let show = self.show;
        let judge = |kind: MsgType, payload: &[u8], d: &Decoded| {
            (show.heartbeat && d.heartbeat()) || !show.passes(kind, payload, &d.packets)
        };
        match *ev {
            Event::Handshake(h) => {
                let proto = self.pick.resolve(h.protocol.as_deref(), &h.request.path);
                self.protos.insert(client, proto);
                self.conns.retain(|(c, _), _| *c != client);
                self.settle();
                Seen::Plain
            }
            Event::Client {
                connected,
                request,
                protocol,
                ..
            } => {
                self.conns.retain(|(c, _), _| *c != client);
                if connected {
                    let path = request.map_or("", |q| q.path.as_str());
                    self.protos
                        .insert(client, self.pick.resolve(protocol, path));
                } else {
                    self.protos.remove(&client);
                }
                self.settle();
                Seen::Plain
            }
            Event::Frame(f) => {
                match f.opcode {
                    OpCode::Ping if show.ping => return Seen::Hidden,
                    OpCode::Pong if show.pong => return Seen::Hidden,
                    OpCode::Text | OpCode::Binary if f.fin && !f.rsv[0] => {}
                    _ => return Seen::Plain,
                }
                let kind = if f.opcode == OpCode::Text {
                    MsgType::Text
                } else {
                    MsgType::Binary
                };
                let c = self.conn(client, leg);
                if c.proto == Proto::Raw && show.filter.is_none() {
                    return Seen::Plain;
                }
                let d = Decoded {
                    proto: c.proto,
                    packets: c.dec.decode(f.dir, kind, f.payload, now_ms()),
                };
                let hidden = judge(kind, f.payload, &d);
                let c = self.conn(client, leg);
                c.pending = Some((d.clone(), hidden));
                if hidden {
                    Seen::Hidden
                } else if d.packets.is_empty() {
                    Seen::Plain
                } else {
                    Seen::Decoded(d, true)
                }
            }
            Event::Message {
                dir, kind, payload, ..
            } => {
                let c = self.conn(client, leg);
                if c.proto == Proto::Raw && show.filter.is_none() {
                    return Seen::Plain;
                }
                let (d, hidden, at_frame) = match c.pending.take() {
                    Some((d, hidden)) => (d, hidden, true),
                    None => {
                        let d = Decoded {
                            proto: c.proto,
                            packets: c.dec.decode(dir, kind, payload, now_ms()),
                        };
                        let hidden = judge(kind, payload, &d);
                        (d, hidden, false)
                    }
                };
                if hidden {
                    Seen::Hidden
                } else if d.packets.is_empty() {
                    Seen::Plain
                } else {
                    Seen::Decoded(d, at_frame)
                }
            }
            Event::Pong { .. } if show.pong => Seen::Hidden,
            _ => Seen::Plain,
        }
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
