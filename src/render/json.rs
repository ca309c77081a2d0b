//! The JSON format: one object per line on `out`, first key `event`, the contract's
//! required fields first, then `t` (seconds since start) and `client` (in `listen`).
//! Serialize-only structs with borrowed fields (field order is key order), except for
//! `frame` and `message`, the hot path, which are written by hand and tested byte for
//! byte against serde_json on reference structs. Errors and warnings are also written
//! to `err` as the pretty line, since diagnostics always reach stderr.
//!
//! Strings carry serde_json's escapes and more: DEL and the C1 controls U+0080-U+009F
//! are written `\u007f`, `\u0080`-`\u009f` (`Formatter` below), so that a line shown as
//! it is (`tail -f`, a log viewer) holds no raw CSI (U+009B) or other control a peer
//! chose.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use super::esc::{self, Paint};
use super::{pretty, Printer};
use crate::event::{
    close_parts, opcode_name, CloseFrame, Ctx, Dir, Event, FrameEv, Handshake, HttpHead, Info,
    MsgType, OpCode, Stamp,
};

type Headers<'a> = &'a [(String, String)];

#[derive(Serialize)]
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    headers: Headers<'a>,
}

#[derive(Serialize)]
struct Response<'a> {
    status: u16,
    reason: &'a str,
    headers: Headers<'a>,
}

fn request(h: &HttpHead) -> Request<'_> {
    Request {
        method: &h.method,
        path: &h.path,
        headers: &h.headers,
    }
}

fn response(h: &HttpHead) -> Response<'_> {
    Response {
        status: h.status,
        reason: &h.reason,
        headers: &h.headers,
    }
}

#[derive(Serialize)]
struct HandshakeEv<'a> {
    event: &'static str,
    #[serde(flatten)]
    body: HandshakeBody<'a>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

/// The handshake: the fields of the `handshake` event, and the handshake inside `info`.
#[derive(Serialize)]
struct HandshakeBody<'a> {
    url: &'a str,
    request: Request<'a>,
    response: Response<'a>,
    protocol: Option<&'a str>,
    /// The extensions agreed, parameters parsed.
    extensions: Vec<Extension>,
    elapsed_ms: f64,
}

/// One agreed extension: `{"name": "permessage-deflate", "params": {...}}`.
#[derive(Serialize)]
struct Extension {
    name: &'static str,
    params: serde_json::Map<String, serde_json::Value>,
}

fn extensions(h: &Handshake) -> Vec<Extension> {
    let Some(a) = &h.deflate else {
        return Vec::new();
    };
    let p = a.params;
    let mut params = serde_json::Map::new();
    if p.server_no_context_takeover {
        params.insert("server_no_context_takeover".into(), true.into());
    }
    if p.client_no_context_takeover {
        params.insert("client_no_context_takeover".into(), true.into());
    }
    if let Some(b) = p.server_max_window_bits {
        params.insert("server_max_window_bits".into(), b.into());
    }
    match p.client_max_window_bits {
        Some(Some(b)) => {
            params.insert("client_max_window_bits".into(), b.into());
        }
        Some(None) => {
            params.insert("client_max_window_bits".into(), true.into());
        }
        None => {}
    }
    vec![Extension {
        name: crate::deflate::NAME,
        params,
    }]
}

#[derive(Serialize)]
struct InfoEv<'a> {
    event: &'static str,
    state: &'a str,
    url: Option<&'a str>,
    protocol: Option<&'a str>,
    /// The address connected to, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<&'a str>,
    /// The agreed extensions, as the server's header names them (`null`: none).
    extensions: Option<String>,
    uptime_ms: f64,
    frames_in: u64,
    frames_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    messages_in: u64,
    messages_out: u64,
    last_rtt_ms: Option<f64>,
    handshake: Option<HandshakeBody<'a>>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Pong<'a> {
    event: &'static str,
    rtt_ms: f64,
    len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Close<'a> {
    event: &'static str,
    /// The initiator's close frame.
    code: Option<u16>,
    reason: &'a str,
    sent: Option<CloseJson<'a>>,
    received: Option<CloseJson<'a>>,
    initiator: &'static str,
    clean: bool,
    /// How long the peer's reply took, or null.
    reply_ms: Option<f64>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

/// One close frame: `{code, reason}`.
#[derive(Serialize)]
struct CloseJson<'a> {
    code: Option<u16>,
    reason: &'a str,
}

impl<'a> From<CloseFrame<'a>> for CloseJson<'a> {
    fn from(f: CloseFrame<'a>) -> Self {
        CloseJson {
            code: f.code,
            reason: f.reason,
        }
    }
}

#[derive(Serialize)]
struct CheckEv<'a> {
    event: &'static str,
    name: &'a str,
    rfc: &'a str,
    expected: &'a str,
    observed: &'a str,
    verdict: &'static str,
    elapsed_ms: f64,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct ExpectEv<'a> {
    event: &'static str,
    what: &'a str,
    ok: bool,
    got: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<&'a str>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Disconnected<'a> {
    event: &'static str,
    code: u16,
    reason: &'a str,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Reconnect {
    event: &'static str,
    attempt: u32,
    delay_ms: u64,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct ErrorEv<'a> {
    event: &'static str,
    kind: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers<'a>>,
    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    /// The body as hex, when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    body_hex: Option<&'a str>,
    /// The refused upgrade request, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Request<'a>>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct RedirectEv<'a> {
    event: &'static str,
    hop: u32,
    status: u16,
    location: &'a str,
    headers: Headers<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Request<'a>>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct ClientJson<'a> {
    id: u64,
    peer: &'a str,
    path: &'a str,
    protocol: Option<&'a str>,
    uptime_ms: f64,
    frames_in: u64,
    frames_out: u64,
    selected: bool,
}

#[derive(Serialize)]
struct ClientsEv<'a> {
    event: &'static str,
    clients: Vec<ClientJson<'a>>,
    t: f64,
}

#[derive(Serialize)]
struct SummaryEv {
    event: &'static str,
    checks: usize,
    pass: usize,
    fail: usize,
    lenient: usize,
    #[serde(rename = "n/a")]
    not_applicable: usize,
    elapsed_ms: f64,
    t: f64,
}

/// `warning` and `notice`.
#[derive(Serialize)]
struct Text<'a> {
    event: &'static str,
    message: &'a str,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Listening<'a> {
    event: &'static str,
    addr: &'a str,
    tls: bool,
    t: f64,
}

#[derive(Serialize)]
struct Client<'a> {
    event: &'static str,
    peer: &'a str,
    connected: bool,
    /// On connect: the upgrade request's path and headers, and the subprotocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<&'a [(String, String)]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'a str>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

#[derive(Serialize)]
struct Connecting<'a> {
    event: &'static str,
    url: &'a str,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<u64>,
}

/// serde_json's compact format, with DEL and the C1 controls in strings escaped too.
struct Formatter;

impl serde_json::ser::Formatter for Formatter {
    /// A piece of a string that serde_json found nothing to escape in: DEL and its C1
    /// controls (`C2 80`-`C2 9F` in UTF-8) become `\u007f`, `\u0080`-`\u009f`. Pieces
    /// end only at ASCII bytes, so a character is never split between two.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let b = fragment.as_bytes();
        let mut run = 0;
        let mut i = 0;
        while let Some(at) = b[i..]
            .iter()
            .position(|&c| c == 0xc2 || c == 0x7f)
            .map(|p| i + p)
        {
            let (c, len) = match (b[at], b.get(at + 1)) {
                (0x7f, _) => (0x7f, 1),
                (_, Some(&c @ 0x80..=0x9f)) => (c, 2),
                _ => {
                    i = at + 1;
                    continue;
                }
            };
            writer.write_all(&b[run..at])?;
            writer.write_all(b"\\u00")?;
            writer.write_all(&[nibble(c >> 4), nibble(c & 0xf)])?;
            run = at + len;
            i = at + len;
        }
        writer.write_all(&b[run..])
    }
}

/// A lowercase hex digit.
fn nibble(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + n - 10
    }
}

/// Appends `v` as JSON (see `Formatter`).
fn to_buf<T: Serialize>(buf: &mut Vec<u8>, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *buf, Formatter);
    v.serialize(&mut ser).map_err(io::Error::other)
}

/// Appends `v` and a newline.
fn put<T: Serialize>(buf: &mut Vec<u8>, v: &T) -> io::Result<()> {
    to_buf(buf, v)?;
    buf.push(b'\n');
    Ok(())
}

/// Hex of `bytes` in `aux`, as a `&str`.
fn hex<'b>(aux: &'b mut Vec<u8>, bytes: &[u8]) -> &'b str {
    aux.clear();
    esc::hex(aux, bytes);
    // Hex digits are ASCII; this cannot fail.
    std::str::from_utf8(aux).unwrap_or_default()
}

// The two events of the hot path (`frame`, `message`) are written by hand: keys are
// literals, hex goes straight into the line, text is escaped 8 bytes at a time. The
// output is byte for byte what serde_json writes for the reference structs in the
// tests below (same key order, same escapes, floats through serde_json).

/// Payload fields of at least this many bytes are written to the output in pieces as
/// they are made, rather than built whole in the line buffer: a 64 MiB message then
/// costs its own buffer and a few pieces, not its hex, its text and their copies.
const STREAM_FROM: usize = 64 * 1024;

/// `,"hex":"..."`: built in `buf`, or for a large payload written out piece by piece
/// (what `buf` held before goes first).
fn hex_field<W: Write>(buf: &mut Vec<u8>, out: &mut W, payload: &[u8]) -> io::Result<()> {
    buf.extend_from_slice(b",\"hex\":\"");
    if payload.len() < STREAM_FROM {
        esc::hex(buf, payload);
    } else {
        for piece in payload.chunks(STREAM_FROM / 2) {
            esc::hex(buf, piece);
            out.write_all(buf)?;
            buf.clear();
        }
    }
    buf.push(b'"');
    Ok(())
}

/// A JSON string as `string` makes it, written out piece by piece when large.
fn string_out<W: Write>(buf: &mut Vec<u8>, out: &mut W, s: &str) -> io::Result<()> {
    if s.len() < STREAM_FROM {
        string(buf, s);
        return Ok(());
    }
    buf.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        let mut cut = rest.len().min(STREAM_FROM);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        escape(buf, piece);
        out.write_all(buf)?;
        buf.clear();
        rest = tail;
    }
    buf.push(b'"');
    Ok(())
}

fn frame<W: Write>(
    buf: &mut Vec<u8>,
    out: &mut W,
    f: &FrameEv<'_>,
    us: u64,
    client: Option<u64>,
) -> io::Result<()> {
    buf.extend_from_slice(b"{\"event\":\"frame\",\"dir\":\"");
    buf.extend_from_slice(f.dir.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"opcode\":");
    match opcode_name(f.opcode) {
        Some(name) => {
            buf.push(b'"');
            buf.extend_from_slice(name.as_bytes());
            buf.push(b'"');
        }
        None => esc::num(buf, f.opcode.as_u8() as u64),
    }
    buf.extend_from_slice(b",\"fin\":");
    boolean(buf, f.fin);
    buf.extend_from_slice(b",\"rsv\":[");
    boolean(buf, f.rsv[0]);
    buf.push(b',');
    boolean(buf, f.rsv[1]);
    buf.push(b',');
    boolean(buf, f.rsv[2]);
    buf.extend_from_slice(b"],\"masked\":");
    boolean(buf, f.mask.is_some());
    buf.extend_from_slice(b",\"mask_key\":");
    match f.mask {
        Some(key) => {
            buf.push(b'"');
            buf.extend_from_slice(&esc::key_hex(key));
            buf.push(b'"');
        }
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"len\":");
    esc::num(buf, f.payload.len() as u64);
    hex_field(buf, out, f.payload)?;
    if let Ok(text) = crate::wire::utf8(f.payload) {
        buf.extend_from_slice(b",\"text\":");
        string_out(buf, out, text)?;
    }
    if f.opcode == OpCode::Close {
        let (code, reason) = close_parts(f.payload);
        buf.extend_from_slice(b",\"code\":");
        match code {
            Some(c) => esc::num(buf, c as u64),
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\"reason\":");
        string(buf, &String::from_utf8_lossy(reason));
    }
    tail(buf, us, client);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn message<W: Write>(
    buf: &mut Vec<u8>,
    out: &mut W,
    dir: Dir,
    kind: MsgType,
    payload: &[u8],
    frames: u64,
    wire: Option<u64>,
    us: u64,
    client: Option<u64>,
) -> io::Result<()> {
    buf.extend_from_slice(b"{\"event\":\"message\",\"dir\":\"");
    buf.extend_from_slice(dir.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"type\":\"");
    buf.extend_from_slice(kind.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"len\":");
    esc::num(buf, payload.len() as u64);
    buf.extend_from_slice(b",\"frames\":");
    esc::num(buf, frames);
    buf.extend_from_slice(b",\"compressed\":");
    boolean(buf, wire.is_some());
    buf.extend_from_slice(b",\"wire_len\":");
    esc::num(buf, wire.unwrap_or(payload.len() as u64));
    // A text message is valid UTF-8 (the session checks); should one not be, it is
    // shown as hex rather than altered.
    let text = match kind {
        MsgType::Text => crate::wire::utf8(payload).ok(),
        MsgType::Binary => None,
    };
    match text {
        Some(text) => {
            buf.extend_from_slice(b",\"text\":");
            string_out(buf, out, text)?;
        }
        None => hex_field(buf, out, payload)?,
    }
    tail(buf, us, client);
    Ok(())
}

fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `,"t":T[,"client":N]}` and the newline; `us`: T in microseconds.
fn tail(buf: &mut Vec<u8>, us: u64, client: Option<u64>) {
    buf.extend_from_slice(b",\"t\":");
    // serde_json's float format, so hand-written and derived lines agree.
    esc::secs_json(buf, us);
    if let Some(n) = client {
        buf.extend_from_slice(b",\"client\":");
        esc::num(buf, n);
    }
    buf.extend_from_slice(b"}\n");
}

/// `relay`: `,"leg":"client"` (or `"server"`), then `--timestamps wall`'s time, before
/// the closing brace of the line that ends `buf`.
/// `--proto`: `,"proto":{...}` before the closing brace of the line: the packet's
/// `name` (the protocol), `type` and fields; several packets in one message (SignalR
/// records, MQTT packets) as `{"name", "type": "batch", "packets": [...]}`.
fn add_proto(buf: &mut Vec<u8>, d: &crate::proto::Decoded) {
    if !buf.ends_with(b"}\n") {
        return;
    }
    let one = |p: &crate::proto::Packet| {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), d.proto.name().into());
        m.insert("type".into(), p.kind.clone().into());
        for (k, v) in &p.fields {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        m.insert("summary".into(), p.summary.clone().into());
        serde_json::Value::Object(m)
    };
    let v = match d.packets.as_slice() {
        [p] => one(p),
        ps => serde_json::json!({
            "name": d.proto.name(),
            "type": "batch",
            "packets": ps.iter().map(one).collect::<Vec<_>>(),
        }),
    };
    buf.truncate(buf.len() - 2);
    buf.extend_from_slice(b",\"proto\":");
    let _ = serde_json::to_writer(&mut *buf, &v);
    buf.extend_from_slice(b"}\n");
}

fn add_ctx(buf: &mut Vec<u8>, ctx: &Ctx) {
    if let Some(leg) = ctx.leg {
        if buf.ends_with(b"}\n") {
            buf.truncate(buf.len() - 2);
            buf.extend_from_slice(b",\"leg\":\"");
            buf.extend_from_slice(leg.as_str().as_bytes());
            buf.extend_from_slice(b"\"}\n");
        }
    }
    add_time(buf, ctx.stamp);
}

/// `--timestamps wall`: `,"time":"RFC 3339"` before the closing brace of the line that
/// ends `buf` (every event has it then; `t` stays the seconds since start).
fn add_time(buf: &mut Vec<u8>, stamp: Stamp) {
    let Stamp::Wall(at) = stamp else { return };
    if buf.ends_with(b"}\n") {
        buf.truncate(buf.len() - 2);
        buf.extend_from_slice(b",\"time\":\"");
        esc::rfc3339(buf, at);
        buf.extend_from_slice(b"\"}\n");
    }
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
/// `\u00XX` for the other C0 controls, DEL and the C1 controls (as `Formatter`);
/// everything else as it is. Runs of 32 bytes that need no escape are checked at once.
fn string(buf: &mut Vec<u8>, s: &str) {
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    escape(buf, s);
    buf.push(b'"');
}

/// The inside of a JSON string (see `string`).
fn escape(buf: &mut Vec<u8>, s: &str) {
    // 0xC2 is the lead byte of the C1 controls (and of U+00A0-U+00BF, left as they are).
    fn bad(c: u8) -> bool {
        c < 0x20 || c == b'"' || c == b'\\' || c == 0x7f || c == 0xc2
    }
    let b = s.as_bytes();
    buf.reserve(b.len());
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 32) {
            // Two min-reductions (they vectorize): a control character makes `lo`
            // small, a `"`, `\`, DEL or 0xC2 makes `eq` zero.
            let (mut lo, mut eq) = (u8::MAX, u8::MAX);
            for &c in chunk {
                lo = lo.min(c);
                eq = eq.min((c ^ b'"').min(c ^ b'\\').min((c ^ 0x7f).min(c ^ 0xc2)));
            }
            if lo >= 0x20 && eq != 0 {
                i += 32;
                continue;
            }
            i += chunk.iter().position(|&c| bad(c)).unwrap_or(0);
        }
        let c = b[i];
        i += 1;
        if c == 0xc2 {
            // A C1 control (the next byte 0x80-0x9F): `\u0080`-`\u009f`.
            if let Some(&c1 @ 0x80..=0x9f) = b.get(i) {
                buf.extend_from_slice(&b[run..i - 1]);
                buf.extend_from_slice(b"\\u00");
                esc::hex(buf, &[c1]);
                i += 1;
                run = i;
            }
            continue;
        }
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&b[run..i - 1]);
        run = i;
        if esc.is_empty() {
            buf.extend_from_slice(b"\\u00");
            esc::hex(buf, &[c]);
        } else {
            buf.extend_from_slice(esc);
        }
    }
    buf.extend_from_slice(&b[run..]);
}

pub(super) fn emit<W: Write, E: Write>(
    p: &mut Printer<W, E>,
    ctx: &Ctx,
    ev: &Event<'_>,
    decoded: Option<&crate::proto::Decoded>,
) -> io::Result<()> {
    let buf = &mut p.line;
    let aux = &mut p.aux;
    buf.clear();
    let us = ctx.t.as_micros() as u64;
    let t = esc::secs_f64(ctx.t);
    let client = ctx.client;
    match *ev {
        Event::Connecting { url } => put(
            buf,
            &Connecting {
                event: "connecting",
                url,
                t,
                client,
            },
        )?,
        Event::Handshake(h) => put(
            buf,
            &HandshakeEv {
                event: "handshake",
                body: handshake_body(h),
                t,
                client,
            },
        )?,
        Event::Frame(f) => {
            frame(buf, &mut p.out, &f, us, client)?;
            return {
                add_ctx(buf, ctx);
                p.out.write_all(buf)
            };
        }
        Event::Message {
            dir,
            kind,
            payload,
            frames,
            wire,
        } => {
            message(
                buf, &mut p.out, dir, kind, payload, frames, wire, us, client,
            )?;
            if let Some(d) = decoded.filter(|d| !d.packets.is_empty()) {
                add_proto(buf, d);
            }
            return {
                add_ctx(buf, ctx);
                p.out.write_all(buf)
            };
        }
        Event::Pong { rtt, payload } => put(
            buf,
            &Pong {
                event: "pong",
                rtt_ms: esc::ms_f64(rtt),
                len: payload.len(),
                text: std::str::from_utf8(payload).ok().filter(|s| !s.is_empty()),
                t,
                client,
            },
        )?,
        Event::Close {
            sent,
            received,
            initiator,
            clean,
            reply_after,
        } => {
            let first = CloseFrame::initiators(initiator, sent, received);
            put(
                buf,
                &Close {
                    event: "close",
                    code: first.and_then(|f| f.code),
                    reason: first.map_or("", |f| f.reason),
                    sent: sent.map(CloseJson::from),
                    received: received.map(CloseJson::from),
                    initiator: initiator.as_str(),
                    clean,
                    reply_ms: reply_after.map(esc::ms_f64),
                    t,
                    client,
                },
            )?
        }
        Event::Disconnected { code, reason } => put(
            buf,
            &Disconnected {
                event: "disconnected",
                code,
                reason,
                t,
                client,
            },
        )?,
        Event::Reconnect { attempt, delay_ms } => put(
            buf,
            &Reconnect {
                event: "reconnect",
                attempt,
                delay_ms,
                t,
                client,
            },
        )?,
        Event::Error(e) => {
            let r = e.refusal.as_deref();
            let body_text = r.map(|r| std::str::from_utf8(&r.body));
            let body_hex = match (r, &body_text) {
                (Some(r), Some(Err(_))) => Some(hex(aux, &r.body)),
                _ => None,
            };
            put(
                buf,
                &ErrorEv {
                    event: "error",
                    kind: e.kind.as_str(),
                    message: &e.msg,
                    rule: e.rule,
                    status: r.map(|r| r.status),
                    headers: r.map(|r| r.headers.as_slice()),
                    body: r.map(|r| String::from_utf8_lossy(&r.body)),
                    body_hex,
                    request: r.and_then(|r| r.request.as_ref()).map(request),
                    t,
                    client,
                },
            )?;
            {
                add_ctx(buf, ctx);
                p.out.write_all(buf)
            }?;
            buf.clear();
            pretty::error(buf, Paint(p.opts.color), ctx, e, false, false);
            return super::to_err(&mut p.out, &mut p.err, buf);
        }
        Event::Warning(message) => {
            put(
                buf,
                &Text {
                    event: "warning",
                    message,
                    t,
                    client,
                },
            )?;
            {
                add_ctx(buf, ctx);
                p.out.write_all(buf)
            }?;
            buf.clear();
            pretty::warning(buf, Paint(p.opts.color), ctx, message);
            return super::to_err(&mut p.out, &mut p.err, buf);
        }
        Event::Expect {
            what,
            ok,
            got,
            diff,
        } => {
            put(
                buf,
                &ExpectEv {
                    event: "expect",
                    what,
                    ok,
                    got,
                    diff,
                    t,
                    client,
                },
            )?;
            if ok {
                return {
                    add_ctx(buf, ctx);
                    p.out.write_all(buf)
                };
            }
            {
                add_ctx(buf, ctx);
                p.out.write_all(buf)
            }?;
            buf.clear();
            pretty::expect(buf, Paint(p.opts.color), ctx, what, ok, got, diff);
            return super::to_err(&mut p.out, &mut p.err, buf);
        }
        Event::Check(r) => put(
            buf,
            &CheckEv {
                event: "check",
                name: &r.name,
                rfc: r.rfc,
                expected: &r.expected,
                observed: &r.observed,
                verdict: r.verdict.as_str(),
                elapsed_ms: esc::ms_f64(r.elapsed),
                t,
                client,
            },
        )?,
        Event::Redirect { hop, to, refusal } => put(
            buf,
            &RedirectEv {
                event: "redirect",
                hop,
                status: refusal.status,
                location: to,
                headers: refusal.headers.as_slice(),
                request: refusal.request.as_ref().map(request),
                t,
                client,
            },
        )?,
        Event::Notice(message) => put(
            buf,
            &Text {
                event: "notice",
                message,
                t,
                client,
            },
        )?,
        Event::Info(info) => put(buf, &info_ev(info, t, client))?,
        Event::Clients(rows) => put(
            buf,
            &ClientsEv {
                event: "clients",
                clients: rows
                    .iter()
                    .map(|r| ClientJson {
                        id: r.id,
                        peer: &r.peer,
                        path: &r.path,
                        protocol: r.protocol.as_deref(),
                        uptime_ms: esc::ms_f64(r.uptime),
                        frames_in: r.frames_in,
                        frames_out: r.frames_out,
                        selected: r.selected,
                    })
                    .collect(),
                t,
            },
        )?,
        Event::Summary(s) => put(
            buf,
            &SummaryEv {
                event: "summary",
                checks: s.checks,
                pass: s.pass,
                fail: s.fail,
                lenient: s.lenient,
                not_applicable: s.not_applicable,
                elapsed_ms: esc::ms_f64(s.elapsed),
                t,
            },
        )?,
        Event::Listening { addr, tls } => put(
            buf,
            &Listening {
                event: "listening",
                addr,
                tls,
                t,
            },
        )?,
        Event::Client {
            peer,
            connected,
            request,
            protocol,
        } => put(
            buf,
            &Client {
                event: "client",
                peer,
                connected,
                path: request.map(|q| q.path.as_str()),
                headers: request.map(|q| q.headers.as_slice()),
                protocol,
                t,
                client,
            },
        )?,
    }
    {
        add_ctx(buf, ctx);
        p.out.write_all(buf)
    }
}

fn info_ev(info: &Info, t: f64, client: Option<u64>) -> InfoEv<'_> {
    let hs: Option<&Handshake> = info.handshake.as_ref();
    InfoEv {
        event: "info",
        state: info.state,
        url: hs.map(|h| h.url.as_str()),
        protocol: hs.and_then(|h| h.protocol.as_deref()),
        peer: info.peer.as_deref(),
        extensions: hs
            .and_then(|h| h.deflate.as_ref())
            .map(|a| a.params.header()),
        uptime_ms: esc::ms_f64(info.uptime),
        frames_in: info.frames_in,
        frames_out: info.frames_out,
        bytes_in: info.bytes_in,
        bytes_out: info.bytes_out,
        messages_in: info.messages_in,
        messages_out: info.messages_out,
        last_rtt_ms: info.last_rtt.map(esc::ms_f64),
        handshake: hs.map(handshake_body),
        t,
        client,
    }
}

fn handshake_body(h: &Handshake) -> HandshakeBody<'_> {
    HandshakeBody {
        url: &h.url,
        request: request(&h.request),
        response: response(&h.response),
        protocol: h.protocol.as_deref(),
        extensions: extensions(h),
        elapsed_ms: esc::ms_f64(h.elapsed),
    }
}

#[cfg(test)]
mod tests {
    //! The hand-written lines against serde_json on reference structs.

    use super::*;

    /// A named opcode, or the number of a reserved one.
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Opcode {
        Name(&'static str),
        Reserved(u8),
    }

    #[derive(Serialize)]
    struct Frame<'a> {
        event: &'static str,
        dir: &'static str,
        opcode: Opcode,
        fin: bool,
        rsv: [bool; 3],
        masked: bool,
        mask_key: Option<&'a str>,
        len: usize,
        hex: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
        /// Close frames only: `Some(None)` is a close frame without a code.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<Option<u16>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Cow<'a, str>>,
        t: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<u64>,
    }

    #[derive(Serialize)]
    struct Message<'a> {
        event: &'static str,
        dir: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        len: usize,
        frames: u64,
        compressed: bool,
        wire_len: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hex: Option<&'a str>,
        t: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<u64>,
    }

    fn frame_ref(f: &FrameEv<'_>, t: f64, client: Option<u64>) -> String {
        let key = f.mask.map(esc::key_hex);
        let mut hexbuf = Vec::new();
        esc::hex(&mut hexbuf, f.payload);
        let (code, reason) = if f.opcode == OpCode::Close {
            let (code, reason) = close_parts(f.payload);
            (Some(code), Some(String::from_utf8_lossy(reason)))
        } else {
            (None, None)
        };
        let v = Frame {
            event: "frame",
            dir: f.dir.as_str(),
            opcode: match opcode_name(f.opcode) {
                Some(name) => Opcode::Name(name),
                None => Opcode::Reserved(f.opcode.as_u8()),
            },
            fin: f.fin,
            rsv: f.rsv,
            masked: f.mask.is_some(),
            mask_key: key.as_ref().map(|k| std::str::from_utf8(k).unwrap()),
            len: f.payload.len(),
            hex: std::str::from_utf8(&hexbuf).unwrap(),
            text: std::str::from_utf8(f.payload).ok(),
            code,
            reason,
            t,
            client,
        };
        reference_json(&v)
    }

    fn message_ref(
        dir: Dir,
        kind: MsgType,
        payload: &[u8],
        frames: u64,
        wire: Option<u64>,
        t: f64,
        client: Option<u64>,
    ) -> String {
        let text = match kind {
            MsgType::Text => std::str::from_utf8(payload).ok(),
            MsgType::Binary => None,
        };
        let mut hexbuf = Vec::new();
        esc::hex(&mut hexbuf, payload);
        let v = Message {
            event: "message",
            dir: dir.as_str(),
            kind: kind.as_str(),
            len: payload.len(),
            frames,
            compressed: wire.is_some(),
            wire_len: wire.unwrap_or(payload.len() as u64),
            text,
            hex: text
                .is_none()
                .then(|| std::str::from_utf8(&hexbuf).unwrap()),
            t,
            client,
        };
        reference_json(&v)
    }

    /// What serde_json writes for `v`, C1 controls escaped as the printer does (and as
    /// the plain serde_json output with each raw C1 control replaced).
    fn reference_json<T: Serialize>(v: &T) -> String {
        let mut buf = Vec::new();
        to_buf(&mut buf, v).unwrap();
        let ours = String::from_utf8(buf).unwrap();
        let mut plain = String::new();
        for c in serde_json::to_string(v).unwrap().chars() {
            match c {
                '\u{7f}'..='\u{9f}' => plain.push_str(&format!("\\u{:04x}", c as u32)),
                c => plain.push(c),
            }
        }
        assert_eq!(ours, plain);
        ours + "\n"
    }

    #[test]
    fn c1_controls_and_del_are_escaped_everywhere() {
        let mut buf = Vec::new();
        string(&mut buf, "a\u{9b}31mb\u{80}\u{9f}\u{a0}\u{bf}\u{85}é\u{7f}");
        // U+00A0 and U+00BF share the lead byte and are not controls: kept.
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "\"a\\u009b31mb\\u0080\\u009f\u{a0}\u{bf}\\u0085é\\u007f\""
        );
        let mut buf = Vec::new();
        put(&mut buf, &("\u{9b}2J\u{7f}", ["x\u{85}"])).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "[\"\\u009b2J\\u007f\",[\"x\\u0085\"]]\n"
        );
    }

    fn payloads() -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = vec![
            vec![],
            b"hello".to_vec(),
            b"\x03\xe8bye".to_vec(),
            b"\x03".to_vec(),
            "say \"hi\" \\ é ✓ \u{7f}\u{85}".as_bytes().to_vec(),
            vec![0xff, 0xfe, 0x00],
        ];
        // Every byte below 0x80 at every offset of a 17-byte window, so the 8-byte scan
        // meets escapes at each position of its word and in the tail.
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut p = b"abcdefghijklmnopq".to_vec();
                p[at] = b;
                all.push(p);
            }
        }
        // The C1 controls and their neighbours (U+007F, U+00A0-U+00BF share the lead
        // byte 0xC2) at every offset of a 33-byte window.
        for c in [
            '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}', '\u{a0}', '\u{bf}', '\u{100}',
        ] {
            for at in 0..33 {
                let mut p: String = "abcdefghijklmnopqrstuvwxyzABCDEFG".into();
                p.insert(at, c);
                all.push(p.into_bytes());
            }
        }
        all.push((0u8..=255).collect());
        // Past STREAM_FROM: written in pieces, with a multi-byte character and escapes
        // across the piece boundaries.
        let mut big = Vec::new();
        while big.len() < 3 * STREAM_FROM {
            big.extend_from_slice("ab\"\n é✓ \u{1F600}\\".as_bytes());
        }
        all.push(big);
        all.push((0..2 * STREAM_FROM + 7).map(|i| (i * 31) as u8).collect());
        all
    }

    #[test]
    fn hand_written_frames_match_serde_json() {
        let mut buf = Vec::new();
        for p in payloads() {
            for opcode in [0u8, 1, 2, 3, 8, 9, 10, 15] {
                for (mask, client, us) in [
                    (None, None, 0),
                    (Some([0xde, 0xad, 0xbe, 0xef]), Some(7), 12_345_678),
                    (Some([0, 1, 2, 3]), None, 1),
                    (None, Some(2), 3_000_000),
                ] {
                    let t = us as f64 / 1e6;
                    let f = FrameEv {
                        dir: if mask.is_some() { Dir::Out } else { Dir::In },
                        fin: opcode != 0,
                        rsv: [opcode == 3, false, opcode == 15],
                        opcode: OpCode::from(opcode),
                        mask,
                        payload: &p,
                    };
                    buf.clear();
                    let mut out = Vec::new();
                    frame(&mut buf, &mut out, &f, us, client).unwrap();
                    out.extend_from_slice(&buf);
                    assert_eq!(std::str::from_utf8(&out).unwrap(), frame_ref(&f, t, client));
                }
            }
        }
    }

    #[test]
    fn hand_written_messages_match_serde_json() {
        let mut buf = Vec::new();
        for p in payloads() {
            for kind in [MsgType::Text, MsgType::Binary] {
                for (dir, client, us, wire) in [
                    (Dir::In, None, 1_500_000, None),
                    (Dir::Out, Some(1), 20_000, Some(7)),
                    (Dir::In, None, 999, None),
                ] {
                    let t = us as f64 / 1e6;
                    buf.clear();
                    let mut out = Vec::new();
                    message(&mut buf, &mut out, dir, kind, &p, 3, wire, us, client).unwrap();
                    out.extend_from_slice(&buf);
                    let want = message_ref(dir, kind, &p, 3, wire, t, client);
                    assert_eq!(std::str::from_utf8(&out).unwrap(), want);
                }
            }
        }
    }
}
