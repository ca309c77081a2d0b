//! `--proto stomp`: STOMP 1.0, 1.1 and 1.2 (<https://stomp.github.io>) over WebSocket.
//!
//! A message holds one or more frames (text or binary): `COMMAND EOL`, `name:value EOL`
//! headers, a blank line, the body, a NUL, then any number of EOLs (LF, or CRLF as 1.2
//! allows). A message of nothing but EOLs is a heart-beat. The body runs to the first NUL
//! unless `content-length` says how long it is (a body holding NULs).
//!
//! Header names and values are unescaped (`\r`, `\n`, `\c`, `\\`) as 1.1 and 1.2 say,
//! except in `CONNECT`, `STOMP` and `CONNECTED` (kept as they are, for 1.0) and once
//! `CONNECTED` said the session is 1.0. Until `CONNECTED` comes, 1.2 is assumed. An
//! undefined escape (`\t`) is a fatal error to a broker; here the value is kept as it came
//! and the packet carries a `warnings` entry.
//!
//! A repeated header: the first one is the value (`headers`), as the spec says; all of
//! them, in order, are in `headers_all` (`[[name, value], ...]`), present only when a
//! header repeats.
//!
//! A frame that does not parse (no command line, an unknown command, a header line with
//! no colon, no NUL, a `content-length` that overruns) is a `broken` packet; decoding goes
//! on after the next NUL. A frame split over several messages (stomp.js'
//! `splitLargeFrames`, which only some brokers accept) is not put back together: each part
//! shows as broken.
//!
//! Heart-beats: the negotiation (`heart-beat` of `CONNECT` and `CONNECTED`) is kept;
//! [`Decoder::heartbeat_interval_ms`] is how often we must send one ([`HEARTBEAT`]), which
//! the decoder cannot time itself, so `keepalive` answers nothing.

use serde_json::{Map, Value};

use super::{short, Packet};
use crate::event::{Dir, MsgType};

/// A heart-beat, as we send it.
pub const HEARTBEAT: &[u8] = b"\n";

/// Every command of STOMP 1.2 (1.0 and 1.1 have the same, less `STOMP` and `NACK`).
pub const COMMANDS: &[&str] = &[
    "CONNECT",
    "STOMP",
    "CONNECTED",
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
    "MESSAGE",
    "RECEIPT",
    "ERROR",
];

/// The frames whose headers are never escaped (1.0 compatibility).
fn unescaped_frame(command: &str) -> bool {
    matches!(command, "CONNECT" | "STOMP" | "CONNECTED")
}

/// One connection's STOMP state: the negotiated version and heart-beats.
#[derive(Debug, Default)]
pub struct Decoder {
    /// `CONNECTED`'s `version` (`"1.0"` when it names none); `None` before `CONNECTED`.
    version: Option<String>,
    /// The `heart-beat` (x, y) of the `CONNECT`/`STOMP` or `CONNECTED` frame we sent.
    ours: Option<(u64, u64)>,
    /// The same, of the frame the peer sent.
    theirs: Option<(u64, u64)>,
    connected: bool,
}

impl Decoder {
    /// The version `CONNECTED` named (`"1.0"` when it named none), once it came.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// How often, in milliseconds, we must send a heart-beat ([`HEARTBEAT`]) to keep
    /// the session up, as negotiated: `max(our x, their y)` when both are non-zero (the
    /// client's `cx` and the server's `sy` when we are the client). `None` before
    /// `CONNECTED`, in 1.0, or when none was asked. When we did not see our own frame
    /// (sent around the decoder), what the peer asks for is taken: a heart-beat the peer
    /// did not need does no harm.
    pub fn heartbeat_interval_ms(&self) -> Option<u64> {
        if !self.connected || self.version.as_deref() == Some("1.0") {
            return None;
        }
        let (_, want) = self.theirs?;
        let can = self.ours.map_or(want, |(x, _)| x);
        (can != 0 && want != 0).then(|| can.max(want))
    }

    /// How often the peer said it will send heart-beats to us (`max(their x, our y)`),
    /// after which, with some margin, it may be taken as dead. `None` as above, or when
    /// our own frame was not seen.
    pub fn peer_heartbeat_ms(&self) -> Option<u64> {
        if !self.connected || self.version.as_deref() == Some("1.0") {
            return None;
        }
        let (x, _) = self.theirs?;
        let (_, y) = self.ours?;
        (x != 0 && y != 0).then(|| x.max(y))
    }

    /// Whether header escapes are decoded in this frame.
    fn escapes(&self, command: &str) -> bool {
        !unescaped_frame(command) && self.version.as_deref() != Some("1.0")
    }

    fn packet(&mut self, dir: Dir, frame: Frame<'_>) -> Packet {
        let Frame {
            command,
            headers,
            body,
            mut warnings,
        } = frame;
        let mut first = Map::new();
        let mut repeated = false;
        for (k, v) in &headers {
            if first.contains_key(k) {
                repeated = true;
            } else {
                first.insert(k.clone(), Value::String(v.clone()));
            }
        }
        let get = |k: &str| first.get(k).and_then(Value::as_str);
        if command == "CONNECT" || command == "STOMP" || command == "CONNECTED" {
            let hb = match get("heart-beat") {
                None => Some((0, 0)),
                Some(s) => parse_heart_beat(s),
            };
            if hb.is_none() {
                warnings.push(
                    "a heart-beat of two integers separated by a comma (taken as 0,0)".into(),
                );
            }
            let hb = hb.unwrap_or((0, 0));
            match dir {
                Dir::Out => self.ours = Some(hb),
                Dir::In => self.theirs = Some(hb),
            }
            if command == "CONNECTED" {
                self.connected = true;
                self.version = Some(get("version").unwrap_or("1.0").to_string());
            }
        }
        if !body.is_empty() && !matches!(command, "SEND" | "MESSAGE" | "ERROR") {
            warnings.push(format!(
                "no body in a {command} frame (only SEND, MESSAGE and ERROR have one)"
            ));
        }

        let mut summary = summary(command, &first, body);
        if let Some(w) = warnings.first() {
            summary.push_str(&format!(" [warning: {w}]"));
        }
        let mut p = Packet::new(command, summary).field("command", command);
        if repeated {
            let all: Vec<Value> = headers
                .iter()
                .map(|(k, v)| Value::from(vec![k.as_str(), v.as_str()]))
                .collect();
            p = p.field("headers_all", all);
        }
        p = p.field("headers", first);
        p = match std::str::from_utf8(body) {
            Ok(s) => p.field("body", s),
            Err(_) => p.field("body_hex", hex(body)),
        };
        if !warnings.is_empty() {
            p = p.field("warnings", warnings);
        }
        p
    }
}

impl super::Decoder for Decoder {
    fn decode(&mut self, dir: Dir, _kind: MsgType, payload: &[u8], _now_ms: f64) -> Vec<Packet> {
        let mut i = skip_eols(payload, 0);
        if i == payload.len() {
            return vec![if payload.is_empty() {
                Packet::broken("a STOMP frame or a heart-beat (EOL), got an empty message")
            } else {
                Packet::new("heartbeat", "heart-beat").heartbeat()
            }];
        }
        let mut out = Vec::new();
        while i < payload.len() {
            match parse_frame(&payload[i..], |c| self.escapes(c)) {
                Ok((frame, used)) => {
                    out.push(self.packet(dir, frame));
                    i += used;
                }
                Err((expected, skip)) => {
                    out.push(Packet::broken(expected));
                    i += skip;
                }
            }
            i = skip_eols(payload, i);
        }
        out
    }
}

/// A frame as parsed: header names and values unescaped.
struct Frame<'a> {
    command: &'static str,
    headers: Vec<(String, String)>,
    body: &'a [u8],
    warnings: Vec<String>,
}

/// Past the EOLs (LF, CRLF) at `i`.
fn skip_eols(p: &[u8], mut i: usize) -> usize {
    loop {
        match p.get(i..) {
            Some([b'\n', ..]) => i += 1,
            Some([b'\r', b'\n', ..]) => i += 2,
            _ => return i,
        }
    }
}

/// The line at the start of `p`, without its EOL, and where the next begins; `None` when
/// no LF comes before a NUL or the end.
fn line(p: &[u8]) -> Option<(&[u8], usize)> {
    let lf = p.iter().position(|&b| b == b'\n' || b == 0)?;
    if p[lf] == 0 {
        return None;
    }
    let l = &p[..lf];
    Some((l.strip_suffix(b"\r").unwrap_or(l), lf + 1))
}

/// Past the first NUL of `p`, or its end: where decoding goes on after a broken frame.
fn resync(p: &[u8], from: usize) -> usize {
    p.get(from..)
        .and_then(|r| r.iter().position(|&b| b == 0))
        .map_or(p.len(), |n| from + n + 1)
}

/// Text shown in a `broken` packet: quoted, short.
fn shown(b: &[u8]) -> String {
    short(&Value::String(String::from_utf8_lossy(b).into_owned()), 40)
}

/// One frame at the start of `p` (not at an EOL): the frame and the bytes it took, or
/// what was expected and how many bytes to skip.
fn parse_frame(
    p: &[u8],
    escapes: impl Fn(&str) -> bool,
) -> Result<(Frame<'_>, usize), (String, usize)> {
    let Some((cmd, mut pos)) = line(p) else {
        let what = if p.contains(&0) {
            "a command line ending in EOL before the NUL"
        } else {
            "a command line ending in EOL"
        };
        let cut = p
            .iter()
            .take(40)
            .position(|&b| b == 0)
            .unwrap_or(p.len().min(40));
        return Err((format!("{what}, got {}", shown(&p[..cut])), resync(p, 0)));
    };
    let Some(&command) = COMMANDS.iter().find(|c| c.as_bytes() == cmd) else {
        return Err((
            format!(
                "a STOMP command ({}), got {}",
                COMMANDS.join(", "),
                shown(cmd)
            ),
            resync(p, 0),
        ));
    };
    let escapes = escapes(command);
    let mut headers = Vec::new();
    let mut warnings = Vec::new();
    loop {
        let rest = &p[pos..];
        let Some((l, used)) = line(rest) else {
            if rest.first() == Some(&0) {
                // `DISCONNECT\nreceipt:77\n^@`, as the spec's own examples write it.
                warnings.push("a blank line after the headers, before the NUL".to_string());
                let frame = Frame {
                    command,
                    headers,
                    body: &[],
                    warnings,
                };
                return Ok((frame, pos + 1));
            }
            let expected = if rest.is_empty() {
                format!("a blank line after the headers of {command}, the body and a NUL")
            } else if rest.contains(&0) {
                format!("a header line ending in EOL before the NUL in {command}")
            } else {
                format!(
                    "a header line ending in EOL in {command}, got {}",
                    shown(&rest[..rest.len().min(40)])
                )
            };
            return Err((expected, resync(p, pos)));
        };
        pos += used;
        if l.is_empty() {
            break;
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            return Err((
                format!("a header line name:value in {command}, got {}", shown(l)),
                resync(p, pos),
            ));
        };
        let (name, value) = (
            String::from_utf8_lossy(&l[..colon]),
            String::from_utf8_lossy(&l[colon + 1..]),
        );
        let (name, value) = if escapes {
            let n = unescape(&name).unwrap_or_else(|bad| {
                warnings.push(bad_escape(&bad, &name));
                name.to_string()
            });
            let v = unescape(&value).unwrap_or_else(|bad| {
                warnings.push(bad_escape(&bad, &name));
                value.to_string()
            });
            (n, v)
        } else {
            (name.into_owned(), value.into_owned())
        };
        headers.push((name, value));
    }
    let body_at = pos;
    let length = headers.iter().find(|(k, _)| k == "content-length");
    let end = match length {
        Some((_, v)) => {
            let Ok(n) = v.parse::<usize>() else {
                return Err((
                    format!(
                        "a content-length of digits in {command}, got {}",
                        shown(v.as_bytes())
                    ),
                    resync(p, body_at),
                ));
            };
            let end = body_at.saturating_add(n);
            if p.get(end) != Some(&0) {
                let got = match p[body_at..].iter().position(|&b| b == 0) {
                    Some(at) => format!("the body ends at a NUL after {at} bytes"),
                    None => format!("{} bytes and no NUL", p.len() - body_at),
                };
                return Err((
                    format!("a NUL after the {n} body bytes content-length gives in {command}, got {got}"),
                    resync(p, body_at),
                ));
            }
            end
        }
        None => match p[body_at..].iter().position(|&b| b == 0) {
            Some(n) => body_at + n,
            None => return Err((format!("a NUL ending the {command} frame"), p.len())),
        },
    };
    let frame = Frame {
        command,
        headers,
        body: &p[body_at..end],
        warnings,
    };
    Ok((frame, end + 1))
}

fn bad_escape(seq: &str, header: &str) -> String {
    format!(
        "an escape of \\r \\n \\c or \\\\ in header {}, got {} (a fatal error in STOMP 1.2)",
        shown(header.as_bytes()),
        shown(seq.as_bytes())
    )
}

/// A header name or value with 1.2's escapes decoded; the undefined sequence if any.
fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some(o) => return Err(format!("\\{o}")),
            None => return Err("\\".to_string()),
        }
    }
    Ok(out)
}

/// The reverse of [`unescape`], as 1.2 wants it for every frame but `CONNECT`,
/// `STOMP` and `CONNECTED`.
fn escape(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b':' => out.extend_from_slice(b"\\c"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
}

/// `heart-beat:x,y`.
fn parse_heart_beat(s: &str) -> Option<(u64, u64)> {
    let (x, y) = s.split_once(',')?;
    Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[usize::from(x >> 4)] as char);
        s.push(D[usize::from(x & 15)] as char);
    }
    s
}

/// `SEND /queue/a (13 bytes) "hello queue a"`, `CONNECTED version=1.2
/// heart-beat=10000,10000`, `MESSAGE /topic/x id=3 sub=0 (2 bytes) "hi"`.
fn summary(command: &str, h: &Map<String, Value>, body: &[u8]) -> String {
    let mut s = command.to_string();
    // ` label=value` (` value` with no label) when the header is there.
    let mut add = |label: &str, key: &str| {
        if let Some(v) = h.get(key) {
            s.push(' ');
            if !label.is_empty() {
                s.push_str(label);
                s.push('=');
            }
            match (key, v.as_str()) {
                ("message", _) | (_, None) => s.push_str(&short(v, 60)),
                (_, Some(v)) => s.push_str(v),
            }
        }
    };
    let keys: &[(&str, &str)] = match command {
        "CONNECT" | "STOMP" => &[
            ("accept-version", "accept-version"),
            ("host", "host"),
            ("login", "login"),
            ("heart-beat", "heart-beat"),
        ],
        "CONNECTED" => &[
            ("version", "version"),
            ("heart-beat", "heart-beat"),
            ("session", "session"),
            ("server", "server"),
        ],
        "SEND" => &[("", "destination"), ("transaction", "transaction")],
        "SUBSCRIBE" => &[("", "destination"), ("id", "id"), ("ack", "ack")],
        "UNSUBSCRIBE" => &[("id", "id")],
        "ACK" | "NACK" => &[
            ("id", "id"),
            ("message-id", "message-id"),
            ("subscription", "subscription"),
            ("transaction", "transaction"),
        ],
        "BEGIN" | "COMMIT" | "ABORT" => &[("transaction", "transaction")],
        "MESSAGE" => &[
            ("", "destination"),
            ("id", "message-id"),
            ("sub", "subscription"),
        ],
        "RECEIPT" => &[("receipt-id", "receipt-id")],
        "ERROR" => &[("receipt-id", "receipt-id"), ("message", "message")],
        _ => &[],
    };
    for (label, key) in keys {
        add(label, key);
    }
    if command != "RECEIPT" && command != "ERROR" {
        add("receipt", "receipt");
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(t) => s.push_str(&format!(
                " ({} bytes) {}",
                body.len(),
                short(&Value::String(t.to_string()), 60)
            )),
            Err(_) => s.push_str(&format!(" ({} bytes, binary)", body.len())),
        }
    }
    s
}

/// A frame to send (`/stomp`): `command` as given, the headers in order (escaped as 1.2
/// wants, but in `CONNECT`, `STOMP` and `CONNECTED`, which are sent as they are), a
/// `content-length` added when the body holds a NUL and none was given, then the body
/// and the NUL.
pub fn encode(command: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let raw = unescaped_frame(command);
    let mut out = Vec::with_capacity(command.len() + body.len() + 64);
    out.extend_from_slice(command.as_bytes());
    out.push(b'\n');
    for (k, v) in headers {
        if raw {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
        } else {
            escape(k, &mut out);
            out.push(b':');
            escape(v, &mut out);
        }
        out.push(b'\n');
    }
    if body.contains(&0) && !headers.iter().any(|(k, _)| k == "content-length") {
        out.extend_from_slice(format!("content-length:{}\n", body.len()).as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::super::Decoder as _;
    use super::*;
    use serde_json::json;

    fn one(d: &mut Decoder, dir: Dir, p: &[u8]) -> Packet {
        let mut v = d.decode(dir, MsgType::Text, p, 0.0);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    /// The spec's frames use `^@` for the NUL.
    fn spec(s: &str) -> Vec<u8> {
        s.replace("^@", "\0").into_bytes()
    }

    fn headers(p: &Packet) -> &Map<String, Value> {
        p.fields["headers"].as_object().unwrap()
    }

    #[test]
    fn the_spec_frames() {
        let mut d = Decoder::default();
        let p = one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n^@"),
        );
        assert_eq!(p.kind, "CONNECT");
        assert_eq!(
            p.fields["headers"],
            json!({"accept-version": "1.2", "host": "stomp.github.org"})
        );
        assert_eq!(p.fields["body"], "");
        assert_eq!(
            p.summary,
            "CONNECT accept-version=1.2 host=stomp.github.org"
        );
        assert!(!p.fields.contains_key("headers_all"));
        assert!(!p.fields.contains_key("warnings"));

        let p = one(&mut d, Dir::In, &spec("CONNECTED\nversion:1.2\n\n^@"));
        assert_eq!(p.summary, "CONNECTED version=1.2");
        assert_eq!(d.version(), Some("1.2"));
        assert_eq!(d.heartbeat_interval_ms(), None);

        let mut d = Decoder::default();
        let p = one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n^@"),
        );
        assert_eq!(headers(&p)["accept-version"], "1.0,1.1,2.0");
        one(&mut d, Dir::In, &spec("CONNECTED\nversion:1.1\n\n^@"));
        assert_eq!(d.version(), Some("1.1"));

        let p = one(
            &mut d,
            Dir::In,
            &spec(
                "ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1^@",
            ),
        );
        assert_eq!(p.kind, "ERROR");
        assert_eq!(p.fields["body"], "Supported protocol versions are 1.2 2.1");
        assert_eq!(
            p.summary,
            "ERROR (39 bytes) \"Supported protocol versions are 1.2 2.1\""
        );

        let frames: &[(&str, &str, &str)] = &[
            (
                "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n^@",
                "SEND",
                "SEND /queue/a (14 bytes) \"hello queue a\\n\"",
            ),
            (
                "SEND\ndestination:/queue/a\ntransaction:tx1\ncontent-type:text/plain\n\nhello queue a\n^@",
                "SEND",
                "SEND /queue/a transaction=tx1 (14 bytes) \"hello queue a\\n\"",
            ),
            (
                "SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n^@",
                "SUBSCRIBE",
                "SUBSCRIBE /queue/foo id=0 ack=client",
            ),
            ("UNSUBSCRIBE\nid:0\n\n^@", "UNSUBSCRIBE", "UNSUBSCRIBE id=0"),
            (
                "ACK\nid:12345\ntransaction:tx1\n\n^@",
                "ACK",
                "ACK id=12345 transaction=tx1",
            ),
            (
                "NACK\nid:12345\ntransaction:tx1\n\n^@",
                "NACK",
                "NACK id=12345 transaction=tx1",
            ),
            ("BEGIN\ntransaction:tx1\n\n^@", "BEGIN", "BEGIN transaction=tx1"),
            ("COMMIT\ntransaction:tx1\n\n^@", "COMMIT", "COMMIT transaction=tx1"),
            ("ABORT\ntransaction:tx1\n\n^@", "ABORT", "ABORT transaction=tx1"),
            (
                "MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a^@",
                "MESSAGE",
                "MESSAGE /queue/a id=007 sub=0 (13 bytes) \"hello queue a\"",
            ),
            (
                "RECEIPT\nreceipt-id:message-12345\n\n^@",
                "RECEIPT",
                "RECEIPT receipt-id=message-12345",
            ),
        ];
        for (frame, kind, summary) in frames {
            let p = one(&mut d, Dir::In, &spec(frame));
            assert_eq!(p.kind, *kind, "{frame}");
            assert_eq!(p.summary, *summary, "{frame}");
            assert_eq!(p.fields["command"], *kind);
            assert!(!p.fields.contains_key("warnings"), "{p:?}");
        }
    }

    #[test]
    fn the_spec_disconnect_and_receipt_have_no_blank_line() {
        // The spec writes `DISCONNECT\nreceipt:77\n^@`: decoded, with a warning.
        let mut d = Decoder::default();
        for (frame, summary) in [
            ("DISCONNECT\nreceipt:77\n^@", "DISCONNECT receipt=77"),
            ("RECEIPT\nreceipt-id:77\n^@", "RECEIPT receipt-id=77"),
        ] {
            let p = one(&mut d, Dir::Out, &spec(frame));
            assert!(p.summary.starts_with(summary), "{}", p.summary);
            assert_eq!(
                p.fields["warnings"],
                json!(["a blank line after the headers, before the NUL"])
            );
        }
    }

    #[test]
    fn the_spec_error_frame_and_its_content_length() {
        let body = "The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n";
        assert_eq!(body.len(), 170);
        let frame = |n: usize| {
            spec(&format!("ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:{n}\nmessage: malformed frame received\n\n{body}^@"))
        };
        let mut d = Decoder::default();
        let p = one(&mut d, Dir::In, &frame(170));
        assert_eq!(p.kind, "ERROR");
        assert_eq!(p.fields["body"], body);
        // Not trimmed (1.2: "never trim or pad headers with spaces").
        assert_eq!(headers(&p)["message"], " malformed frame received");
        assert!(
            p.summary.starts_with(
                "ERROR receipt-id=message-12345 message=\" malformed frame received\" (170 bytes) \"The message:\\n"
            ),
            "{}",
            p.summary
        );
        // The spec's current text says 171, one more than its body: the byte after 171
        // is not a NUL.
        let p = one(&mut d, Dir::In, &frame(171));
        assert_eq!(p.kind, "broken");
        assert_eq!(
            p.fields["expected"],
            "a NUL after the 171 body bytes content-length gives in ERROR, got the body ends at a NUL after 170 bytes"
        );
    }

    #[test]
    fn repeated_headers_first_wins() {
        let mut d = Decoder::default();
        let p = one(
            &mut d,
            Dir::In,
            &spec("MESSAGE\nfoo:World\nfoo:Hello\n\n^@"),
        );
        assert_eq!(headers(&p)["foo"], "World");
        assert_eq!(
            p.fields["headers_all"],
            json!([["foo", "World"], ["foo", "Hello"]])
        );
    }

    #[test]
    fn heart_beats_negotiated_and_sent() {
        // We are the client: CONNECT cx,cy out, CONNECTED sx,sy in.
        let mut d = Decoder::default();
        one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:5000,0\n\n^@"),
        );
        assert_eq!(d.heartbeat_interval_ms(), None, "not before CONNECTED");
        let p = one(
            &mut d,
            Dir::In,
            &spec("CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n^@"),
        );
        assert_eq!(p.summary, "CONNECTED version=1.2 heart-beat=10000,10000");
        assert_eq!(d.heartbeat_interval_ms(), Some(10000));
        assert_eq!(d.peer_heartbeat_ms(), None, "we asked for none (cy = 0)");

        let mut d = Decoder::default();
        one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\nheart-beat:20000,1000\n\n^@"),
        );
        one(
            &mut d,
            Dir::In,
            &spec("CONNECTED\nversion:1.1\nheart-beat:4000,7000\n\n^@"),
        );
        assert_eq!(d.heartbeat_interval_ms(), Some(20000));
        assert_eq!(d.peer_heartbeat_ms(), Some(4000));

        // The client cannot send (cx = 0), or the server wants none (sy = 0).
        for (c, s) in [("0,0", "10000,10000"), ("1000,1000", "1000,0")] {
            let mut d = Decoder::default();
            one(
                &mut d,
                Dir::Out,
                &spec(&format!("CONNECT\nheart-beat:{c}\n\n^@")),
            );
            one(
                &mut d,
                Dir::In,
                &spec(&format!("CONNECTED\nversion:1.2\nheart-beat:{s}\n\n^@")),
            );
            assert_eq!(d.heartbeat_interval_ms(), None, "{c} {s}");
        }

        // We are the server (listen): CONNECT in, CONNECTED out.
        let mut d = Decoder::default();
        one(&mut d, Dir::In, &spec("STOMP\nheart-beat:0,3000\n\n^@"));
        one(
            &mut d,
            Dir::Out,
            &spec("CONNECTED\nversion:1.2\nheart-beat:2000,0\n\n^@"),
        );
        assert_eq!(d.heartbeat_interval_ms(), Some(3000));

        // Our CONNECT not seen: what the server asks.
        let mut d = Decoder::default();
        one(
            &mut d,
            Dir::In,
            &spec("CONNECTED\nversion:1.2\nheart-beat:0,8000\n\n^@"),
        );
        assert_eq!(d.heartbeat_interval_ms(), Some(8000));

        // 1.0 (CONNECTED names no version): no heart-beating.
        let mut d = Decoder::default();
        one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\nheart-beat:1000,1000\n\n^@"),
        );
        one(
            &mut d,
            Dir::In,
            &spec("CONNECTED\nheart-beat:1000,1000\n\n^@"),
        );
        assert_eq!(d.version(), Some("1.0"));
        assert_eq!(d.heartbeat_interval_ms(), None);

        // A heart-beat message, LF or CRLF, several EOLs.
        for hb in [&b"\n"[..], b"\r\n", b"\n\n\r\n"] {
            let p = one(&mut d, Dir::In, hb);
            assert_eq!(p.kind, "heartbeat");
            assert!(p.heartbeat);
        }
        assert_eq!(HEARTBEAT, b"\n");
        assert_eq!(d.keepalive(MsgType::Text, b"\n"), None);

        // A bad heart-beat header.
        let p = one(
            &mut d,
            Dir::In,
            &spec("CONNECTED\nversion:1.2\nheart-beat:soon\n\n^@"),
        );
        assert!(p.fields["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("a heart-beat of two integers"));
    }

    #[test]
    fn several_frames_crlf_and_trailing_eols() {
        let mut d = Decoder::default();
        let msg = spec("\nMESSAGE\r\ndestination:/a\r\nmessage-id:1\r\nsubscription:s\r\n\r\nx^@\r\n\nRECEIPT\nreceipt-id:9\n\n^@\n\n");
        let v = d.decode(Dir::In, MsgType::Binary, &msg, 0.0);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].summary, "MESSAGE /a id=1 sub=s (1 bytes) \"x\"");
        assert_eq!(v[1].summary, "RECEIPT receipt-id=9");
    }

    #[test]
    fn escapes_decoded_but_in_connect_and_connected_and_1_0() {
        let mut d = Decoder::default();
        let p = one(
            &mut d,
            Dir::In,
            &spec("MESSAGE\na\\cb:c\\\\d\\ne\\rf\ndestination:/q\n\n^@"),
        );
        assert_eq!(headers(&p)["a:b"], "c\\d\ne\rf");
        let p = one(
            &mut d,
            Dir::Out,
            &spec("CONNECT\nlogin:a\\cb\npasscode:x:y\n\n^@"),
        );
        assert_eq!(headers(&p)["login"], "a\\cb");
        assert_eq!(headers(&p)["passcode"], "x:y");
        // An undefined escape: kept, with a warning.
        let p = one(&mut d, Dir::In, &spec("MESSAGE\nx:a\\tb\n\n^@"));
        assert_eq!(headers(&p)["x"], "a\\tb");
        assert!(p.fields["warnings"][0]
            .as_str()
            .unwrap()
            .contains("\"\\\\t\""));
        assert!(p.summary.contains("[warning: "));
        // After a 1.0 CONNECTED: none decoded.
        one(&mut d, Dir::In, &spec("CONNECTED\n\n^@"));
        let p = one(&mut d, Dir::In, &spec("MESSAGE\nx:a\\nb\n\n^@"));
        assert_eq!(headers(&p)["x"], "a\\nb");
    }

    #[test]
    fn bodies_binary_and_with_nul() {
        let mut d = Decoder::default();
        let body = b"\x00\xff\x01bin";
        let msg = encode("SEND", &[("destination".into(), "/q".into())], body);
        assert!(msg.starts_with(b"SEND\ndestination:/q\ncontent-length:6\n\n"));
        let p = one(&mut d, Dir::Out, &msg);
        assert_eq!(p.fields["body_hex"], "00ff0162696e");
        assert!(!p.fields.contains_key("body"));
        assert_eq!(p.summary, "SEND /q (6 bytes, binary)");
        // A body in a frame that may have none: a warning.
        let p = one(
            &mut d,
            Dir::Out,
            &spec("SUBSCRIBE\nid:1\ndestination:/q\n\nhi^@"),
        );
        assert!(p.fields["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("no body in a SUBSCRIBE frame"));
    }

    #[test]
    fn encode_round_trips() {
        let mut d = Decoder::default();
        let h = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let connect = encode(
            "CONNECT",
            &h(&[
                ("accept-version", "1.2"),
                ("host", "h"),
                ("passcode", "a:b\\c"),
            ]),
            b"",
        );
        assert_eq!(
            connect,
            b"CONNECT\naccept-version:1.2\nhost:h\npasscode:a:b\\c\n\n\0"
        );
        let p = one(&mut d, Dir::Out, &connect);
        assert_eq!(headers(&p)["passcode"], "a:b\\c");

        let hs = h(&[
            ("destination", "/queue/a:b"),
            ("weird\nname", "line1\nline2\r\\end"),
            ("content-type", "text/plain"),
        ]);
        for body in [&b""[..], b"hello", b"with\0nul\0", "ünï".as_bytes()] {
            let msg = encode("SEND", &hs, body);
            let p = one(&mut d, Dir::Out, &msg);
            assert_eq!(p.kind, "SEND");
            let hd = headers(&p);
            assert_eq!(hd["destination"], "/queue/a:b");
            assert_eq!(hd["weird\nname"], "line1\nline2\r\\end");
            match std::str::from_utf8(body) {
                Ok(s) => assert_eq!(p.fields["body"], s),
                Err(_) => assert_eq!(p.fields["body_hex"], hex(body)),
            }
            assert!(!p.fields.contains_key("warnings"), "{p:?}");
        }
        // A content-length given is kept, even when it is wrong.
        let msg = encode("SEND", &h(&[("content-length", "1")]), b"a\0b");
        assert_eq!(msg, b"SEND\ncontent-length:1\n\na\0b\0");
        // Two encoded frames in one message.
        let mut two = encode("BEGIN", &h(&[("transaction", "t")]), b"");
        two.extend(encode("COMMIT", &h(&[("transaction", "t")]), b""));
        let v = d.decode(Dir::Out, MsgType::Text, &two, 0.0);
        assert_eq!(
            v.iter().map(|p| p.summary.as_str()).collect::<Vec<_>>(),
            ["BEGIN transaction=t", "COMMIT transaction=t"]
        );
    }

    #[test]
    fn broken_frames_say_what_was_expected_and_decoding_goes_on() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "a STOMP frame or a heart-beat (EOL), got an empty message"),
            (b"SEND", "a command line ending in EOL, got \"SEND\""),
            (b"SEND\0", "a command line ending in EOL before the NUL, got \"SEND\""),
            (b"FOO\n\n\0", "a STOMP command (CONNECT, STOMP, CONNECTED, SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT, DISCONNECT, MESSAGE, RECEIPT, ERROR), got \"FOO\""),
            (b"send\n\n\0", "a STOMP command (CONNECT, STOMP, CONNECTED, SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT, DISCONNECT, MESSAGE, RECEIPT, ERROR), got \"send\""),
            (b"SEND\ndestination /q\n\nx\0", "a header line name:value in SEND, got \"destination /q\""),
            (b"SEND\ndestination:/q\n\nbody", "a NUL ending the SEND frame"),
            (b"SEND\ndestination:/q\n", "a blank line after the headers of SEND, the body and a NUL"),
            (b"SEND\ndestination:/q", "a header line ending in EOL in SEND, got \"destination:/q\""),
            (b"SEND\ndest\0", "a header line ending in EOL before the NUL in SEND"),
            (b"SEND\ncontent-length:x\n\nab\0", "a content-length of digits in SEND, got \"x\""),
            (b"SEND\ncontent-length:10\n\nab\0", "a NUL after the 10 body bytes content-length gives in SEND, got the body ends at a NUL after 2 bytes"),
            (b"SEND\ncontent-length:2\n\nabc", "a NUL after the 2 body bytes content-length gives in SEND, got 3 bytes and no NUL"),
            (b"SEND\ncontent-length:99999999999999999999999\n\nab\0", "a content-length of digits in SEND, got \"99999999999999999999999\""),
            (b"SEND\ncontent-length:18446744073709551615\n\nab\0", "a NUL after the 18446744073709551615 body bytes content-length gives in SEND, got the body ends at a NUL after 2 bytes"),
        ];
        for (msg, expected) in cases {
            let mut d = Decoder::default();
            let p = one(&mut d, Dir::In, msg);
            assert_eq!(p.kind, "broken", "{msg:?}");
            assert_eq!(p.fields["expected"], *expected, "{msg:?}");
            assert_eq!(p.summary, format!("broken: expected {expected}"));
        }
        // A broken frame, then a good one in the same message.
        let mut d = Decoder::default();
        let v = d.decode(
            Dir::In,
            MsgType::Text,
            b"FOO\n\njunk\0\nRECEIPT\nreceipt-id:1\n\n\0",
            0.0,
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].kind, "broken");
        assert_eq!(v[1].summary, "RECEIPT receipt-id=1");
    }

    /// xorshift64: random bytes without a crate.
    use crate::proto::testing::{message, Rng};

    #[test]
    fn random_bytes_and_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            spec("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:10,10\n\n^@"),
            spec("CONNECTED\nversion:1.2\nheart-beat:10,10\n\n^@"),
            spec("MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a^@\n"),
            spec("SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c^@"),
            spec("ERROR\nmessage:x\\c\\n\n\nbad^@\r\nRECEIPT\r\nreceipt-id:1\r\n\r\n^@"),
            b"\n".to_vec(),
        ];
        let alphabet = b"\0\n\r:\\SENDCONT-ecn0123456789";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut d = Decoder::default();
        for i in 0..20_000 {
            let msg = message(&mut rng, i, alphabet, &seeds);
            let dir = if rng.below(2) == 0 { Dir::In } else { Dir::Out };
            let v = d.decode(dir, MsgType::Binary, &msg, 0.0);
            // At most one packet per byte (every packet takes at least one), none kept.
            assert!(!v.is_empty() && v.len() <= msg.len().max(1), "{msg:?}");
            let _ = d.heartbeat_interval_ms();
            // The only state kept: a version string, out of a message of < 200 bytes.
            assert!(d.version.as_ref().map_or(0, String::len) < 200);
        }
    }
}
