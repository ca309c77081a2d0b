//! `--proto mqtt`: MQTT 3.1.1 (OASIS Standard, 2014) and MQTT 5.0 (OASIS Standard, 2019)
//! inside WebSocket binary messages, decoded for display; and the few packets wsdbg sends
//! itself (`encode_*`, for `/publish` and `/subscribe`).
//!
//! To WebSocket, MQTT is a byte stream (3.1.1 and 5.0, section 6): a message may hold a
//! part of a control packet, or several. Each direction keeps the bytes of the packet it
//! has begun, and what it keeps is bounded: a packet of over [`MAX_HELD`] bytes that does
//! not come whole in one message is reported broken at its fixed header and its bytes are
//! skipped as they arrive (counted, not kept); a remaining length of more than 4 bytes
//! (over the protocol's 256 MiB) is reported broken and the rest of that message dropped.
//! Nothing is allocated from a length the peer announces.
//!
//! The version is the protocol level of the connection's CONNECT, seen either way, and
//! serves both directions: 3 (3.1, read as 3.1.1), 4 (3.1.1) or 5 (5.0). Before any
//! CONNECT a packet is read as 3.1.1, or as 5.0 when it only reads as 5.0 (an AUTH, a
//! CONNACK with properties...): such a packet says `guessed_version: 5`.
//!
//! Fields: CONNECT `protocol_name`, `protocol_level`, `client_id`, `clean_start` (3.1.1's
//! clean session), `keep_alive`, `will` {`topic`, `qos`, `retain`, `payload` or
//! `payload_hex`, `properties`}, `username`, `password` (present or not, never shown);
//! CONNACK `session_present`; PUBLISH `topic`, `qos`, `retain`, `dup`, `packet_id` (QoS 1
//! and 2), `payload` (UTF-8 text) or `payload_hex`; SUBSCRIBE `topics` [{`topic`, `qos`,
//! and in 5.0 `no_local`, `retain_as_published`, `retain_handling`}]; UNSUBSCRIBE `topics`
//! [names]; SUBACK and 5.0's UNSUBACK `codes` [{`code`, `reason`}]; the other packets with
//! one code (CONNACK, 5.0's PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH)
//! `reason_code` and `reason` (3.1.1's CONNACK return code too); every 5.0 packet that has
//! them `properties`, named as in 5.0 section 2.2.2.2 (`user_property` a list of [name,
//! value] pairs, `subscription_identifier` a list, binary data as hex). What breaks a rule
//! without hiding the layout (DUP on QoS 0, packet identifier 0, a property in the wrong
//! packet, ...) is decoded and listed in `violations` (rules cited by their 3.1.1
//! numbers, MQTT-x.y.z-n, where 3.1.1 has them).

use serde_json::{Map, Value};

use super::Packet;
use crate::event::{Dir, MsgType};

/// The largest packet kept while it comes over several messages (16 MiB).
pub const MAX_HELD: usize = 16 << 20;

/// The largest remaining length 4 bytes can say (3.1.1 2.2.3, 5.0 1.5.5): 256 MiB - 1.
const MAX_REMAINING: usize = 268_435_455;

const NAMES: [&str; 16] = [
    "reserved",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// One connection's MQTT: its version, and each direction's packet in progress.
#[derive(Debug, Default)]
pub struct Decoder {
    /// The protocol level of the CONNECT seen (3, 4 or 5), for both directions.
    version: Option<u8>,
    inbound: Stream,
    outbound: Stream,
}

/// One direction's bytes between packets.
#[derive(Debug, Default)]
struct Stream {
    /// The start of a packet that has not come whole yet (at most `MAX_HELD` bytes).
    held: Vec<u8>,
    /// Bytes still to drop of a packet too big to hold.
    skip: usize,
}

impl super::Decoder for Decoder {
    /// A PINGREQ from the peer (a client, when wsdbg is the broker side in `listen`) is
    /// answered with a PINGRESP.
    fn keepalive(&self, kind: MsgType, payload: &[u8]) -> Option<(MsgType, Vec<u8>)> {
        (kind == MsgType::Binary && payload == [0xC0, 0x00])
            .then(|| (MsgType::Binary, encode_pingresp()))
    }

    fn decode(&mut self, dir: Dir, kind: MsgType, payload: &[u8], _now_ms: f64) -> Vec<Packet> {
        if kind == MsgType::Text {
            return vec![Packet::broken(format!(
                "MQTT in binary messages (MQTT-6.0.0-1), got a text message of {} bytes",
                payload.len()
            ))];
        }
        let stream = match dir {
            Dir::In => &mut self.inbound,
            Dir::Out => &mut self.outbound,
        };
        let mut out = Vec::new();
        stream.feed(payload, &mut self.version, &mut out);
        out
    }
}

/// A fixed header (3.1.1 and 5.0 section 2.1), as far as it has come.
enum Header {
    /// Not all of it yet (at most 4 bytes).
    Partial,
    /// The first byte, the header's length and the remaining length.
    Whole { first: u8, len: usize, rest: usize },
    /// A remaining length of more than 4 bytes.
    TooLong,
}

fn header(b: &[u8]) -> Header {
    let Some(&first) = b.first() else {
        return Header::Partial;
    };
    let mut rest = 0usize;
    for i in 0..4 {
        let Some(&byte) = b.get(1 + i) else {
            return Header::Partial;
        };
        rest |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Header::Whole {
                first,
                len: 2 + i,
                rest,
            };
        }
    }
    Header::TooLong
}

fn too_long() -> Packet {
    Packet::broken(
        "a remaining length of at most 4 bytes (at most 268435455, 256 MiB), \
         got a continuation bit on the 4th: the rest of the message is dropped",
    )
}

fn too_big(first: u8, total: usize) -> Packet {
    let name = NAMES[usize::from(first >> 4)];
    Packet::broken(format!(
        "a packet of at most {MAX_HELD} bytes (16 MiB) to hold across messages, \
         got a {name} of {total} bytes: skipped"
    ))
    .field("packet", name)
}

/// The type and flags of the first byte (3.1.1 and 5.0 table 2.2).
fn check_first(first: u8) -> Result<(), String> {
    let (ty, flags) = (first >> 4, first & 0x0f);
    let name = NAMES[usize::from(ty)];
    match ty {
        0 => Err(format!(
            "a packet type 1 to 15, got 0 (reserved; first byte 0x{first:02X})"
        )),
        3 if flags & 0b0110 == 0b0110 => Err(format!(
            "a PUBLISH QoS of 0, 1 or 2, got 3 (flags {flags:04b})"
        )),
        3 => Ok(()),
        6 | 8 | 10 if flags != 0b0010 => Err(format!("flags 0010 for {name}, got {flags:04b}")),
        6 | 8 | 10 => Ok(()),
        _ if flags != 0 => Err(format!("flags 0000 for {name}, got {flags:04b}")),
        _ => Ok(()),
    }
}

impl Stream {
    fn feed(&mut self, mut data: &[u8], version: &mut Option<u8>, out: &mut Vec<Packet>) {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
            }
            if !self.held.is_empty() {
                // A packet begun in an earlier message: its first byte was checked then.
                match header(&self.held) {
                    Header::Partial => {
                        let Some((&b, more)) = data.split_first() else {
                            return;
                        };
                        self.held.push(b);
                        data = more;
                    }
                    Header::TooLong => {
                        out.push(too_long());
                        self.held = Vec::new();
                        return;
                    }
                    Header::Whole { first, len, rest } => {
                        let total = len + rest;
                        if total > MAX_HELD {
                            out.push(too_big(first, total));
                            self.skip = total - self.held.len();
                            self.held = Vec::new();
                            continue;
                        }
                        let take = (total - self.held.len()).min(data.len());
                        self.held.extend_from_slice(&data[..take]);
                        data = &data[take..];
                        if self.held.len() < total {
                            return;
                        }
                        out.push(packet(version, first, &self.held[len..]));
                        if self.held.capacity() > 64 << 10 {
                            self.held = Vec::new();
                        } else {
                            self.held.clear();
                        }
                    }
                }
                continue;
            }
            if data.is_empty() {
                return;
            }
            let head = header(data);
            if let Err(e) = check_first(data[0]) {
                let mut p = Packet::broken(e);
                if data[0] >> 4 != 0 {
                    p = p.field("packet", NAMES[usize::from(data[0] >> 4)]);
                }
                out.push(p);
                // Go on after it if its length is readable and it is all here; else
                // the rest of the message is not MQTT we can follow.
                match head {
                    Header::Whole { len, rest, .. } if len + rest <= data.len() => {
                        data = &data[len + rest..];
                        continue;
                    }
                    _ => return,
                }
            }
            match head {
                Header::Partial => {
                    self.held.extend_from_slice(data);
                    return;
                }
                Header::TooLong => {
                    out.push(too_long());
                    return;
                }
                Header::Whole { first, len, rest } => {
                    let total = len + rest;
                    if total > data.len() {
                        if total > MAX_HELD {
                            out.push(too_big(first, total));
                            self.skip = total - data.len();
                        } else {
                            self.held.extend_from_slice(data);
                        }
                        return;
                    }
                    // Whole in this message: decoded where it is, whatever its size.
                    out.push(packet(version, first, &data[len..total]));
                    data = &data[total..];
                }
            }
        }
    }
}

/// One whole control packet (its first byte checked), by the connection's version.
fn packet(version: &mut Option<u8>, first: u8, body: &[u8]) -> Packet {
    let (ty, flags) = (first >> 4, first & 0x0f);
    let name = NAMES[usize::from(ty)];
    let decoded = if ty == 1 {
        connect(body).map(|(p, level)| {
            *version = Some(level);
            p
        })
    } else {
        match *version {
            Some(v) => parse(ty, flags, body, v == 5),
            None => match parse(ty, flags, body, false) {
                Ok(p) => Ok(p),
                Err(e3) => match parse(ty, flags, body, true) {
                    Ok(p) => Ok(p.field("guessed_version", 5)),
                    Err(e5) => Err(if ty == 15 { e5 } else { e3 }),
                },
            },
        }
    };
    decoded.unwrap_or_else(|e| Packet::broken(e).field("packet", name))
}

fn parse(ty: u8, flags: u8, body: &[u8], v5: bool) -> Result<Packet, String> {
    let name = NAMES[usize::from(ty)];
    let mut r = Reader::new(body, name);
    let mut notes = Vec::new();
    let p = match ty {
        2 => connack(&mut r, v5, &mut notes)?,
        3 => publish(&mut r, flags, v5, &mut notes)?,
        4..=7 => ack(&mut r, ty, v5, &mut notes)?,
        8 => subscribe(&mut r, v5, &mut notes)?,
        9 | 11 => suback(&mut r, ty, v5, &mut notes)?,
        10 => unsubscribe(&mut r, v5, &mut notes)?,
        12 | 13 => Packet::new(name, name).heartbeat(),
        14 | 15 => disconnect(&mut r, ty, v5, &mut notes)?,
        _ => return Err(format!("a packet type 1 to 15, got {ty}")),
    };
    r.end(v5)?;
    Ok(finish(p, notes))
}

/// The rules broken that did not hide the layout, in `violations` and the summary.
fn finish(mut p: Packet, notes: Vec<String>) -> Packet {
    if !notes.is_empty() {
        p.summary = format!("{} [violation: {}]", p.summary, notes.join("; "));
        p = p.field("violations", notes);
    }
    p
}

fn version_name(level: u8) -> &'static str {
    match level {
        3 => "3.1",
        4 => "3.1.1",
        _ => "5.0",
    }
}

/// CONNECT (3.1.1 3.1, 5.0 3.1), with its protocol level.
fn connect(body: &[u8]) -> Result<(Packet, u8), String> {
    let mut r = Reader::new(body, "CONNECT");
    let mut notes = Vec::new();
    let proto = r.string("protocol name")?;
    let level = r.u8("protocol level")?;
    let v5 = match level {
        3 | 4 => false,
        5 => true,
        _ => {
            return Err(format!(
                "a CONNECT protocol level of 3 (3.1), 4 (3.1.1) or 5 (5.0), got {level}"
            ))
        }
    };
    let want = if level == 3 { "MQIsdp" } else { "MQTT" };
    if proto != want {
        notes.push(format!(
            "protocol name {want} for level {level}, got {proto:?}"
        ));
    }
    let flags = r.u8("connect flags")?;
    if flags & 1 != 0 {
        return Err(format!(
            "the CONNECT flags' reserved bit 0 clear (MQTT-3.1.2-3), got {flags:08b}"
        ));
    }
    let (user, pass) = (flags & 0x80 != 0, flags & 0x40 != 0);
    let (will_retain, will_qos, will) = (flags & 0x20 != 0, (flags >> 3) & 3, flags & 4 != 0);
    let clean = flags & 2 != 0;
    if will_qos == 3 {
        return Err(format!(
            "a CONNECT will QoS of 0, 1 or 2, got 3 (flags {flags:08b})"
        ));
    }
    if !will && (will_qos != 0 || will_retain) {
        return Err(format!(
            "the CONNECT will QoS and will retain clear without the will flag, got flags {flags:08b}"
        ));
    }
    if !v5 && pass && !user {
        notes.push("a password only with a user name (MQTT-3.1.2-22)".to_string());
    }
    let keep_alive = r.u16("keep alive")?;
    let props = if v5 {
        Some(properties(&mut r, 1, "properties", &mut notes)?)
    } else {
        None
    };
    let client_id = r.string("client identifier")?;
    let shown = if client_id.is_empty() {
        "\"\""
    } else {
        client_id
    };
    let mut summary = format!(
        "CONNECT {} client={shown} keep_alive={keep_alive}",
        version_name(level)
    );
    if clean {
        summary.push_str(" clean_start");
    }
    let mut p = Packet::new("CONNECT", "")
        .field("protocol_name", proto)
        .field("protocol_level", level)
        .field("client_id", client_id)
        .field("clean_start", clean)
        .field("keep_alive", keep_alive);
    if let Some(props) = props {
        p = p.field("properties", props);
    }
    if will {
        let mut w = Map::new();
        if v5 {
            let props = properties(&mut r, WILL, "will properties", &mut notes)?;
            w.insert("properties".into(), props.into());
        }
        let topic = r.string("will topic")?;
        let payload = r.binary("will payload")?;
        summary.push_str(&format!(" will={topic}"));
        w.insert("topic".into(), topic.into());
        w.insert("qos".into(), will_qos.into());
        w.insert("retain".into(), will_retain.into());
        match std::str::from_utf8(payload) {
            Ok(s) => w.insert("payload".into(), s.into()),
            Err(_) => w.insert("payload_hex".into(), hex(payload).into()),
        };
        p = p.field("will", w);
    }
    if user {
        let name = r.string("user name")?;
        summary.push_str(&format!(" user={name}"));
        p = p.field("username", name);
    }
    if pass {
        r.binary("password")?;
    }
    p = p.field("password", pass);
    r.end(v5)?;
    p.summary = summary;
    Ok((finish(p, notes), level))
}

/// CONNACK (3.1.1 3.2, 5.0 3.2).
fn connack(r: &mut Reader, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let ack = r.u8("acknowledge flags")?;
    if ack & 0xfe != 0 {
        return Err(format!(
            "the CONNACK acknowledge flags' bits 7-1 clear, got {ack:08b}"
        ));
    }
    let code = r.u8(if v5 { "reason code" } else { "return code" })?;
    let reason = if v5 {
        reason5(code, 2)
    } else {
        match code {
            0 => "accepted",
            1 => "unacceptable protocol version",
            2 => "identifier rejected",
            3 => "server unavailable",
            4 => "bad user name or password",
            5 => "not authorized",
            _ => "unknown return code",
        }
    };
    let mut summary = if code == 0 {
        "CONNACK accepted".to_string()
    } else if v5 {
        format!("CONNACK refused: {reason} (0x{code:02X})")
    } else {
        format!("CONNACK refused: {reason} ({code})")
    };
    if ack & 1 != 0 {
        summary.push_str(" session_present");
    }
    let mut p = Packet::new("CONNACK", "")
        .field("session_present", ack & 1 != 0)
        .field("reason_code", code)
        .field("reason", reason);
    if v5 {
        let props = properties(r, 2, "properties", notes)?;
        summary.push_str(&reason_string(&props));
        if let Some(Value::String(id)) = props.get("assigned_client_identifier") {
            summary.push_str(&format!(" client={id}"));
        }
        p = p.field("properties", props);
    }
    p.summary = summary;
    Ok(p)
}

/// The reason string property, for a summary.
fn reason_string(props: &Map<String, Value>) -> String {
    match props.get("reason_string") {
        Some(Value::String(s)) => format!(": {}", text_summary(s)),
        _ => String::new(),
    }
}

/// PUBLISH (3.1.1 3.3, 5.0 3.3).
fn publish(r: &mut Reader, flags: u8, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let (dup, qos, retain) = (flags & 8 != 0, (flags >> 1) & 3, flags & 1 != 0);
    let topic = r.string("topic")?;
    let id = if qos > 0 {
        Some(r.u16("packet identifier")?)
    } else {
        None
    };
    let props = if v5 {
        Some(properties(r, 3, "properties", notes)?)
    } else {
        None
    };
    let payload = r.rest();
    if dup && qos == 0 {
        notes.push("DUP 0 on a QoS 0 PUBLISH (MQTT-3.3.1-2)".to_string());
    }
    if id == Some(0) {
        notes.push("a non-zero packet identifier (MQTT-2.3.1-1)".to_string());
    }
    if topic.contains(['+', '#']) {
        notes.push("no wildcard in a topic name (MQTT-3.3.2-2)".to_string());
    }
    let alias = props
        .as_ref()
        .and_then(|m| m.get("topic_alias"))
        .and_then(Value::as_u64);
    if topic.is_empty() && alias.is_none() {
        notes.push("a topic name of at least one character (MQTT-4.7.3-1)".to_string());
    }
    let mut summary = format!("PUBLISH {topic}");
    if let Some(a) = alias {
        if topic.is_empty() {
            summary = format!("PUBLISH (alias {a})");
        } else {
            summary.push_str(&format!(" (alias {a})"));
        }
    }
    summary.push_str(&format!(" qos={qos}"));
    if let Some(id) = id {
        summary.push_str(&format!(" id={id}"));
    }
    if retain {
        summary.push_str(" retain");
    }
    if dup {
        summary.push_str(" dup");
    }
    let mut p = Packet::new("PUBLISH", "")
        .field("topic", topic)
        .field("qos", qos)
        .field("retain", retain)
        .field("dup", dup);
    if let Some(id) = id {
        p = p.field("packet_id", id);
    }
    match std::str::from_utf8(payload) {
        Ok(s) => {
            summary.push_str(&format!(" {}", text_summary(s)));
            p = p.field("payload", s);
        }
        Err(_) => {
            let n = payload.len().min(16);
            let more = if payload.len() > n { "..." } else { "" };
            summary.push_str(&format!(
                " <{} bytes {}{more}>",
                payload.len(),
                hex(&payload[..n])
            ));
            p = p.field("payload_hex", hex(payload));
        }
    }
    if let Some(props) = props {
        p = p.field("properties", props);
    }
    p.summary = summary;
    Ok(p)
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (3.1.1 3.4-3.7, 5.0 3.4-3.7): 5.0's reason code and
/// properties may be left out (success, none).
fn ack(r: &mut Reader, ty: u8, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let name = NAMES[usize::from(ty)];
    let id = r.u16("packet identifier")?;
    if id == 0 {
        notes.push("a non-zero packet identifier (MQTT-2.3.1-1)".to_string());
    }
    let mut p = Packet::new(name, "").field("packet_id", id);
    let mut summary = format!("{name} id={id}");
    if v5 {
        let code = if r.left() > 0 {
            r.u8("reason code")?
        } else {
            0
        };
        let props = if r.left() > 0 {
            properties(r, ty, "properties", notes)?
        } else {
            Map::new()
        };
        let reason = reason5(code, ty);
        if code != 0 {
            summary.push_str(&format!(" {reason} (0x{code:02X})"));
        }
        summary.push_str(&reason_string(&props));
        p = p
            .field("reason_code", code)
            .field("reason", reason)
            .field("properties", props);
    }
    p.summary = summary;
    Ok(p)
}

/// At most this many topics or codes in a summary.
const SHOWN: usize = 4;

/// The first few of a list for a summary, after a space (nothing for none).
fn list_summary(parts: &[String]) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let mut s = " ".to_string();
    s += &parts
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if parts.len() > SHOWN {
        s.push_str(&format!(" +{} more", parts.len() - SHOWN));
    }
    s
}

/// SUBSCRIBE (3.1.1 3.8, 5.0 3.8).
fn subscribe(r: &mut Reader, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let id = r.u16("packet identifier")?;
    if id == 0 {
        notes.push("a non-zero packet identifier (MQTT-2.3.1-1)".to_string());
    }
    let props = if v5 {
        Some(properties(r, 8, "properties", notes)?)
    } else {
        None
    };
    let mut topics = Vec::new();
    let mut parts = Vec::new();
    while r.left() > 0 {
        let topic = r.string("topic filter")?;
        let o = r.u8("subscription options")?;
        let qos = o & 3;
        if qos == 3 {
            return Err(format!(
                "a SUBSCRIBE QoS of 0, 1 or 2 for {topic}, got 3 (options {o:08b})"
            ));
        }
        let mut t = Map::new();
        t.insert("topic".into(), topic.into());
        t.insert("qos".into(), qos.into());
        if v5 {
            if o & 0xc0 != 0 {
                return Err(format!(
                    "the SUBSCRIBE options' reserved bits 7-6 clear for {topic}, got {o:08b}"
                ));
            }
            let handling = (o >> 4) & 3;
            if handling == 3 {
                return Err(format!(
                    "a SUBSCRIBE retain handling of 0, 1 or 2 for {topic}, got 3 (options {o:08b})"
                ));
            }
            t.insert("no_local".into(), (o & 4 != 0).into());
            t.insert("retain_as_published".into(), (o & 8 != 0).into());
            t.insert("retain_handling".into(), handling.into());
        } else if o & 0xfc != 0 {
            return Err(format!(
                "the SUBSCRIBE requested QoS's bits 7-2 clear for {topic} (3.1.1), got {o:08b}"
            ));
        }
        parts.push(format!("{topic} (qos {qos})"));
        topics.push(Value::Object(t));
    }
    if topics.is_empty() {
        notes.push("at least one topic filter (MQTT-3.8.3-3)".to_string());
    }
    let mut p = Packet::new(
        "SUBSCRIBE",
        format!("SUBSCRIBE id={id}{}", list_summary(&parts)),
    )
    .field("packet_id", id)
    .field("topics", topics);
    if let Some(props) = props {
        p = p.field("properties", props);
    }
    Ok(p)
}

/// UNSUBSCRIBE (3.1.1 3.10, 5.0 3.10).
fn unsubscribe(r: &mut Reader, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let id = r.u16("packet identifier")?;
    if id == 0 {
        notes.push("a non-zero packet identifier (MQTT-2.3.1-1)".to_string());
    }
    let props = if v5 {
        Some(properties(r, 10, "properties", notes)?)
    } else {
        None
    };
    let mut topics = Vec::new();
    while r.left() > 0 {
        topics.push(r.string("topic filter")?.to_string());
    }
    if topics.is_empty() {
        notes.push("at least one topic filter (MQTT-3.10.3-2)".to_string());
    }
    let summary = format!("UNSUBSCRIBE id={id}{}", list_summary(&topics));
    let mut p = Packet::new("UNSUBSCRIBE", summary)
        .field("packet_id", id)
        .field("topics", topics);
    if let Some(props) = props {
        p = p.field("properties", props);
    }
    Ok(p)
}

/// SUBACK (3.1.1 3.9, 5.0 3.9) and UNSUBACK (3.1.1 3.11: the packet identifier alone;
/// 5.0 3.11: with properties and a reason code per topic filter).
fn suback(r: &mut Reader, ty: u8, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let name = NAMES[usize::from(ty)];
    let id = r.u16("packet identifier")?;
    if id == 0 {
        notes.push("a non-zero packet identifier (MQTT-2.3.1-1)".to_string());
    }
    let mut p = Packet::new(name, "").field("packet_id", id);
    let mut summary = format!("{name} id={id}");
    if ty == 11 && !v5 {
        p.summary = summary;
        return Ok(p);
    }
    let props = if v5 {
        Some(properties(r, ty, "properties", notes)?)
    } else {
        None
    };
    let mut codes = Vec::new();
    let mut parts = Vec::new();
    while r.left() > 0 {
        let code = r.u8("reason code")?;
        let reason = if v5 {
            reason5(code, ty)
        } else {
            match code {
                0 => "granted QoS 0",
                1 => "granted QoS 1",
                2 => "granted QoS 2",
                0x80 => "failure",
                _ => "unknown return code",
            }
        };
        parts.push(if code <= 2 {
            reason.to_string()
        } else {
            format!("{reason} (0x{code:02X})")
        });
        let mut c = Map::new();
        c.insert("code".into(), code.into());
        c.insert("reason".into(), reason.into());
        codes.push(Value::Object(c));
    }
    if codes.is_empty() {
        notes.push(format!("at least one reason code in a {name}"));
    }
    summary.push_str(&list_summary(&parts));
    p = p.field("codes", codes);
    if let Some(props) = props {
        summary.push_str(&reason_string(&props));
        p = p.field("properties", props);
    }
    p.summary = summary;
    Ok(p)
}

/// DISCONNECT (3.1.1 3.14: nothing; 5.0 3.14) and AUTH (5.0 3.15): a reason code and
/// properties, either of which may be left out (success or normal disconnection, none).
fn disconnect(r: &mut Reader, ty: u8, v5: bool, notes: &mut Vec<String>) -> Result<Packet, String> {
    let name = NAMES[usize::from(ty)];
    if !v5 {
        if ty == 15 {
            return Err("a packet type 1 to 14 in MQTT 3.1.1, got 15 (AUTH, MQTT 5.0 only)".into());
        }
        return Ok(Packet::new(name, name));
    }
    let code = if r.left() > 0 {
        r.u8("reason code")?
    } else {
        0
    };
    let props = if r.left() > 0 {
        properties(r, ty, "properties", notes)?
    } else {
        Map::new()
    };
    let reason = reason5(code, ty);
    let mut summary = if code != 0 || ty == 15 {
        format!("{name} {reason} (0x{code:02X})")
    } else {
        name.to_string()
    };
    if let Some(Value::String(m)) = props.get("authentication_method") {
        summary.push_str(&format!(" method={m}"));
    }
    summary.push_str(&reason_string(&props));
    Ok(Packet::new(name, summary)
        .field("reason_code", code)
        .field("reason", reason)
        .field("properties", props))
}

/// The name of a 5.0 reason code (5.0 2.4); that of 0x00 depends on the packet.
fn reason5(code: u8, ty: u8) -> &'static str {
    match code {
        0x00 => match ty {
            9 => "Granted QoS 0",
            14 => "Normal disconnection",
            _ => "Success",
        },
        0x01 => "Granted QoS 1",
        0x02 => "Granted QoS 2",
        0x04 => "Disconnect with Will Message",
        0x10 => "No matching subscribers",
        0x11 => "No subscription existed",
        0x18 => "Continue authentication",
        0x19 => "Re-authenticate",
        0x80 => "Unspecified error",
        0x81 => "Malformed Packet",
        0x82 => "Protocol Error",
        0x83 => "Implementation specific error",
        0x84 => "Unsupported Protocol Version",
        0x85 => "Client Identifier not valid",
        0x86 => "Bad User Name or Password",
        0x87 => "Not authorized",
        0x88 => "Server unavailable",
        0x89 => "Server busy",
        0x8A => "Banned",
        0x8B => "Server shutting down",
        0x8C => "Bad authentication method",
        0x8D => "Keep Alive timeout",
        0x8E => "Session taken over",
        0x8F => "Topic Filter invalid",
        0x90 => "Topic Name invalid",
        0x91 => "Packet Identifier in use",
        0x92 => "Packet Identifier not found",
        0x93 => "Receive Maximum exceeded",
        0x94 => "Topic Alias invalid",
        0x95 => "Packet too large",
        0x96 => "Message rate too high",
        0x97 => "Quota exceeded",
        0x98 => "Administrative action",
        0x99 => "Payload format invalid",
        0x9A => "Retain not supported",
        0x9B => "QoS not supported",
        0x9C => "Use another server",
        0x9D => "Server moved",
        0x9E => "Shared Subscriptions not supported",
        0x9F => "Connection rate exceeded",
        0xA0 => "Maximum connect time",
        0xA1 => "Subscription Identifiers not supported",
        0xA2 => "Wildcard Subscriptions not supported",
        _ => "unknown reason code",
    }
}

/// How a property's value is encoded (5.0 1.5).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Byte,
    Two,
    Four,
    Var,
    Text,
    Binary,
    Pair,
}

/// Where a property may be: a bit per packet type, bit 0 for the will properties.
const WILL: u8 = 0;
const fn at(types: &[u8]) -> u16 {
    let mut m = 0u16;
    let mut i = 0;
    while i < types.len() {
        m |= 1 << types[i];
        i += 1;
    }
    m
}

/// 5.0 section 2.2.2.2: identifier, name, encoding, where it may be.
const PROPERTIES: [(u32, &str, Kind, u16); 27] = [
    (0x01, "payload_format_indicator", Kind::Byte, at(&[3, WILL])),
    (0x02, "message_expiry_interval", Kind::Four, at(&[3, WILL])),
    (0x03, "content_type", Kind::Text, at(&[3, WILL])),
    (0x08, "response_topic", Kind::Text, at(&[3, WILL])),
    (0x09, "correlation_data", Kind::Binary, at(&[3, WILL])),
    (0x0B, "subscription_identifier", Kind::Var, at(&[3, 8])),
    (0x11, "session_expiry_interval", Kind::Four, at(&[1, 2, 14])),
    (0x12, "assigned_client_identifier", Kind::Text, at(&[2])),
    (0x13, "server_keep_alive", Kind::Two, at(&[2])),
    (0x15, "authentication_method", Kind::Text, at(&[1, 2, 15])),
    (0x16, "authentication_data", Kind::Binary, at(&[1, 2, 15])),
    (0x17, "request_problem_information", Kind::Byte, at(&[1])),
    (0x18, "will_delay_interval", Kind::Four, at(&[WILL])),
    (0x19, "request_response_information", Kind::Byte, at(&[1])),
    (0x1A, "response_information", Kind::Text, at(&[2])),
    (0x1C, "server_reference", Kind::Text, at(&[2, 14])),
    (
        0x1F,
        "reason_string",
        Kind::Text,
        at(&[2, 4, 5, 6, 7, 9, 11, 14, 15]),
    ),
    (0x21, "receive_maximum", Kind::Two, at(&[1, 2])),
    (0x22, "topic_alias_maximum", Kind::Two, at(&[1, 2])),
    (0x23, "topic_alias", Kind::Two, at(&[3])),
    (0x24, "maximum_qos", Kind::Byte, at(&[2])),
    (0x25, "retain_available", Kind::Byte, at(&[2])),
    (
        0x26,
        "user_property",
        Kind::Pair,
        at(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, WILL]),
    ),
    (0x27, "maximum_packet_size", Kind::Four, at(&[1, 2])),
    (
        0x28,
        "wildcard_subscription_available",
        Kind::Byte,
        at(&[2]),
    ),
    (
        0x29,
        "subscription_identifier_available",
        Kind::Byte,
        at(&[2]),
    ),
    (0x2A, "shared_subscription_available", Kind::Byte, at(&[2])),
];

/// A 5.0 property list (5.0 2.2.2) of packet type `ty` (or `WILL`), by name.
fn properties(
    r: &mut Reader,
    ty: u8,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Map<String, Value>, String> {
    let len = r.var(if ty == WILL {
        "will property length"
    } else {
        "property length"
    })? as usize;
    if len > r.left() {
        return Err(format!(
            "the {} {label} within the packet ({len} bytes), got {}",
            r.name,
            r.left()
        ));
    }
    let mut p = Reader {
        b: &r.b[r.pos..r.pos + len],
        pos: 0,
        name: r.name,
        scope: if ty == WILL {
            "the will properties"
        } else {
            "the properties"
        },
    };
    r.pos += len;
    let mut map = Map::new();
    while p.left() > 0 {
        let id = p.var("property identifier")?;
        let Some(&(_, name, kind, allowed)) = PROPERTIES.iter().find(|e| e.0 == id) else {
            return Err(format!(
                "an MQTT 5.0 property identifier (5.0 2.2.2.2) in the {} {label}, got 0x{id:02X}",
                r.name
            ));
        };
        let v: Value = match kind {
            Kind::Byte => p.u8(name)?.into(),
            Kind::Two => p.u16(name)?.into(),
            Kind::Four => p.u32(name)?.into(),
            Kind::Var => p.var(name)?.into(),
            Kind::Text => p.string(name)?.into(),
            Kind::Binary => hex(p.binary(name)?).into(),
            Kind::Pair => {
                let k = p.string(name)?;
                let v = p.string(name)?;
                Value::Array(vec![k.into(), v.into()])
            }
        };
        if allowed & (1 << ty) == 0 {
            let what = if ty == WILL {
                "a will".to_string()
            } else {
                format!("a {}", r.name)
            };
            notes.push(format!("{name} (0x{id:02X}) not in {what} (5.0 2.2.2.2)"));
        }
        if matches!(kind, Kind::Pair) || id == 0x0B {
            if let Value::Array(list) = map.entry(name).or_insert_with(|| Value::Array(Vec::new()))
            {
                list.push(v);
            }
        } else if map.insert(name.to_string(), v).is_some() {
            notes.push(format!("{name} at most once (5.0 2.2.2.2)"));
        }
    }
    Ok(map)
}

/// Reads a packet's body; what it could not read says which field of which packet.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    name: &'static str,
    scope: &'static str,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8], name: &'static str) -> Reader<'a> {
        Reader {
            b,
            pos: 0,
            name,
            scope: "the packet",
        }
    }

    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.left() < n {
            return Err(format!(
                "the {} {what} ({n} bytes) within {}, got {}",
                self.name,
                self.scope,
                self.left()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        if self.left() == 0 {
            return Err(format!(
                "the {} {what} (1 byte) within {}, got its end",
                self.name, self.scope
            ));
        }
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A Variable Byte Integer (5.0 1.5.5).
    fn var(&mut self, what: &str) -> Result<u32, String> {
        let mut v = 0u32;
        for i in 0..4 {
            let Some(&b) = self.b.get(self.pos) else {
                return Err(format!(
                    "the {} {what} (a variable byte integer) within {}, got its end",
                    self.name, self.scope
                ));
            };
            self.pos += 1;
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!(
            "the {} {what} in at most 4 bytes, got a continuation bit on the 4th",
            self.name
        ))
    }

    /// Binary Data (5.0 1.5.6), or what 3.1.1 sends with a 2-byte length.
    fn binary(&mut self, what: &str) -> Result<&'a [u8], String> {
        if self.left() < 2 {
            return Err(format!(
                "the {} {what}'s length (2 bytes) within {}, got {}",
                self.name,
                self.scope,
                self.left()
            ));
        }
        let n = usize::from(u16::from_be_bytes([self.b[self.pos], self.b[self.pos + 1]]));
        if self.left() - 2 < n {
            return Err(format!(
                "the {} {what} within {} (2 + {n} bytes), got 2 + {}",
                self.name,
                self.scope,
                self.left() - 2
            ));
        }
        self.pos += 2;
        self.take(n, what)
    }

    /// A UTF-8 Encoded String (3.1.1 1.5.3, 5.0 1.5.4).
    fn string(&mut self, what: &str) -> Result<&'a str, String> {
        let b = self.binary(what)?;
        std::str::from_utf8(b).map_err(|e| {
            let at = e.valid_up_to();
            let end = (at + 4).min(b.len());
            format!(
                "the {} {what} in UTF-8 (MQTT-1.5.3-1), got byte 0x{:02X} at {at} of {} ({}...)",
                self.name,
                b[at],
                b.len(),
                hex(&b[at..end])
            )
        })
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.pos..];
        self.pos = self.b.len();
        s
    }

    /// Nothing after the last field.
    fn end(&self, v5: bool) -> Result<(), String> {
        if self.left() == 0 {
            return Ok(());
        }
        Err(format!(
            "the {} to end after {} bytes (MQTT {}), got {} more",
            self.name,
            self.pos,
            if v5 { "5.0" } else { "3.1.1" },
            self.left()
        ))
    }
}

/// A text quoted and cut for a summary (only its start is copied).
fn text_summary(s: &str) -> String {
    super::short(&Value::String(s.chars().take(61).collect()), 60)
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 15)]));
    }
    s
}

fn put_length(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

/// A UTF-8 string of at most 65535 bytes (cut at a character if longer).
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..n]);
}

fn with_header(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    put_length(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// A CONNECT with a clean start, no will, user name or password (3.1.1 or 5.0 with no
/// properties). A client identifier over 65535 bytes is cut.
pub fn encode_connect(client_id: &str, keep_alive: u16, v5: bool) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', if v5 { 5 } else { 4 }, 0x02];
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if v5 {
        body.push(0);
    }
    put_str(&mut body, client_id);
    with_header(0x10, &body)
}

/// A PUBLISH, not retained: QoS over 2 is sent as 2, the packet identifier only with QoS
/// 1 and 2 (the caller gives a non-zero one); 5.0 with no properties. A topic over 65535
/// bytes is cut, and so is a payload past the protocol's 256 MiB.
pub fn encode_publish(topic: &str, payload: &[u8], qos: u8, packet_id: u16, v5: bool) -> Vec<u8> {
    let qos = qos.min(2);
    let mut body = Vec::with_capacity(topic.len().min(65535) + payload.len() + 5);
    put_str(&mut body, topic);
    if qos > 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    if v5 {
        body.push(0);
    }
    let room = MAX_REMAINING - body.len();
    body.extend_from_slice(&payload[..payload.len().min(room)]);
    with_header(0x30 | (qos << 1), &body)
}

/// A SUBSCRIBE to one topic filter at QoS `qos` (over 2 sent as 2); in 5.0 with no
/// properties and the other subscription options 0.
pub fn encode_subscribe(packet_id: u16, topic: &str, qos: u8, v5: bool) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if v5 {
        body.push(0);
    }
    put_str(&mut body, topic);
    body.push(qos.min(2));
    with_header(0x82, &body)
}

pub fn encode_pingreq() -> Vec<u8> {
    vec![0xC0, 0x00]
}

pub fn encode_pingresp() -> Vec<u8> {
    vec![0xD0, 0x00]
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;
    use serde_json::json;

    fn known(version: u8) -> Decoder {
        Decoder {
            version: Some(version),
            ..Decoder::default()
        }
    }

    fn one(d: &mut Decoder, dir: Dir, bytes: &[u8]) -> Packet {
        let mut ps = d.decode(dir, MsgType::Binary, bytes, 0.0);
        assert_eq!(ps.len(), 1, "{bytes:02x?} gave {ps:#?}");
        ps.remove(0)
    }

    fn f(p: &Packet, name: &str) -> Value {
        p.fields.get(name).cloned().unwrap_or(Value::Null)
    }

    fn expected(p: &Packet) -> String {
        assert_eq!(p.kind, "broken", "{p:#?}");
        f(p, "expected").as_str().unwrap().to_string()
    }

    #[test]
    fn connect_3_1_1_with_will_user_and_password() {
        // 3.1.1 3.1.2.10's example variable header (MQTT, 4, flags 0xCE, keep alive 10),
        // then client id "c1", will topic "w", will message "hi", user "bob", password.
        let bytes = [
            0x10, 0x1E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xCE, 0x00, 0x0A, //
            0x00, 0x02, b'c', b'1', //
            0x00, 0x01, b'w', //
            0x00, 0x02, b'h', b'i', //
            0x00, 0x03, b'b', b'o', b'b', //
            0x00, 0x02, b'p', b'w',
        ];
        let mut d = Decoder::default();
        let p = one(&mut d, Dir::Out, &bytes);
        assert_eq!(p.kind, "CONNECT");
        assert_eq!(f(&p, "protocol_name"), "MQTT");
        assert_eq!(f(&p, "protocol_level"), 4);
        assert_eq!(f(&p, "client_id"), "c1");
        assert_eq!(f(&p, "clean_start"), true);
        assert_eq!(f(&p, "keep_alive"), 10);
        assert_eq!(
            f(&p, "will"),
            json!({"topic": "w", "qos": 1, "retain": false, "payload": "hi"})
        );
        assert_eq!(f(&p, "username"), "bob");
        assert_eq!(f(&p, "password"), true);
        assert!(!p.summary.contains("pw"), "{}", p.summary);
        assert_eq!(
            p.summary,
            "CONNECT 3.1.1 client=c1 keep_alive=10 clean_start will=w user=bob"
        );
        assert_eq!(d.version, Some(4));
    }

    #[test]
    fn connect_3_1_mqisdp() {
        let bytes = [
            0x10, 0x0F, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x00, 0x00, 0x3C,
            0x00, 0x01, b'x',
        ];
        let mut d = Decoder::default();
        let p = one(&mut d, Dir::Out, &bytes);
        assert_eq!(f(&p, "protocol_name"), "MQIsdp");
        assert_eq!(f(&p, "clean_start"), false);
        assert!(p.fields.get("violations").is_none(), "{p:#?}");
        assert_eq!(d.version, Some(3));
    }

    #[test]
    fn connect_5_with_properties_and_will_properties() {
        // Level 5, flags 0x02 (clean start), keep alive 60; properties (15 bytes):
        // session expiry 120, receive maximum 10, user property k=v; client id "dev".
        let bytes = [
            0x10, 0x1F, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, //
            0x0F, 0x11, 0x00, 0x00, 0x00, 0x78, 0x21, 0x00, 0x0A, 0x26, 0x00, 0x01, b'k', 0x00,
            0x01, b'v', //
            0x00, 0x03, b'd', b'e', b'v',
        ];
        let mut d = Decoder::default();
        let p = one(&mut d, Dir::In, &bytes);
        assert_eq!(f(&p, "protocol_level"), 5);
        assert_eq!(f(&p, "client_id"), "dev");
        assert_eq!(
            f(&p, "properties"),
            json!({"session_expiry_interval": 120, "receive_maximum": 10,
                   "user_property": [["k", "v"]]})
        );
        assert_eq!(f(&p, "password"), false);
        assert_eq!(d.version, Some(5));

        // Will flag with will QoS 2 and retain (0x34 | clean 0x02 = 0x36), will properties
        // (will delay 5), will topic "t", will payload 0xFF (not UTF-8).
        let bytes = [
            0x10, 0x1A, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x36, 0x00, 0x00, 0x00, //
            0x00, 0x01, b'c', //
            0x05, 0x18, 0x00, 0x00, 0x00, 0x05, //
            0x00, 0x01, b't', //
            0x00, 0x01, 0xFF,
        ];
        let p = one(&mut Decoder::default(), Dir::Out, &bytes);
        assert_eq!(
            f(&p, "will"),
            json!({"topic": "t", "qos": 2, "retain": true, "payload_hex": "ff",
                   "properties": {"will_delay_interval": 5}})
        );
        assert_eq!(f(&p, "properties"), json!({}));
    }

    #[test]
    fn the_version_of_the_connect_serves_both_directions() {
        // A 5.0 PUBACK with a reason code and no properties: broken as 3.1.1 once a 3.1.1
        // CONNECT was seen, decoded as 5.0 after a 5.0 CONNECT (sent the other way).
        let puback = [0x40, 0x03, 0x00, 0x07, 0x10];
        let mut d = Decoder::default();
        one(&mut d, Dir::Out, &encode_connect("a", 30, false));
        let p = one(&mut d, Dir::In, &puback);
        assert_eq!(
            expected(&p),
            "the PUBACK to end after 2 bytes (MQTT 3.1.1), got 1 more"
        );
        let mut d = Decoder::default();
        one(&mut d, Dir::Out, &encode_connect("a", 30, true));
        let p = one(&mut d, Dir::In, &puback);
        assert_eq!(p.summary, "PUBACK id=7 No matching subscribers (0x10)");
        assert!(p.fields.get("guessed_version").is_none());
        // Before any CONNECT: 3.1.1 unless it only reads as 5.0.
        let p = one(&mut Decoder::default(), Dir::In, &puback);
        assert_eq!(f(&p, "guessed_version"), 5);
        assert_eq!(f(&p, "reason_code"), 0x10);
        let p = one(&mut Decoder::default(), Dir::In, &[0x40, 0x02, 0x00, 0x07]);
        assert!(p.fields.get("reason_code").is_none());
        assert!(p.fields.get("guessed_version").is_none());
    }

    #[test]
    fn connack_both_versions() {
        let mut d = known(4);
        let p = one(&mut d, Dir::In, &[0x20, 0x02, 0x01, 0x00]);
        assert_eq!(p.kind, "CONNACK");
        assert_eq!(p.summary, "CONNACK accepted session_present");
        assert_eq!(f(&p, "session_present"), true);
        assert_eq!(f(&p, "reason_code"), 0);
        assert_eq!(f(&p, "reason"), "accepted");
        let p = one(&mut d, Dir::In, &[0x20, 0x02, 0x00, 0x05]);
        assert_eq!(p.summary, "CONNACK refused: not authorized (5)");
        assert_eq!(f(&p, "session_present"), false);

        // 5.0: flags, reason code, properties (9 bytes): topic alias maximum 5, assigned
        // client identifier "abc".
        let mut d = known(5);
        let bytes = [
            0x20, 0x0C, 0x00, 0x00, 0x09, 0x22, 0x00, 0x05, 0x12, 0x00, 0x03, b'a', b'b', b'c',
        ];
        let p = one(&mut d, Dir::In, &bytes);
        assert_eq!(p.summary, "CONNACK accepted client=abc");
        assert_eq!(f(&p, "reason"), "Success");
        assert_eq!(
            f(&p, "properties"),
            json!({"topic_alias_maximum": 5, "assigned_client_identifier": "abc"})
        );
        let p = one(&mut d, Dir::In, &[0x20, 0x03, 0x00, 0x87, 0x00]);
        assert_eq!(p.summary, "CONNACK refused: Not authorized (0x87)");
        // The property length is not optional in a 5.0 CONNACK.
        let p = one(&mut d, Dir::In, &[0x20, 0x02, 0x00, 0x00]);
        assert_eq!(
            expected(&p),
            "the CONNACK property length (a variable byte integer) within the packet, got its end"
        );
        // Reserved acknowledge flags.
        let p = one(&mut known(4), Dir::In, &[0x20, 0x02, 0x02, 0x00]);
        assert_eq!(
            expected(&p),
            "the CONNACK acknowledge flags' bits 7-1 clear, got 00000010"
        );
    }

    #[test]
    fn publish_3_1_1() {
        let mut d = known(4);
        // QoS 1, topic "sensors/t", packet id 7, payload "21.5".
        let mut bytes = vec![0x32, 0x11, 0x00, 0x09];
        bytes.extend_from_slice(b"sensors/t");
        bytes.extend_from_slice(&[0x00, 0x07]);
        bytes.extend_from_slice(b"21.5");
        let p = one(&mut d, Dir::In, &bytes);
        assert_eq!(p.kind, "PUBLISH");
        assert_eq!(p.summary, "PUBLISH sensors/t qos=1 id=7 \"21.5\"");
        assert_eq!(f(&p, "topic"), "sensors/t");
        assert_eq!(f(&p, "qos"), 1);
        assert_eq!(f(&p, "packet_id"), 7);
        assert_eq!(f(&p, "retain"), false);
        assert_eq!(f(&p, "dup"), false);
        assert_eq!(f(&p, "payload"), "21.5");
        assert!(p.fields.get("properties").is_none());
        // QoS 0 retained: no packet identifier.
        let p = one(&mut d, Dir::In, &[0x31, 0x05, 0x00, 0x01, b'a', b'h', b'i']);
        assert_eq!(p.summary, "PUBLISH a qos=0 retain \"hi\"");
        assert!(p.fields.get("packet_id").is_none());
        // A payload that is not UTF-8.
        let p = one(&mut d, Dir::In, &[0x30, 0x05, 0x00, 0x01, b'a', 0xFF, 0x00]);
        assert_eq!(f(&p, "payload_hex"), "ff00");
        assert!(p.fields.get("payload").is_none());
        assert_eq!(p.summary, "PUBLISH a qos=0 <2 bytes ff00>");
        // QoS 2 dup, empty payload.
        let p = one(&mut d, Dir::In, &[0x3C, 0x05, 0x00, 0x01, b'a', 0x01, 0x00]);
        assert_eq!(p.summary, "PUBLISH a qos=2 id=256 dup \"\"");
        // Rules broken that do not hide the layout: DUP on QoS 0, a wildcard.
        let p = one(&mut d, Dir::In, &[0x38, 0x03, 0x00, 0x01, b'#']);
        assert_eq!(
            f(&p, "violations"),
            json!([
                "DUP 0 on a QoS 0 PUBLISH (MQTT-3.3.1-2)",
                "no wildcard in a topic name (MQTT-3.3.2-2)"
            ])
        );
        assert!(p.summary.contains("[violation: DUP 0"), "{}", p.summary);
    }

    #[test]
    fn publish_5_with_every_publish_property() {
        // DUP, QoS 1, retain (0x3B); topic "t", packet id 10; properties (28 bytes):
        // payload format 1, message expiry 60, content type "text", response topic "r",
        // correlation data 01 02, subscription identifier 5, topic alias 2; payload "hi".
        let bytes = [
            0x3B, 0x24, 0x00, 0x01, b't', 0x00, 0x0A, 0x1C, //
            0x01, 0x01, //
            0x02, 0x00, 0x00, 0x00, 0x3C, //
            0x03, 0x00, 0x04, b't', b'e', b'x', b't', //
            0x08, 0x00, 0x01, b'r', //
            0x09, 0x00, 0x02, 0x01, 0x02, //
            0x0B, 0x05, //
            0x23, 0x00, 0x02, //
            b'h', b'i',
        ];
        let p = one(&mut known(5), Dir::In, &bytes);
        assert_eq!(
            p.summary,
            "PUBLISH t (alias 2) qos=1 id=10 retain dup \"hi\""
        );
        assert_eq!(f(&p, "payload"), "hi");
        assert_eq!(
            f(&p, "properties"),
            json!({
                "payload_format_indicator": 1,
                "message_expiry_interval": 60,
                "content_type": "text",
                "response_topic": "r",
                "correlation_data": "0102",
                "subscription_identifier": [5],
                "topic_alias": 2
            })
        );
        assert!(p.fields.get("violations").is_none(), "{p:#?}");
        // An empty topic with a topic alias, QoS 0.
        let p = one(
            &mut known(5),
            Dir::In,
            &[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x04, b'x'],
        );
        assert_eq!(p.summary, "PUBLISH (alias 4) qos=0 \"x\"");
        assert!(p.fields.get("violations").is_none(), "{p:#?}");
    }

    #[test]
    fn puback_pubrec_pubrel_pubcomp_both_versions() {
        let mut d = known(4);
        for (first, name) in [
            (0x40, "PUBACK"),
            (0x50, "PUBREC"),
            (0x62, "PUBREL"),
            (0x70, "PUBCOMP"),
        ] {
            let p = one(&mut d, Dir::In, &[first, 0x02, 0x00, 0x07]);
            assert_eq!(p.kind, name);
            assert_eq!(p.summary, format!("{name} id=7"));
            assert_eq!(f(&p, "packet_id"), 7);
            assert!(p.fields.get("reason_code").is_none());
        }
        let mut d = known(5);
        let p = one(&mut d, Dir::In, &[0x40, 0x02, 0x00, 0x07]);
        assert_eq!(f(&p, "reason_code"), 0);
        assert_eq!(f(&p, "reason"), "Success");
        // PUBREC with Unspecified error and a reason string "no" (properties: 5 bytes).
        let p = one(
            &mut d,
            Dir::In,
            &[
                0x50, 0x09, 0x00, 0x07, 0x80, 0x05, 0x1F, 0x00, 0x02, b'n', b'o',
            ],
        );
        assert_eq!(p.summary, "PUBREC id=7 Unspecified error (0x80): \"no\"");
        assert_eq!(f(&p, "properties"), json!({"reason_string": "no"}));
        let p = one(&mut d, Dir::In, &[0x62, 0x03, 0x00, 0x07, 0x92]);
        assert_eq!(p.summary, "PUBREL id=7 Packet Identifier not found (0x92)");
        let p = one(&mut d, Dir::In, &[0x70, 0x04, 0x00, 0x07, 0x00, 0x00]);
        assert_eq!(p.summary, "PUBCOMP id=7");
        assert_eq!(f(&p, "properties"), json!({}));
    }

    #[test]
    fn subscribe_both_versions() {
        // 3.1.1: packet id 1, "sensors/#" QoS 0, "b" QoS 1.
        let mut bytes = vec![0x82, 0x12, 0x00, 0x01, 0x00, 0x09];
        bytes.extend_from_slice(b"sensors/#");
        bytes.extend_from_slice(&[0x00, 0x00, 0x01, b'b', 0x01]);
        let p = one(&mut known(4), Dir::Out, &bytes);
        assert_eq!(p.kind, "SUBSCRIBE");
        assert_eq!(p.summary, "SUBSCRIBE id=1 sensors/# (qos 0), b (qos 1)");
        assert_eq!(f(&p, "packet_id"), 1);
        assert_eq!(
            f(&p, "topics"),
            json!([{"topic": "sensors/#", "qos": 0}, {"topic": "b", "qos": 1}])
        );
        // 5.0: packet id 2, subscription identifier 7, "a" with QoS 1, no local,
        // retain as published, retain handling 2 (options 0x2D).
        let bytes = [
            0x82, 0x09, 0x00, 0x02, 0x02, 0x0B, 0x07, 0x00, 0x01, b'a', 0x2D,
        ];
        let p = one(&mut known(5), Dir::Out, &bytes);
        assert_eq!(p.summary, "SUBSCRIBE id=2 a (qos 1)");
        assert_eq!(
            f(&p, "topics"),
            json!([{"topic": "a", "qos": 1, "no_local": true, "retain_as_published": true,
                    "retain_handling": 2}])
        );
        assert_eq!(f(&p, "properties"), json!({"subscription_identifier": [7]}));
        // Read before any CONNECT: it does not read as 3.1.1, so as 5.0.
        let p = one(&mut Decoder::default(), Dir::Out, &bytes);
        assert_eq!(f(&p, "guessed_version"), 5);
        // 3.1.1's upper 6 bits of the requested QoS.
        let p = one(
            &mut known(4),
            Dir::Out,
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04],
        );
        assert_eq!(
            expected(&p),
            "the SUBSCRIBE requested QoS's bits 7-2 clear for a (3.1.1), got 00000100"
        );
    }

    #[test]
    fn suback_both_versions() {
        let p = one(
            &mut known(4),
            Dir::In,
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x02, 0x80],
        );
        assert_eq!(p.kind, "SUBACK");
        assert_eq!(
            p.summary,
            "SUBACK id=1 granted QoS 0, granted QoS 2, failure (0x80)"
        );
        assert_eq!(
            f(&p, "codes"),
            json!([{"code": 0, "reason": "granted QoS 0"},
                   {"code": 2, "reason": "granted QoS 2"},
                   {"code": 128, "reason": "failure"}])
        );
        let p = one(
            &mut known(5),
            Dir::In,
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87],
        );
        assert_eq!(
            p.summary,
            "SUBACK id=1 Granted QoS 1, Not authorized (0x87)"
        );
        assert_eq!(f(&p, "properties"), json!({}));
    }

    #[test]
    fn unsubscribe_and_unsuback_both_versions() {
        let bytes = [
            0xA2, 0x0A, 0x00, 0x03, 0x00, 0x01, b'a', 0x00, 0x03, b'b', b'/', b'c',
        ];
        let p = one(&mut known(4), Dir::Out, &bytes);
        assert_eq!(p.kind, "UNSUBSCRIBE");
        assert_eq!(p.summary, "UNSUBSCRIBE id=3 a, b/c");
        assert_eq!(f(&p, "topics"), json!(["a", "b/c"]));
        let p = one(
            &mut known(5),
            Dir::Out,
            &[0xA2, 0x06, 0x00, 0x03, 0x00, 0x00, 0x01, b'a'],
        );
        assert_eq!(f(&p, "topics"), json!(["a"]));
        assert_eq!(f(&p, "properties"), json!({}));

        let p = one(&mut known(4), Dir::In, &[0xB0, 0x02, 0x00, 0x03]);
        assert_eq!(p.kind, "UNSUBACK");
        assert_eq!(p.summary, "UNSUBACK id=3");
        assert!(p.fields.get("codes").is_none());
        let p = one(
            &mut known(5),
            Dir::In,
            &[0xB0, 0x05, 0x00, 0x03, 0x00, 0x00, 0x11],
        );
        assert_eq!(
            p.summary,
            "UNSUBACK id=3 Success, No subscription existed (0x11)"
        );
    }

    #[test]
    fn pings_are_heartbeats() {
        for v in [4, 5] {
            let mut d = known(v);
            let p = one(&mut d, Dir::Out, &[0xC0, 0x00]);
            assert_eq!(
                (p.kind.as_str(), p.summary.as_str()),
                ("PINGREQ", "PINGREQ")
            );
            assert!(p.heartbeat);
            let p = one(&mut d, Dir::In, &[0xD0, 0x00]);
            assert_eq!(
                (p.kind.as_str(), p.summary.as_str()),
                ("PINGRESP", "PINGRESP")
            );
            assert!(p.heartbeat);
            let p = one(&mut d, Dir::In, &[0xD0, 0x01, 0x00]);
            assert!(!p.heartbeat);
            assert!(expected(&p).starts_with("the PINGRESP to end after 0 bytes"));
        }
    }

    #[test]
    fn disconnect_and_auth() {
        let p = one(&mut known(4), Dir::Out, &[0xE0, 0x00]);
        assert_eq!(
            (p.kind.as_str(), p.summary.as_str()),
            ("DISCONNECT", "DISCONNECT")
        );
        let mut d = known(5);
        let p = one(&mut d, Dir::Out, &[0xE0, 0x00]);
        assert_eq!(p.summary, "DISCONNECT");
        assert_eq!(f(&p, "reason"), "Normal disconnection");
        let p = one(&mut d, Dir::In, &[0xE0, 0x01, 0x8E]);
        assert_eq!(p.summary, "DISCONNECT Session taken over (0x8E)");
        // Disconnect with Will Message, session expiry 0.
        let p = one(
            &mut d,
            Dir::Out,
            &[0xE0, 0x07, 0x04, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00],
        );
        assert_eq!(f(&p, "reason_code"), 4);
        assert_eq!(f(&p, "properties"), json!({"session_expiry_interval": 0}));
        // AUTH: Continue authentication, method "SCRAM", data ab cd.
        let auth = [
            0xF0, 0x0F, 0x18, 0x0D, 0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', 0x16, 0x00,
            0x02, 0xAB, 0xCD,
        ];
        let p = one(&mut d, Dir::In, &auth);
        assert_eq!(p.kind, "AUTH");
        assert_eq!(
            p.summary,
            "AUTH Continue authentication (0x18) method=SCRAM"
        );
        assert_eq!(
            f(&p, "properties"),
            json!({"authentication_method": "SCRAM", "authentication_data": "abcd"})
        );
        // Before any CONNECT, an AUTH can only be 5.0; after a 3.1.1 one it is broken.
        let p = one(&mut Decoder::default(), Dir::In, &auth);
        assert_eq!(f(&p, "guessed_version"), 5);
        let p = one(&mut known(4), Dir::In, &auth);
        assert_eq!(
            expected(&p),
            "a packet type 1 to 14 in MQTT 3.1.1, got 15 (AUTH, MQTT 5.0 only)"
        );
        assert_eq!(f(&p, "packet"), "AUTH");
        let p = one(&mut known(5), Dir::In, &[0xF0, 0x00]);
        assert_eq!(p.summary, "AUTH Success (0x00)");
    }

    /// Every property of 5.0 2.2.2.2, each written by hand in its encoding.
    #[test]
    fn every_property_of_the_table() {
        let cases: &[(&[u8], &str, Value)] = &[
            (&[0x01, 0x01], "payload_format_indicator", json!(1)),
            (&[0x02, 0, 0, 1, 0], "message_expiry_interval", json!(256)),
            (&[0x03, 0, 1, b'a'], "content_type", json!("a")),
            (&[0x08, 0, 1, b'r'], "response_topic", json!("r")),
            (&[0x09, 0, 2, 0xDE, 0xAD], "correlation_data", json!("dead")),
            (&[0x0B, 0x80, 0x01], "subscription_identifier", json!([128])),
            (&[0x11, 0, 0, 0, 9], "session_expiry_interval", json!(9)),
            (
                &[0x12, 0, 1, b'c'],
                "assigned_client_identifier",
                json!("c"),
            ),
            (&[0x13, 0, 30], "server_keep_alive", json!(30)),
            (&[0x15, 0, 1, b'm'], "authentication_method", json!("m")),
            (&[0x16, 0, 1, 0x01], "authentication_data", json!("01")),
            (&[0x17, 0x00], "request_problem_information", json!(0)),
            (&[0x18, 0, 0, 0, 3], "will_delay_interval", json!(3)),
            (&[0x19, 0x01], "request_response_information", json!(1)),
            (&[0x1A, 0, 1, b'i'], "response_information", json!("i")),
            (&[0x1C, 0, 1, b's'], "server_reference", json!("s")),
            (&[0x1F, 0, 1, b'x'], "reason_string", json!("x")),
            (&[0x21, 0, 20], "receive_maximum", json!(20)),
            (&[0x22, 0, 8], "topic_alias_maximum", json!(8)),
            (&[0x23, 0, 1], "topic_alias", json!(1)),
            (&[0x24, 0x01], "maximum_qos", json!(1)),
            (&[0x25, 0x00], "retain_available", json!(0)),
            (
                &[0x26, 0, 1, b'k', 0, 1, b'v'],
                "user_property",
                json!([["k", "v"]]),
            ),
            (&[0x27, 0, 0, 0x10, 0], "maximum_packet_size", json!(4096)),
            (&[0x28, 0x01], "wildcard_subscription_available", json!(1)),
            (&[0x29, 0x00], "subscription_identifier_available", json!(0)),
            (&[0x2A, 0x01], "shared_subscription_available", json!(1)),
        ];
        assert_eq!(cases.len(), PROPERTIES.len());
        for (bytes, name, value) in cases {
            let mut body = vec![bytes.len() as u8];
            body.extend_from_slice(bytes);
            let mut r = Reader::new(&body, "CONNACK");
            let mut notes = Vec::new();
            let m = properties(&mut r, 2, "properties", &mut notes).unwrap();
            assert_eq!(m.get(*name), Some(value), "{name}: {m:?}");
            assert_eq!(m.len(), 1);
            assert_eq!(r.left(), 0);
        }
        // Repeated: user properties and subscription identifiers gather, the others are
        // kept once with a violation; one in the wrong packet is a violation.
        let body = [
            0x11, 0x26, 0, 1, b'a', 0, 1, b'1', 0x26, 0, 1, b'a', 0, 1, b'2', 0x23, 0, 1,
        ];
        let mut r = Reader::new(&body, "CONNACK");
        let mut notes = Vec::new();
        let m = properties(&mut r, 2, "properties", &mut notes).unwrap();
        assert_eq!(m["user_property"], json!([["a", "1"], ["a", "2"]]));
        assert_eq!(notes, ["topic_alias (0x23) not in a CONNACK (5.0 2.2.2.2)"]);
        let body = [0x06, 0x24, 0x00, 0x24, 0x01, 0x24, 0x02];
        let mut notes = Vec::new();
        let m = properties(&mut Reader::new(&body, "CONNACK"), 2, "p", &mut notes);
        assert_eq!(m.unwrap()["maximum_qos"], 2);
        assert_eq!(notes.len(), 2);
        // An identifier not in the table: its length is unknown, so the packet is broken.
        let p = one(
            &mut known(5),
            Dir::In,
            &[0x20, 0x05, 0x00, 0x00, 0x02, 0x05, 0x00],
        );
        assert_eq!(
            expected(&p),
            "an MQTT 5.0 property identifier (5.0 2.2.2.2) in the CONNACK properties, got 0x05"
        );
    }

    #[test]
    fn encoders_against_the_spec_layouts_and_through_the_decoder() {
        assert_eq!(
            encode_connect("c1", 60, false),
            [0x10, 0x0E, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 2, b'c', b'1']
        );
        assert_eq!(
            encode_connect("c1", 60, true),
            [0x10, 0x0F, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 2, b'c', b'1']
        );
        assert_eq!(
            encode_publish("a/b", b"x", 1, 9, false),
            [0x32, 0x08, 0, 3, b'a', b'/', b'b', 0, 9, b'x']
        );
        assert_eq!(
            encode_publish("a", b"", 0, 9, true),
            [0x30, 0x04, 0, 1, b'a', 0]
        );
        assert_eq!(
            encode_subscribe(5, "s/#", 2, false),
            [0x82, 0x08, 0, 5, 0, 3, b's', b'/', b'#', 2]
        );
        assert_eq!(
            encode_subscribe(5, "s", 7, true),
            [0x82, 0x07, 0, 5, 0, 0, 1, b's', 2]
        );
        assert_eq!(encode_pingreq(), [0xC0, 0]);
        assert_eq!(encode_pingresp(), [0xD0, 0]);
        // A payload of 200 bytes takes a 2-byte remaining length (204 = 0xCC 0x01).
        assert_eq!(
            &encode_publish("t", &[7; 200], 0, 0, true)[..3],
            [0x30, 0xCC, 0x01]
        );

        for v5 in [false, true] {
            let mut d = Decoder::default();
            let p = one(&mut d, Dir::Out, &encode_connect("me", 45, v5));
            assert_eq!(f(&p, "client_id"), "me");
            assert_eq!(f(&p, "keep_alive"), 45);
            assert_eq!(f(&p, "protocol_level"), if v5 { 5 } else { 4 });
            for qos in 0..3 {
                let p = one(
                    &mut d,
                    Dir::Out,
                    &encode_publish("t/é", b"\x00\x01", qos, 300, v5),
                );
                assert_eq!(f(&p, "topic"), "t/é");
                assert_eq!(f(&p, "qos"), qos);
                assert_eq!(f(&p, "payload"), "\u{0}\u{1}");
                assert_eq!(
                    f(&p, "packet_id"),
                    if qos > 0 { json!(300) } else { Value::Null }
                );
                assert!(p.fields.get("violations").is_none(), "{p:#?}");
            }
            let p = one(&mut d, Dir::In, &encode_publish("t", &[7; 200], 0, 0, v5));
            assert_eq!(f(&p, "payload"), "\u{7}".repeat(200));
            let p = one(&mut d, Dir::Out, &encode_subscribe(65535, "x/+", 1, v5));
            assert_eq!(f(&p, "packet_id"), 65535);
            assert_eq!(f(&p, "topics")[0]["topic"], "x/+");
            assert_eq!(f(&p, "topics")[0]["qos"], 1);
            assert!(one(&mut d, Dir::Out, &encode_pingreq()).heartbeat);
            assert!(one(&mut d, Dir::In, &encode_pingresp()).heartbeat);
        }
        // A long topic is cut at a character within 65535 bytes.
        let topic = "é".repeat(40_000);
        let p = one(
            &mut known(4),
            Dir::Out,
            &encode_publish(&topic, b"", 0, 0, false),
        );
        assert_eq!(f(&p, "topic").as_str().unwrap().len(), 65534);
    }

    #[test]
    fn a_packet_split_over_three_messages() {
        let bytes = encode_publish("sensors/t", &[b'z'; 300], 1, 7, false);
        assert!(bytes[1] & 0x80 != 0, "a 2-byte remaining length");
        let mut d = known(4);
        // The first byte, the first length byte, then the rest.
        assert!(d
            .decode(Dir::In, MsgType::Binary, &bytes[..1], 0.0)
            .is_empty());
        assert!(d
            .decode(Dir::In, MsgType::Binary, &bytes[1..2], 0.0)
            .is_empty());
        // Meanwhile the other direction is on its own.
        assert_eq!(one(&mut d, Dir::Out, &encode_pingreq()).kind, "PINGREQ");
        let p = one(&mut d, Dir::In, &bytes[2..]);
        assert_eq!(f(&p, "payload"), "z".repeat(300));
        assert!(d.inbound.held.is_empty());
        // And split in the middle of the body, with the next packet's start after it.
        let mut two = bytes.clone();
        two.extend_from_slice(&encode_pingresp());
        assert!(d
            .decode(Dir::In, MsgType::Binary, &two[..100], 0.0)
            .is_empty());
        assert!(d
            .decode(Dir::In, MsgType::Binary, &two[100..200], 0.0)
            .is_empty());
        let n = two.len() - 1;
        let ps = d.decode(Dir::In, MsgType::Binary, &two[200..n], 0.0);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].kind, "PUBLISH");
        let p = one(&mut d, Dir::In, &two[n..]);
        assert_eq!(p.kind, "PINGRESP");
    }

    #[test]
    fn lists_in_summaries() {
        // No topic filter: a violation, no trailing space.
        let p = one(&mut known(4), Dir::Out, &[0x82, 0x02, 0x00, 0x01]);
        assert_eq!(
            p.summary,
            "SUBSCRIBE id=1 [violation: at least one topic filter (MQTT-3.8.3-3)]"
        );
        // Six topic filters: four shown.
        let mut body = vec![0x00, 0x02];
        for t in [b'a', b'b', b'c', b'd', b'e', b'f'] {
            body.extend_from_slice(&[0x00, 0x01, t]);
        }
        let p = one(&mut known(4), Dir::Out, &with_header(0xA2, &body));
        assert_eq!(p.summary, "UNSUBSCRIBE id=2 a, b, c, d +2 more");
        assert_eq!(f(&p, "topics").as_array().unwrap().len(), 6);
    }

    #[test]
    fn two_packets_in_one_message() {
        let mut bytes = vec![0x30, 0x05, 0x00, 0x01, b'a', b'h', b'i'];
        bytes.extend_from_slice(&[0xD0, 0x00]);
        let ps = known(4).decode(Dir::In, MsgType::Binary, &bytes, 0.0);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].summary, "PUBLISH a qos=0 \"hi\"");
        assert_eq!(ps[1].kind, "PINGRESP");
    }

    #[test]
    fn broken_inputs_say_what_was_expected() {
        let cases: &[(&[u8], &str)] = &[
            (
                &[0x00, 0x00],
                "a packet type 1 to 15, got 0 (reserved; first byte 0x00)",
            ),
            (&[0x60, 0x02, 0x00, 0x01], "flags 0010 for PUBREL, got 0000"),
            (&[0xC1, 0x00], "flags 0000 for PINGREQ, got 0001"),
            (
                &[0x36, 0x03, 0x00, 0x01, b'a'],
                "a PUBLISH QoS of 0, 1 or 2, got 3 (flags 0110)",
            ),
            (
                &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                "a remaining length of at most 4 bytes (at most 268435455, 256 MiB), got a \
                 continuation bit on the 4th: the rest of the message is dropped",
            ),
            (
                &[0x30, 0x05, 0x00, 0x09, b'a', b'b', b'c'],
                "the PUBLISH topic within the packet (2 + 9 bytes), got 2 + 3",
            ),
            (
                &[0x30, 0x01, 0x00],
                "the PUBLISH topic's length (2 bytes) within the packet, got 1",
            ),
            (
                &[0x32, 0x03, 0x00, 0x01, b'a'],
                "the PUBLISH packet identifier (2 bytes) within the packet, got 0",
            ),
            (
                &[0x30, 0x05, 0x00, 0x03, b'a', 0xFF, b'b'],
                "the PUBLISH topic in UTF-8 (MQTT-1.5.3-1), got byte 0xFF at 1 of 3 (ff62...)",
            ),
            (
                &[0x10, 0x07, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06],
                "a CONNECT protocol level of 3 (3.1), 4 (3.1.1) or 5 (5.0), got 6",
            ),
            (
                &[0x10, 0x0A, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x01, 0, 0],
                "the CONNECT flags' reserved bit 0 clear (MQTT-3.1.2-3), got 00000001",
            ),
            (
                &[0x10, 0x0A, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x08, 0, 0],
                "the CONNECT will QoS and will retain clear without the will flag, got flags \
                 00001000",
            ),
            (
                &[
                    0x10, 0x0C, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x04, 0, 0, 0, 0,
                ],
                "the CONNECT will topic's length (2 bytes) within the packet, got 0",
            ),
            (
                &[0x40, 0x01, 0x00],
                "the PUBACK packet identifier (2 bytes) within the packet, got 1",
            ),
            (
                &[0xE0, 0x01, 0x00],
                "the DISCONNECT to end after 0 bytes (MQTT 3.1.1), got 1 more",
            ),
        ];
        for (bytes, want) in cases {
            let p = one(&mut known(4), Dir::In, bytes);
            assert_eq!(expected(&p), *want, "{bytes:02x?}");
            assert_eq!(p.summary, format!("broken: expected {want}"));
        }
        // In 5.0: properties longer than the packet.
        let p = one(
            &mut known(5),
            Dir::In,
            &[0x20, 0x04, 0x00, 0x00, 0x09, 0x24],
        );
        assert_eq!(
            expected(&p),
            "the CONNACK properties within the packet (9 bytes), got 1"
        );
        let p = one(
            &mut known(5),
            Dir::In,
            &[0x20, 0x05, 0x00, 0x00, 0x02, 0x13, 0x00],
        );
        assert_eq!(
            expected(&p),
            "the CONNACK server_keep_alive (2 bytes) within the properties, got 1"
        );
        // Text messages.
        let ps = Decoder::default().decode(Dir::In, MsgType::Text, b"hello", 0.0);
        assert_eq!(ps.len(), 1);
        assert_eq!(
            expected(&ps[0]),
            "MQTT in binary messages (MQTT-6.0.0-1), got a text message of 5 bytes"
        );
    }

    #[test]
    fn decoding_goes_on_after_a_broken_packet() {
        // A broken packet whose length is readable, then a good one, in one message.
        let mut bytes = vec![0x60, 0x02, 0x00, 0x01];
        bytes.extend_from_slice(&[0x30, 0x05, 0x00, 0x09, b'a', b'b', b'c']);
        bytes.extend_from_slice(&encode_pingreq());
        let ps = known(4).decode(Dir::In, MsgType::Binary, &bytes, 0.0);
        let kinds: Vec<_> = ps.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, ["broken", "broken", "PINGREQ"]);
        // A length over 4 bytes: the rest of that message is dropped, the next is read.
        let mut d = known(4);
        let mut bytes = vec![0x30, 0x80, 0x80, 0x80, 0x80, 0x01];
        bytes.extend_from_slice(&encode_pingreq());
        assert_eq!(one(&mut d, Dir::In, &bytes).kind, "broken");
        assert_eq!(one(&mut d, Dir::In, &encode_pingreq()).kind, "PINGREQ");
        // Split over messages, the same.
        assert!(d
            .decode(Dir::In, MsgType::Binary, &[0x30, 0x80, 0x80], 0.0)
            .is_empty());
        assert_eq!(one(&mut d, Dir::In, &[0x80, 0x80, 0x01]).kind, "broken");
        assert_eq!(one(&mut d, Dir::In, &encode_pingreq()).kind, "PINGREQ");
    }

    #[test]
    fn a_packet_too_big_to_hold_is_skipped_not_held() {
        // A PUBLISH announcing 20 MiB, coming in 1 MiB messages: broken at once, its
        // bytes dropped as they come, and the packet after it decoded.
        let total_body = 20 << 20;
        let mut first = vec![0x30];
        put_length(&mut first, total_body);
        let header_len = first.len();
        first.extend_from_slice(&[0, 1, b't']);
        let mut d = known(4);
        let p = one(&mut d, Dir::In, &first);
        assert_eq!(
            expected(&p),
            format!(
                "a packet of at most 16777216 bytes (16 MiB) to hold across messages, got a \
                 PUBLISH of {} bytes: skipped",
                header_len + total_body
            )
        );
        let chunk = vec![b'x'; 1 << 20];
        let mut left = total_body - 3;
        while left > chunk.len() {
            assert!(d.decode(Dir::In, MsgType::Binary, &chunk, 0.0).is_empty());
            assert!(d.inbound.held.is_empty());
            left -= chunk.len();
        }
        let mut last = chunk[..left].to_vec();
        last.extend_from_slice(&encode_pingreq());
        assert_eq!(one(&mut d, Dir::In, &last).kind, "PINGREQ");
        assert_eq!(d.inbound.skip, 0);
        // Whole in one message, it is decoded where it is.
        let big = encode_publish("t", &vec![b'y'; 17 << 20], 0, 0, false);
        assert_eq!(one(&mut d, Dir::In, &big).kind, "PUBLISH");
        // Just under the bound, held and decoded.
        let near = encode_publish("t", &vec![b'y'; MAX_HELD - 10], 0, 0, false);
        assert!(near.len() <= MAX_HELD);
        for part in near.chunks(3 << 20) {
            let ps = d.decode(Dir::In, MsgType::Binary, part, 0.0);
            assert!(d.inbound.held.len() <= MAX_HELD);
            if !ps.is_empty() {
                assert_eq!(ps[0].kind, "PUBLISH");
            }
        }
        assert!(d.inbound.held.is_empty());
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Valid-looking first bytes, so that random bodies reach every packet's parser.
    const FIRSTS: [u8; 16] = [
        0x10, 0x20, 0x30, 0x3B, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0,
        0xF0,
    ];

    fn random_input(g: &mut XorShift) -> Vec<u8> {
        let mut out = Vec::new();
        match g.below(4) {
            // Any bytes.
            0 => (0..g.below(80)).for_each(|_| out.push(g.next() as u8)),
            // Packets with good first bytes and right lengths, random bodies.
            1 => {
                for _ in 0..1 + g.below(4) {
                    let body: Vec<u8> = (0..g.below(40)).map(|_| g.next() as u8).collect();
                    out.extend_from_slice(&with_header(FIRSTS[g.below(16)], &body));
                }
            }
            // Real packets, a few bytes changed, some cut short.
            _ => {
                for _ in 0..1 + g.below(3) {
                    let v5 = g.below(2) == 1;
                    let mut p = match g.below(5) {
                        0 => encode_connect("client", 30, v5),
                        1 => encode_publish("a/b", b"payload", g.below(3) as u8, 1, v5),
                        2 => encode_subscribe(1, "a/#", 1, v5),
                        3 => vec![0x20, 0x05, 0x00, 0x00, 0x02, 0x13, 0x00, 0x0A],
                        _ => vec![
                            0x10, 0x19, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xF6, 0x00, 0x00,
                            0x00, 0x00, 0x01, b'c', 0x05, 0x18, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01,
                            b't', 0x00, 0x01, 0xFF,
                        ],
                    };
                    for _ in 0..g.below(3) {
                        let i = g.below(p.len());
                        p[i] = g.next() as u8;
                    }
                    let keep = p.len() - g.below(2) * g.below(p.len());
                    out.extend_from_slice(&p[..keep]);
                }
            }
        }
        out
    }

    #[test]
    fn any_bytes_in_any_splits_never_panic_and_hold_little() {
        let mut g = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut packets = 0usize;
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for case in 0..20_000 {
            let mut d = match case % 3 {
                0 => Decoder::default(),
                1 => known(4),
                _ => known(5),
            };
            for _ in 0..1 + g.below(3) {
                let input = random_input(&mut g);
                let dir = if g.below(2) == 0 { Dir::In } else { Dir::Out };
                let kind = if g.below(50) == 0 {
                    MsgType::Text
                } else {
                    MsgType::Binary
                };
                let mut at = 0;
                while at < input.len() {
                    let n = 1 + g.below(input.len() - at);
                    let n = if g.below(2) == 0 { input.len() - at } else { n };
                    let ps = d.decode(dir, kind, &input[at..at + n], 0.0);
                    for p in &ps {
                        assert!(!p.kind.is_empty() && !p.summary.is_empty(), "{p:?}");
                        if p.kind == "broken" {
                            assert!(p.fields["expected"].as_str().is_some_and(|s| !s.is_empty()));
                        }
                    }
                    packets += ps.len();
                    for p in &ps {
                        *kinds.entry(p.kind.clone()).or_default() += 1;
                    }
                    at += n;
                    for s in [&d.inbound, &d.outbound] {
                        assert!(s.held.len() <= MAX_HELD);
                        assert!(s.skip <= 5 + MAX_REMAINING);
                        if let Header::Whole { len, rest, .. } = header(&s.held) {
                            assert!(s.held.len() < len + rest);
                        }
                    }
                }
            }
        }
        assert!(packets > 20_000, "{packets}");
        // Every packet type was reached and decoded at least once, besides the broken.
        for name in &NAMES[1..] {
            assert!(kinds.contains_key(*name), "{name} never decoded: {kinds:?}");
        }
    }
}
