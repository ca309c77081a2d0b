//! The client driver: one thread owns the socket (non-blocking, `mio`) and moves bytes
//! between it, the protocol core (`protocol::Conn`: decoding, checks, reassembly, the
//! closing handshake and its deadlines) and the session engine (`engine::Script`: what
//! the commands and the input mean, waits, expectations, lingering, the outcome). Here:
//! connect and redirects, reconnect with backoff, keepalive pings, reading and writing,
//! and obeying the deadlines the two layers give. Events go to a `Sink`; no output
//! formats here, and no rule about commands or timers of its own.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::backoff::Backoff;
use crate::config::Options;
use crate::connect;
use crate::engine::{Act, Behaviour, Port, Ready, Reflex, Script};
use crate::error::Error;
use crate::event::{ConnState, Dir, Event, Info};
use crate::exit;
use crate::handshake;
use crate::input::{InputRx, InputTx, Sigint};
use crate::protocol::{self, Driver, End, Msg, Tx};
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{OpCode, Role};

const SOCK: Token = Token(0);
const WAKE: Token = Token(1);
const SIGNAL: Token = Token(2);
/// Stop taking commands (and, with `--echo`, reading) while this much is waiting to be
/// sent.
use crate::flow::HIGH_WATER;
const SMALL_READ: u64 = 2048;

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
    /// `relay`: the events that follow are about this leg of the pair (or none).
    fn leg(&mut self, _leg: Option<crate::event::Leg>) {}
    /// The time of the events that follow, read once by the loop for a batch of them
    /// (the bytes of one read, the commands of one pass); `None`: read the clock for
    /// each.
    fn clock(&mut self, _at: Option<Instant>) {}
}

const SECOND: Duration = Duration::from_secs(1);

pub struct Session<S: Sink> {
    opts: Options,
    sink: S,
    poll: Poll,
    /// Input, its waker and Ctrl-C.
    input: InputRx,
    engine: Script,
    how: Behaviour,
    reflex: Reflex,
    /// Counters of the connections before this one, for /info.
    info: Info,
    connected_at: Option<Instant>,
    /// `/reconnect` was asked.
    reconnect_now: bool,
    /// Ctrl-C (or a closed output) was passed to the engine.
    interrupt_seen: bool,
    /// A second Ctrl-C: end now.
    abort: bool,
    /// Keepalive pings sent so far, for distinct payloads.
    keepalives: u64,
    /// What the current connection has seen, for the driver callbacks.
    now: Seen,
    /// `--cookie`, `--cookie-jar`: what is sent, and what responses set.
    jar: Option<crate::cookies::Jar>,
    /// When the bytes being processed were read: the time of the messages they hold
    /// (one clock read per read, not per message).
    read_at: Instant,
}

/// Per connection, what the session keeps besides the protocol core.
#[derive(Default)]
struct Seen {
    /// Data messages delivered.
    msgs_in: u64,
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
    /// Our side is shut and everything is sent: reading until the peer's end or this.
    draining: Option<Instant>,
}

/// The client's events out: the sink, with the prompt following our close frame.
struct Out<'a, S: Sink>(&'a mut S);

impl<S: Sink> Driver for Out<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        if let Event::Frame(f) = ev {
            if f.dir == Dir::Out && f.opcode == OpCode::Close {
                self.0.state(ConnState::Closing);
            }
        }
        self.0.emit(ev);
    }

    fn message(&mut self, _tx: &mut Tx, _m: Msg<'_>) {}
}

/// The engine's port on the client's connection.
struct Wire<'a, S: Sink> {
    out: Out<'a, S>,
    tx: &'a mut Tx,
    pings: &'a mut VecDeque<(Vec<u8>, Instant)>,
    reconnect_now: &'a mut bool,
    /// For `/info`: the counters so far.
    info: Option<Info>,
}

impl<S: Sink> Port for Wire<'_, S> {
    fn ready(&self) -> Ready {
        if self.tx.close_sent() || self.tx.close_received() || self.tx.is_over() {
            Ready::Closing
        } else if self.tx.out.pending() >= HIGH_WATER {
            Ready::Full
        } else {
            Ready::Open
        }
    }

    fn can_compress(&self) -> bool {
        self.tx.can_compress()
    }

    fn emit(&mut self, ev: &Event<'_>) {
        self.out.0.emit(ev);
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Error> {
        let d = &mut self.out;
        match act {
            Act::Data {
                kind,
                payload,
                compress: None,
            } => self.tx.send_data(d, kind, payload),
            Act::Data {
                kind,
                payload,
                compress: Some(c),
            } => self.tx.send_message(d, kind, payload, c),
            Act::Owned {
                kind,
                data,
                start,
                end,
            } => self.tx.send_owned(d, kind, data, start, end),
            Act::Ping(p) => {
                self.pings.push_back((p.to_vec(), Instant::now()));
                if self.pings.len() > 64 {
                    self.pings.pop_front();
                }
                let key = self.tx.mask_key();
                self.tx
                    .send_frame(d, OpCode::Ping, true, [false; 3], key, p);
            }
            Act::Pong(p) => {
                let key = self.tx.mask_key();
                self.tx
                    .send_frame(d, OpCode::Pong, true, [false; 3], key, p);
            }
            Act::Close { code, reason } => self.tx.close(d, Some(code), reason),
            Act::Frame(f) => self.tx.send_raw(d, f),
            Act::Reconnect => {
                *self.reconnect_now = true;
                self.tx.close(d, Some(1000), "reconnecting");
            }
            Act::Info => {
                if let Some(info) = &self.info {
                    d.0.emit(&Event::Info(info));
                }
            }
            Act::Quit => self.tx.close(d, Some(1000), ""),
            // The engine refuses listen's commands on the client's side.
            Act::Clients | Act::To(_) | Act::Kick { .. } | Act::Leg(_) | Act::Cut => {}
        }
        Ok(())
    }
}

/// The engine's port when there is no connection (between connections, at the end):
/// events only.
struct Idle<'a, S: Sink>(&'a mut S);

impl<S: Sink> Port for Idle<'_, S> {
    fn ready(&self) -> Ready {
        Ready::Wait
    }

    fn emit(&mut self, ev: &Event<'_>) {
        self.0.emit(ev);
    }

    fn act(&mut self, _act: Act<'_>) -> Result<(), Error> {
        Ok(())
    }
}

impl<S: Sink> Session<S> {
    /// Create a session; the caller starts its input source with the returned `InputTx`.
    pub fn new(opts: Options, sink: S) -> Result<(Session<S>, InputTx), Error> {
        let poll = Poll::new().map_err(|e| Error::io(format!("poll: {e}")))?;
        let (tx, input) = crate::input::channel(&poll, WAKE, SIGNAL)?;
        let engine = Script::new(opts.engine());
        let jar = opts.cookies.clone();
        let how = Behaviour {
            echo: opts.echo,
            proto: opts.keepalive,
            ..Behaviour::default()
        };
        Ok((
            Session {
                opts,
                sink,
                poll,
                input,
                engine,
                how,
                reflex: Reflex::default(),
                info: Info::default(),
                connected_at: None,
                reconnect_now: false,
                interrupt_seen: false,
                abort: false,
                keepalives: 0,
                now: Seen::default(),
                jar,
                read_at: Instant::now(),
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
                    if self.opts.reconnect && !self.reconnect_now && !self.input.is_interrupted() {
                        self.engine.connection_lost(&mut Idle(&mut self.sink));
                    }
                    if backoff.connection_ended(opened.elapsed()) {
                        attempt = 0;
                    }
                    match end {
                        End::Clean if !broken => exit::OK,
                        _ => exit::LOST,
                    }
                }
                Err(e) => {
                    self.sink.emit(&Event::Error(&e));
                    let code = if ever_connected {
                        exit::LOST
                    } else {
                        e.exit_code().max(exit::CONNECT)
                    };
                    if !self.opts.reconnect {
                        return self.finish(code, "could not connect");
                    }
                    code
                }
            };
            if self.abort {
                self.sink.idle();
                return exit::INTERRUPTED;
            }
            let asked = std::mem::take(&mut self.reconnect_now);
            if self.input.is_interrupted() || (self.engine.stopped() && !asked) {
                return self.finish(code, "the connection is closed");
            }
            if !asked {
                if !self.opts.reconnect {
                    return self.finish(code, "the connection is closed");
                }
                if let Some(max) = self.opts.max_retries {
                    if attempt >= max {
                        let e = Error::new(
                            if ever_connected { crate::error::Kind::Io } else { crate::error::Kind::Connect },
                            format!("giving up after {max} failed reconnect attempt(s) in a row (--max-retries)"),
                        );
                        self.sink.emit(&Event::Error(&e));
                        let code = if ever_connected {
                            exit::LOST
                        } else {
                            exit::CONNECT
                        };
                        return self.finish(code, "the connection is closed");
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
                    if self.abort {
                        self.sink.idle();
                        return exit::INTERRUPTED;
                    }
                    return self.finish(code, "interrupted");
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

    /// The session is over: what never ran is reported, the cookie jar written, and
    /// the exit code chosen.
    fn finish(&mut self, code: u8, why: &str) -> u8 {
        if let (Some(path), Some(jar)) = (&self.opts.cookie_jar, &self.jar) {
            if let Err(msg) = jar.save(path) {
                self.sink.emit(&Event::Warning(&msg));
            }
        }
        self.sink.state(ConnState::Closed);
        self.input.hand_to(&mut self.engine, true);
        self.engine.finish(why, &mut Idle(&mut self.sink));
        self.sink.idle();
        exit::code(code, self.engine.failed())
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
            // The prompt counts down (`[retry 13s]`, `[retry 12s]`, ...): wake when
            // the whole seconds it shows change.
            self.sink.state(ConnState::Reconnecting(left));
            self.sink.idle();
            let frac = Duration::from_nanos((left.as_nanos() % 1_000_000_000) as u64);
            let wake = if frac.is_zero() { SECOND } else { frac };
            let _ = self.poll.poll(&mut events, Some(wake.min(left)));
            if events.iter().any(|e| e.token() == SIGNAL) {
                self.on_sigint();
            }
        }
    }

    /// Ctrl-C: the first closes (the loop sees `interrupted`), a second ends now.
    fn on_sigint(&mut self) {
        if self.input.sigint() == Sigint::Again {
            self.abort = true;
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
        // One deadline for the whole connect, redirects included.
        let deadline = Instant::now() + self.opts.connect_timeout;
        let (stream, hs, rest) = loop {
            self.sink.emit(&Event::Connecting { url: &target.url });
            self.sink.idle();
            // `--header-cmd`: fresh headers for this attempt (and this hop); cookies
            // for this target as the jar holds them now.
            let cookie = self.jar.as_ref().and_then(|j| j.header(&target));
            let ask = match (&self.opts.header_cmd, cookie) {
                (None, None) => std::borrow::Cow::Borrowed(&self.opts.ask),
                (cmd, cookie) => {
                    let mut ask = self.opts.ask.clone();
                    if let Some(c) = cookie {
                        ask.headers.push(("Cookie".into(), c));
                    }
                    if let Some(cmd) = cmd {
                        ask.headers.extend(connect::header_cmd(cmd, deadline)?);
                    }
                    std::borrow::Cow::Owned(ask)
                }
            };
            let started = Instant::now();
            let mut stream = connect::connect(
                &target,
                self.opts.tls.as_ref(),
                &self.opts.proxy,
                &self.opts.route,
                deadline,
            )?;
            if self.opts.route.is_set() {
                if let Ok(peer) = stream.tcp().peer_addr() {
                    let msg = format!(
                        "connected to {peer} for {}:{} (--resolve, --connect-to, -4/-6)",
                        target.host, target.port
                    );
                    self.sink.emit(&Event::Notice(&msg));
                }
            }
            stream.set_deadline(deadline)?;
            match handshake::perform(&mut stream, &target, &ask, started, deadline) {
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
                    if let (Some(jar), Some(r)) = (self.jar.as_mut(), e.refusal.as_deref()) {
                        jar.absorb(&target, &r.headers);
                    }
                    if let Some(refusal) = e.refusal.as_deref() {
                        self.sink.emit(&Event::Redirect {
                            hop: hops,
                            to: &next.url,
                            refusal,
                        });
                    }
                    target = next;
                }
            }
        };
        self.sink.emit(&Event::Handshake(&hs));
        if let Some(jar) = self.jar.as_mut() {
            jar.absorb(&target, &hs.response.headers);
        }
        let deflate = hs.deflate;
        if deflate.is_some_and(|a| !a.compress_out) {
            // Who asked for the 8-bit window: the user's offer, or the server.
            let asked = self
                .opts
                .ask
                .compress
                .as_ref()
                .is_some_and(|p| p.client_max_window_bits == Some(Some(8)));
            self.sink.emit(&Event::Warning(if asked {
                "permessage-deflate: client_max_window_bits=8 (as asked) is a window a raw \
                 deflater cannot make: wsdbg sends its messages uncompressed (RSV1=0 is legal)"
            } else {
                "permessage-deflate: the server asks for an 8-bit window, which a raw deflater \
                 cannot make: wsdbg sends its messages uncompressed (RSV1=0 is legal)"
            }));
        }
        self.info.handshake = Some(hs);
        self.info.peer = stream.tcp().peer_addr().ok().map(|a| a.to_string());
        self.connected_at = Some(Instant::now());
        self.sink.state(ConnState::Open);
        let mut t = Transport::new(stream)?;
        self.poll
            .registry()
            .register(&mut t.sock, SOCK, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Error::io(format!("poll: {e}")))?;
        self.now = Seen::default();
        self.reflex = Reflex::default();
        if let Some(hs) = &self.info.handshake {
            self.reflex
                .speaks(&self.how, hs.protocol.as_deref(), &hs.request.path);
        }
        self.engine.opened();
        let p = protocol::Conn::new(
            protocol::Config {
                role: Role::Client,
                max_size: self.opts.max_size,
                auto_pong: self.opts.auto_pong,
                rbuf: protocol::READ_CHUNK,
                deflate,
                close_timeout: self.opts.close_timeout,
            },
            &rest,
        );
        Ok(Link {
            t,
            p,
            eof: false,
            next_ping: self.opts.ping_interval.map(|i| Instant::now() + i),
            small_reads: 0,
            draining: None,
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
            if self.abort {
                return self.conn_over(c);
            }
            let now = Instant::now();
            self.sink.clock(Some(now));
            if let Some(until) = c.draining {
                if readable {
                    readable = drain(&mut c);
                }
                if c.eof || now >= until {
                    return self.conn_over(c);
                }
            } else {
                if readable && !self.held_back(&c) {
                    let before = c.p.rx.bytes;
                    readable = self.read_all(&mut c);
                    let got = c.p.rx.bytes - before;
                    self.pace_reads(&mut c, got, &mut readable);
                }
                self.pump(&mut c);
                self.flush_out(&mut c);
                if c.p.end().is_some() {
                    // A peer that reads nothing more gets --close-timeout to take the
                    // rest (the core keeps that deadline).
                    c.p.tick(&mut Out(&mut self.sink), Instant::now());
                    if !c.t.has_pending() {
                        if let Some(until) = c.p.drain_until(Instant::now()) {
                            // Half-close, then read until the peer's end: closing with
                            // unread data would reset the connection (RST), and the peer
                            // could lose our close frame. Not when we gave up on a peer
                            // that stopped reading: there is nothing left to protect.
                            c.t.shutdown();
                            if c.eof || c.p.abandoned() {
                                return self.conn_over(c);
                            }
                            c.draining = Some(until);
                            readable = true;
                            continue;
                        }
                    }
                }
            }
            let timeout = if readable && !self.held_back(&c) {
                Some(Duration::ZERO)
            } else {
                self.next_timeout(&c)
            };
            if timeout != Some(Duration::ZERO) {
                self.sink.idle();
            }
            self.sink.clock(None);
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
            if c.draining.is_none() {
                self.timers(&mut c);
            }
        }
    }

    /// `--echo` and the echoes wait unsent at the high-water mark: stop reading until
    /// the peer takes them (a peer that floods and reads nothing cannot grow us).
    fn held_back(&self, c: &Link) -> bool {
        self.how.echo && c.p.end().is_none() && c.p.tx.out.pending() >= HIGH_WATER
    }

    /// The engine's port on this connection.
    fn wire<'a>(
        sink: &'a mut S,
        tx: &'a mut Tx,
        pings: &'a mut VecDeque<(Vec<u8>, Instant)>,
        reconnect_now: &'a mut bool,
    ) -> Wire<'a, S> {
        Wire {
            out: Out(sink),
            tx,
            pings,
            reconnect_now,
            info: None,
        }
    }

    /// Hand over input and let the engine run what it can.
    fn pump(&mut self, c: &mut Link) {
        let interrupt = (self.sink.broken() || self.input.is_interrupted()) && !self.interrupt_seen;
        self.interrupt_seen |= interrupt;
        self.with_engine(c, |e, w| {
            if interrupt {
                e.interrupt(w);
            }
            e.pump(Instant::now(), w);
        });
    }

    /// Run the engine on this connection's port (input handed over first).
    fn with_engine(&mut self, c: &mut Link, f: impl FnOnce(&mut Script, &mut Wire<'_, S>)) {
        self.input.hand_to(&mut self.engine, false);
        let mut info = self.info_now(c);
        info.uptime = self.connected_at.map(|t| t.elapsed()).unwrap_or_default();
        info.state = "open";
        let mut w = Self::wire(
            &mut self.sink,
            &mut c.p.tx,
            &mut self.now.pings,
            &mut self.reconnect_now,
        );
        w.info = Some(info);
        f(&mut self.engine, &mut w);
    }

    /// The connection is over: add its counters to the session's, let it go.
    fn conn_over(&mut self, mut c: Link) -> (End, bool) {
        self.sink.clock(None);
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

    /// Send what the socket takes now. When the peer has gone away, what it sent
    /// before is still readable (its last message, its close frame): take that first.
    fn flush_out(&mut self, c: &mut Link) {
        if c.p.tx.out.is_empty() && !c.t.has_pending() {
            return;
        }
        if let Err(e) = c.p.write_to(&mut Out(&mut self.sink), &mut c.t) {
            if c.p.end().is_none() && !c.eof {
                self.read_all(c);
            }
            self.lost(c, &e);
        }
    }

    /// The connection broke under us.
    fn lost(&mut self, c: &mut Link, e: &Error) {
        let d = &mut Out(&mut self.sink);
        if c.p.end().is_some() {
            c.p.abandon(d);
            return;
        }
        d.0.emit(&Event::Error(e));
        c.p.lost(d, &e.msg);
    }

    /// Read what is available (up to a budget, so sending is not starved) and handle
    /// every complete frame. Returns true when more may be waiting.
    fn read_all(&mut self, c: &mut Link) -> bool {
        let mut budget = 4 * protocol::READ_CHUNK;
        self.read_at = Instant::now();
        self.sink.clock(Some(self.read_at));
        loop {
            c.p.process(self);
            if c.p.end().is_some() || c.eof {
                return false;
            }
            if budget == 0 || self.held_back(c) {
                return true;
            }
            match c.t.read(c.p.rx.space()) {
                Ok(ReadOutcome::Data(n)) => {
                    c.p.rx.filled(n);
                    budget = budget.saturating_sub(n);
                    self.read_at = Instant::now();
                    self.sink.clock(Some(self.read_at));
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

    /// How long the loop may wait: the nearest deadline of the engine, the core, the
    /// keepalive and the drain; zero when a command can run.
    fn next_timeout(&self, c: &Link) -> Option<Duration> {
        let now = Instant::now();
        let closing = c.p.tx.close_sent() || c.p.tx.close_received() || c.p.end().is_some();
        if self.engine.runnable() && !closing && c.p.tx.out.pending() < HIGH_WATER {
            return Some(Duration::ZERO);
        }
        let candidates = [
            self.engine.deadline(c.p.rx.last_at),
            c.p.deadline(),
            c.next_ping.filter(|_| !closing),
            c.draining,
            self.reflex.wake_at().filter(|_| !closing),
        ];
        candidates
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_duration_since(now))
    }

    fn timers(&mut self, c: &mut Link) {
        let now = Instant::now();
        c.p.tick(&mut Out(&mut self.sink), now);
        let last_rx = c.p.rx.last_at;
        self.with_engine(c, |e, w| e.tick(now, last_rx, w));
        // What the connection does on its clock (STOMP's heart-beats).
        self.reflex.due(now, &mut c.p.tx, &mut Out(&mut self.sink));
        let closing = c.p.tx.close_sent() || c.p.tx.close_received() || c.p.end().is_some();
        if let (Some(due), Some(interval)) = (c.next_ping, self.opts.ping_interval) {
            if now >= due && !closing {
                let d = &mut Out(&mut self.sink);
                if self.now.keepalive.is_some() {
                    let e = Error::timeout(format!(
                        "no pong within --ping-interval ({} ms): the connection is dead",
                        interval.as_millis()
                    ));
                    d.0.emit(&Event::Error(&e));
                    c.p.lost(d, "no pong to the keepalive ping");
                } else {
                    self.keepalives += 1;
                    let payload = format!("wsdbg-keepalive-{}", self.keepalives).into_bytes();
                    self.now.pings.push_back((payload.clone(), now));
                    let key = c.p.tx.mask_key();
                    c.p.tx
                        .send_frame(d, OpCode::Ping, true, [false; 3], key, &payload);
                    self.now.keepalive = Some(payload);
                    c.next_ping = Some(now + interval);
                }
            }
        }
    }
}

impl<S: Sink> Driver for Session<S> {
    fn emit(&mut self, ev: &Event<'_>) {
        Out(&mut self.sink).emit(ev);
    }

    fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
        let now = self.read_at;
        let before = self.engine.delivered();
        let mut w = Self::wire(
            &mut self.sink,
            tx,
            &mut self.now.pings,
            &mut self.reconnect_now,
        );
        self.engine.received(now, &m, &mut w);
        if self.engine.delivered() > before {
            self.now.msgs_in += 1;
            self.reflex.message(&self.how, now, &m, w.tx, &mut w.out);
        }
    }

    fn pong(&mut self, payload: &[u8]) {
        let now = Instant::now();
        if self.now.keepalive.as_deref() == Some(payload) {
            self.now.keepalive = None;
        }
        if let Some(i) = self.now.pings.iter().position(|(p, _)| p == payload) {
            if let Some((_, at)) = self.now.pings.remove(i) {
                let rtt = now.saturating_duration_since(at);
                self.info.last_rtt = Some(rtt);
                self.sink.emit(&Event::Pong { rtt, payload });
            }
        }
        self.engine.pong(now, &mut Idle(&mut self.sink));
    }

    fn closed(&mut self, code: Option<u16>, reason: &str) {
        self.engine
            .peer_closed(Instant::now(), code, reason, &mut Idle(&mut self.sink));
    }
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
