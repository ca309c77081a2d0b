//! `wsdbg probe URL`: RFC 6455 conformance checks against any server. Each check runs on
//! its own connection, made with every connection option given (`-H`, `-p`, TLS, proxy),
//! and all of them run at once, one thread each, so that the battery ends within
//! [`BATTERY`] whatever the server does. A check sends something (often a broken frame on
//! purpose) and judges what came back: `pass`, `fail` (the server broke a MUST: a wrong
//! pong, no close reply, a hang, a protocol error for valid input), `lenient` (it
//! tolerated a violation, or failed the connection without the code the RFC asks for),
//! `n/a` (the check could not run: the server closed first, does not echo, took another
//! extension).
//!
//! Checks as data: each connection is a small non-blocking loop (`Link::pump`) with one
//! deadline that covers its reads and its writes; the protocol core decodes what the
//! server sends. Of what the server sends, a check keeps counts and only what it compares
//! (the echo it waits for, a pong's payload), so a server that floods costs no memory.
//! This module owns probe's timers and verdicts; nothing of it is in the session or
//! listen drivers.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::config::ProbeOptions;
use crate::connect::{self, Stream};
use crate::deflate;
use crate::error::Error;
use crate::event::{close_parts, CheckResult, Dir, Event, FrameEv, MsgType, Verdict};
use crate::exit;
use crate::handshake::{self, Ask};
use crate::protocol::{self, Driver, Msg, Tx};
use crate::session::Sink;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{OpCode, Role};

/// The whole battery (the first connection included) ends within this, whatever the
/// server does: every connect, wait and write of every check is bounded by it.
pub const BATTERY: Duration = Duration::from_secs(28);
/// How long the first connection listens before it sends anything (to see a greeting,
/// or a server that closes first), and how long a check waits for the answer to its
/// first ping when the server answered none on the first connection.
const SETTLE: Duration = Duration::from_millis(250);
/// The ping each check sends (after a valid text message, for the violation checks)
/// before its own frames: what the server sent on connect arrives before its pong.
const READY: &[u8] = b"wsdbg-probe-ready";
/// The valid text message a violation's connection carries before the violation.
const VALID: &[u8] = b"wsdbg-probe-valid";
/// The ping that asks whether a server that tolerated a violation still works.
const ALIVE: &[u8] = b"wsdbg-probe-alive";
/// The message the first connection sends to see whether the server echoes.
const ECHO: &[u8] = b"wsdbg-probe-echo?";
/// With `-v`: frames and messages shown per check, and the largest payload shown.
const SHOW_ITEMS: usize = 64;
const SHOW_PAYLOAD: usize = 4096;
/// The slowest reader the size check waits for, in bytes a second: a message of N bytes
/// gets N / this seconds more than a small one.
const SLOW_READER: f64 = (256 << 10) as f64;
/// The most a big message adds to its check's deadline.
const MAX_ALLOWANCE: Duration = Duration::from_secs(8);
/// Close codes that say "you broke the protocol": for a valid message they are a fail.
const PROTOCOL_ERROR: &[u16] = &[1002, 1007];

/// What every check shares: the options, the battery's end, what the first connection
/// learned.
struct Ctx<'a> {
    p: &'a ProbeOptions,
    end: Instant,
    /// The server answered the first connection's ping.
    pongs: bool,
    /// The server echoes (detected on the first connection, or `--echo-server`).
    echoes: bool,
    verbose: bool,
}

impl Ctx<'_> {
    /// `n` waits from now, within the battery.
    fn waits(&self, n: u32) -> Instant {
        (Instant::now() + self.p.wait * n).min(self.end)
    }
}

/// The message a check waits for.
enum Want {
    Bytes(Vec<u8>),
    /// `n` bytes of [`pattern`], compared without a copy kept.
    Pattern(usize),
}

impl Want {
    fn matches(&self, payload: &[u8]) -> bool {
        match self {
            Want::Bytes(b) => b == payload,
            Want::Pattern(n) => {
                payload.len() == *n && payload.iter().enumerate().all(|(i, b)| *b == pattern(i))
            }
        }
    }
}

/// The bytes of the 16 MiB echo check.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// What came back on one connection: counts, and only what the check compares.
#[derive(Default)]
struct Seen {
    /// Data messages received, of any content.
    msgs: u64,
    want: Option<Want>,
    /// The wanted message came.
    found: bool,
    /// Other messages since the last `reset`, and the first of them in a few words.
    others: u64,
    first_other: Option<String>,
    pongs: u64,
    pong_want: Option<Vec<u8>>,
    pong_found: bool,
    /// The size of the first pong (since the last `reset`) with a payload we did not
    /// send (not the wanted one, not [`READY`]'s late answer).
    pong_other: Option<usize>,
    /// The server's close frame: its code (None: no code).
    close: Option<Option<u16>>,
    /// It came after the frames the check judges were written.
    close_after_mark: bool,
    /// The frames the check judges are written (see `Link::mark`).
    mark_written: bool,
    /// The server broke the protocol (our core saw it and failed the connection).
    violation: Option<String>,
    /// That came after the frames the check judges were written.
    violation_after_mark: bool,
}

impl Seen {
    /// Forget what the check does not judge (a greeting, the answers to `ready`).
    fn reset(&mut self) {
        *self = Seen {
            msgs: self.msgs,
            pongs: self.pongs,
            ..Seen::default()
        };
    }
}

/// A frame or message kept for `-v`, shown with the check's verdict.
enum Item {
    Frame {
        dir: Dir,
        fin: bool,
        rsv: [bool; 3],
        opcode: OpCode,
        mask: Option<[u8; 4]>,
        payload: Vec<u8>,
    },
    Message {
        dir: Dir,
        kind: MsgType,
        payload: Vec<u8>,
        frames: u64,
        wire: Option<u64>,
    },
}

/// What a check shows with `-v`: the first [`SHOW_ITEMS`] frames and messages of at most
/// [`SHOW_PAYLOAD`] bytes, and how many more there were.
#[derive(Default)]
struct Show {
    on: bool,
    items: Vec<Item>,
    skipped: u64,
}

impl Show {
    fn keep(&mut self, ev: &Event<'_>) {
        if !self.on {
            return;
        }
        let (Event::Frame(FrameEv { payload, .. }) | Event::Message { payload, .. }) = ev else {
            return;
        };
        if self.items.len() >= SHOW_ITEMS || payload.len() > SHOW_PAYLOAD {
            self.skipped += 1;
            return;
        }
        self.items.push(match *ev {
            Event::Frame(f) => Item::Frame {
                dir: f.dir,
                fin: f.fin,
                rsv: f.rsv,
                opcode: f.opcode,
                mask: f.mask,
                payload: f.payload.to_vec(),
            },
            Event::Message {
                dir,
                kind,
                payload,
                frames,
                wire,
            } => Item::Message {
                dir,
                kind,
                payload: payload.to_vec(),
                frames,
                wire,
            },
            _ => return,
        });
    }

    fn merge(&mut self, other: Show) {
        self.skipped += other.skipped;
        for i in other.items {
            if self.items.len() < SHOW_ITEMS {
                self.items.push(i);
            } else {
                self.skipped += 1;
            }
        }
    }

    fn emit<S: Sink>(&self, name: &str, out: &mut S) {
        for i in &self.items {
            match i {
                Item::Frame {
                    dir,
                    fin,
                    rsv,
                    opcode,
                    mask,
                    payload,
                } => out.emit(&Event::Frame(FrameEv {
                    dir: *dir,
                    fin: *fin,
                    rsv: *rsv,
                    opcode: *opcode,
                    mask: *mask,
                    payload,
                })),
                Item::Message {
                    dir,
                    kind,
                    payload,
                    frames,
                    wire,
                } => out.emit(&Event::Message {
                    dir: *dir,
                    kind: *kind,
                    payload,
                    frames: *frames,
                    wire: *wire,
                }),
            }
        }
        if self.skipped > 0 {
            let n = format!(
                "probe: {name}: {} more frames and messages not shown",
                self.skipped
            );
            out.emit(&Event::Notice(&n));
        }
    }
}

/// The protocol core's driver: counts and records what a check needs.
struct Rec<'a> {
    seen: Seen,
    show: &'a mut Show,
}

impl Driver for Rec<'_> {
    fn emit(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Frame(f)
                if f.dir == Dir::In && f.opcode == OpCode::Close && self.seen.close.is_none() =>
            {
                self.seen.close = Some(close_parts(f.payload).0);
                self.seen.close_after_mark = self.seen.mark_written;
            }
            Event::Error(e) if self.seen.violation.is_none() => {
                self.seen.violation = Some(e.msg.clone());
                self.seen.violation_after_mark = self.seen.mark_written;
            }
            _ => {}
        }
        self.show.keep(ev);
    }

    fn message(&mut self, _tx: &mut Tx, m: Msg<'_>) {
        self.show.keep(&m.event(Dir::In));
        let s = &mut self.seen;
        s.msgs += 1;
        match &s.want {
            Some(w) if !s.found && w.matches(m.payload) => s.found = true,
            _ => {
                s.others += 1;
                if s.first_other.is_none() {
                    s.first_other = Some(describe_msg(m.kind, m.payload));
                }
            }
        }
    }

    fn pong(&mut self, payload: &[u8]) {
        let s = &mut self.seen;
        s.pongs += 1;
        if s.pong_want.as_deref() == Some(payload) {
            s.pong_found = true;
        } else if payload != READY && s.pong_other.is_none() {
            s.pong_other = Some(payload.len());
        }
    }
}

/// A message in a few words: its type, size and first bytes.
fn describe_msg(kind: MsgType, payload: &[u8]) -> String {
    let head = &payload[..payload.len().min(32)];
    let more = if payload.len() > head.len() {
        "..."
    } else {
        ""
    };
    format!(
        "{} of {} bytes {:?}{more}",
        kind.as_str(),
        payload.len(),
        String::from_utf8_lossy(head)
    )
}

fn describe_close(code: Option<u16>) -> String {
    match code {
        Some(c) => format!("close {c} ({})", crate::event::close_code_name(c)),
        None => "close without a code".into(),
    }
}

/// TCP (and TLS, a proxy) and the opening handshake with `ask`, by `deadline`.
fn shake(
    p: &ProbeOptions,
    ask: &Ask,
    deadline: Instant,
) -> Result<(Stream, crate::event::Handshake, Vec<u8>), Error> {
    let o = &p.session;
    let started = Instant::now();
    let deadline = (started + o.connect_timeout).min(deadline);
    let mut stream = connect::connect(&o.target, o.tls.as_ref(), &o.proxy, &o.route, deadline)?;
    stream.set_deadline(deadline)?;
    let (hs, rest) = handshake::perform(&mut stream, &o.target, ask, started, deadline)?;
    Ok((stream, hs, rest))
}

/// One probe connection: a non-blocking socket, the protocol core, one deadline.
struct Link<'a> {
    t: Transport,
    poll: Poll,
    events: Events,
    conn: protocol::Conn,
    deflate: Option<deflate::Agreed>,
    rec: Rec<'a>,
    /// Nothing more will come (end of stream, or a read error).
    eof: bool,
    /// A write failed (the server reset the connection).
    write_failed: bool,
    /// The socket may have bytes to read.
    readable: bool,
    /// `out.written()` at which the frames the check judges are written.
    mark: Option<u64>,
    /// Everything this link does ends by then.
    deadline: Instant,
}

fn io_err(e: std::io::Error) -> Error {
    Error::io(format!("socket: {e}"))
}

impl<'a> Link<'a> {
    /// Connect and shake hands with `ask`; every wait of the link ends by `deadline`.
    fn open(ctx: &Ctx, ask: &Ask, deadline: Instant, show: &'a mut Show) -> Result<Self, Error> {
        let deadline = deadline.min(ctx.end);
        let (stream, hs, rest) = shake(ctx.p, ask, deadline)?;
        let mut t = Transport::new(stream)?;
        let poll = Poll::new().map_err(io_err)?;
        poll.registry()
            .register(
                &mut t.sock,
                Token(0),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(io_err)?;
        let o = &ctx.p.session;
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
            t,
            poll,
            events: Events::with_capacity(4),
            conn,
            deflate: hs.deflate,
            rec: Rec {
                seen: Seen::default(),
                show,
            },
            eof: false,
            write_failed: false,
            readable: true,
            mark: None,
            deadline,
        })
    }

    /// Queue a frame exactly as asked (masked with a fixed key unless `mask` is false).
    fn frame(&mut self, op: OpCode, fin: bool, rsv: [bool; 3], mask: bool, payload: &[u8]) {
        let key = mask.then_some([0x37, 0xfa, 0x21, 0x3d]);
        self.conn
            .tx
            .send_frame(&mut self.rec, op, fin, rsv, key, payload);
    }

    fn ping(&mut self, payload: &[u8]) {
        self.rec.seen.pong_want = Some(payload.to_vec());
        self.rec.seen.pong_found = false;
        self.frame(OpCode::Ping, true, [false; 3], true, payload);
    }

    /// What is queued so far (plus `extra` bytes) is what the check judges: a close
    /// frame counts as the server's answer only once that much is written.
    fn mark(&mut self, extra: u64) {
        self.mark = Some(self.conn.tx.out.queued() + extra);
        self.rec.seen.mark_written = false;
    }

    /// Write what the socket takes now.
    fn flush(&mut self) {
        if !self.write_failed && self.conn.write_to(&mut self.rec, &mut self.t).is_err() {
            self.write_failed = true;
        }
        // TLS records rustls made but the socket did not take yet.
        if !self.write_failed
            && self.conn.tx.out.is_empty()
            && self.t.has_pending()
            && self.t.write(&[]).is_err()
        {
            self.write_failed = true;
        }
        if let Some(m) = self.mark {
            if self.conn.tx.out.written() >= m {
                self.rec.seen.mark_written = true;
            }
        }
    }

    /// Everything queued is written.
    fn all_written(&self) -> bool {
        self.conn.tx.out.is_empty() && !self.t.has_pending()
    }

    /// Read what is there; once the protocol is over, read and drop (a server that
    /// floods after the close costs nothing).
    fn read_some(&mut self) {
        let r = if self.conn.end().is_some() {
            let mut scratch = [0u8; 16 << 10];
            self.t.read(&mut scratch).map(|r| match r {
                ReadOutcome::Data(_) => ReadOutcome::Data(0),
                other => other,
            })
        } else {
            self.t.read(self.conn.rx.space())
        };
        match r {
            Ok(ReadOutcome::Data(n)) => self.conn.rx.filled(n),
            Ok(ReadOutcome::WouldBlock) => self.readable = false,
            Ok(ReadOutcome::Eof) | Err(_) => {
                self.eof = true;
                self.conn.eof(&mut self.rec);
            }
        }
    }

    /// Read, handle and write until `done` holds, the connection ends, or `until` (or
    /// the link's deadline) passes. True when `done` held.
    fn pump(&mut self, until: Instant, done: impl Fn(&Seen) -> bool) -> bool {
        let until = until.min(self.deadline);
        loop {
            self.conn.process(&mut self.rec);
            self.flush();
            if done(&self.rec.seen) {
                return true;
            }
            if self.eof {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            if self.readable {
                self.read_some();
                continue;
            }
            // At most 100 ms at a time: `done` may also read what other checks did.
            let left = (until - now).clamp(Duration::from_millis(1), Duration::from_millis(100));
            if self.poll.poll(&mut self.events, Some(left)).is_err() {
                continue;
            }
            for ev in self.events.iter() {
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.readable = true;
                }
            }
        }
    }

    /// Before the check's own frames: a valid text message (when `valid`) and a ping,
    /// and the wait for its pong. What the server sends on connect (a greeting) comes
    /// before that pong and is set aside; a server that closes first is known before
    /// anything judged was sent. `Some` when the check cannot run (n/a), or the server
    /// broke the protocol (fail).
    fn ready(&mut self, ctx: &Ctx, valid: bool) -> Option<(Verdict, String)> {
        if valid {
            self.frame(OpCode::Text, true, [false; 3], true, VALID);
        }
        self.ping(READY);
        let wait = if ctx.pongs {
            ctx.p.wait
        } else {
            SETTLE.min(ctx.p.wait)
        };
        self.pump(Instant::now() + wait, |s| s.pong_found || s.close.is_some());
        let after = if valid {
            " after a valid text message"
        } else {
            ""
        };
        if let Some(v) = &self.rec.seen.violation {
            return Some((Verdict::Fail, format!("the server broke the protocol: {v}")));
        }
        if let Some(c) = self.rec.seen.close {
            // Even a protocol error for the valid message: this check did not run (the
            // first connection's check fails that).
            return Some((
                Verdict::NotApplicable,
                format!(
                    "the server closed first ({}{after}), before the check's frames",
                    describe_close(c)
                ),
            ));
        }
        if self.eof {
            return Some((
                Verdict::NotApplicable,
                format!("the server closed the connection first{after}, before the check's frames"),
            ));
        }
        self.rec.seen.reset();
        None
    }

    /// The server's reaction to the frames just marked: a close frame (its code), the
    /// connection's end, or neither within a wait (then: does it still answer a ping?).
    fn reaction(&mut self, ctx: &Ctx) -> Reaction {
        self.pump(ctx.waits(1), |s| s.close.is_some());
        if let Some(r) = self.ended() {
            return r;
        }
        if !self.rec.seen.mark_written {
            return Reaction::Unwritten;
        }
        // Still open: does it still work?
        self.ping(ALIVE);
        self.pump(ctx.waits(1), |s| s.pong_found || s.close.is_some());
        if let Some(r) = self.ended() {
            return r;
        }
        if self.rec.seen.pong_found {
            Reaction::KeptWorking
        } else {
            Reaction::Hung
        }
    }

    /// How the connection ended, if it did.
    fn ended(&self) -> Option<Reaction> {
        let s = &self.rec.seen;
        if let Some(v) = &s.violation {
            return Some(Reaction::Broke(v.clone()));
        }
        match s.close {
            Some(code) if s.close_after_mark => Some(Reaction::Closed(code)),
            Some(code) => Some(Reaction::Early(code)),
            None if self.eof || self.write_failed => Some(Reaction::Dropped),
            None => None,
        }
    }
}

/// What a server did after a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reaction {
    Closed(Option<u16>),
    /// A close that came before the judged frames were written: not an answer to them.
    Early(Option<u16>),
    Dropped,
    KeptWorking,
    Hung,
    /// The check's frames were not all taken by the server before the deadline.
    Unwritten,
    /// The server itself broke the protocol.
    Broke(String),
}

impl Reaction {
    fn describe(&self) -> String {
        match self {
            Reaction::Closed(c) => describe_close(*c),
            Reaction::Early(c) => format!(
                "the server closed ({}) before the check's frames were written",
                describe_close(*c)
            ),
            Reaction::Dropped => "connection dropped without a close frame".into(),
            Reaction::KeptWorking => "tolerated it: still answers pings".into(),
            Reaction::Hung => "no close, no pong: hung".into(),
            Reaction::Unwritten => {
                "the server did not take the check's frames before the deadline".into()
            }
            Reaction::Broke(v) => format!("the server broke the protocol: {v}"),
        }
    }

    /// The verdict when `codes` are what the RFC asks for.
    fn judge(&self, codes: &[u16]) -> Verdict {
        match self {
            Reaction::Closed(Some(c)) if codes.contains(c) => Verdict::Pass,
            // The connection was failed, without the code the RFC asks for (SHOULD).
            Reaction::Closed(_) | Reaction::Dropped => Verdict::Lenient,
            Reaction::KeptWorking => Verdict::Lenient,
            Reaction::Hung | Reaction::Broke(_) => Verdict::Fail,
            Reaction::Early(_) | Reaction::Unwritten => Verdict::NotApplicable,
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

/// One check of the battery.
enum Check {
    HandshakeAccept,
    HandshakeSubprotocol,
    HandshakeVersion,
    Violation(Violation),
    Ping(&'static str, Vec<u8>),
    Close(u16),
    Size,
    Fragmented,
    Big,
    PingBetweenFragments,
    Deflate,
}

/// Every check, in the order they are reported.
fn battery() -> Vec<Check> {
    let mut v = vec![
        Check::HandshakeAccept,
        Check::HandshakeSubprotocol,
        Check::HandshakeVersion,
    ];
    v.extend(violations().into_iter().map(Check::Violation));
    v.push(Check::Ping("ping with an empty payload", Vec::new()));
    v.push(Check::Ping("ping with 125 bytes", vec![b'z'; 125]));
    v.extend([1000u16, 1001, 3000, 4999].map(Check::Close));
    v.extend([
        Check::Size,
        Check::Fragmented,
        Check::Big,
        Check::PingBetweenFragments,
        Check::Deflate,
    ]);
    v
}

fn run_check(ctx: &Ctx, c: &Check) -> (CheckResult, Show) {
    let mut show = Show {
        on: ctx.verbose,
        ..Show::default()
    };
    let r = match c {
        Check::HandshakeAccept => handshake_accept(ctx),
        Check::HandshakeSubprotocol => handshake_subprotocol(ctx),
        Check::HandshakeVersion => handshake_version(ctx),
        Check::Violation(v) => violation_check(ctx, v, &mut show),
        Check::Ping(name, payload) => ping_check(ctx, name, payload, &mut show),
        Check::Close(code) => close_check(ctx, *code, &mut show),
        Check::Size => size_check(ctx, &mut show),
        Check::Fragmented => fragmented_check(ctx, &mut show),
        Check::Big => big_check(ctx, &mut show),
        Check::PingBetweenFragments => interleaved_check(ctx, &mut show),
        Check::Deflate => deflate_check(ctx),
    };
    (r, show)
}

/// Run every check against the server; events go to `out` (one `check` line each, in
/// the battery's order, the frames first with `-v`). Returns the exit code: 0 when
/// nothing failed, 4 when a check did, 1 when the server could not be reached at all,
/// 2 when the `--junit` file cannot be made.
pub fn run<S: Sink>(p: &ProbeOptions, out: &mut S, verbose: bool) -> u8 {
    let started = Instant::now();
    let end = started + BATTERY;
    // The report file first: a path that cannot be written is known before the network.
    let mut junit = match &p.junit {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some((path, f)),
            Err(e) => {
                let e = Error::usage(format!("--junit: cannot create {}: {e}", path.display()));
                out.emit(&Event::Error(&e));
                out.idle();
                return e.exit_code();
            }
        },
        None => None,
    };
    let mut ctx = Ctx {
        p,
        end,
        pongs: false,
        echoes: false,
        verbose,
    };
    let mut show = Show {
        on: verbose,
        ..Show::default()
    };
    let first = match first_connection(&ctx, &mut show) {
        Ok(f) => f,
        Err(e) => {
            out.emit(&Event::Error(&e));
            out.idle();
            return e.exit_code().max(exit::CONNECT);
        }
    };
    ctx.pongs = first.pongs;
    ctx.echoes = p.echo_server || first.echoes;
    if let Some(why) = &first.closed_first {
        let n = format!(
            "probe: the server closed the first connection before anything was sent ({why}): \
             the checks that need an open connection are n/a"
        );
        out.emit(&Event::Notice(&n));
    }
    if first.greeting > 0 {
        let n = format!(
            "probe: the server sent {} message(s) on connect; each check reads them and sets \
             them aside before its own frames",
            first.greeting
        );
        out.emit(&Event::Notice(&n));
    }
    let checks = battery();
    let mut results: Vec<CheckResult> = Vec::with_capacity(checks.len() + 1);
    let mut report = |out: &mut S, r: CheckResult, show: &Show| {
        show.emit(&r.name, out);
        out.emit(&Event::Check(&r));
        out.idle();
        results.push(r);
    };
    report(out, first.result, &show);
    let ctx = &ctx;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        for (i, c) in checks.iter().enumerate() {
            let tx = tx.clone();
            s.spawn(move || {
                let _ = tx.send((i, run_check(ctx, c)));
            });
        }
        drop(tx);
        // Reported in order, each as soon as it and those before it are done.
        let mut done: Vec<Option<(CheckResult, Show)>> = checks.iter().map(|_| None).collect();
        let mut next = 0;
        for (i, r) in rx {
            done[i] = Some(r);
            while let Some(Some((r, show))) = done.get_mut(next).map(Option::take) {
                report(out, r, &show);
                next += 1;
            }
        }
    });
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let elapsed = started.elapsed();
    let tally = crate::event::Tally {
        checks: results.len(),
        pass: count(Verdict::Pass),
        fail: count(Verdict::Fail),
        lenient: count(Verdict::Lenient),
        not_applicable: count(Verdict::NotApplicable),
        elapsed,
    };
    out.emit(&Event::Summary(&tally));
    out.idle();
    if let Some((path, f)) = &mut junit {
        let xml = junit_xml(&p.session.target.url, &results, elapsed);
        if let Err(e) = f.write_all(xml.as_bytes()).and_then(|_| f.flush()) {
            let e = Error::io(format!("--junit: cannot write {}: {e}", path.display()));
            out.emit(&Event::Error(&e));
            out.idle();
            return exit::CONNECT;
        }
    }
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

/// What the first connection learned, and its own check.
struct First {
    result: CheckResult,
    echoes: bool,
    pongs: bool,
    /// Messages the server sent before we sent anything.
    greeting: u64,
    /// The server closed before we sent anything: how.
    closed_first: Option<String>,
}

/// The first connection: reachable at all (else the error, exit 1); what the server
/// sends on connect; then one valid text message and a ping: are they accepted (a close
/// 1002 or 1007 for them is a fail), answered, echoed?
fn first_connection(ctx: &Ctx, show: &mut Show) -> Result<First, Error> {
    const NAME: &str = "a valid message and a ping accepted";
    const RFC: &str = "RFC 6455 5.6";
    const EXPECTED: &str = "no close for valid input, a pong";
    let since = Instant::now();
    let mut link = Link::open(ctx, &ctx.p.session.ask, ctx.waits(3), show)?;
    link.pump(Instant::now() + SETTLE.min(ctx.p.wait), |s| {
        s.close.is_some()
    });
    let greeting = link.rec.seen.msgs;
    let first = |result, echoes, pongs, closed_first| First {
        result,
        echoes,
        pongs,
        greeting,
        closed_first,
    };
    if link.rec.seen.close.is_some() || link.eof {
        let how = match link.rec.seen.close {
            Some(c) => describe_close(c),
            None => "the TCP connection, without a close frame".into(),
        };
        let verdict = match link.rec.seen.close {
            Some(Some(c)) if PROTOCOL_ERROR.contains(&c) => Verdict::Fail,
            _ => Verdict::NotApplicable,
        };
        let r = result(
            NAME,
            RFC,
            EXPECTED,
            format!("the server closed first: {how}, before anything was sent"),
            verdict,
            since,
        );
        return Ok(first(r, false, false, Some(how)));
    }
    link.rec.seen.reset();
    link.rec.seen.want = Some(Want::Bytes(ECHO.to_vec()));
    link.frame(OpCode::Text, true, [false; 3], true, ECHO);
    link.ping(READY);
    link.mark(0);
    link.pump(ctx.waits(1), |s| {
        (s.found && s.pong_found) || s.close.is_some()
    });
    let s = &link.rec.seen;
    let (echoes, pongs) = (s.found, s.pong_found);
    let (verdict, observed) = if let Some(v) = &s.violation {
        (Verdict::Fail, format!("the server broke the protocol: {v}"))
    } else if let Some(c) = s.close {
        match c {
            Some(code) if PROTOCOL_ERROR.contains(&code) => (
                Verdict::Fail,
                format!("{} for a valid text message and a ping", describe_close(c)),
            ),
            _ => (
                Verdict::NotApplicable,
                format!(
                    "the server closed ({}) after a valid text message",
                    describe_close(c)
                ),
            ),
        }
    } else if link.eof {
        (
            Verdict::NotApplicable,
            "the server closed the connection after a valid text message".into(),
        )
    } else if pongs {
        let echo = if echoes {
            "the message echoed"
        } else {
            "no echo (the echo checks are n/a)"
        };
        (Verdict::Pass, format!("the pong; {echo}"))
    } else if let Some(n) = s.pong_other {
        (
            Verdict::Fail,
            format!("a pong with another payload ({n} bytes)"),
        )
    } else {
        (Verdict::Fail, "no pong before the timeout".into())
    };
    let r = result(NAME, RFC, EXPECTED, observed, verdict, since);
    Ok(first(r, echoes, pongs, None))
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

/// A violation on a connection that first carried a valid message and a ping (so a
/// server that closes on anything, or first, is not credited), then its answer.
fn violation_check(ctx: &Ctx, v: &Violation, show: &mut Show) -> CheckResult {
    let since = Instant::now();
    let codes: Vec<String> = v.codes.iter().map(|c| c.to_string()).collect();
    let expected = format!("close {}", codes.join(" or "));
    let end = (since + SETTLE + ctx.p.wait * 3).min(ctx.end);
    let mut link = match Link::open(ctx, &ctx.p.session.ask, end, show) {
        Ok(l) => l,
        Err(e) => return result(&v.name, v.rfc, expected, e.msg, Verdict::Fail, since),
    };
    if link.deflate.is_some() && v.frames.iter().any(|f| f.2[0]) {
        return result(
            &v.name,
            v.rfc,
            expected,
            "permessage-deflate was agreed (--compress): RSV1 is allowed",
            Verdict::NotApplicable,
            since,
        );
    }
    if let Some((verdict, why)) = link.ready(ctx, true) {
        return result(&v.name, v.rfc, expected, why, verdict, since);
    }
    for (op, fin, rsv, mask, payload) in &v.frames {
        link.frame(*op, *fin, *rsv, *mask, payload);
    }
    link.mark(0);
    let r = link.reaction(ctx);
    let (verdict, observed) = match &r {
        // A server that sends the broken frame back (an echo server that checks
        // nothing) tolerated it; its own frame is what it was sent.
        Reaction::Broke(why) if link.rec.seen.violation_after_mark => (
            Verdict::Lenient,
            format!("tolerated it, and sent back a frame that breaks the protocol: {why}"),
        ),
        r => (r.judge(v.codes), r.describe()),
    };
    result(&v.name, v.rfc, expected, observed, verdict, since)
}

fn handshake_accept(ctx: &Ctx) -> CheckResult {
    let since = Instant::now();
    // The Accept value is checked by the client; no subprotocol and no extension that
    // was not offered may come back (RFC 6455 4.1).
    let (verdict, observed) = match shake(ctx.p, &ctx.p.session.ask, ctx.end) {
        Ok(_) => (
            Verdict::Pass,
            "101, Accept right, nothing chosen that was not offered".to_string(),
        ),
        Err(e) => (Verdict::Fail, e.msg),
    };
    result(
        "handshake: Accept value, nothing unoffered chosen",
        "RFC 6455 4.1",
        "101 with the right Sec-WebSocket-Accept",
        observed,
        verdict,
        since,
    )
}

fn handshake_subprotocol(ctx: &Ctx) -> CheckResult {
    let since = Instant::now();
    // An unknown subprotocol offered (after the user's own): the server must not choose
    // one that was not offered.
    let mut ask = ctx.p.session.ask.clone();
    ask.protocols.push("wsdbg-probe-unknown".into());
    let (verdict, observed) = match shake(ctx.p, &ask, ctx.end) {
        Ok((_, hs, _)) => (
            Verdict::Pass,
            match hs.protocol {
                Some(p) => format!("101 with {p:?}, which was offered"),
                None => "101 without a subprotocol".to_string(),
            },
        ),
        Err(e) if e.refusal.is_some() => (
            Verdict::Pass,
            format!("refused ({})", e.refusal.as_ref().map_or(0, |r| r.status)),
        ),
        Err(e) => (Verdict::Fail, e.msg),
    };
    result(
        "handshake: only an offered subprotocol chosen",
        "RFC 6455 4.1",
        "an offered subprotocol or none, or a refusal",
        observed,
        verdict,
        since,
    )
}

fn handshake_version(ctx: &Ctx) -> CheckResult {
    let since = Instant::now();
    // A version the server does not speak: 426 with the versions it does.
    let mut ask = ctx.p.session.ask.clone();
    ask.headers
        .push(("Sec-WebSocket-Version".into(), "12".into()));
    let (verdict, observed) = match shake(ctx.p, &ask, ctx.end) {
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
    result(
        "handshake: unknown version refused",
        "RFC 6455 4.4",
        "a refusal (426) with Sec-WebSocket-Version: 13",
        observed,
        verdict,
        since,
    )
}

fn ping_check(ctx: &Ctx, name: &str, payload: &[u8], show: &mut Show) -> CheckResult {
    const RFC: &str = "RFC 6455 5.5.3";
    const EXPECTED: &str = "a pong with the same payload";
    let since = Instant::now();
    let end = (since + SETTLE + ctx.p.wait * 2).min(ctx.end);
    let mut link = match Link::open(ctx, &ctx.p.session.ask, end, show) {
        Ok(l) => l,
        Err(e) => return result(name, RFC, EXPECTED, e.msg, Verdict::Fail, since),
    };
    if let Some((verdict, why)) = link.ready(ctx, false) {
        return result(name, RFC, EXPECTED, why, verdict, since);
    }
    link.ping(payload);
    link.mark(0);
    link.pump(ctx.waits(1), |s| {
        s.pong_found || s.pong_other.is_some() || s.close.is_some()
    });
    let s = &link.rec.seen;
    let (verdict, observed) = if s.pong_found {
        (
            Verdict::Pass,
            format!("pong of {} bytes, the same", payload.len()),
        )
    } else if let Some(n) = s.pong_other {
        (
            Verdict::Fail,
            format!("pong with another payload ({n} bytes)"),
        )
    } else {
        match link.ended() {
            Some(Reaction::Early(c)) => (Verdict::NotApplicable, Reaction::Early(c).describe()),
            Some(r) => (Verdict::Fail, format!("no pong: {}", r.describe())),
            None if !s.mark_written => (Verdict::NotApplicable, Reaction::Unwritten.describe()),
            None => (Verdict::Fail, "no pong before the timeout".to_string()),
        }
    };
    result(name, RFC, EXPECTED, observed, verdict, since)
}

fn close_check(ctx: &Ctx, code: u16, show: &mut Show) -> CheckResult {
    const RFC: &str = "RFC 6455 7.1.1";
    const EXPECTED: &str = "a close reply, then the server closes TCP";
    let since = Instant::now();
    let name = format!("close {code} answered, then the TCP connection closed");
    let end = (since + SETTLE + ctx.p.wait * 3).min(ctx.end);
    let mut link = match Link::open(ctx, &ctx.p.session.ask, end, show) {
        Ok(l) => l,
        Err(e) => return result(name, RFC, "a close reply", e.msg, Verdict::Fail, since),
    };
    if let Some((verdict, why)) = link.ready(ctx, false) {
        return result(name, RFC, EXPECTED, why, verdict, since);
    }
    link.conn.tx.close(&mut link.rec, Some(code), "probe");
    link.mark(0);
    let sent = Instant::now();
    let replied = link.pump(ctx.waits(1), |s| s.close.is_some());
    let reply_ms = sent.elapsed().as_millis();
    // RFC 6455 7.1.1: the server should close the TCP connection first.
    if replied && !link.eof {
        link.pump(ctx.waits(1), |_| false);
    }
    let s = &link.rec.seen;
    let (verdict, observed) = match s.close {
        Some(c) if !s.close_after_mark => (Verdict::NotApplicable, Reaction::Early(c).describe()),
        Some(c) if link.eof => (
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
        None if !s.mark_written => (Verdict::NotApplicable, Reaction::Unwritten.describe()),
        None if link.eof => (
            Verdict::Fail,
            "the connection closed without a close reply".to_string(),
        ),
        None => (
            Verdict::Fail,
            "no close reply before the timeout".to_string(),
        ),
    };
    result(name, RFC, EXPECTED, observed, verdict, since)
}

/// How one size of the size check went.
enum Sized {
    Accepted,
    /// Not run: why (the server closed first, or was too slow to take it all).
    NotRun(String),
    Refused(Reaction),
}

/// One message of `size` bytes, then a ping: its pong says the message was taken.
/// `smaller_failed` says a smaller size was not accepted: then this one no longer matters
/// and ends at once.
fn one_size(ctx: &Ctx, size: usize, smaller_failed: &dyn Fn() -> bool, show: &mut Show) -> Sized {
    let since = Instant::now();
    // A big message takes a slow server a while to read: as long as at SLOW_READER.
    let slow = Duration::from_secs_f64(size as f64 / SLOW_READER);
    let allowance = slow.min(MAX_ALLOWANCE);
    let end = (since + SETTLE + ctx.p.wait * 3 + allowance).min(ctx.end);
    let mut link = match Link::open(ctx, &ctx.p.session.ask, end, show) {
        Ok(l) => l,
        Err(e) => return Sized::Refused(Reaction::Broke(e.msg)),
    };
    if let Some((_, why)) = link.ready(ctx, false) {
        return Sized::NotRun(why);
    }
    let before = link.conn.tx.out.queued();
    link.conn
        .tx
        .send_owned(&mut link.rec, MsgType::Binary, vec![b'm'; size], 0, size);
    // The server may refuse on the header alone: a close counts once it is written.
    link.mark = Some(before + 14);
    link.rec.seen.mark_written = false;
    link.ping(b"after-big");
    let until = Instant::now() + ctx.p.wait * 2 + allowance;
    link.pump(until, |s| {
        s.pong_found || s.close.is_some() || smaller_failed()
    });
    if smaller_failed() {
        return Sized::NotRun("a smaller message was not accepted".into());
    }
    if link.rec.seen.pong_found && link.rec.seen.close.is_none() {
        return Sized::Accepted;
    }
    match link.ended() {
        Some(Reaction::Early(c)) => Sized::NotRun(Reaction::Early(c).describe()),
        Some(r) => Sized::Refused(r),
        None if !link.all_written() => Sized::NotRun(format!(
            "the server took {} of {} bytes in {:.1} s",
            link.conn.tx.out.written().saturating_sub(before),
            link.conn.tx.out.queued().saturating_sub(before),
            since.elapsed().as_secs_f64()
        )),
        // The battery ended the wait before a reader at SLOW_READER could be done.
        None if until > link.deadline || slow > allowance => Sized::NotRun(format!(
            "no answer within the battery's time ({:.1} s), too short to tell a slow \
             reader from a hung one",
            since.elapsed().as_secs_f64()
        )),
        None => Sized::Refused(Reaction::Hung),
    }
}

/// A message of 64 KiB, 1 MiB and 16 MiB, each on its own connection: accepted, or
/// refused with 1009 (a limit said as RFC 6455 7.4.1 asks) is a pass; a protocol error
/// for a valid message is a fail.
fn size_check(ctx: &Ctx, show: &mut Show) -> CheckResult {
    const NAME: &str = "a message just under and over the size limit";
    let since = Instant::now();
    let sizes = [64usize << 10, 1 << 20, 16 << 20];
    // The smallest size not accepted (the larger ones then stop).
    let first_bad = AtomicUsize::new(usize::MAX);
    let outcomes: Vec<(Sized, Show)> = std::thread::scope(|s| {
        let handles: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let first_bad = &first_bad;
                s.spawn(move || {
                    let mut show = Show {
                        on: ctx.verbose,
                        ..Show::default()
                    };
                    let smaller_failed = || first_bad.load(Ordering::SeqCst) < i;
                    let r = one_size(ctx, size, &smaller_failed, &mut show);
                    if !matches!(r, Sized::Accepted) {
                        first_bad.fetch_min(i, Ordering::SeqCst);
                    }
                    (r, show)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        Sized::Refused(Reaction::Broke("internal error".into())),
                        Show::default(),
                    )
                })
            })
            .collect()
    });
    let mut accepted = 0usize;
    let mut verdict = None;
    for (size, (outcome, s)) in sizes.iter().zip(outcomes) {
        show.merge(s);
        if verdict.is_some() {
            continue;
        }
        verdict = match outcome {
            Sized::Accepted => {
                accepted = *size;
                None
            }
            Sized::NotRun(why) => Some((
                Verdict::NotApplicable,
                format!("accepted {accepted} bytes; {size} bytes: {why}"),
            )),
            Sized::Refused(Reaction::Closed(Some(1009))) => Some((
                Verdict::Pass,
                format!("accepted {accepted} bytes; {size} bytes refused with 1009"),
            )),
            Sized::Refused(r @ Reaction::Closed(Some(c))) if PROTOCOL_ERROR.contains(&c) => Some((
                Verdict::Fail,
                format!(
                    "accepted {accepted} bytes; a valid {size}-byte message: {}",
                    r.describe()
                ),
            )),
            Sized::Refused(r @ (Reaction::Hung | Reaction::Broke(_))) => Some((
                Verdict::Fail,
                format!("accepted {accepted} bytes; {size} bytes: {}", r.describe()),
            )),
            Sized::Refused(r) => Some((
                Verdict::Lenient,
                format!(
                    "accepted {accepted} bytes; {size} bytes: {} (1009 expected)",
                    r.describe()
                ),
            )),
        };
    }
    let (verdict, observed) = verdict.unwrap_or_else(|| {
        (
            Verdict::Pass,
            format!("accepted every size up to {accepted} bytes"),
        )
    });
    result(
        NAME,
        "RFC 6455 7.4.1",
        "accepted, or refused with 1009",
        observed,
        verdict,
        since,
    )
}

/// The echo checks' common part: not run on a server that does not echo, or one that
/// closes first; else open and get ready.
fn echo_link<'a>(
    ctx: &Ctx,
    end: Instant,
    show: &'a mut Show,
) -> Result<Link<'a>, (Verdict, String)> {
    if !ctx.echoes {
        return Err((
            Verdict::NotApplicable,
            "the server does not echo (--echo-server to run it anyway)".into(),
        ));
    }
    let mut link =
        Link::open(ctx, &ctx.p.session.ask, end, show).map_err(|e| (Verdict::Fail, e.msg))?;
    if let Some(r) = link.ready(ctx, false) {
        return Err(r);
    }
    Ok(link)
}

/// Why the echo did not come: what came instead, how the connection ended.
fn no_echo(link: &Link) -> (Verdict, String) {
    let s = &link.rec.seen;
    let others = match &s.first_other {
        Some(first) => format!("; {} other message(s), the first {first}", s.others),
        None => String::new(),
    };
    match link.ended() {
        Some(Reaction::Early(c)) => (Verdict::NotApplicable, Reaction::Early(c).describe()),
        Some(r @ Reaction::Closed(Some(c))) if PROTOCOL_ERROR.contains(&c) => (
            Verdict::Fail,
            format!("{} for a valid message{others}", r.describe()),
        ),
        Some(r) => (Verdict::Fail, format!("no echo: {}{others}", r.describe())),
        None if !link.all_written() => (
            Verdict::NotApplicable,
            format!(
                "the server took {} of {} bytes before the deadline",
                link.conn.tx.out.written(),
                link.conn.tx.out.queued()
            ),
        ),
        None => (Verdict::Fail, format!("no echo before the timeout{others}")),
    }
}

fn fragmented_check(ctx: &Ctx, show: &mut Show) -> CheckResult {
    const NAME: &str = "fragmented message reassembled";
    const RFC: &str = "RFC 6455 5.4";
    const EXPECTED: &str = "the echo \"fragmented\"";
    let since = Instant::now();
    let end = (since + SETTLE + ctx.p.wait * 2).min(ctx.end);
    let mut link = match echo_link(ctx, end, show) {
        Ok(l) => l,
        Err((v, why)) => return result(NAME, RFC, EXPECTED, why, v, since),
    };
    link.rec.seen.want = Some(Want::Bytes(b"fragmented".to_vec()));
    link.frame(OpCode::Text, false, [false; 3], true, b"frag");
    link.frame(OpCode::Continue, false, [false; 3], true, b"ment");
    link.frame(OpCode::Continue, true, [false; 3], true, b"ed");
    link.mark(0);
    let (verdict, observed) =
        if link.pump(ctx.waits(1), |s| s.found || s.close.is_some()) && link.rec.seen.found {
            (Verdict::Pass, "\"fragmented\"".to_string())
        } else {
            no_echo(&link)
        };
    result(NAME, RFC, EXPECTED, observed, verdict, since)
}

fn big_check(ctx: &Ctx, show: &mut Show) -> CheckResult {
    const NAME: &str = "16 MiB message echoed whole";
    const RFC: &str = "RFC 6455 5.6";
    const EXPECTED: &str = "the same 16 MiB back, or a refusal with 1009";
    const SIZE: usize = 16 << 20;
    let since = Instant::now();
    let end = (since + SETTLE + ctx.p.wait * 6 + MAX_ALLOWANCE).min(ctx.end);
    let mut link = match echo_link(ctx, end, show) {
        Ok(l) => l,
        Err((v, why)) => return result(NAME, RFC, EXPECTED, why, v, since),
    };
    link.rec.seen.want = Some(Want::Pattern(SIZE));
    let before = link.conn.tx.out.queued();
    let big: Vec<u8> = (0..SIZE).map(pattern).collect();
    link.conn
        .tx
        .send_owned(&mut link.rec, MsgType::Binary, big, 0, SIZE);
    link.mark = Some(before + 14);
    let found = link.pump(end, |s| s.found || s.close.is_some()) && link.rec.seen.found;
    let (verdict, observed) = if found {
        (Verdict::Pass, "the same 16 MiB back".to_string())
    } else {
        match link.ended() {
            Some(Reaction::Closed(Some(1009))) => {
                (Verdict::Pass, "refused with 1009 (its limit)".to_string())
            }
            _ => no_echo(&link),
        }
    };
    result(NAME, RFC, EXPECTED, observed, verdict, since)
}

fn interleaved_check(ctx: &Ctx, show: &mut Show) -> CheckResult {
    const NAME: &str = "ping between fragments answered";
    const RFC: &str = "RFC 6455 5.4";
    const EXPECTED: &str = "the pong, then the echo";
    let since = Instant::now();
    let end = (since + SETTLE + ctx.p.wait * 3).min(ctx.end);
    let mut link = match echo_link(ctx, end, show) {
        Ok(l) => l,
        Err((v, why)) => return result(NAME, RFC, EXPECTED, why, v, since),
    };
    // Its pong comes before the message is complete.
    link.rec.seen.want = Some(Want::Bytes(b"interleaved".to_vec()));
    link.frame(OpCode::Text, false, [false; 3], true, b"inter");
    link.ping(b"between");
    link.mark(0);
    let pong =
        link.pump(ctx.waits(1), |s| s.pong_found || s.close.is_some()) && link.rec.seen.pong_found;
    link.frame(OpCode::Continue, true, [false; 3], true, b"leaved");
    let msg = link.pump(ctx.waits(1), |s| s.found || s.close.is_some()) && link.rec.seen.found;
    let (verdict, observed) = match (pong, msg) {
        (true, true) => (Verdict::Pass, "the pong, then \"interleaved\"".to_string()),
        (pong, _) if link.ended().is_some() || !link.all_written() => {
            let (v, why) = no_echo(&link);
            (v, format!("pong: {pong}; {why}"))
        }
        (pong, msg) => (Verdict::Fail, format!("pong: {pong}, echo: {msg}")),
    };
    result(NAME, RFC, EXPECTED, observed, verdict, since)
}

/// permessage-deflate offered: what the server chose (information, unless it broke).
fn deflate_check(ctx: &Ctx) -> CheckResult {
    const NAME: &str = "permessage-deflate offered";
    const RFC: &str = "RFC 7692 7";
    const EXPECTED: &str = "a valid response, or none";
    let since = Instant::now();
    let mut ask = ctx.p.session.ask.clone();
    ask.compress = Some(deflate::Params::browser_offer());
    match shake(ctx.p, &ask, ctx.end) {
        Ok((_, hs, _)) => match hs.deflate {
            Some(a) => result(NAME, RFC, EXPECTED, a.params.header(), Verdict::Pass, since),
            None => result(
                NAME,
                RFC,
                EXPECTED,
                "not taken",
                Verdict::NotApplicable,
                since,
            ),
        },
        Err(e) => result(NAME, RFC, EXPECTED, e.msg, Verdict::Fail, since),
    }
}

/// The verdicts as a JUnit XML report: one `testsuite`, one `testcase` per check; a
/// fail is a `<failure>`, an n/a is `<skipped>`, a lenient one passes with its
/// observation in `<system-out>`.
fn junit_xml(url: &str, results: &[CheckResult], elapsed: Duration) -> String {
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let suite = format!(
        "name=\"wsdbg probe {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\"",
        xml_escape(url),
        results.len(),
        count(Verdict::Fail),
        count(Verdict::NotApplicable),
        elapsed.as_secs_f64()
    );
    x.push_str(&format!("<testsuites {suite}>\n  <testsuite {suite}>\n"));
    for r in results {
        x.push_str(&format!(
            "    <testcase classname=\"wsdbg.probe\" name=\"{}\" time=\"{:.3}\">\n",
            xml_escape(&r.name),
            r.elapsed.as_secs_f64()
        ));
        let text = xml_escape(&format!(
            "{}: expected {}; observed {}",
            r.rfc, r.expected, r.observed
        ));
        match r.verdict {
            Verdict::Fail => x.push_str(&format!(
                "      <failure message=\"{}\" type=\"fail\">{text}</failure>\n",
                xml_escape(&r.observed)
            )),
            Verdict::NotApplicable => x.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                xml_escape(&r.observed)
            )),
            Verdict::Lenient => {
                x.push_str(&format!("      <system-out>lenient: {text}</system-out>\n"))
            }
            Verdict::Pass => x.push_str(&format!("      <system-out>pass: {text}</system-out>\n")),
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Text for an XML attribute or element: the five entities escaped, and the characters
/// XML 1.0 does not allow (most C0 controls) as U+FFFD.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
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
        // A close that came before the violation was written is no answer to it.
        assert_eq!(
            Reaction::Early(Some(1002)).judge(&[1002]),
            Verdict::NotApplicable
        );
        assert_eq!(Reaction::Unwritten.judge(&[1002]), Verdict::NotApplicable);
        assert_eq!(Reaction::Broke("x".into()).judge(&[1002]), Verdict::Fail);
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
        // The first connection's check and the battery: 44 in all.
        assert_eq!(battery().len() + 1, 44);
    }

    #[test]
    fn the_pattern_want_compares_without_a_copy() {
        let p: Vec<u8> = (0..1000).map(pattern).collect();
        assert!(Want::Pattern(1000).matches(&p));
        assert!(!Want::Pattern(999).matches(&p));
        let mut q = p.clone();
        q[500] ^= 1;
        assert!(!Want::Pattern(1000).matches(&q));
    }

    #[test]
    fn junit_escapes_and_counts() {
        let r = |name: &str, verdict| CheckResult {
            name: name.into(),
            rfc: "RFC 6455 5.2",
            expected: "close 1002".into(),
            observed: "got <\"&'\u{1}>".into(),
            verdict,
            elapsed: Duration::from_millis(5),
        };
        let x = junit_xml(
            "ws://h/?a=1&b=2",
            &[
                r("a", Verdict::Pass),
                r("b", Verdict::Fail),
                r("c", Verdict::NotApplicable),
                r("d", Verdict::Lenient),
            ],
            Duration::from_secs(1),
        );
        assert!(
            x.contains("tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{x}"
        );
        assert!(x.contains("ws://h/?a=1&amp;b=2"), "{x}");
        assert!(x.contains("got &lt;&quot;&amp;&apos;\u{FFFD}&gt;"), "{x}");
        assert_eq!(x.matches("<testcase ").count(), 4);
        assert_eq!(x.matches("<failure ").count(), 1);
        assert_eq!(x.matches("<skipped ").count(), 1);
    }
}
