//! The client's event loop: one thread owns the socket (non-blocking, `mio`), takes
//! commands from the input channel, and drives the protocol core (`protocol::Conn`,
//! which decodes, checks, reassembles and runs the closing handshake). Here: connect
//! and redirects, reconnect with backoff, timers (close timeout, keepalive, `/sleep`,
//! `/wait`, lingering at end of input), input, and what a received message means
//! (`/wait`, `--echo`, `--max-messages`). Events go to a `Sink`; no output formats here.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc::TryRecvError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use rustls::ClientConfig;

use crate::backoff::Backoff;
use crate::command::{Command, RawFrame};
use crate::connect;
use crate::error::Error;
use crate::event::{ConnState, Dir, Event, Info, MsgType};
use crate::exit;
use crate::handshake::{self, Ask};
use crate::input::{Input, InputRx, InputTx, Sigint};
use crate::outq::OWN_FROM;
use crate::protocol::{self, Driver, End, Msg, Tx};
use crate::target::Target;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{self, OpCode, Role};

const SOCK: Token = Token(0);
const WAKE: Token = Token(1);
const SIGNAL: Token = Token(2);
/// Stop taking commands while this much is waiting to be sent.
const HIGH_WATER: usize = 1 << 20;
const SMALL_READ: u64 = 2048;
/// However long the peer keeps sending, the wait for its close reply ends after this
/// many close timeouts from our close frame.
const CLOSE_WAIT_CAP: u32 = 10;

/// Where events go. The session calls `idle` before it waits, so a sink can flush then.
pub trait Sink {
    fn emit(&mut self, ev: &Event<'_>);
    fn idle(&mut self);
    /// The output is gone (a closed pipe): the session closes and ends.
    fn broken(&self) -> bool {
        false
    }
    /// The connection state changed (for the REPL prompt).
    fn state(&mut self, _state: ConnState) {}
    /// What the REPL prompt shows changed.
    fn prompt(&mut self, _view: crate::event::PromptView) {}
    /// The events that follow are about this client of `listen` (or none).
    fn client(&mut self, _id: Option<u64>) {}
}

/// Everything the session needs to know, checked.
#[derive(Clone)]
pub struct Options {
    pub target: Target,
    pub ask: Ask,
    pub tls: Option<Arc<ClientConfig>>,
    pub insecure: bool,
    pub connect_timeout: Duration,
    pub close_timeout: Duration,
    pub max_size: u64,
    pub max_messages: Option<u64>,
    pub keep_open: bool,
    /// At end of input, wait at most this long for the replies before closing.
    pub linger: Duration,
    /// Script mode (not the REPL): a command that did not run as written makes the
    /// exit status 4.
    pub script: bool,
    /// `--fail-fast`: a failed `/expect` closes (1000) and ends the session.
    pub fail_fast: bool,
    pub auto_pong: bool,
    /// `--echo`: send every data message received back as it came.
    pub echo: bool,
    /// `--reconnect`: after a disconnect the user did not ask for, try again.
    pub reconnect: bool,
    /// Give up after this many failed attempts in a row.
    pub max_retries: Option<u32>,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub ping_interval: Option<Duration>,
    /// `-L`: follow 3xx answers to the handshake.
    pub follow_redirects: bool,
    pub proxy: connect::ProxyMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Sleep(Instant),
    /// `/wait N`: until N data messages arrived since the last one we sent.
    Wait {
        need: u64,
        deadline: Instant,
    },
    /// `/expect`: until the next event of its kind, or the deadline.
    Expect {
        deadline: Instant,
    },
}

/// What `/expect` looks at: data messages since the last one we sent, pongs, the
/// peer's close frame. Bounded: the oldest message goes first.
#[derive(Default)]
struct Inbox {
    msgs: VecDeque<(MsgType, Vec<u8>)>,
    pongs: u64,
    close: Option<(Option<u16>, String)>,
}

/// Messages kept for `/expect` at most.
const INBOX_MAX: usize = 64;

/// Lingering at end of input: the replies are in once a data message has arrived
/// after the last one we sent and the peer then went quiet for `QUIET`, or for
/// `QUIET_ANSWERED` when as many have arrived on this connection as we sent.
const QUIET: Duration = Duration::from_millis(250);
/// However long replies keep coming, lingering ends this many `--linger`s after the end
/// of input.
const LINGER_CAP: u32 = 10;
const QUIET_ANSWERED: Duration = Duration::from_millis(10);

/// A connection that stayed open this long (or the current backoff delay, if longer)
/// resets the backoff; one that ends sooner counts as a failed attempt.
const STABLE: Duration = Duration::from_secs(2);

pub struct Session<S: Sink> {
    opts: Options,
    sink: S,
    poll: Poll,
    /// Input, its waker and Ctrl-C.
    input: InputRx,
    queue: VecDeque<Input>,
    input_done: bool,
    block: Block,
    /// Counters of the connections before this one, for /info.
    info: Info,
    connected_at: Option<Instant>,
    /// The user asked the session to end (/quit, /close, end of input, ...).
    stop: bool,
    /// `/reconnect` was asked.
    reconnect_now: bool,
    /// Keepalive pings sent so far, for distinct payloads.
    keepalives: u64,
    /// Input lines taken so far, for error messages.
    lineno: u64,
    /// Data messages received since the last one we sent (or since the connection
    /// opened): what `/wait` counts.
    rx_since_tx: u64,
    /// Script mode: a command did not run as written (exit status 4).
    script_failed: bool,
    /// What `/expect` checks, and the expectation waiting.
    inbox: Inbox,
    expecting: Option<crate::command::Expect>,
    /// What the current connection has seen, for the driver callbacks.
    now: Seen,
}

/// Per connection, what the session keeps besides the protocol core.
#[derive(Default)]
struct Seen {
    /// Data messages delivered.
    msgs_in: u64,
    /// When our input last put a frame on the wire, and when a frame last arrived.
    tx_at: Option<Instant>,
    rx_at: Option<Instant>,
    /// Pings we sent (by `/ping` or keepalive), for round trips.
    pings: VecDeque<(Vec<u8>, Instant)>,
    /// The keepalive ping still waiting for its pong.
    keepalive: Option<Vec<u8>>,
}

/// One open connection: the socket, the protocol core, and the loop's timers.
struct Link {
    t: Transport,
    p: protocol::Conn,
    eof: bool,
    /// `--ping-interval`: when the next keepalive ping is due.
    next_ping: Option<Instant>,
    /// Reads in a row that brought less than `SMALL_READ` bytes.
    small_reads: u32,
    /// The connection is over but its last bytes are not sent: when to stop trying.
    give_up_at: Option<Instant>,
    /// What had been written when `give_up_at` was last set, and the overall limit.
    written_at_give_up: u64,
    give_up_cap: Option<Instant>,
    /// We gave up on sending the rest.
    abandoned: bool,
    /// Everything is sent and our side is shut: reading what the peer still sends
    /// (so closing does not reset the connection and destroy our close frame on its
    /// way), until its end or this deadline.
    drain_until: Option<Instant>,
    /// Input ended: since when we wait for the replies before closing.
    linger_since: Option<Instant>,
}

impl<S: Sink> Session<S> {
    /// Create a session; the caller starts its input source with the returned `InputTx`.
    pub fn new(opts: Options, sink: S) -> Result<(Session<S>, InputTx), Error> {
        let poll = Poll::new().map_err(|e| Error::io(format!("poll: {e}")))?;
        let (tx, input) = crate::input::channel(&poll, WAKE, SIGNAL)?;
        Ok((
            Session {
                opts,
                sink,
                poll,
                input,
                queue: VecDeque::new(),
                input_done: false,
                block: Block::None,
                info: Info::default(),
                connected_at: None,
                stop: false,
                reconnect_now: false,
                keepalives: 0,
                lineno: 0,
                rx_since_tx: 0,
                script_failed: false,
                inbox: Inbox::default(),
                expecting: None,
                now: Seen::default(),
            },
            tx,
        ))
    }

    /// Connect and run until the session ends; returns the exit code.
    pub fn run(mut self) -> u8 {
        if self.opts.insecure && self.opts.target.tls {
            self.sink.emit(&Event::Warning(
                "-k/--insecure: the server certificate is not verified",
            ));
        }
        let mut backoff = Backoff::new(self.opts.backoff_min, self.opts.backoff_max);
        let mut ever_connected = false;
        let mut attempt = 0u32;
        loop {
            let code = match self.connect() {
                Ok(conn) => {
                    ever_connected = true;
                    let opened = Instant::now();
                    // The exit code speaks of the last connection only.
                    let (end, broken) = self.run_conn(conn);
                    if opened.elapsed() >= backoff.base().max(STABLE) {
                        // It stayed open a while: start over. One that ended at once
                        // counts as a failed attempt, so --max-retries can trip.
                        backoff.reset();
                        attempt = 0;
                    }
                    match end {
                        End::Clean if !broken => exit::OK,
                        _ => exit::LOST,
                    }
                }
                Err(e) => {
                    self.sink.emit(&Event::Error(&e));
                    if !self.opts.reconnect {
                        self.report_unsent("could not connect");
                        self.sink.idle();
                        return e.exit_code().max(exit::CONNECT);
                    }
                    if ever_connected {
                        exit::LOST
                    } else {
                        e.exit_code().max(exit::CONNECT)
                    }
                }
            };
            let asked = std::mem::take(&mut self.reconnect_now);
            if self.input.is_interrupted() || (self.stop && !asked) {
                break self.finish(code);
            }
            if !asked {
                if !self.opts.reconnect {
                    break self.finish(code);
                }
                if let Some(max) = self.opts.max_retries {
                    if attempt >= max {
                        let e = Error::new(
                            if ever_connected { crate::error::Kind::Io } else { crate::error::Kind::Connect },
                            format!("giving up after {max} failed reconnect attempt(s) in a row (--max-retries)"),
                        );
                        self.sink.emit(&Event::Error(&e));
                        break self.finish(if ever_connected {
                            exit::LOST
                        } else {
                            exit::CONNECT
                        });
                    }
                }
                attempt += 1;
                let delay = backoff.next_delay(rand::random::<f64>());
                self.sink.emit(&Event::Reconnect {
                    attempt,
                    delay_ms: delay.as_millis() as u64,
                });
                self.sink.state(ConnState::Reconnecting(delay));
                if !self.pause(delay) {
                    break self.finish(code);
                }
            } else {
                attempt = 0;
                self.sink.emit(&Event::Reconnect {
                    attempt: 1,
                    delay_ms: 0,
                });
            }
        }
    }

    fn finish(&mut self, code: u8) -> u8 {
        self.sink.state(ConnState::Closed);
        self.unchecked_expectations();
        self.report_unsent("the connection is closed");
        self.sink.idle();
        if code == exit::OK && self.script_failed {
            exit::SCRIPT
        } else {
            code
        }
    }

    /// `/expect`s that never ran, or still waited, when the session ended: failed.
    fn unchecked_expectations(&mut self) {
        if let Some(what) = self.expecting.take() {
            self.expect_result(&what, false, "nothing: the connection ended first");
        }
        self.fill_queue();
        let mut left = Vec::new();
        for input in &self.queue {
            match input {
                Input::Cmd(Command::Expect { what, .. }) => left.push(what.clone()),
                Input::Lines { data, pos, .. } => {
                    for line in data[*pos..].split(|&b| b == b'\n') {
                        let text = String::from_utf8_lossy(line);
                        if let Ok(Command::Expect { what, .. }) =
                            crate::command::parse(text.trim_end_matches('\r'))
                        {
                            left.push(what);
                        }
                    }
                }
                _ => {}
            }
        }
        for what in left {
            self.expect_result(&what, false, "never checked: the connection ended first");
        }
    }

    /// An expectation's outcome: shown; a failure makes the exit status 4.
    fn expect_result(&mut self, what: &crate::command::Expect, ok: bool, got: &str) {
        let what = what.describe();
        self.sink.emit(&Event::Expect {
            what: &what,
            ok,
            got,
        });
        if !ok {
            self.script_failed = true;
        }
    }

    /// Check the waiting `/expect` against what came; `now` for its deadline. Returns
    /// true when it failed (for `--fail-fast`).
    fn check_expect(&mut self, now: Instant) -> bool {
        let (Some(what), Block::Expect { deadline }) = (&self.expecting, self.block) else {
            return false;
        };
        use crate::command::Expect;
        let verdict: Option<(bool, String)> = match what {
            Expect::Close(code) => self.inbox.close.as_ref().map(|(c, reason)| {
                let shown = match c {
                    Some(c) => format!("close {c} {reason:?}"),
                    None => "close without a code".to_string(),
                };
                (code.is_none() || *code == *c, shown)
            }),
            Expect::Pong => (self.inbox.pongs > 0).then(|| {
                self.inbox.pongs -= 1;
                (true, "pong".to_string())
            }),
            _ => self
                .inbox
                .msgs
                .pop_front()
                .map(|(kind, payload)| expect_message(what, kind, &payload)),
        };
        let (ok, got) = match verdict {
            Some(v) => v,
            None if now >= deadline => (false, "nothing before the timeout".to_string()),
            None => return false,
        };
        let what = self.expecting.take().unwrap_or(Expect::Pong);
        self.block = Block::None;
        self.expect_result(&what, ok, &got);
        !ok && self.opts.fail_fast
    }

    /// A command could not run as written: said, and in script mode the exit status
    /// becomes 4.
    fn command_failed(&mut self, e: &Error) {
        self.sink.emit(&Event::Error(e));
        if self.opts.script {
            self.script_failed = true;
        }
    }

    /// Wait before reconnecting; input stays queued. False when interrupted.
    fn pause(&mut self, delay: Duration) -> bool {
        self.sink.idle();
        let until = Instant::now() + delay;
        let mut events = Events::with_capacity(4);
        loop {
            if self.input.is_interrupted() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            let _ = self.poll.poll(&mut events, Some(left));
            if events.iter().any(|e| e.token() == SIGNAL) {
                self.on_sigint();
            }
        }
    }

    /// Ctrl-C: the first closes (the loop sees `interrupted`), a second exits now.
    fn on_sigint(&mut self) {
        if self.input.sigint() == Sigint::Again {
            self.sink.idle();
            std::process::exit(exit::INTERRUPTED.into());
        }
    }

    fn connect(&mut self) -> Result<Link, Error> {
        self.input.connecting.store(true, Ordering::SeqCst);
        let r = self.connect_inner();
        self.input.connecting.store(false, Ordering::SeqCst);
        r
    }

    fn connect_inner(&mut self) -> Result<Link, Error> {
        self.sink.state(ConnState::Connecting);
        let mut target = self.opts.target.clone();
        let mut hops = 0;
        let (stream, hs, rest) = loop {
            self.sink.emit(&Event::Connecting { url: &target.url });
            self.sink.idle();
            let started = Instant::now();
            let deadline = started + self.opts.connect_timeout;
            let mut stream =
                connect::connect(&target, self.opts.tls.as_ref(), &self.opts.proxy, deadline)?;
            stream.set_deadline(deadline)?;
            match handshake::perform(&mut stream, &target, &self.opts.ask, started, deadline) {
                Ok((hs, rest)) => break (stream, hs, rest),
                Err(e) => {
                    let Some(location) =
                        redirect_location(&e).filter(|_| self.opts.follow_redirects)
                    else {
                        return Err(e);
                    };
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return Err(Error::handshake(format!(
                            "more than {MAX_REDIRECTS} redirects; the last pointed to {location}"
                        )));
                    }
                    let next = crate::target::redirect(&target, &location)?;
                    let status = e.refusal.as_ref().map_or(0, |r| r.status);
                    let msg = format!("redirect {hops}: {status} -> {}", next.url);
                    self.sink.emit(&Event::Notice(&msg));
                    target = next;
                }
            }
        };
        self.sink.emit(&Event::Handshake(&hs));
        let deflate = hs.deflate;
        if deflate.is_some_and(|a| !a.compress_out) {
            self.sink.emit(&Event::Warning(
                "permessage-deflate: the server asks for an 8-bit window, which a raw deflater \
                 cannot make: wsdbg sends its messages uncompressed (RSV1=0 is legal)",
            ));
        }
        self.info.handshake = Some(hs);
        self.rx_since_tx = 0;
        self.connected_at = Some(Instant::now());
        self.sink.state(ConnState::Open);
        let mut t = Transport::new(stream)?;
        self.poll
            .registry()
            .register(&mut t.sock, SOCK, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Error::io(format!("poll: {e}")))?;
        self.now = Seen::default();
        let p = protocol::Conn::new(
            protocol::Config {
                role: Role::Client,
                max_size: self.opts.max_size,
                auto_pong: self.opts.auto_pong,
                rbuf: protocol::READ_CHUNK,
                deflate,
            },
            &rest,
        );
        Ok(Link {
            t,
            p,
            eof: false,
            next_ping: self.opts.ping_interval.map(|i| Instant::now() + i),
            small_reads: 0,
            give_up_at: None,
            written_at_give_up: 0,
            give_up_cap: None,
            abandoned: false,
            drain_until: None,
            linger_since: None,
        })
    }

    /// The event loop of one open connection: until it is over and our last bytes
    /// are sent (or given up), then until the peer's end (bounded). Returns how it
    /// ended and whether the peer broke the protocol.
    fn run_conn(&mut self, mut c: Link) -> (End, bool) {
        let mut events = Events::with_capacity(16);
        // Bytes may already wait (after the handshake, or inside rustls).
        let mut readable = true;
        loop {
            if c.drain_until.is_some() {
                if readable {
                    readable = drain(&mut c);
                }
                if c.eof || c.drain_until.is_some_and(|t| Instant::now() >= t) {
                    return self.conn_over(c);
                }
            } else {
                if readable {
                    let before = c.p.rx.bytes;
                    readable = self.read_all(&mut c);
                    let got = c.p.rx.bytes - before;
                    self.pace_reads(&mut c, got, &mut readable);
                }
                self.pump_input(&mut c);
                self.flush_out(&mut c);
                if c.p.end().is_some() {
                    // A peer that reads nothing more gets --close-timeout to take the
                    // rest, counted from the last bytes it took (a slow reader is not
                    // cut off), and CLOSE_WAIT_CAP of them in all.
                    let now = Instant::now();
                    let written = c.p.tx.out.written();
                    if c.give_up_at.is_none() || written != c.written_at_give_up {
                        c.written_at_give_up = written;
                        c.give_up_at = Some(now + self.opts.close_timeout);
                    }
                    let cap = *c
                        .give_up_cap
                        .get_or_insert(now + self.opts.close_timeout * CLOSE_WAIT_CAP);
                    if c.give_up_at.is_some_and(|t| now >= t) || now >= cap {
                        c.p.abandon(self);
                        c.abandoned = true;
                    }
                    if c.p.tx.out.is_empty() && !c.t.has_pending() {
                        // Half-close, then read until the peer's end: closing with
                        // unread data would reset the connection (RST), and the peer
                        // could lose our close frame. Not when we gave up on a peer
                        // that stopped reading: there is nothing left to protect.
                        c.t.shutdown();
                        if c.eof || c.abandoned {
                            return self.conn_over(c);
                        }
                        c.drain_until = Some(Instant::now() + self.opts.close_timeout);
                        readable = true;
                        continue;
                    }
                }
            }
            let timeout = if readable {
                Some(Duration::ZERO)
            } else {
                self.next_timeout(&c)
            };
            if timeout != Some(Duration::ZERO) {
                self.sink.idle();
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    self.lost(&mut c, &Error::io(format!("poll: {e}")));
                }
                continue;
            }
            for ev in events.iter() {
                if ev.token() == SOCK && (ev.is_readable() || ev.is_read_closed() || ev.is_error())
                {
                    readable = true;
                }
                if ev.token() == SIGNAL {
                    self.on_sigint();
                }
            }
            if c.drain_until.is_none() {
                self.timers(&mut c);
            }
        }
    }

    /// The connection is over: add its counters to the session's, let it go.
    fn conn_over(&mut self, mut c: Link) -> (End, bool) {
        let _ = self.poll.registry().deregister(&mut c.t.sock);
        self.info = self.info_now(&c);
        self.info.uptime = Duration::ZERO;
        (c.p.end().unwrap_or(End::Unclean), c.p.broken())
    }

    /// The counters for `/info`: earlier connections plus this one.
    fn info_now(&self, c: &Link) -> Info {
        let mut i = self.info.clone();
        i.frames_in += c.p.rx.frames;
        i.bytes_in += c.p.rx.bytes;
        i.frames_out += c.p.tx.frames;
        i.bytes_out += c.p.tx.bytes;
        i.messages_in += self.now.msgs_in;
        i.messages_out += c.p.tx.messages;
        i
    }

    /// A peer that writes message by message (most servers under load) wakes us for
    /// every few dozen bytes: each wake-up costs a poll, a read and an output flush
    /// on both sides. After a run of small reads, let 200 µs of data gather, so one
    /// read takes many messages. Measured against a Node `ws` echo server with 200,000
    /// messages: wsdbg's system time 1.2 s -> 0.4 s, wall time 10-15% lower. The delay
    /// only starts after 8 small reads in a row, so a lone message is never held.
    fn pace_reads(&mut self, c: &mut Link, got: u64, readable: &mut bool) {
        if *readable || got == 0 || got >= SMALL_READ {
            c.small_reads = 0;
            return;
        }
        c.small_reads += 1;
        if c.small_reads >= 8 && c.p.end().is_none() {
            std::thread::sleep(Duration::from_micros(200));
            *readable = true;
        }
    }

    fn next_timeout(&self, c: &Link) -> Option<Duration> {
        let now = Instant::now();
        let mut at: Option<Instant> = None;
        let mut consider = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        match self.block {
            Block::Sleep(t) => consider(t),
            Block::Wait { deadline, .. } | Block::Expect { deadline } => consider(deadline),
            Block::None => {}
        }
        if let (Some(since), false) = (c.linger_since, closing(c)) {
            consider(self.linger_deadline(c, since));
            if let Some(quiet) = self.reply_quiet(c) {
                consider(c.p.rx.last_at + quiet);
            }
        }
        if let Some(sent) = c.p.tx.awaiting_close_reply() {
            consider(sent.max(c.p.rx.last_at) + self.opts.close_timeout);
            consider(sent + self.opts.close_timeout * CLOSE_WAIT_CAP);
        }
        if let (Some(t), false) = (c.next_ping, closing(c)) {
            consider(t);
        }
        if let Some(t) = c.give_up_at {
            // Waiting only to send what is queued.
            consider(t);
        }
        if let Some(t) = c.give_up_cap {
            consider(t);
        }
        if let Some(t) = c.drain_until {
            consider(t);
        }
        if !self.queue.is_empty() && self.block == Block::None && c.p.tx.out.pending() < HIGH_WATER
        {
            return Some(Duration::ZERO);
        }
        at.map(|t| t.saturating_duration_since(now))
    }

    fn timers(&mut self, c: &mut Link) {
        let now = Instant::now();
        match self.block {
            Block::Sleep(t) if now >= t => self.block = Block::None,
            Block::Wait { deadline, need } if now >= deadline => {
                self.block = Block::None;
                let e = Error::timeout(format!(
                    "/wait: expected {need} data message(s) after the last one sent, got {} before the timeout",
                    self.rx_since_tx
                ));
                self.command_failed(&e);
            }
            _ => {}
        }
        if matches!(self.block, Block::Expect { .. }) && self.check_expect(now) {
            self.user_close(c, Some(1000), "");
        }
        self.check_linger(c, now);
        if let Some(sent) = c.p.tx.awaiting_close_reply() {
            let ms = self.opts.close_timeout.as_millis();
            let msg = if now >= sent + self.opts.close_timeout * CLOSE_WAIT_CAP {
                Some(format!(
                    "no close frame from the peer within {CLOSE_WAIT_CAP} x --close-timeout ({} ms) of ours, though it kept sending",
                    ms * u128::from(CLOSE_WAIT_CAP)
                ))
            } else if now >= sent.max(c.p.rx.last_at) + self.opts.close_timeout {
                Some(format!(
                    "no close frame from the peer, and nothing else from it, for --close-timeout ({ms} ms)"
                ))
            } else {
                None
            };
            if let Some(msg) = msg {
                self.sink.emit(&Event::Error(&Error::timeout(msg)));
                c.p.close_timed_out(self);
            }
        }
        if let (Some(due), Some(interval)) = (c.next_ping, self.opts.ping_interval) {
            if now >= due && !closing(c) {
                if self.now.keepalive.is_some() {
                    let e = Error::timeout(format!(
                        "no pong within --ping-interval ({} ms): the connection is dead",
                        interval.as_millis()
                    ));
                    self.sink.emit(&Event::Error(&e));
                    c.p.lost(self, "no pong to the keepalive ping");
                } else {
                    self.keepalives += 1;
                    let payload = format!("wsdbg-keepalive-{}", self.keepalives).into_bytes();
                    self.now.pings.push_back((payload.clone(), now));
                    let key = c.p.tx.mask_key();
                    c.p.tx
                        .send_frame(self, OpCode::Ping, true, [false; 3], key, &payload);
                    self.now.keepalive = Some(payload);
                    c.next_ping = Some(now + interval);
                }
            }
        }
    }

    /// Take and run commands while nothing blocks them and the send buffer has room.
    fn pump_input(&mut self, c: &mut Link) {
        loop {
            if (self.sink.broken() || self.input.is_interrupted()) && !closing(c) {
                self.user_close(c, Some(1000), "");
            }
            if closing(c) {
                // Nothing more may be sent; what is left stays queued (for a reconnect)
                // and is reported at the end. An `/expect` (of the close, say) still
                // runs.
                if self.block == Block::None && self.next_is_expect() {
                    if let Some(Input::Cmd(cmd)) = self.next_input() {
                        self.execute(c, cmd);
                        continue;
                    }
                }
                return;
            }
            if self.block != Block::None || c.p.tx.out.pending() >= HIGH_WATER {
                return;
            }
            let Some(input) = self.next_input() else {
                return;
            };
            let sent_before = c.p.tx.frames;
            self.take_input(c, input);
            if c.p.tx.frames != sent_before {
                self.now.tx_at = Some(Instant::now());
            }
        }
    }

    /// Run one unit of input.
    fn take_input(&mut self, c: &mut Link, input: Input) {
        match input {
            Input::Lines { data, pos, raw } => {
                let end = data[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| pos + i);
                if end + 1 >= data.len() && end - pos >= OWN_FROM {
                    // A long last line: send it from this buffer, no copy.
                    self.owned_line(c, data, pos, end, raw);
                    return;
                }
                self.line(c, &data[pos..end], raw);
                if end + 1 < data.len() {
                    self.queue.push_front(Input::Lines {
                        data,
                        pos: end + 1,
                        raw,
                    });
                }
            }
            Input::Cmd(cmd) => self.execute(c, cmd),
            Input::Bad(e) => {
                let err = Error::usage(e.to_string());
                self.command_failed(&err);
            }
            Input::Eof => {
                self.input_done = true;
                if self.opts.keep_open || self.opts.max_messages.is_some() {
                    // Stay until the peer closes, Ctrl-C, or the Nth message.
                } else if self.opts.linger.is_zero() || self.now.tx_at.is_none() {
                    self.user_close(c, Some(1000), "");
                } else {
                    // Let the replies come home first (check_linger closes).
                    self.stop = true;
                    c.linger_since = Some(Instant::now());
                    self.check_linger(c, Instant::now());
                }
            }
        }
    }

    /// A long line that ends its input chunk: as `line`, but a plain line is sent from
    /// the chunk itself.
    fn owned_line(&mut self, c: &mut Link, data: Vec<u8>, pos: usize, end: usize, raw: bool) {
        let mut end = end;
        if data[pos..end].ends_with(b"\r") {
            end -= 1;
        }
        // The offset of the text to send within the line, when it is plain UTF-8 text.
        let skip = match std::str::from_utf8(&data[pos..end]) {
            Ok(_) if raw => Some(0),
            Ok(text) => crate::command::plain_text(text).map(|t| text.len() - t.len()),
            Err(_) => None,
        };
        let Some(skip) = skip else {
            // Commands and errors take the ordinary path.
            self.line(c, &data[pos..end], raw);
            return;
        };
        self.lineno += 1;
        let start = pos + skip;
        c.p.tx.send_owned(self, MsgType::Text, data, start, end);
    }

    /// One input line (without its `\n`): a plain line is sent as text straight from
    /// the input buffer; a command is parsed and run.
    fn line(&mut self, c: &mut Link, line: &[u8], raw: bool) {
        self.lineno += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                let err = Error::usage(format!(
                    "input line {}: expected UTF-8 text (use --binary for raw bytes), got an invalid byte at offset {}",
                    self.lineno,
                    e.valid_up_to()
                ));
                self.command_failed(&err);
                return;
            }
        };
        let plain = if raw {
            Some(text)
        } else {
            crate::command::plain_text(text)
        };
        if let Some(t) = plain {
            c.p.tx.send_data(self, MsgType::Text, t.as_bytes());
        } else {
            match crate::command::parse(text) {
                Ok(cmd) => self.execute(c, cmd),
                Err(e) => {
                    let err = Error::usage(e.to_string());
                    self.command_failed(&err);
                }
            }
        }
    }

    /// Is the next command an `/expect`? (A line chunk's first line is parsed; the
    /// chunk then gives way to the parsed command.)
    fn next_is_expect(&mut self) -> bool {
        if self.queue.is_empty() {
            self.fill_queue();
        }
        match self.queue.front() {
            Some(Input::Cmd(Command::Expect { .. })) => true,
            Some(Input::Lines { data, pos, .. }) => {
                let end = data[*pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| pos + i);
                let line = String::from_utf8_lossy(&data[*pos..end]).into_owned();
                let Ok(cmd @ Command::Expect { .. }) =
                    crate::command::parse(line.trim_end_matches('\r'))
                else {
                    return false;
                };
                let (data, next) = match self.queue.pop_front() {
                    Some(Input::Lines { data, raw, .. }) => (data, raw),
                    _ => return false,
                };
                if end + 1 < data.len() {
                    self.queue.push_front(Input::Lines {
                        data,
                        pos: end + 1,
                        raw: next,
                    });
                }
                self.lineno += 1;
                self.queue.push_front(Input::Cmd(cmd));
                true
            }
            _ => false,
        }
    }

    /// Take what the channel holds now (at most its capacity), and note whether the
    /// input has ended.
    fn fill_queue(&mut self) {
        loop {
            match self.input.rx.try_recv() {
                Ok(batch) => self.queue.extend(batch),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.input_done = true;
                    break;
                }
            }
        }
        if self.queue.iter().any(|i| matches!(i, Input::Eof)) {
            self.input_done = true;
        }
    }

    fn next_input(&mut self) -> Option<Input> {
        if self.queue.is_empty() && !self.input_done {
            match self.input.rx.try_recv() {
                Ok(batch) => self.queue.extend(batch),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.input_done = true,
            }
        }
        self.queue.pop_front()
    }

    /// Say which commands were never sent.
    fn report_unsent(&mut self, why: &str) {
        self.fill_queue();
        let unsent = self
            .queue
            .iter()
            .map(|i| match i {
                Input::Cmd(c) if sends(c) => 1,
                Input::Lines { data, pos, .. } => {
                    data[*pos..].iter().filter(|&&b| b == b'\n').count()
                }
                _ => 0,
            })
            .sum::<usize>();
        if unsent > 0 {
            let more = if self.input_done {
                ""
            } else {
                " (and input after them was not read)"
            };
            let msg = format!("{unsent} queued command(s) were not sent: {why}{more}");
            self.sink.emit(&Event::Warning(&msg));
        }
    }

    fn execute(&mut self, c: &mut Link, cmd: Command) {
        match cmd {
            Command::Text(t) => c.p.tx.send_data(self, MsgType::Text, t.as_bytes()),
            Command::Binary(b) => c.p.tx.send_data(self, MsgType::Binary, &b),
            Command::Deflate {
                binary,
                payload,
                compress,
            } => {
                let (kind, name) = if binary {
                    (MsgType::Binary, "/binary")
                } else {
                    (MsgType::Text, "/text")
                };
                if compress && !c.p.tx.can_compress() {
                    let e = Error::usage(format!(
                        "{name} compress=1: expected permessage-deflate to be on (offer it with \
                         --compress; the server must agree), nothing sent"
                    ));
                    self.command_failed(&e);
                } else {
                    c.p.tx.send_message(self, kind, &payload, compress);
                }
            }
            Command::File(path) => {
                // At most --max-size bytes (one more tells a bigger file): a device or
                // a pipe (/dev/zero) never ends.
                let max = self.opts.max_size;
                let mut b = Vec::new();
                let read = std::fs::File::open(&path).and_then(|f| {
                    std::io::Read::read_to_end(
                        &mut std::io::Read::take(f, max.saturating_add(1)),
                        &mut b,
                    )
                });
                match read {
                    Ok(n) if n as u64 > max => {
                        let err = Error::usage(format!(
                            "/file: {} is larger than --max-size ({max} bytes); nothing sent",
                            path.display()
                        ));
                        self.command_failed(&err);
                    }
                    Ok(n) if n >= OWN_FROM => c.p.tx.send_owned(self, MsgType::Binary, b, 0, n),
                    Ok(_) => c.p.tx.send_data(self, MsgType::Binary, &b),
                    Err(e) => {
                        let err = Error::usage(format!(
                            "/file: expected a readable file, could not read {}: {e}",
                            path.display()
                        ));
                        self.command_failed(&err);
                    }
                }
            }
            Command::Ping(p) => {
                if p.len() > 125 {
                    self.sink.emit(&Event::Warning(
                        "/ping: payload over 125 bytes breaks RFC 6455 5.5; sent as asked",
                    ));
                }
                self.now.pings.push_back((p.clone(), Instant::now()));
                if self.now.pings.len() > 64 {
                    self.now.pings.pop_front();
                }
                let key = c.p.tx.mask_key();
                c.p.tx
                    .send_frame(self, OpCode::Ping, true, [false; 3], key, &p);
            }
            Command::Pong(p) => {
                let key = c.p.tx.mask_key();
                c.p.tx
                    .send_frame(self, OpCode::Pong, true, [false; 3], key, &p);
            }
            Command::Close { code, reason } => {
                if !wire::close_code_allowed(code) {
                    let msg = format!(
                        "/close: code {code} is not allowed on the wire (RFC 6455 7.4.1); sent as asked"
                    );
                    self.sink.emit(&Event::Warning(&msg));
                }
                if reason.len() > 123 {
                    let msg = format!(
                        "/close: a reason of {} bytes makes the payload over 125 bytes, which breaks RFC 6455 5.5; sent as asked",
                        reason.len()
                    );
                    self.sink.emit(&Event::Warning(&msg));
                }
                self.user_close(c, Some(code), &reason);
            }
            Command::Frame(f) => self.send_raw(c, f),
            Command::Sleep(d) => self.block = Block::Sleep(Instant::now() + d),
            Command::Wait { n, timeout } => {
                let deadline = Instant::now() + timeout.unwrap_or(self.opts.close_timeout);
                if self.rx_since_tx < n {
                    self.block = Block::Wait { need: n, deadline };
                }
            }
            Command::Reconnect => {
                self.reconnect_now = true;
                c.p.tx.close(self, Some(1000), "reconnecting");
            }
            Command::Info => {
                let mut info = self.info_now(c);
                info.uptime = self.connected_at.map(|t| t.elapsed()).unwrap_or_default();
                info.state = "open";
                self.sink.emit(&Event::Info(&info));
            }
            Command::Quit => self.user_close(c, Some(1000), ""),
            Command::Help => {
                let help = crate::command::help_text();
                self.sink.emit(&Event::Notice(&help));
            }
            Command::Expect { what, within } => {
                let deadline = Instant::now() + within.unwrap_or(self.opts.close_timeout);
                self.expecting = Some(what);
                self.block = Block::Expect { deadline };
                if self.check_expect(Instant::now()) {
                    self.user_close(c, Some(1000), "");
                }
            }
            Command::Clients | Command::To(_) | Command::Kick { .. } => {
                let name = cmd.listen_only().unwrap_or_default();
                let e = Error::usage(format!(
                    "{name}: expected in `wsdbg listen` only (a client has one connection)"
                ));
                self.command_failed(&e);
            }
        }
    }

    fn send_raw(&mut self, c: &mut Link, f: RawFrame) {
        if f.opcode == OpCode::Close {
            // A close frame sent by hand still starts the closing handshake.
            self.stop = true;
        }
        c.p.tx.send_raw(self, &f);
    }

    /// A close the user asked for: the session ends after it (no reconnect).
    fn user_close(&mut self, c: &mut Link, code: Option<u16>, reason: &str) {
        self.stop = true;
        c.p.tx.close(self, code, reason);
    }

    /// Send what the socket takes now. When the peer has gone away, what it sent
    /// before is still readable (its last message, its close frame): take that first.
    fn flush_out(&mut self, c: &mut Link) {
        if c.p.tx.out.is_empty() && !c.t.has_pending() {
            return;
        }
        if let Err(e) = c.p.write_to(self, &mut c.t) {
            if c.p.end().is_none() && !c.eof {
                self.read_all(c);
            }
            self.lost(c, &e);
        }
    }

    /// The connection broke under us.
    fn lost(&mut self, c: &mut Link, e: &Error) {
        if c.p.end().is_some() {
            c.p.abandon(self);
            return;
        }
        self.sink.emit(&Event::Error(e));
        c.p.lost(self, &e.msg);
    }

    /// Read what is available (up to a budget, so sending is not starved) and handle
    /// every complete frame. Returns true when more may be waiting.
    fn read_all(&mut self, c: &mut Link) -> bool {
        let mut budget = 4 * protocol::READ_CHUNK;
        loop {
            c.p.process(self);
            if c.p.end().is_some() || c.eof {
                return false;
            }
            if budget == 0 {
                return true;
            }
            match c.t.read(c.p.rx.space()) {
                Ok(ReadOutcome::Data(n)) => {
                    c.p.rx.filled(n);
                    budget = budget.saturating_sub(n);
                }
                Ok(ReadOutcome::WouldBlock) => return false,
                Ok(ReadOutcome::Eof) => {
                    c.eof = true;
                    c.p.eof(self);
                    return false;
                }
                Err(e) => {
                    c.p.process(self);
                    self.lost(c, &e);
                    return false;
                }
            }
        }
    }

    /// At end of input: close once the replies are in, or when `--linger` runs out.
    fn check_linger(&mut self, c: &mut Link, now: Instant) {
        let Some(since) = c.linger_since else {
            return;
        };
        if closing(c) {
            return;
        }
        let quiet = now.saturating_duration_since(c.p.rx.last_at);
        let answered = self.reply_quiet(c).is_some_and(|q| quiet >= q);
        if answered || now >= self.linger_deadline(c, since) {
            c.linger_since = None;
            self.user_close(c, Some(1000), "");
        }
    }

    /// `--linger` counts from the end of input or the last bytes received, whichever is
    /// later (a slow server still sending its replies is not cut off), and ends at
    /// `LINGER_CAP` lingers after the end of input in any case.
    fn linger_deadline(&self, c: &Link, since: Instant) -> Instant {
        let from = since.max(c.p.rx.last_at);
        (from + self.opts.linger).min(since + self.opts.linger * LINGER_CAP)
    }

    /// Lingering: how long the peer must have been quiet for its replies to count as
    /// in, or `None` while nothing has arrived since the last frame we sent. Short
    /// when every data message and ping we sent has had its answer, else `QUIET`.
    fn reply_quiet(&self, c: &Link) -> Option<Duration> {
        match (self.now.rx_at, self.now.tx_at) {
            (Some(rx), Some(tx)) if rx >= tx => {}
            _ => return None,
        }
        if self.now.msgs_in >= c.p.tx.messages && self.now.pings.is_empty() {
            Some(QUIET_ANSWERED)
        } else {
            Some(QUIET)
        }
    }
}

impl<S: Sink> Driver for Session<S> {
    fn emit(&mut self, ev: &Event<'_>) {
        if let Event::Frame(f) = ev {
            if f.dir == Dir::In && f.opcode == OpCode::Close {
                let (code, reason) = crate::event::close_parts(f.payload);
                self.inbox.close = Some((code, String::from_utf8_lossy(reason).into_owned()));
                // Shown before the closing handshake's summary; nothing to close after.
                self.now.rx_at = Some(Instant::now());
                self.sink.emit(ev);
                let _ = self.check_expect(Instant::now());
                return;
            }
            match f.dir {
                Dir::In => self.now.rx_at = Some(Instant::now()),
                Dir::Out if f.opcode == OpCode::Close => self.sink.state(ConnState::Closing),
                Dir::Out => {}
            }
        }
        if let Event::Message { dir: Dir::Out, .. } = ev {
            self.rx_since_tx = 0;
            self.inbox.msgs.clear();
        }
        self.sink.emit(ev);
    }

    fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
        let total = self.info.messages_in + self.now.msgs_in;
        if self.opts.max_messages.is_some_and(|max| total >= max) {
            // --max-messages: exactly N are delivered; later ones were on the wire
            // (their frames were shown) before our close reached the peer.
            return;
        }
        self.now.msgs_in += 1;
        self.rx_since_tx += 1;
        self.sink.emit(&m.event(Dir::In));
        if self.inbox.msgs.len() >= INBOX_MAX {
            self.inbox.msgs.pop_front();
        }
        self.inbox.msgs.push_back((m.kind, m.payload.to_vec()));
        if self.check_expect(Instant::now()) && !tx.close_sent() {
            self.stop = true;
            tx.close(self, Some(1000), "");
        }
        if let Block::Wait { need, .. } = self.block {
            if self.rx_since_tx >= need {
                self.block = Block::None;
            }
        }
        if self.opts.echo && !tx.close_sent() && !tx.close_received() {
            tx.send_data(self, m.kind, m.payload);
        }
        if self.opts.max_messages.is_some_and(|max| total + 1 >= max) {
            self.stop = true;
            tx.close(self, Some(1000), "");
        }
    }

    fn pong(&mut self, payload: &[u8]) {
        self.inbox.pongs += 1;
        // A failed `/expect pong` with --fail-fast closes at the next timer check.
        let _ = self.check_expect(Instant::now());
        if self.now.keepalive.as_deref() == Some(payload) {
            self.now.keepalive = None;
        }
        if let Some(i) = self.now.pings.iter().position(|(p, _)| p == payload) {
            if let Some((_, at)) = self.now.pings.remove(i) {
                let rtt = at.elapsed();
                self.info.last_rtt = Some(rtt);
                self.sink.emit(&Event::Pong { rtt, payload });
            }
        }
    }
}

/// Does a data message meet a data `/expect`? (ok, what it was, for the message.)
fn expect_message(what: &crate::command::Expect, kind: MsgType, payload: &[u8]) -> (bool, String) {
    use crate::command::Expect;
    let shown = match (kind, std::str::from_utf8(payload)) {
        (MsgType::Text, Ok(t)) => {
            let cut: String = t.chars().take(200).collect();
            let more = if cut.len() < t.len() { "..." } else { "" };
            format!("text {cut:?}{more}")
        }
        _ => {
            let hex: Vec<String> = payload
                .iter()
                .take(64)
                .map(|b| format!("{b:02x}"))
                .collect();
            let more = if payload.len() > 64 { "..." } else { "" };
            format!("binary {}{more}", hex.join(""))
        }
    };
    let ok = match (what, kind) {
        (Expect::Text(re), MsgType::Text) => regex::Regex::new(re)
            .map(|r| r.is_match(&String::from_utf8_lossy(payload)))
            .unwrap_or(false),
        (Expect::Binary(want), MsgType::Binary) => want.as_slice() == payload,
        (Expect::Json { path, value }, MsgType::Text) => {
            match serde_json::from_slice::<serde_json::Value>(payload) {
                Ok(doc) => {
                    let want = serde_json::from_str::<serde_json::Value>(value)
                        .unwrap_or_else(|_| serde_json::Value::String(value.clone()));
                    let got = path.split('.').try_fold(&doc, |v, key| match v {
                        serde_json::Value::Array(a) => {
                            key.parse::<usize>().ok().and_then(|i| a.get(i))
                        }
                        _ => v.get(key),
                    });
                    match got {
                        Some(g) if *g == want => true,
                        Some(g) => return (false, format!("{shown}, where {path} is {g}")),
                        None => return (false, format!("{shown}, which has no {path}")),
                    }
                }
                Err(_) => return (false, format!("{shown}, which is not JSON")),
            }
        }
        _ => false,
    };
    (ok, shown)
}

/// The closing handshake has begun (either side) or the connection is over: nothing
/// more of the user's may be sent.
fn closing(c: &Link) -> bool {
    c.p.tx.close_sent() || c.p.tx.close_received() || c.p.end().is_some()
}

/// After our half-close: read and drop what the peer still sends, until its end.
/// Returns true when more may be waiting.
fn drain(c: &mut Link) -> bool {
    let mut scratch = [0u8; 16 * 1024];
    for _ in 0..64 {
        match c.t.read(&mut scratch) {
            Ok(ReadOutcome::Data(_)) => {}
            Ok(ReadOutcome::WouldBlock) => return false,
            Ok(ReadOutcome::Eof) | Err(_) => {
                c.eof = true;
                return false;
            }
        }
    }
    true
}

const MAX_REDIRECTS: u32 = 10;

/// The `Location` of a 3xx refusal.
fn redirect_location(e: &Error) -> Option<String> {
    let r = e.refusal.as_ref()?;
    if !(300..400).contains(&r.status) {
        return None;
    }
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_string())
}

/// Does this command put something on the wire?
fn sends(c: &Command) -> bool {
    matches!(
        c,
        Command::Text(_)
            | Command::Binary(_)
            | Command::Deflate { .. }
            | Command::File(_)
            | Command::Ping(_)
            | Command::Pong(_)
            | Command::Close { .. }
            | Command::Frame(_)
    )
}
