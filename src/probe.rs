//! `wsdbg probe URL`: RFC 6455 conformance checks against any server, each on a fresh
//! connection with the client's connection options. A check sends something (often a
//! broken frame on purpose) and judges what came back: `pass`, `fail` (the server broke:
//! a wrong pong, no close reply, a hang), `lenient` (it tolerated a violation, or failed
//! the connection without the code the RFC asks for), `n/a` (not applicable: needs an
//! echo server, or an extension it did not take). Blocking I/O with a deadline per
//! check; the protocol core decodes what the server sends.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::config::ProbeOptions;
use crate::connect::{self, Stream};
use crate::deflate;
use crate::error::Error;
use crate::event::{close_parts, CheckResult, Event, MsgType, Verdict};
use crate::exit;
use crate::handshake;
use crate::outq::WriteSome;
use crate::protocol::{self, Driver, Msg, Tx};
use crate::session::Sink;
use crate::wire::{OpCode, Role};

/// What came back on one connection.
#[derive(Default)]
struct Seen {
    msgs: Vec<(MsgType, Vec<u8>, u64)>,
    pongs: Vec<Vec<u8>>,
    /// The server's close frame: its code (None: no code).
    close: Option<Option<u16>>,
    /// The server broke the protocol (our core saw it).
    violation: Option<String>,
}

/// A driver that records, and shows the frames when `-v`.
struct Rec<'a, S: Sink> {
    seen: Seen,
    out: Option<&'a mut S>,
}

impl<S: Sink> Driver for Rec<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Frame(f) if f.dir == crate::event::Dir::In && f.opcode == OpCode::Close => {
                self.seen.close = Some(close_parts(f.payload).0);
            }
            Event::Error(e) => self.seen.violation = Some(e.msg.clone()),
            _ => {}
        }
        if let Some(o) = &mut self.out {
            if matches!(ev, Event::Frame(_) | Event::Message { .. }) {
                o.emit(ev);
            }
        }
    }

    fn message(&mut self, _tx: &mut Tx, m: Msg<'_>) {
        self.seen.msgs.push((m.kind, m.payload.to_vec(), m.frames));
    }

    fn pong(&mut self, payload: &[u8]) {
        self.seen.pongs.push(payload.to_vec());
    }
}

/// A blocking stream, as the send queue's sink.
struct Blocking<'a>(&'a mut Stream);

impl WriteSome for Blocking<'_> {
    fn write_some(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.0
            .write_all(data)
            .and_then(|_| self.0.flush())
            .map_err(|e| Error::io(format!("connection: {e}")))?;
        Ok(data.len())
    }
}

/// One probe connection.
struct Link<'a, S: Sink> {
    stream: Stream,
    conn: protocol::Conn,
    /// permessage-deflate, as agreed.
    deflate: Option<deflate::Agreed>,
    rec: Rec<'a, S>,
    eof: bool,
    /// Bytes that could not be written (the server closed on us).
    write_failed: bool,
}

impl<'a, S: Sink> Link<'a, S> {
    /// Connect and shake hands, with `extra` headers (or a version) changed.
    fn open(p: &ProbeOptions, out: Option<&'a mut S>, compress: bool) -> Result<Self, Error> {
        let o = &p.session;
        let started = Instant::now();
        let deadline = started + o.connect_timeout;
        let mut stream = connect::connect(&o.target, o.tls.as_ref(), &o.proxy, deadline)?;
        stream.set_deadline(deadline)?;
        let mut ask = o.ask.clone();
        if compress {
            ask.compress = Some(deflate::Params::browser_offer());
        }
        let (hs, rest) = handshake::perform(&mut stream, &o.target, &ask, started, deadline)?;
        let conn = protocol::Conn::new(
            protocol::Config {
                role: Role::Client,
                max_size: o.max_size,
                auto_pong: true,
                rbuf: protocol::READ_CHUNK,
                deflate: hs.deflate,
                close_timeout: o.close_timeout,
            },
            &rest,
        );
        Ok(Link {
            stream,
            conn,
            deflate: hs.deflate,
            rec: Rec {
                seen: Seen::default(),
                out,
            },
            eof: false,
            write_failed: false,
        })
    }

    /// Send a frame exactly as asked (masked with a fixed key unless `mask` is false).
    fn frame(&mut self, op: OpCode, fin: bool, rsv: [bool; 3], mask: bool, payload: &[u8]) {
        let key = mask.then_some([0x37, 0xfa, 0x21, 0x3d]);
        self.conn
            .tx
            .send_frame(&mut self.rec, op, fin, rsv, key, payload);
        self.flush();
    }

    fn flush(&mut self) {
        if self
            .conn
            .write_to(&mut self.rec, &mut Blocking(&mut self.stream))
            .is_err()
        {
            self.write_failed = true;
        }
    }

    /// Read and handle until `done` holds, the connection ends, or `wait` passes.
    fn until(&mut self, wait: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            self.conn.process(&mut self.rec);
            self.flush();
            if done(&self.rec.seen) {
                return true;
            }
            if self.eof {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self
                .stream
                .tcp()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.stream.read(self.conn.rx.space()) {
                Ok(0) => {
                    self.eof = true;
                    self.conn.eof(&mut self.rec);
                }
                Ok(n) => self.conn.rx.filled(n),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => {
                    self.eof = true;
                    self.conn.eof(&mut self.rec);
                }
            }
        }
    }

    /// Wait for the server's reaction to a violation: a close frame (its code), or the
    /// connection's end, or neither within `wait` (then: does it still answer a ping?).
    fn reaction(&mut self, wait: Duration) -> Reaction {
        let ended = self.until(wait, |s| s.close.is_some());
        if let Some(code) = self.rec.seen.close {
            return Reaction::Closed(code);
        }
        if ended || self.eof || self.write_failed {
            return Reaction::Dropped;
        }
        // Still open: does it still work?
        self.frame(OpCode::Ping, true, [false; 3], true, b"probe-alive");
        if self.until(wait, |s| s.pongs.iter().any(|p| p == b"probe-alive")) {
            Reaction::KeptWorking
        } else if self.rec.seen.close.is_some() || self.eof {
            Reaction::Dropped
        } else {
            Reaction::Hung
        }
    }
}

/// What a server did after a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reaction {
    Closed(Option<u16>),
    Dropped,
    KeptWorking,
    Hung,
}

impl Reaction {
    fn describe(self) -> String {
        match self {
            Reaction::Closed(Some(c)) => {
                format!("close {c} ({})", crate::event::close_code_name(c))
            }
            Reaction::Closed(None) => "close without a code".into(),
            Reaction::Dropped => "connection dropped without a close frame".into(),
            Reaction::KeptWorking => "tolerated it: still answers pings".into(),
            Reaction::Hung => "no close, no pong: hung".into(),
        }
    }

    /// The verdict when `codes` are what the RFC asks for.
    fn judge(self, codes: &[u16]) -> Verdict {
        match self {
            Reaction::Closed(Some(c)) if codes.contains(&c) => Verdict::Pass,
            // The connection was failed, without the code the RFC asks for (SHOULD).
            Reaction::Closed(_) | Reaction::Dropped => Verdict::Lenient,
            Reaction::KeptWorking => Verdict::Lenient,
            Reaction::Hung => Verdict::Fail,
        }
    }
}

/// A frame a check sends: opcode, FIN, RSV bits, masked, payload.
type Sent = (OpCode, bool, [bool; 3], bool, Vec<u8>);

/// A violation check: open, send its frames, expect a close with one of `codes`.
struct Violation {
    name: String,
    rfc: &'static str,
    codes: &'static [u16],
    frames: Vec<Sent>,
}

/// Run every check against the server; events go to `out` (one `check` line each, and
/// the frames with `-v`). Returns the exit code: 0 when nothing failed, 4 when a check
/// did, 1 when the server could not be reached at all.
pub fn run<S: Sink>(p: &ProbeOptions, out: &mut S, verbose: bool) -> u8 {
    let started = Instant::now();
    // Reachable at all?
    if let Err(e) = Link::<S>::open(p, None, false) {
        out.emit(&Event::Error(&e));
        out.idle();
        return e.exit_code().max(exit::CONNECT);
    }
    let mut results = Vec::new();
    let mut report = |out: &mut S, r: CheckResult| {
        out.emit(&Event::Check(&r));
        out.idle();
        results.push(r);
    };
    for r in handshake_checks(p) {
        report(out, r);
    }
    for v in violations() {
        let r = violation_check(p, &v, if verbose { Some(&mut *out) } else { None });
        report(out, r);
    }
    for r in ping_checks(p) {
        report(out, r);
    }
    for r in close_checks(p) {
        report(out, r);
    }
    for r in size_checks(p) {
        report(out, r);
    }
    let echoes = p.echo_server || detect_echo(p);
    for r in echo_checks(p, echoes) {
        report(out, r);
    }
    report(out, deflate_check(p));
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let summary = format!(
        "probe: {} checks in {:.1}s: {} pass, {} fail, {} lenient, {} n/a",
        results.len(),
        started.elapsed().as_secs_f64(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Lenient),
        count(Verdict::NotApplicable)
    );
    out.emit(&Event::Notice(&summary));
    out.idle();
    if count(Verdict::Fail) > 0 {
        exit::SCRIPT
    } else {
        exit::OK
    }
}

fn result(
    name: impl Into<String>,
    rfc: &'static str,
    expected: impl Into<String>,
    observed: impl Into<String>,
    verdict: Verdict,
    since: Instant,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        rfc,
        expected: expected.into(),
        observed: observed.into(),
        verdict,
        elapsed: since.elapsed(),
    }
}

fn violations() -> Vec<Violation> {
    let one = |op: OpCode, fin: bool, rsv: [bool; 3], mask: bool, payload: &[u8]| {
        vec![(op, fin, rsv, mask, payload.to_vec())]
    };
    let plain = [false; 3];
    let mut v: Vec<Violation> = Vec::new();
    let mut add = |name: String, rfc: &'static str, codes: &'static [u16], frames: Vec<Sent>| {
        v.push(Violation {
            name,
            rfc,
            codes,
            frames,
        })
    };
    add(
        "control frame over 125 bytes".into(),
        "RFC 6455 5.5",
        &[1002],
        one(OpCode::Ping, true, plain, true, &[b'p'; 126]),
    );
    add(
        "fragmented control frame".into(),
        "RFC 6455 5.5",
        &[1002],
        one(OpCode::Ping, false, plain, true, b"frag"),
    );
    for n in (3..=7).chain(11..=15) {
        add(
            format!("reserved opcode {n}"),
            "RFC 6455 5.2",
            &[1002],
            one(OpCode::Reserved(n), true, plain, true, b"x"),
        );
    }
    for (i, name) in ["RSV1", "RSV2", "RSV3"].iter().enumerate() {
        let mut rsv = [false; 3];
        rsv[i] = true;
        add(
            format!("{name} without an extension"),
            "RFC 6455 5.2",
            &[1002],
            one(OpCode::Text, true, rsv, true, b"rsv"),
        );
    }
    add(
        "continuation without a start".into(),
        "RFC 6455 5.4",
        &[1002],
        one(OpCode::Continue, true, plain, true, b"orphan"),
    );
    add(
        "new message inside a fragmented one".into(),
        "RFC 6455 5.4",
        &[1002],
        vec![
            (OpCode::Text, false, plain, true, b"first".to_vec()),
            (OpCode::Text, true, plain, true, b"second".to_vec()),
        ],
    );
    add(
        "unmasked client frame".into(),
        "RFC 6455 5.1",
        &[1002],
        one(OpCode::Text, true, plain, false, b"unmasked"),
    );
    add(
        "invalid UTF-8 in a text message".into(),
        "RFC 6455 8.1",
        &[1007],
        one(OpCode::Text, true, plain, true, b"ok \xce\xba\xff bad"),
    );
    add(
        "invalid UTF-8 split across fragments".into(),
        "RFC 6455 8.1",
        &[1007],
        vec![
            (OpCode::Text, false, plain, true, b"ok \xce".to_vec()),
            (OpCode::Continue, true, plain, true, b"\xff bad".to_vec()),
        ],
    );
    add(
        "close with a 1-byte payload".into(),
        "RFC 6455 5.5.1",
        &[1002],
        one(OpCode::Close, true, plain, true, b"\x03"),
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 5000] {
        add(
            format!("close with invalid code {code}"),
            "RFC 6455 7.4.1",
            &[1002],
            one(OpCode::Close, true, plain, true, &code.to_be_bytes()),
        );
    }
    // 1007 (invalid data) is what most servers send; 1002 is allowed too.
    add(
        "close reason not UTF-8".into(),
        "RFC 6455 5.5.1",
        &[1002, 1007],
        one(OpCode::Close, true, plain, true, b"\x03\xe8\xff\xfe"),
    );
    v
}

fn violation_check<S: Sink>(p: &ProbeOptions, v: &Violation, out: Option<&mut S>) -> CheckResult {
    let since = Instant::now();
    let codes: Vec<String> = v.codes.iter().map(|c| c.to_string()).collect();
    let expected = format!("close {}", codes.join(" or "));
    let mut link = match Link::open(p, out, false) {
        Ok(l) => l,
        Err(e) => {
            return result(
                &v.name,
                v.rfc,
                expected,
                e.to_string(),
                Verdict::Fail,
                since,
            )
        }
    };
    for (op, fin, rsv, mask, payload) in &v.frames {
        link.frame(*op, *fin, *rsv, *mask, payload);
    }
    let r = link.reaction(p.wait);
    result(
        &v.name,
        v.rfc,
        expected,
        r.describe(),
        r.judge(v.codes),
        since,
    )
}

fn handshake_checks(p: &ProbeOptions) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let since = Instant::now();
    // A handshake with nothing offered: the Accept value is checked by the client;
    // no subprotocol and no extension may come back (RFC 6455 4.1).
    let mut plain = ProbeOptions {
        session: p.session.clone(),
        echo_server: p.echo_server,
        wait: p.wait,
    };
    plain.session.ask.protocols.clear();
    plain.session.ask.compress = None;
    plain
        .session
        .ask
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("sec-websocket-extensions"));
    let (verdict, observed) = match Link::<NoSink>::open(&plain, None, false) {
        Ok(_) => (
            Verdict::Pass,
            "101, Accept right, nothing chosen that was not offered".to_string(),
        ),
        Err(e) => (Verdict::Fail, e.msg),
    };
    out.push(result(
        "handshake: Accept value, nothing unoffered chosen",
        "RFC 6455 4.1",
        "101 with the right Sec-WebSocket-Accept",
        observed,
        verdict,
        since,
    ));
    // An unknown subprotocol offered: the server must not choose another.
    let since = Instant::now();
    let mut odd = ProbeOptions {
        session: plain.session.clone(),
        echo_server: p.echo_server,
        wait: p.wait,
    };
    odd.session.ask.protocols = vec!["wsdbg-probe-unknown".into()];
    let (verdict, observed) = match Link::<NoSink>::open(&odd, None, false) {
        Ok(_) => (Verdict::Pass, "101 without another subprotocol".to_string()),
        Err(e) if e.refusal.is_some() => (
            Verdict::Pass,
            format!("refused ({})", e.refusal.as_ref().map_or(0, |r| r.status)),
        ),
        Err(e) => (Verdict::Fail, e.msg),
    };
    out.push(result(
        "handshake: only an offered subprotocol chosen",
        "RFC 6455 4.1",
        "no subprotocol, or a refusal",
        observed,
        verdict,
        since,
    ));
    // A version the server does not speak: 426 with the versions it does.
    let since = Instant::now();
    let mut v12 = ProbeOptions {
        session: plain.session.clone(),
        echo_server: p.echo_server,
        wait: p.wait,
    };
    v12.session
        .ask
        .headers
        .push(("Sec-WebSocket-Version".into(), "12".into()));
    let (verdict, observed) = match Link::<NoSink>::open(&v12, None, false) {
        Ok(_) => (Verdict::Fail, "101: accepted version 12".to_string()),
        Err(e) => match e.refusal.as_deref() {
            // RFC 6455 4.2.2: "an appropriate HTTP error code (such as 426 Upgrade
            // Required) and a |Sec-WebSocket-Version| header field indicating the
            // version(s) the server is capable of understanding".
            Some(r) => {
                let v = r
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-version"))
                    .map(|(_, v)| v.clone());
                match v {
                    Some(v) if v.split(',').any(|x| x.trim() == "13") => (
                        Verdict::Pass,
                        format!("{} with Sec-WebSocket-Version: {v}", r.status),
                    ),
                    _ => (
                        Verdict::Lenient,
                        format!("{} without Sec-WebSocket-Version: 13", r.status),
                    ),
                }
            }
            None => (Verdict::Lenient, e.msg),
        },
    };
    out.push(result(
        "handshake: unknown version refused",
        "RFC 6455 4.4",
        "a refusal (426) with Sec-WebSocket-Version: 13",
        observed,
        verdict,
        since,
    ));
    out
}

/// A sink that shows nothing (checks run without `-v`).
struct NoSink;

impl Sink for NoSink {
    fn emit(&mut self, _ev: &Event<'_>) {}
    fn idle(&mut self) {}
}

fn ping_checks(p: &ProbeOptions) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for (name, payload) in [
        ("ping with an empty payload", Vec::new()),
        ("ping with 125 bytes", vec![b'z'; 125]),
    ] {
        let since = Instant::now();
        let mut link = match Link::<NoSink>::open(p, None, false) {
            Ok(l) => l,
            Err(e) => {
                out.push(result(
                    name,
                    "RFC 6455 5.5.2",
                    "a pong",
                    e.msg,
                    Verdict::Fail,
                    since,
                ));
                continue;
            }
        };
        link.frame(OpCode::Ping, true, [false; 3], true, &payload);
        let got = link.until(p.wait, |s| !s.pongs.is_empty());
        let (verdict, observed) = match link.rec.seen.pongs.first() {
            Some(pong) if *pong == payload => (
                Verdict::Pass,
                format!("pong of {} bytes, the same", pong.len()),
            ),
            Some(pong) => (
                Verdict::Fail,
                format!("pong with another payload ({} bytes)", pong.len()),
            ),
            None if got => (Verdict::Fail, "no pong".to_string()),
            None => (Verdict::Fail, "no pong before the timeout".to_string()),
        };
        out.push(result(
            name,
            "RFC 6455 5.5.3",
            "a pong with the same payload",
            observed,
            verdict,
            since,
        ));
    }
    out
}

fn close_checks(p: &ProbeOptions) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for code in [1000u16, 1001, 3000, 4999] {
        let since = Instant::now();
        let name = format!("close {code} answered, then the TCP connection closed");
        let mut link = match Link::<NoSink>::open(p, None, false) {
            Ok(l) => l,
            Err(e) => {
                out.push(result(
                    name,
                    "RFC 6455 7.1.1",
                    "a close reply",
                    e.msg,
                    Verdict::Fail,
                    since,
                ));
                continue;
            }
        };
        link.conn.tx.close(&mut link.rec, Some(code), "probe");
        link.flush();
        let replied = link.until(p.wait, |s| s.close.is_some());
        let reply_ms = since.elapsed().as_millis();
        // RFC 6455 7.1.1: the server should close the TCP connection first.
        let tcp_closed = replied && link.until(p.wait, |_| false) && link.eof;
        let tcp_closed = tcp_closed || link.eof;
        let (verdict, observed) = match link.rec.seen.close {
            Some(c) if tcp_closed => (
                Verdict::Pass,
                format!(
                    "close {} in {reply_ms} ms, then the server closed TCP",
                    c.map_or("without a code".into(), |c| c.to_string())
                ),
            ),
            Some(c) => (
                Verdict::Lenient,
                format!(
                    "close {} in {reply_ms} ms, but the TCP connection stayed open",
                    c.map_or("without a code".into(), |c| c.to_string())
                ),
            ),
            None => (
                Verdict::Fail,
                "no close reply before the timeout".to_string(),
            ),
        };
        out.push(result(
            name,
            "RFC 6455 7.1.1",
            "a close reply, then the server closes TCP",
            observed,
            verdict,
            since,
        ));
    }
    out
}

/// A message just under and over what the server accepts, when it says so with 1009.
fn size_checks(p: &ProbeOptions) -> Vec<CheckResult> {
    let since = Instant::now();
    let mut accepted = 0usize;
    let mut refused: Option<(usize, Reaction)> = None;
    for size in [64 << 10, 1 << 20, 16 << 20] {
        let mut link = match Link::<NoSink>::open(p, None, false) {
            Ok(l) => l,
            Err(_) => break,
        };
        let payload = vec![b'm'; size];
        link.frame(OpCode::Binary, true, [false; 3], true, &payload);
        link.frame(OpCode::Ping, true, [false; 3], true, b"after-big");
        // A big message takes a slow server a while to read (and show, and echo).
        let allowance = Duration::from_millis(size as u64 / 2048);
        let ok = link.until(p.wait * 2 + allowance, |s| {
            s.pongs.iter().any(|x| x == b"after-big") || s.close.is_some()
        });
        match link.rec.seen.close {
            Some(code) => {
                refused = Some((size, Reaction::Closed(code)));
                break;
            }
            None if ok => accepted = size,
            None => {
                refused = Some((
                    size,
                    if link.eof {
                        Reaction::Dropped
                    } else {
                        Reaction::Hung
                    },
                ));
                break;
            }
        }
    }
    let (verdict, observed) = match refused {
        None => (
            Verdict::Pass,
            format!("accepted every size up to {} bytes", accepted),
        ),
        Some((size, Reaction::Closed(Some(1009)))) => (
            Verdict::Pass,
            format!("accepted {accepted} bytes; {size} bytes refused with 1009"),
        ),
        Some((size, r)) if r == Reaction::Hung => (
            Verdict::Fail,
            format!("accepted {accepted} bytes; {size} bytes: {}", r.describe()),
        ),
        Some((size, r)) => (
            Verdict::Lenient,
            format!(
                "accepted {accepted} bytes; {size} bytes: {} (1009 expected)",
                r.describe()
            ),
        ),
    };
    vec![result(
        "a message just under and over the size limit",
        "RFC 6455 7.4.1",
        "accepted, or refused with 1009",
        observed,
        verdict,
        since,
    )]
}

/// Does the server echo? One text message, its echo within the wait.
fn detect_echo(p: &ProbeOptions) -> bool {
    let Ok(mut link) = Link::<NoSink>::open(p, None, false) else {
        return false;
    };
    link.frame(OpCode::Text, true, [false; 3], true, b"wsdbg-probe-echo?");
    link.until(p.wait, |s| {
        s.msgs.iter().any(|m| m.1 == b"wsdbg-probe-echo?")
    })
}

fn echo_checks(p: &ProbeOptions, echoes: bool) -> Vec<CheckResult> {
    let names = [
        ("fragmented message reassembled", "RFC 6455 5.4"),
        ("16 MiB message echoed whole", "RFC 6455 5.6"),
        ("ping between fragments answered", "RFC 6455 5.4"),
    ];
    if !echoes {
        return names
            .iter()
            .map(|(n, rfc)| {
                result(
                    *n,
                    rfc,
                    "an echo server",
                    "the server does not echo (--echo-server to run it anyway)",
                    Verdict::NotApplicable,
                    Instant::now(),
                )
            })
            .collect();
    }
    let mut out = Vec::new();
    // Fragmented, reassembled.
    let since = Instant::now();
    let r = Link::<NoSink>::open(p, None, false).map(|mut l| {
        l.frame(OpCode::Text, false, [false; 3], true, b"frag");
        l.frame(OpCode::Continue, false, [false; 3], true, b"ment");
        l.frame(OpCode::Continue, true, [false; 3], true, b"ed");
        l.until(p.wait, |s| !s.msgs.is_empty());
        l.rec.seen.msgs.first().map(|m| m.1.clone())
    });
    out.push(match r {
        Ok(Some(m)) if m == b"fragmented" => result(
            names[0].0,
            names[0].1,
            "the echo \"fragmented\"",
            "\"fragmented\"",
            Verdict::Pass,
            since,
        ),
        Ok(Some(m)) => result(
            names[0].0,
            names[0].1,
            "the echo \"fragmented\"",
            format!("{:?}", String::from_utf8_lossy(&m)),
            Verdict::Fail,
            since,
        ),
        Ok(None) => result(
            names[0].0,
            names[0].1,
            "the echo \"fragmented\"",
            "no echo",
            Verdict::Fail,
            since,
        ),
        Err(e) => result(
            names[0].0,
            names[0].1,
            "the echo \"fragmented\"",
            e.msg,
            Verdict::Fail,
            since,
        ),
    });
    // 16 MiB.
    let since = Instant::now();
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    let r = Link::<NoSink>::open(p, None, false).map(|mut l| {
        l.frame(OpCode::Binary, true, [false; 3], true, &big);
        l.until(p.wait * 5 + Duration::from_secs(8), |s| {
            !s.msgs.is_empty() || s.close.is_some()
        });
        (
            l.rec.seen.msgs.first().map(|m| m.1 == big),
            l.rec.seen.close,
        )
    });
    out.push(match r {
        Ok((Some(true), _)) => result(
            names[1].0,
            names[1].1,
            "the same 16 MiB back",
            "the same 16 MiB back",
            Verdict::Pass,
            since,
        ),
        Ok((Some(false), _)) => result(
            names[1].0,
            names[1].1,
            "the same 16 MiB back",
            "another message",
            Verdict::Fail,
            since,
        ),
        Ok((None, Some(Some(1009)))) => result(
            names[1].0,
            names[1].1,
            "the same 16 MiB back",
            "refused with 1009 (its limit)",
            Verdict::Lenient,
            since,
        ),
        Ok((None, c)) => result(
            names[1].0,
            names[1].1,
            "the same 16 MiB back",
            format!(
                "no echo{}",
                c.map_or(String::new(), |c| format!(", close {c:?}"))
            ),
            Verdict::Fail,
            since,
        ),
        Err(e) => result(
            names[1].0,
            names[1].1,
            "the same 16 MiB back",
            e.msg,
            Verdict::Fail,
            since,
        ),
    });
    // A ping between fragments: its pong comes before the message is complete.
    let since = Instant::now();
    let r = Link::<NoSink>::open(p, None, false).map(|mut l| {
        l.frame(OpCode::Text, false, [false; 3], true, b"inter");
        l.frame(OpCode::Ping, true, [false; 3], true, b"between");
        let pong = l.until(p.wait, |s| !s.pongs.is_empty());
        l.frame(OpCode::Continue, true, [false; 3], true, b"leaved");
        let msg = l.until(p.wait, |s| !s.msgs.is_empty());
        (pong, msg && l.rec.seen.msgs[0].1 == b"interleaved")
    });
    out.push(match r {
        Ok((true, true)) => result(
            names[2].0,
            names[2].1,
            "the pong, then the echo",
            "the pong, then \"interleaved\"",
            Verdict::Pass,
            since,
        ),
        Ok((pong, msg)) => result(
            names[2].0,
            names[2].1,
            "the pong, then the echo",
            format!("pong: {pong}, echo: {msg}"),
            Verdict::Fail,
            since,
        ),
        Err(e) => result(
            names[2].0,
            names[2].1,
            "the pong, then the echo",
            e.msg,
            Verdict::Fail,
            since,
        ),
    });
    out
}

/// permessage-deflate offered: what the server chose (information, unless it broke).
fn deflate_check(p: &ProbeOptions) -> CheckResult {
    let since = Instant::now();
    match Link::<NoSink>::open(p, None, true) {
        Ok(l) => match l.conn_deflate() {
            Some(params) => result(
                "permessage-deflate offered",
                "RFC 7692 7",
                "a valid response, or none",
                params,
                Verdict::Pass,
                since,
            ),
            None => result(
                "permessage-deflate offered",
                "RFC 7692 7",
                "a valid response, or none",
                "not taken",
                Verdict::NotApplicable,
                since,
            ),
        },
        Err(e) => result(
            "permessage-deflate offered",
            "RFC 7692 7",
            "a valid response, or none",
            e.msg,
            Verdict::Fail,
            since,
        ),
    }
}

impl<S: Sink> Link<'_, S> {
    /// The permessage-deflate parameters agreed, as in the header.
    fn conn_deflate(&self) -> Option<String> {
        self.deflate.map(|a| a.params.header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_judged() {
        assert_eq!(Reaction::Closed(Some(1002)).judge(&[1002]), Verdict::Pass);
        assert_eq!(
            Reaction::Closed(Some(1008)).judge(&[1002]),
            Verdict::Lenient
        );
        assert_eq!(Reaction::Dropped.judge(&[1002]), Verdict::Lenient);
        assert_eq!(Reaction::KeptWorking.judge(&[1002]), Verdict::Lenient);
        assert_eq!(Reaction::Hung.judge(&[1002]), Verdict::Fail);
    }

    #[test]
    fn the_battery_covers_the_issue() {
        let names: Vec<String> = violations().into_iter().map(|v| v.name).collect();
        for want in [
            "reserved opcode 3",
            "reserved opcode 15",
            "RSV2 without an extension",
            "close with invalid code 5000",
            "invalid UTF-8 split across fragments",
            "unmasked client frame",
        ] {
            assert!(names.iter().any(|n| n == want), "{want}");
        }
    }
}
