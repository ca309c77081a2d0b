//! The human format. One line per frame and per session event, each starting with a
//! two-character marker and the time since start:
//!
//! ```text
//! >>   0.004s TEXT   fin=1 rsv=000 mask=1 key=1a2b3c4d len=5 "hello"     a frame we sent
//! <<   0.005s TEXT   fin=1 rsv=000 mask=0 len=5 "hello"                  a frame we received
//! ==   0.009s message text 3 frames len=11 "hello world"                 a reassembled message
//! --   0.010s pong rtt=1.234ms                                           a session event
//! ```
//!
//! In `listen`, `[#N]` after the time names the client. A single-frame message is not
//! repeated (its frame line showed it); a fragmented one gets an `==` line after its
//! last fragment. Peer-controlled text is always escaped, so a payload cannot drive the
//! terminal. Errors and warnings go to `err` as `wsdbg: error: ...` / `wsdbg: warning: ...`.

use std::io::{self, Write};

use colored::Color;

use super::esc::{self, Esc, Paint, Style};
use super::Printer;
use crate::error::{Error, Kind};
use crate::event::{
    close_code_name, close_parts, CloseFrame, Ctx, Dir, Event, FrameEv, Handshake, Info, Initiator,
    Leg, MsgType, OpCode, Stamp,
};

/// Text payloads longer than this many bytes are cut (at a char boundary), unless
/// `--full` or `--max-payload` say otherwise (`Opts::text_max`).
pub const TEXT_MAX: usize = 256;
/// Binary payloads longer than this many bytes are cut (`Opts::hex_max`).
pub const HEX_MAX: usize = 64;

pub(super) fn emit<W: Write, E: Write>(
    p: &mut Printer<W, E>,
    ctx: &Ctx,
    ev: &Event<'_>,
    decoded: Option<(&crate::proto::Decoded, bool)>,
) -> io::Result<()> {
    let paint = Paint(p.opts.color);
    let cut = Cut {
        text: p.opts.text_max,
        hex: p.opts.hex_max,
    };
    let buf = &mut p.line;
    buf.clear();
    let to_err = match *ev {
        Event::Connecting { url } => {
            if !p.opts.verbose {
                return Ok(());
            }
            stamp(buf, paint, Mark::Event, ctx);
            buf.extend_from_slice(b"connecting to ");
            buf.extend_from_slice(url.as_bytes());
            buf.push(b'\n');
            true
        }
        Event::Handshake(h) => {
            handshake(buf, paint, ctx, h, p.opts.verbose);
            false
        }
        Event::Redirect { hop, to, refusal } => {
            redirect(buf, paint, ctx, hop, to, refusal, p.opts.verbose);
            true
        }
        Event::Frame(f) => {
            let text = p.frag.is_text(ctx, &f);
            frame(buf, paint, cut, ctx, &f, text);
            if cut.text == usize::MAX && f.fin && f.opcode == OpCode::Text && !f.rsv[0] {
                indented_json(buf, paint, f.payload);
            }
            if let Some((d, true)) = decoded {
                packets(buf, paint, d);
            }
            false
        }
        Event::Message {
            dir: _,
            kind,
            payload,
            frames,
            wire,
        } => {
            // A single uncompressed frame showed the message already (and its
            // packets, when they were decoded then).
            if frames <= 1 && wire.is_none() {
                match decoded {
                    Some((d, false)) => {
                        packets(buf, paint, d);
                        return p.out.write_all(&p.line);
                    }
                    _ => return Ok(()),
                }
            }
            stamp(buf, paint, Mark::Message, ctx);
            let _ = write!(buf, "message {} ", kind.as_str());
            if frames > 1 {
                let _ = write!(buf, "{frames} frames ");
            }
            buf.extend_from_slice(b"len=");
            esc::num(buf, payload.len() as u64);
            if let Some(w) = wire {
                // permessage-deflate: what crossed the wire, and the ratio.
                buf.extend_from_slice(b" deflated=");
                esc::num(buf, w);
                let pct = if payload.is_empty() {
                    100.0
                } else {
                    w as f64 * 100.0 / payload.len() as f64
                };
                let _ = write!(buf, " ({pct:.1}%)");
            }
            buf.push(b' ');
            show_payload(buf, paint, cut, payload, kind == MsgType::Text);
            buf.push(b'\n');
            if cut.text == usize::MAX && kind == MsgType::Text {
                indented_json(buf, paint, payload);
            }
            if let Some((d, false)) = decoded {
                packets(buf, paint, d);
            }
            false
        }
        Event::Pong { rtt, .. } => {
            stamp(buf, paint, Mark::Event, ctx);
            buf.extend_from_slice(b"pong rtt=");
            esc::ms(buf, rtt);
            buf.push(b'\n');
            false
        }
        Event::Close {
            sent,
            received,
            initiator,
            clean,
            reply_after,
        } => {
            close(
                buf,
                paint,
                ctx,
                sent,
                received,
                initiator,
                clean,
                reply_after,
            );
            false
        }
        Event::Disconnected { code, reason } => {
            p.frag.forget(ctx.client);
            stamp(buf, paint, Mark::Event, ctx);
            buf.extend_from_slice(b"disconnected: ");
            code_name(buf, paint, code);
            if !reason.is_empty() {
                buf.push(b' ');
                esc::escape(buf, reason, Esc::Bare);
            }
            buf.push(b'\n');
            false
        }
        Event::Reconnect { attempt, delay_ms } => {
            stamp(buf, paint, Mark::Event, ctx);
            let _ = writeln!(buf, "reconnecting (attempt {attempt}) in {delay_ms}ms");
            false
        }
        Event::Error(e) => {
            error(buf, paint, ctx, e, true, p.opts.verbose);
            true
        }
        Event::Warning(msg) => {
            warning(buf, paint, ctx, msg);
            true
        }
        Event::Expect {
            what,
            ok,
            got,
            diff,
        } => {
            expect(buf, paint, ctx, what, ok, got, diff);
            !ok
        }
        Event::Check(r) => {
            check(buf, paint, r);
            false
        }
        Event::Notice(text) => {
            notice(buf, text);
            false
        }
        Event::Clients(rows) => {
            clients(buf, rows);
            false
        }
        Event::Summary(t) => {
            summary(buf, t);
            false
        }
        Event::Info(info) => {
            self::info(buf, info);
            false
        }
        Event::Listening { addr, tls } => {
            listening(buf, addr, tls);
            false
        }
        Event::Client {
            peer,
            connected,
            request,
            protocol,
        } => {
            if !connected {
                p.frag.forget(ctx.client);
            }
            let no_client = Ctx {
                client: None,
                ..*ctx
            };
            stamp(buf, paint, Mark::Event, &no_client);
            buf.extend_from_slice(b"client ");
            if let Some(n) = ctx.client {
                buf.push(b'#');
                esc::num(buf, n);
                buf.push(b' ');
            }
            if connected {
                buf.extend_from_slice(b"connected from ");
            } else {
                buf.extend_from_slice(b"left (");
            }
            esc::escape(buf, peer, Esc::Bare);
            if !connected {
                buf.push(b')');
            }
            if let Some(q) = request {
                buf.extend_from_slice(b": ");
                esc::escape(buf, &q.method, Esc::Bare);
                buf.push(b' ');
                esc::escape(buf, &q.path, Esc::Bare);
            }
            if let Some(proto) = protocol {
                buf.extend_from_slice(b", protocol=");
                esc::escape(buf, proto, Esc::Bare);
            }
            buf.push(b'\n');
            if let (Some(q), true) = (request, p.opts.verbose) {
                let _ = writeln!(buf, "> {} {} HTTP/1.1", q.method, q.path);
                headers(buf, b"> ", &q.headers);
                buf.extend_from_slice(b">\n");
            }
            false
        }
    };
    if to_err {
        super::to_err(&mut p.out, &mut p.err, &p.line)
    } else {
        p.out.write_all(&p.line)
    }
}

#[derive(Clone, Copy)]
enum Mark {
    Out,
    In,
    Message,
    Event,
}

/// `>>   0.004s [#1] `
fn stamp(buf: &mut Vec<u8>, paint: Paint, mark: Mark, ctx: &Ctx) {
    let (text, style): (&[u8], _) = match mark {
        Mark::Out => (b">>", Style::BoldFg(Color::Cyan)),
        Mark::In => (b"<<", Style::BoldFg(Color::Green)),
        Mark::Message => (b"==", Style::BoldFg(Color::Magenta)),
        Mark::Event => (b"--", Style::Dim),
    };
    paint.put(buf, style, text);
    buf.push(b' ');
    match ctx.stamp {
        Stamp::Relative => {
            paint.on(buf, Style::Dim);
            esc::secs(buf, ctx.t);
            paint.off(buf);
            buf.push(b' ');
        }
        Stamp::Wall(at) => {
            paint.on(buf, Style::Dim);
            esc::rfc3339(buf, at);
            paint.off(buf);
            buf.push(b' ');
        }
        Stamp::None => {}
    }
    if let Some(n) = ctx.client {
        client_tag(buf, n, ctx.leg);
        buf.push(b' ');
    }
}

/// `[#N]`; in `relay`, `[#N client]` or `[#N server]`: the leg.
fn client_tag(buf: &mut Vec<u8>, n: u64, leg: Option<Leg>) {
    buf.extend_from_slice(b"[#");
    esc::num(buf, n);
    if let Some(leg) = leg {
        buf.push(b' ');
        buf.extend_from_slice(leg.as_str().as_bytes());
    }
    buf.push(b']');
}

/// The closing handshake in one line, the initiator's frame first:
/// `closing handshake: initiated by local; sent 1005 (No Status Received); received
/// 1002 (Protocol Error) "invalid status code"; clean, reply after 1.234ms`.
#[allow(clippy::too_many_arguments)]
fn close(
    buf: &mut Vec<u8>,
    paint: Paint,
    ctx: &Ctx,
    sent: Option<CloseFrame<'_>>,
    received: Option<CloseFrame<'_>>,
    initiator: Initiator,
    clean: bool,
    reply_after: Option<std::time::Duration>,
) {
    stamp(buf, paint, Mark::Event, ctx);
    buf.extend_from_slice(b"closing handshake: initiated by ");
    let sides: [(&[u8], Option<CloseFrame<'_>>); 2] = match initiator {
        Initiator::Local => {
            buf.extend_from_slice(b"local");
            [(b"sent", sent), (b"received", received)]
        }
        Initiator::Remote => {
            buf.extend_from_slice(b"remote");
            [(b"received", received), (b"sent", sent)]
        }
    };
    for (word, frame) in sides {
        buf.extend_from_slice(b"; ");
        buf.extend_from_slice(word);
        match frame {
            None => buf.extend_from_slice(b" nothing"),
            Some(CloseFrame { code: None, .. }) => buf.extend_from_slice(b" no code"),
            Some(CloseFrame {
                code: Some(c),
                reason,
            }) => {
                buf.push(b' ');
                code_name(buf, paint, c);
                if !reason.is_empty() {
                    buf.extend_from_slice(b" \"");
                    esc::escape(buf, reason, Esc::Quoted);
                    buf.push(b'"');
                }
            }
        }
    }
    if clean {
        paint.put(buf, Style::Fg(Color::Green), b"; clean");
    } else {
        paint.put(buf, Style::Fg(Color::Red), b"; not clean");
    }
    match reply_after {
        Some(d) => {
            buf.extend_from_slice(b", reply after ");
            esc::ms(buf, d);
        }
        None if !clean => buf.extend_from_slice(b", no reply"),
        None => {}
    }
    buf.push(b'\n');
}

/// `1000 (Normal Closure)`
fn code_name(buf: &mut Vec<u8>, paint: Paint, code: u16) {
    paint.on(buf, Style::Fg(Color::Yellow));
    esc::num(buf, code as u64);
    paint.off(buf);
    buf.extend_from_slice(b" (");
    buf.extend_from_slice(close_code_name(code).as_bytes());
    buf.push(b')');
}

/// Data messages in progress, by client and direction: is it text? A continuation
/// frame is shown as text (when valid UTF-8) or hex following its message's first frame.
#[derive(Default)]
pub(super) struct Fragments(Vec<(Option<u64>, Option<Leg>, Dir, bool)>);

impl Fragments {
    /// Whether the payload of `f` is text, as far as we know.
    fn is_text(&mut self, ctx: &Ctx, f: &FrameEv<'_>) -> bool {
        let at = self
            .0
            .iter()
            .position(|&(c, l, d, _)| c == ctx.client && l == ctx.leg && d == f.dir);
        match f.opcode {
            OpCode::Text | OpCode::Binary => {
                let text = f.opcode == OpCode::Text;
                match (at, f.fin) {
                    (Some(i), false) => self.0[i].3 = text,
                    (Some(i), true) => {
                        self.0.swap_remove(i);
                    }
                    (None, false) => self.0.push((ctx.client, ctx.leg, f.dir, text)),
                    (None, true) => {}
                }
                text
            }
            OpCode::Continue => {
                // A continuation with no start seen: text when it is valid UTF-8.
                let text = at.is_none_or(|i| self.0[i].3);
                if let (Some(i), true) = (at, f.fin) {
                    self.0.swap_remove(i);
                }
                text
            }
            OpCode::Ping | OpCode::Pong => true,
            _ => false,
        }
    }

    fn forget(&mut self, client: Option<u64>) {
        self.0.retain(|&(c, _, _, _)| c != client);
    }
}

/// How many payload bytes to show: text and binary.
#[derive(Clone, Copy)]
struct Cut {
    text: usize,
    hex: usize,
}

fn frame(buf: &mut Vec<u8>, paint: Paint, cut: Cut, ctx: &Ctx, f: &FrameEv<'_>, as_text: bool) {
    let mark = match f.dir {
        Dir::Out => Mark::Out,
        Dir::In => Mark::In,
    };
    stamp(buf, paint, mark, ctx);

    // Opcode, padded to the width of BINARY so the flags line up.
    let style = match f.opcode {
        OpCode::Reserved(_) => Style::BoldFg(Color::Red),
        op if op.is_control() => Style::BoldFg(Color::Yellow),
        _ => Style::Bold,
    };
    paint.on(buf, style);
    let name_start = buf.len();
    match f.opcode {
        OpCode::Continue => buf.extend_from_slice(b"CONT"),
        OpCode::Text => buf.extend_from_slice(b"TEXT"),
        OpCode::Binary => buf.extend_from_slice(b"BINARY"),
        OpCode::Close => buf.extend_from_slice(b"CLOSE"),
        OpCode::Ping => buf.extend_from_slice(b"PING"),
        OpCode::Pong => buf.extend_from_slice(b"PONG"),
        OpCode::Reserved(n) => {
            buf.extend_from_slice(b"OP");
            esc::num(buf, n as u64);
        }
    }
    let name_len = buf.len() - name_start;
    paint.off(buf);
    for _ in name_len..7 {
        buf.push(b' ');
    }

    paint.on(buf, Style::Dim);
    buf.extend_from_slice(if f.fin { b"fin=1 " } else { b"fin=0 " });
    paint.off(buf);
    let rsv_set = f.rsv.iter().any(|&b| b);
    if rsv_set {
        paint.on(buf, Style::BoldFg(Color::Red));
    } else {
        paint.on(buf, Style::Dim);
    }
    buf.extend_from_slice(b"rsv=");
    for bit in f.rsv {
        buf.push(if bit { b'1' } else { b'0' });
    }
    paint.off(buf);
    paint.on(buf, Style::Dim);
    match f.mask {
        Some(key) => {
            buf.extend_from_slice(b" mask=1 key=");
            buf.extend_from_slice(&esc::key_hex(key));
        }
        None => buf.extend_from_slice(b" mask=0"),
    }
    buf.extend_from_slice(b" len=");
    esc::num(buf, f.payload.len() as u64);
    paint.off(buf);

    if f.opcode == OpCode::Close {
        buf.push(b' ');
        let (code, reason) = close_parts(f.payload);
        match code {
            Some(c) => {
                buf.extend_from_slice(b"code=");
                code_name(buf, paint, c);
                if !reason.is_empty() {
                    buf.extend_from_slice(b" reason=");
                    show_payload(buf, paint, cut, reason, true);
                }
            }
            None if f.payload.is_empty() => buf.extend_from_slice(b"no code"),
            None => {
                buf.extend_from_slice(b"no code, stray byte ");
                show_payload(buf, paint, cut, f.payload, false);
            }
        }
    } else if !f.payload.is_empty() {
        buf.push(b' ');
        show_payload(buf, paint, cut, f.payload, as_text);
    }
    buf.push(b'\n');
}

/// `"text"` (escaped, so always one line) or `00 ff 10` (hex); cut to `cut.text` /
/// `cut.hex` bytes with `… (N bytes)` after it, so the full length is always there.
fn show_payload(buf: &mut Vec<u8>, paint: Paint, cut: Cut, bytes: &[u8], as_text: bool) {
    if as_text {
        if let Ok(s) = std::str::from_utf8(bytes) {
            let end = esc::cut(s, cut.text);
            buf.push(b'"');
            esc::escape(buf, &s[..end], Esc::Quoted);
            buf.push(b'"');
            if end < s.len() {
                more(buf, paint, bytes.len());
            }
            return;
        }
    }
    let end = bytes.len().min(cut.hex);
    esc::hex_spaced(buf, &bytes[..end]);
    if end < bytes.len() {
        if end > 0 {
            buf.push(b' ');
        }
        more(buf, paint, bytes.len());
    }
}

fn more(buf: &mut Vec<u8>, paint: Paint, len: usize) {
    paint.on(buf, Style::Dim);
    buf.extend_from_slice("… (".as_bytes());
    esc::num(buf, len as u64);
    buf.extend_from_slice(b" bytes)");
    paint.off(buf);
}

/// `-- 0.012s redirect 1: 302 Found -> ws://...`, after the hop's request and response
/// with `-v`.
pub(super) fn redirect(
    buf: &mut Vec<u8>,
    paint: Paint,
    ctx: &Ctx,
    hop: u32,
    to: &str,
    r: &crate::error::Refusal,
    verbose: bool,
) {
    if verbose {
        if let Some(q) = &r.request {
            let _ = writeln!(buf, "> {} {} HTTP/1.1", q.method, q.path);
            headers(buf, b"> ", &q.headers);
            buf.extend_from_slice(b">\n");
        }
        status_line(buf, b"< ", r.status, &r.reason);
        headers(buf, b"< ", &r.headers);
        buf.extend_from_slice(b"<\n");
    }
    stamp(buf, paint, Mark::Event, ctx);
    let _ = write!(buf, "redirect {hop}: {}", r.status);
    if !r.reason.is_empty() {
        buf.push(b' ');
        esc::escape(buf, &r.reason, Esc::Bare);
    }
    buf.extend_from_slice(b" -> ");
    esc::escape(buf, to, Esc::Bare);
    buf.push(b'\n');
}

fn handshake(buf: &mut Vec<u8>, paint: Paint, ctx: &Ctx, h: &Handshake, verbose: bool) {
    if verbose {
        let q = &h.request;
        let _ = writeln!(buf, "> {} {} HTTP/1.1", q.method, q.path);
        headers(buf, b"> ", &q.headers);
        buf.extend_from_slice(b">\n");
        status_line(buf, b"< ", h.response.status, &h.response.reason);
        headers(buf, b"< ", &h.response.headers);
        buf.extend_from_slice(b"<\n");
    }
    stamp(buf, paint, Mark::Event, ctx);
    buf.extend_from_slice(b"connected to ");
    buf.extend_from_slice(h.url.as_bytes());
    buf.extend_from_slice(b" (");
    esc::num(buf, h.response.status as u64);
    if !h.response.reason.is_empty() {
        buf.push(b' ');
        esc::escape(buf, &h.response.reason, Esc::Bare);
    }
    if let Some(proto) = &h.protocol {
        buf.extend_from_slice(b", protocol=");
        esc::escape(buf, proto, Esc::Bare);
    }
    if let Some(a) = &h.deflate {
        buf.extend_from_slice(b", ");
        buf.extend_from_slice(a.params.header().as_bytes());
    }
    buf.extend_from_slice(b", ");
    esc::ms(buf, h.elapsed);
    buf.extend_from_slice(b")\n");
}

fn status_line(buf: &mut Vec<u8>, prefix: &[u8], status: u16, reason: &str) {
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(b"HTTP/1.1 ");
    esc::num(buf, status as u64);
    if !reason.is_empty() {
        buf.push(b' ');
        esc::escape(buf, reason, Esc::Bare);
    }
    buf.push(b'\n');
}

fn headers(buf: &mut Vec<u8>, prefix: &[u8], headers: &[(String, String)]) {
    for (name, value) in headers {
        buf.extend_from_slice(prefix);
        esc::escape(buf, name, Esc::Bare);
        buf.extend_from_slice(b": ");
        esc::escape(buf, value, Esc::Bare);
        buf.push(b'\n');
    }
}

/// `wsdbg: error: ...` and, when `details`, the refused handshake's status, headers and
/// body. The kind is named where the message alone would not say what failed (`protocol:
/// RSV1 set ...`); usage, connect and I/O messages name their subject themselves.
/// With `verbose`, the refused request goes first (`> GET ...`), as a handshake shows it.
pub(super) fn error(
    buf: &mut Vec<u8>,
    paint: Paint,
    ctx: &Ctx,
    e: &Error,
    details: bool,
    verbose: bool,
) {
    buf.extend_from_slice(b"wsdbg: ");
    paint.put(buf, Style::BoldFg(Color::Red), b"error:");
    buf.push(b' ');
    if let Some(n) = ctx.client {
        client_tag(buf, n, ctx.leg);
        buf.push(b' ');
    }
    match e.kind {
        Kind::Usage | Kind::Connect | Kind::Io => {}
        Kind::Protocol | Kind::Handshake | Kind::Tls | Kind::Timeout => {
            buf.extend_from_slice(e.kind.as_str().as_bytes());
            buf.extend_from_slice(b": ");
        }
    }
    // Messages carry peer-given text (a header, a close reason) and user-typed text (a
    // command): escaped, so nothing in them can drive the terminal or break the line.
    esc::escape(buf, &e.msg, Esc::Bare);
    if let Some(rule) = e.rule {
        let _ = write!(buf, " ({rule})");
    }
    buf.push(b'\n');
    let Some(r) = e.refusal.as_deref().filter(|_| details) else {
        return;
    };
    if let Some(q) = r.request.as_ref().filter(|_| verbose) {
        let _ = writeln!(buf, "> {} {} HTTP/1.1", q.method, q.path);
        headers(buf, b"> ", &q.headers);
        buf.extend_from_slice(b">\n");
    }
    status_line(buf, b"< ", r.status, &r.reason);
    headers(buf, b"< ", &r.headers);
    if r.body.is_empty() {
        return;
    }
    buf.extend_from_slice(b"<\n");
    match std::str::from_utf8(&r.body) {
        Ok(text) => {
            esc::escape(buf, text, Esc::Lines);
            if !text.ends_with('\n') {
                buf.push(b'\n');
            }
        }
        Err(_) => {
            for chunk in r.body.chunks(32) {
                esc::hex_spaced(buf, chunk);
                buf.push(b'\n');
            }
        }
    }
}

/// `wsdbg: warning: ...`
pub(super) fn warning(buf: &mut Vec<u8>, paint: Paint, ctx: &Ctx, msg: &str) {
    buf.extend_from_slice(b"wsdbg: ");
    paint.put(buf, Style::BoldFg(Color::Yellow), b"warning:");
    buf.push(b' ');
    if let Some(n) = ctx.client {
        client_tag(buf, n, ctx.leg);
        buf.push(b' ');
    }
    buf.extend_from_slice(msg.as_bytes());
    buf.push(b'\n');
}

/// `probe`: one row of the table: verdict, check, RFC section, expected, observed.
pub(super) fn check(buf: &mut Vec<u8>, paint: Paint, r: &crate::event::CheckResult) {
    use crate::event::Verdict;
    let style = match r.verdict {
        Verdict::Pass => Style::Fg(Color::Green),
        Verdict::Fail => Style::BoldFg(Color::Red),
        Verdict::Lenient => Style::Fg(Color::Yellow),
        Verdict::NotApplicable => Style::Dim,
    };
    let v = format!("{:<8}", r.verdict.as_str());
    paint.put(buf, style, v.as_bytes());
    let _ = write!(buf, "{:<54} {:<15} expected ", r.name, r.rfc);
    esc::escape(buf, &r.expected, Esc::Bare);
    buf.extend_from_slice(b"; got ");
    esc::escape(buf, &r.observed, Esc::Bare);
    buf.push(b'\n');
}

/// `/expect`: a pass as an event line on stdout, a failure as an error on stderr.
/// `--full`: a JSON text that does not fit a line (over 100 bytes) is shown again under
/// its line, indented, its keys in colour on a terminal.
fn indented_json(buf: &mut Vec<u8>, paint: Paint, payload: &[u8]) {
    if payload.len() <= 100 || !matches!(payload.first(), Some(b'{' | b'[')) {
        return;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return;
    };
    let Ok(pretty) = serde_json::to_string_pretty(&v) else {
        return;
    };
    for line in pretty.lines() {
        buf.extend_from_slice(b"    ");
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        buf.extend_from_slice(indent.as_bytes());
        // `"key": value`: the key painted.
        match body
            .strip_prefix('"')
            .and_then(|b| b.find("\": ").map(|i| i + 2))
        {
            Some(end) => {
                let mut key = Vec::new();
                esc::escape(&mut key, &body[..end], Esc::Bare);
                paint.put(buf, Style::Fg(Color::Cyan), &key);
                esc::escape(buf, &body[end..], Esc::Bare);
            }
            None => esc::escape(buf, body, Esc::Bare),
        }
        buf.push(b'\n');
    }
}

/// `--proto`: a line per packet, under its frame or message: `   socketio EVENT chat
/// ["hi"]`, a broken one in red.
fn packets(buf: &mut Vec<u8>, paint: Paint, d: &crate::proto::Decoded) {
    for pk in &d.packets {
        buf.extend_from_slice(b"   ");
        paint.put(buf, Style::Fg(Color::Cyan), d.proto.name().as_bytes());
        buf.push(b' ');
        if pk.kind == "broken" {
            let mut s = Vec::new();
            esc::escape(&mut s, &pk.summary, Esc::Bare);
            paint.put(buf, Style::BoldFg(Color::Red), &s);
        } else {
            esc::escape(buf, &pk.summary, Esc::Bare);
        }
        buf.push(b'\n');
    }
}

/// `/expect`'s verdict; a recorded message that came otherwise also shows how, each line
/// of the difference indented under the error.
pub(super) fn expect(
    buf: &mut Vec<u8>,
    paint: Paint,
    ctx: &Ctx,
    what: &str,
    ok: bool,
    got: &str,
    diff: Option<&str>,
) {
    if ok {
        stamp(buf, paint, Mark::Event, ctx);
        buf.extend_from_slice(b"expect ");
        esc::escape(buf, what, Esc::Bare);
        paint.put(buf, Style::Fg(Color::Green), b": passed");
        buf.extend_from_slice(b" (");
        esc::escape(buf, got, Esc::Bare);
        buf.extend_from_slice(b")\n");
        return;
    }
    buf.extend_from_slice(b"wsdbg: ");
    paint.put(buf, Style::BoldFg(Color::Red), b"error:");
    if let Some(n) = ctx.client {
        buf.push(b' ');
        client_tag(buf, n, ctx.leg);
    }
    buf.extend_from_slice(b" expect ");
    esc::escape(buf, what, Esc::Bare);
    buf.extend_from_slice(b": failed, got ");
    esc::escape(buf, got, Esc::Bare);
    buf.push(b'\n');
    for line in diff.into_iter().flat_map(str::lines) {
        buf.extend_from_slice(b"    ");
        esc::escape(buf, line, Esc::Bare);
        buf.push(b'\n');
    }
}

/// Text the user asked for, verbatim, ending in a newline.
/// `/clients`: one line each, or `no clients connected`.
pub(super) fn clients(buf: &mut Vec<u8>, rows: &[crate::event::ClientRow]) {
    if rows.is_empty() {
        buf.extend_from_slice(b"no clients connected\n");
    }
    for r in rows {
        let _ = write!(buf, "#{} {} ", r.id, r.peer);
        esc::escape(buf, &r.path, Esc::Bare);
        buf.extend_from_slice(b" protocol=");
        esc::escape(buf, r.protocol.as_deref().unwrap_or("-"), Esc::Bare);
        let _ = write!(
            buf,
            " up {:.1}s frames in={} out={}",
            r.uptime.as_secs_f64(),
            r.frames_in,
            r.frames_out
        );
        if r.selected {
            buf.extend_from_slice(b" (selected)");
        }
        buf.push(b'\n');
    }
}

/// `probe: 44 checks in 3.2s: 40 pass, 1 fail, 2 lenient, 1 n/a`
pub(super) fn summary(buf: &mut Vec<u8>, t: &crate::event::Tally) {
    let _ = writeln!(
        buf,
        "probe: {} checks in {:.1}s: {} pass, {} fail, {} lenient, {} n/a",
        t.checks,
        t.elapsed.as_secs_f64(),
        t.pass,
        t.fail,
        t.lenient,
        t.not_applicable
    );
}

pub(super) fn notice(buf: &mut Vec<u8>, text: &str) {
    buf.extend_from_slice(text.as_bytes());
    if !text.ends_with('\n') {
        buf.push(b'\n');
    }
}

/// `listening on ws://ADDR`
pub(super) fn listening(buf: &mut Vec<u8>, addr: &str, tls: bool) {
    buf.extend_from_slice(b"listening on ");
    if !addr.contains("://") {
        buf.extend_from_slice(if tls { b"wss://" } else { b"ws://" });
    }
    buf.extend_from_slice(addr.as_bytes());
    buf.push(b'\n');
}

/// The `/info` summary.
pub(super) fn info(buf: &mut Vec<u8>, info: &Info) {
    let hs = info.handshake.as_ref();
    let _ = writeln!(
        buf,
        "url:       {}",
        hs.map_or("(not connected)", |h| h.url.as_str())
    );
    let _ = writeln!(buf, "state:     {}", info.state);
    if let (Some(peer), Some(h)) = (&info.peer, hs) {
        let for_what = h
            .url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let _ = writeln!(buf, "address:   {peer} (for {for_what})");
    }
    buf.extend_from_slice(b"protocol:  ");
    match hs.and_then(|h| h.protocol.as_deref()) {
        Some(p) => esc::escape(buf, p, Esc::Bare),
        None => buf.extend_from_slice(b"(none)"),
    }
    buf.push(b'\n');
    buf.extend_from_slice(b"extensions: ");
    match hs.and_then(|h| h.deflate.as_ref()) {
        Some(a) => buf.extend_from_slice(a.params.header().as_bytes()),
        None => buf.extend_from_slice(b"(none)"),
    }
    buf.push(b'\n');
    let _ = writeln!(
        buf,
        "uptime:    {}.{:03}s",
        info.uptime.as_secs(),
        info.uptime.subsec_millis()
    );
    let _ = writeln!(
        buf,
        "frames:    in {}, out {}",
        info.frames_in, info.frames_out
    );
    let _ = writeln!(
        buf,
        "bytes:     in {}, out {}",
        info.bytes_in, info.bytes_out
    );
    let _ = writeln!(
        buf,
        "messages:  in {}, out {}",
        info.messages_in, info.messages_out
    );
    buf.extend_from_slice(b"last rtt:  ");
    match info.last_rtt {
        Some(d) => esc::ms(buf, d),
        None => buf.extend_from_slice(b"(none)"),
    }
    buf.push(b'\n');
    if let Some(h) = hs {
        buf.extend_from_slice(b"handshake: ");
        esc::ms(buf, h.elapsed);
        buf.push(b'\n');
        let q = &h.request;
        let _ = writeln!(buf, "  > {} {} HTTP/1.1", q.method, q.path);
        headers(buf, b"  > ", &q.headers);
        status_line(buf, b"  < ", h.response.status, &h.response.reason);
        headers(buf, b"  < ", &h.response.headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(dir: Dir, opcode: u8, fin: bool) -> FrameEv<'static> {
        FrameEv {
            dir,
            fin,
            rsv: [false; 3],
            opcode: OpCode::from(opcode),
            mask: None,
            payload: b"",
        }
    }

    #[test]
    fn continuations_follow_their_first_frame() {
        let mut fr = Fragments::default();
        let c1 = Ctx {
            client: Some(1),
            ..Ctx::default()
        };
        let c2 = Ctx {
            client: Some(2),
            ..Ctx::default()
        };
        // A continuation with no start seen: text if it decodes.
        assert!(fr.is_text(&c1, &f(Dir::In, 0, true)));
        // Binary from client 1 and text from client 2, interleaved with a ping.
        assert!(!fr.is_text(&c1, &f(Dir::In, 2, false)));
        assert!(fr.is_text(&c2, &f(Dir::In, 1, false)));
        assert!(fr.is_text(&c1, &f(Dir::In, 9, true)));
        assert!(!fr.is_text(&c1, &f(Dir::In, 0, false)));
        assert!(fr.is_text(&c2, &f(Dir::In, 0, true)));
        // Our own text message in the other direction does not disturb client 1's.
        assert!(fr.is_text(&c1, &f(Dir::Out, 1, false)));
        assert!(!fr.is_text(&c1, &f(Dir::In, 0, true)));
        assert!(fr.is_text(&c1, &f(Dir::Out, 0, true)));
        assert!(fr.0.is_empty());
        // A client that leaves mid-message is forgotten.
        assert!(!fr.is_text(&c1, &f(Dir::In, 2, false)));
        fr.forget(Some(1));
        assert!(fr.0.is_empty());
    }

    #[test]
    fn error_lines_have_one_prefix_and_a_kind_where_it_says_something() {
        let cases = [
            (
                Error::usage("URL: expected ws://"),
                "wsdbg: error: URL: expected ws://",
            ),
            (
                Error::connect("cannot listen on 127.0.0.1:1: Address already in use"),
                "wsdbg: error: cannot listen on 127.0.0.1:1: Address already in use",
            ),
            (
                Error::io("connection: reset"),
                "wsdbg: error: connection: reset",
            ),
            (
                Error::protocol("RSV1 set", "RFC 6455 5.2"),
                "wsdbg: error: protocol: RSV1 set (RFC 6455 5.2)",
            ),
            (
                Error::handshake("refused"),
                "wsdbg: error: handshake: refused",
            ),
            (Error::tls("bad cert"), "wsdbg: error: tls: bad cert"),
            (Error::timeout("/wait"), "wsdbg: error: timeout: /wait"),
        ];
        for (e, want) in cases {
            let mut buf = Vec::new();
            error(&mut buf, Paint(false), &Ctx::default(), &e, true, false);
            assert_eq!(String::from_utf8(buf).unwrap(), format!("{want}\n"));
        }
        let mut buf = Vec::new();
        let ctx = Ctx {
            client: Some(3),
            ..Ctx::default()
        };
        warning(&mut buf, Paint(false), &ctx, "w");
        assert_eq!(buf, b"wsdbg: warning: [#3] w\n");
    }

    const DEFAULT_CUT: Cut = Cut {
        text: TEXT_MAX,
        hex: HEX_MAX,
    };

    fn shown(cut: Cut, bytes: &[u8], as_text: bool) -> String {
        let mut buf = Vec::new();
        show_payload(&mut buf, Paint(false), cut, bytes, as_text);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn long_payloads_keep_their_length() {
        let s = shown(DEFAULT_CUT, &[0xab; 65], false);
        assert!(s.ends_with("ab ab … (65 bytes)"), "{s}");
        let s = shown(DEFAULT_CUT, "é".repeat(200).as_bytes(), true);
        assert_eq!(s, format!("\"{}\"… (400 bytes)", "é".repeat(128)));
    }

    #[test]
    fn payload_cut_follows_the_options() {
        let never = Cut {
            text: usize::MAX,
            hex: usize::MAX,
        };
        let at = |n| Cut { text: n, hex: n };
        let text = "x".repeat(1000);
        let bin = vec![0xab; 1000];
        let cases: &[(Cut, &[u8], bool, String)] = &[
            (never, text.as_bytes(), true, format!("\"{text}\"")),
            (never, &bin, false, vec!["ab"; 1000].join(" ")),
            (at(3), b"abcdef", true, "\"abc\"… (6 bytes)".into()),
            (at(3), b"abc", true, "\"abc\"".into()),
            (at(2), &[1, 2, 3], false, "01 02 … (3 bytes)".into()),
            (at(0), &[1, 2, 3], false, "… (3 bytes)".into()),
            (at(0), b"ab", true, "\"\"… (2 bytes)".into()),
            // Cut at a char boundary: 3 bytes of "éé" is one char.
            (at(3), "éé".as_bytes(), true, "\"é\"… (4 bytes)".into()),
        ];
        for (cut, bytes, as_text, want) in cases {
            assert_eq!(&shown(*cut, bytes, *as_text), want);
        }
    }

    #[test]
    fn text_with_line_breaks_stays_on_one_line() {
        let s = shown(DEFAULT_CUT, b"a\nb\r\nc\td\x0be\x1b[0m", true);
        assert_eq!(s, r#""a\nb\r\nc\td\u{b}e\u{1b}[0m""#);
        let mut buf = Vec::new();
        let f = FrameEv {
            payload: b"line 1\nline 2\n",
            ..f(Dir::In, 1, true)
        };
        frame(
            &mut buf,
            Paint(false),
            DEFAULT_CUT,
            &Ctx::default(),
            &f,
            true,
        );
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(buf.ends_with(b"len=14 \"line 1\\nline 2\\n\"\n"));
    }
}
