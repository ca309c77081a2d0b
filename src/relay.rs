//! `wsdbg relay`: accept clients on one event loop (`mio`), and for each open its own
//! connection to the URL, so that a real client and a real server talk through wsdbg
//! and every frame of both legs is shown. Per accepted client: read its upgrade
//! request (`handshake::accept` judges it is one), send it on (`handshake::relay_request`:
//! its path after the URL's, its headers, Host replaced, `-H`), give the client the
//! server's answer as it came (`handshake::relay_exchange`, on a connect thread),
//! refusals included; then
//! move frames both ways through a `forward::Forward` each, which keeps every bit but
//! the mask. The two sides' TCP ends are relayed too: an end (FIN) on one side is
//! passed to the other once what was owed to it is written; a broken connection drops
//! the other. Reading a side stops while what waits for the other side is over the
//! high-water mark (`flow`).
//!
//! Commands mean what `engine::Script` says; the port here (`Steer`) sends what they
//! ask toward the picked leg(s) of the picked pair(s) (`/to client|server|both`,
//! `/to ID`) as frames of our own, and `/cut` drops a pair's two connections.
//!
//! The upstream connect and handshake block (DNS, proxy, TLS), so each runs on a
//! thread of its own, bounded by `--connect-timeout`, and hands the stream back through
//! a channel and the loop's waker; the loop never waits on one server.
//!
//! `/wait` and `/expect` hear what comes from the leg(s) commands go to, of the pair(s)
//! they go to (`/to server`: the server's messages): `pass` keeps it in `heard` while
//! the engine listens (`Script::hears`), and the loop hands it over after the turn.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConfig;

use crate::command::{LegPick, RawFrame};
use crate::config::{Options, RelayConfig};
use crate::engine::{self, Act, Port, Ready, Script};
use crate::error::{Error, Refusal};
use crate::event::{
    close_parts, CloseFrame, Dir, Event, FrameEv, Handshake, HttpHead, Initiator, Leg,
};
use crate::event::{ClientRow, MsgType, OpCode, PromptView};
use crate::exit;
use crate::flow::{Held, Pool, HIGH_WATER};
use crate::forward::Forward;
use crate::handshake;
use crate::input::{InputRx, InputTx, Sigint};
use crate::outq::{OutQ, OWN_FROM};
use crate::session::Sink;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::Role;

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
const SIGNAL: Token = Token(2);
/// Pair `id` has tokens `FIRST + 2 id` (its client) and `FIRST + 2 id + 1` (its server).
const FIRST: usize = 16;
/// The whole of a client's opening request (TLS included) must come in this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much one side may be read in one turn, so that the other pairs are not starved.
const READ_BUDGET: usize = 256 * 1024;
const READ_CHUNK: usize = 64 * 1024;
/// What an idle side keeps of its buffers.
const IDLE_BUF: usize = 64 * 1024;

/// Bind, say where, and get ready to relay; the caller starts the input source with
/// the returned `InputTx` (a REPL or a pipe), then calls `run`.
pub fn start<S: Sink>(
    cfg: RelayConfig,
    mut out: S,
    script: bool,
) -> Result<(Relay<S>, InputTx), Error> {
    let addr = cfg.addr;
    let mut listener = TcpListener::bind(addr).map_err(|e| {
        let why = e.to_string();
        let why = why
            .split(" (os error ")
            .next()
            .unwrap_or_default()
            .to_string();
        Error::connect(format!("cannot listen on {addr}: {why}"))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io(format!("relay: {e}")))?;
    let poll = Poll::new().map_err(|e| Error::io(format!("relay: poll: {e}")))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| Error::io(format!("relay: poll: {e}")))?;
    let (tx, input) = crate::input::channel(&poll, WAKE, SIGNAL)?;
    // Connect threads wake the loop as input does (a poll has one waker).
    let waker = input.waker();
    let (dialed_tx, dialed_rx) = std::sync::mpsc::channel();
    let a = local.to_string();
    out.emit(&Event::Listening {
        addr: &a,
        tls: cfg.tls.is_some(),
    });
    out.emit(&Event::Notice(&format!(
        "relaying each client to {}",
        cfg.upstream.target.url
    )));
    out.prompt(PromptView::Listen {
        clients: 0,
        to: None,
    });
    out.idle();
    let mut ecfg = engine::Config::new(engine::Side::Relay);
    ecfg.script = script;
    ecfg.timeout = cfg.upstream.close_timeout;
    ecfg.max_size = cfg.upstream.max_size;
    let relay = Relay {
        poll,
        listener,
        tls: cfg.tls,
        up: cfg.upstream,
        delay: cfg.delay,
        out,
        pairs: HashMap::new(),
        next_id: 0,
        pool: Pool::default(),
        input,
        engine: Script::new(ecfg),
        to: None,
        leg: LegPick::Server,
        script,
        abort: false,
        quit: false,
        scratch: vec![0; READ_CHUNK],
        dialed_tx,
        dialed_rx,
        waker,
        heard: Vec::new(),
    };
    Ok((relay, tx))
}

pub struct Relay<S: Sink> {
    poll: Poll,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    up: Options,
    delay: Option<Duration>,
    out: S,
    pairs: HashMap<u64, Pair>,
    next_id: u64,
    /// What each side makes us hold, and who may be read (`flow`): the key of a side
    /// is `2 id` (client) or `2 id + 1` (server).
    pool: Pool,
    input: InputRx,
    /// What the commands mean.
    engine: Script,
    /// `/to ID`: the pair commands go to; `None`: every pair.
    to: Option<u64>,
    /// `/to client|server|both`: the leg(s) they go to (default: toward the server).
    leg: LegPick,
    script: bool,
    /// A second Ctrl-C: exit now.
    abort: bool,
    /// `/quit` or Ctrl-C: drop every pair and exit.
    quit: bool,
    /// The read buffer (`READ_CHUNK`), shared by every pair.
    scratch: Vec<u8>,
    /// Connect threads report here, and wake the loop.
    dialed_tx: std::sync::mpsc::Sender<Dialed>,
    dialed_rx: std::sync::mpsc::Receiver<Dialed>,
    waker: Arc<mio::Waker>,
    /// What came from the picked legs, for the engine (`deliver`).
    heard: Vec<(u64, Heard)>,
}

/// What the engine hears of from a leg commands go to.
enum Heard {
    Message {
        kind: MsgType,
        payload: Vec<u8>,
        frames: u64,
        wire: Option<u64>,
    },
    Pong,
    Close(Option<u16>, String),
}

/// One side of a pair: its connection, what waits to be sent to it, and the frames
/// read from it on their way to the other side.
struct Side {
    t: Transport,
    readable: bool,
    /// It ended its side (FIN).
    eof: bool,
    /// We ended our side toward it.
    shut: bool,
    /// Toward this side.
    q: OutQ,
    /// `--delay`: frames toward this side, and when each is due.
    held: VecDeque<(Instant, Vec<u8>)>,
    held_bytes: usize,
    /// Frames read from this side.
    fwd: Forward,
    /// The close frame it sent, when it did: code, reason.
    close: Option<(Option<u16>, String)>,
}

impl Side {
    fn new(t: Transport, from: Role, max_size: u64) -> Side {
        Side {
            t,
            readable: true,
            eof: false,
            shut: false,
            q: OutQ::default(),
            held: VecDeque::new(),
            held_bytes: 0,
            fwd: Forward::new(from, max_size),
            close: None,
        }
    }

    /// Nothing waits to be sent to it.
    fn flushed(&self) -> bool {
        self.q.is_empty() && self.held.is_empty() && !self.t.has_pending()
    }

    fn to_send(&self) -> usize {
        self.q.pending() + self.held_bytes
    }

    /// `--delay`'s frames that are due go to the send queue.
    fn release(&mut self, now: Instant) {
        while self.held.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, bytes)) = self.held.pop_front() {
                self.held_bytes -= bytes.len();
                queue(&mut self.q, bytes);
            }
        }
    }
}

fn queue(q: &mut OutQ, bytes: Vec<u8>) {
    if bytes.len() >= OWN_FROM {
        q.push_owned(bytes, 0);
    } else {
        q.append(|o| o.extend_from_slice(&bytes));
    }
}

/// A pair whose upstream connection is being made.
struct Connecting {
    /// The client's request head and what came after it (`head[end..]`).
    head: Vec<u8>,
    end: usize,
    accepted: handshake::Accepted,
    /// What is sent upstream.
    req: HttpHead,
    started: Instant,
}

/// A connect thread's result.
struct Dialed {
    id: u64,
    /// The request as sent (with `--header-cmd`'s headers).
    req: HttpHead,
    result: Result<(crate::connect::Stream, handshake::RawAnswer), Error>,
}

enum Phase {
    /// Reading the client's upgrade request.
    Request { head: Vec<u8>, searched: usize },
    /// The client's request is whole; the server is being reached (a thread).
    Connecting(Box<Connecting>),
    /// An answer that ends the pair (a refusal, ours or the server's) is on its way to
    /// the client; then its end is awaited.
    Refusing,
    /// Both legs open: frames are forwarded.
    Open,
}

struct Pair {
    id: u64,
    peer: String,
    client: Side,
    server: Option<Side>,
    phase: Phase,
    deadline: Option<Instant>,
    /// The client's handshake went through: its leaving is shown.
    connected: bool,
    /// The side whose close frame came first.
    first_close: Option<Leg>,
    /// Once open: the client's request path, the subprotocol, since when.
    path: String,
    protocol: Option<String>,
    since: Instant,
}

impl Pair {
    fn wake_at(&self) -> Option<Instant> {
        let held = |s: &Side| s.held.front().map(|(at, _)| *at);
        [
            self.deadline,
            held(&self.client),
            self.server.as_ref().and_then(held),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn can_read(&self, pool: &Pool) -> bool {
        match &self.phase {
            Phase::Open => {
                (self.client.readable && !self.client.eof && pool.may_read(2 * self.id))
                    || self
                        .server
                        .as_ref()
                        .is_some_and(|s| s.readable && !s.eof && pool.may_read(2 * self.id + 1))
            }
            _ => self.client.readable,
        }
    }
}

/// What a turn found about a side's connection.
enum Gone {
    /// It is still there.
    No,
    /// It broke (an error): the pair is dropped.
    Broken(String),
}

impl<S: Sink> Relay<S> {
    /// Relay until `/quit` or Ctrl-C; returns the exit code.
    pub fn run(mut self) -> u8 {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.abort {
                self.out.idle();
                return exit::INTERRUPTED;
            }
            if self.quit {
                return self.finish();
            }
            self.pump_input();
            if self.quit {
                return self.finish();
            }
            let timeout = self
                .next_deadline()
                .map(|t| t.saturating_duration_since(Instant::now()));
            self.out.idle();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                let e = Error::io(format!("relay: poll: {e}"));
                self.say(None, None, &Event::Error(&e));
                self.out.idle();
                return exit::LOST;
            }
            for ev in events.iter() {
                let token = ev.token();
                if token == LISTENER {
                    self.accept_all();
                    continue;
                }
                if token == WAKE {
                    // Input, or a connect thread done.
                    while let Ok(d) = self.dialed_rx.try_recv() {
                        self.dialed(d);
                    }
                    continue;
                }
                if token == SIGNAL {
                    if self.input.sigint() == Sigint::Again {
                        self.abort = true;
                    }
                    continue;
                }
                let Some(n) = token.0.checked_sub(FIRST) else {
                    continue;
                };
                let id = (n / 2) as u64;
                if let Some(p) = self.pairs.get_mut(&id) {
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        if n % 2 == 0 {
                            p.client.readable = true;
                        } else if let Some(s) = &mut p.server {
                            s.readable = true;
                        }
                    }
                }
                self.turn(id);
            }
            let now = Instant::now();
            let due: Vec<u64> = self
                .pairs
                .values()
                .filter(|p| p.can_read(&self.pool) || p.wake_at().is_some_and(|d| now >= d))
                .map(|p| p.id)
                .collect();
            for id in due {
                self.turn(id);
            }
            self.deliver();
        }
    }

    /// Hand what the picked legs said to the engine (a `/wait` or `/expect` may be
    /// waiting for it); the pairs it then sent to get their turn, which may hear more.
    fn deliver(&mut self) {
        while !self.heard.is_empty() {
            let heard = std::mem::take(&mut self.heard);
            let now = Instant::now();
            let mut port = Steer::new(
                &mut self.out,
                &mut self.pairs,
                &mut self.to,
                &mut self.leg,
                self.script,
                true,
            );
            for (_, h) in heard {
                match h {
                    Heard::Message {
                        kind,
                        payload,
                        frames,
                        wire,
                    } => {
                        let m = crate::protocol::Msg {
                            kind,
                            payload: &payload,
                            frames,
                            wire,
                        };
                        self.engine.received(now, &m, &mut port);
                    }
                    Heard::Pong => self.engine.pong(now, &mut port),
                    Heard::Close(code, reason) => {
                        self.engine.peer_closed(now, code, &reason, &mut port)
                    }
                }
            }
            self.engine.tick(now, now, &mut port);
            let Steer {
                touched, cut, quit, ..
            } = port;
            self.settle(touched, cut, quit);
        }
    }

    /// After the engine ran: `/quit` noted, the pairs it cut dropped, the pairs it sent
    /// to given their turn.
    fn settle(&mut self, touched: Vec<u64>, cut: Vec<u64>, quit: bool) {
        self.quit |= quit;
        for id in cut {
            self.cut(id);
        }
        for id in touched {
            self.turn(id);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        if self.pairs.values().any(|p| p.can_read(&self.pool)) || self.engine.runnable() {
            return Some(now);
        }
        [
            self.pairs.values().filter_map(Pair::wake_at).min(),
            self.engine.deadline(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Let the engine run what it can (and its timers); then the pairs it sent to, or
    /// cut, get their turn.
    fn pump_input(&mut self) {
        self.input.hand_to(&mut self.engine, false);
        let now = Instant::now();
        let mut port = Steer::new(
            &mut self.out,
            &mut self.pairs,
            &mut self.to,
            &mut self.leg,
            self.script,
            false,
        );
        if self.input.is_interrupted() && !self.quit {
            self.engine.interrupt(&mut port);
        }
        self.engine.tick(now, now, &mut port);
        let Steer {
            touched, cut, quit, ..
        } = port;
        self.settle(touched, cut, quit);
        self.deliver();
    }

    /// `/cut`: both TCP connections of the pair are dropped, no close frame.
    fn cut(&mut self, id: u64) {
        let Some(mut p) = self.pairs.remove(&id) else {
            return;
        };
        say(
            &mut self.out,
            id,
            None,
            &Event::Notice("/cut: both connections dropped, no close frame"),
        );
        self.drop_pair(&mut p);
    }

    fn drop_pair(&mut self, p: &mut Pair) {
        self.pool.remove(2 * p.id);
        self.pool.remove(2 * p.id + 1);
        let _ = self.poll.registry().deregister(&mut p.client.t.sock);
        let _ = p.client.t.sock.shutdown(std::net::Shutdown::Both);
        if let Some(s) = &mut p.server {
            let _ = self.poll.registry().deregister(&mut s.t.sock);
            let _ = s.t.sock.shutdown(std::net::Shutdown::Both);
        }
        if p.connected {
            self.ended(p);
        }
        if self.to == Some(p.id) {
            self.to = None;
        }
        self.show_prompt();
    }

    fn show_prompt(&mut self) {
        let clients = self.pairs.values().filter(|p| p.connected).count();
        self.out.prompt(PromptView::Listen {
            clients,
            to: self.to,
        });
    }

    /// `/quit` or Ctrl-C: every pair is dropped; the exit code.
    fn finish(&mut self) -> u8 {
        self.input.hand_to(&mut self.engine, true);
        let mut port = Steer::new(
            &mut self.out,
            &mut self.pairs,
            &mut self.to,
            &mut self.leg,
            self.script,
            false,
        );
        self.engine.finish("the relay is shutting down", &mut port);
        if let (Some(path), Some(jar)) = (&self.up.cookie_jar, &self.up.cookies) {
            if let Err(msg) = jar.save(path) {
                self.out.emit(&Event::Warning(&msg));
            }
        }
        let ids: Vec<u64> = self.pairs.keys().copied().collect();
        for id in ids {
            if let Some(mut p) = self.pairs.remove(&id) {
                self.drop_pair(&mut p);
            }
        }
        self.out.idle();
        exit::code(exit::OK, self.engine.failed())
    }

    fn say(&mut self, id: Option<u64>, leg: Option<Leg>, ev: &Event<'_>) {
        self.out.client(id);
        self.out.leg(leg);
        self.out.emit(ev);
        self.out.leg(None);
    }

    fn accept_all(&mut self) {
        loop {
            let (mut sock, addr) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    let err = Error::io(format!("relay: accept: {e}"));
                    self.say(None, None, &Event::Error(&err));
                    return;
                }
            };
            self.next_id += 1;
            let id = self.next_id;
            let _ = sock.set_nodelay(true);
            if let Err(e) = self.poll.registry().register(
                &mut sock,
                Token(FIRST + 2 * id as usize),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                let err = Error::io(format!("relay: poll: {e}"));
                self.say(Some(id), None, &Event::Error(&err));
                continue;
            }
            let tls = match &self.tls {
                None => None,
                Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                    Ok(c) => Some(rustls::Connection::Server(c)),
                    Err(e) => {
                        let err = Error::tls(format!("relay: TLS: {e}"));
                        self.say(Some(id), None, &Event::Error(&err));
                        let _ = self.poll.registry().deregister(&mut sock);
                        continue;
                    }
                },
            };
            let client = Side::new(Transport::with(sock, tls), Role::Client, self.up.max_size);
            self.pairs.insert(
                id,
                Pair {
                    id,
                    peer: addr.to_string(),
                    client,
                    server: None,
                    phase: Phase::Request {
                        head: Vec::new(),
                        searched: 0,
                    },
                    deadline: Some(Instant::now() + HANDSHAKE_TIMEOUT),
                    connected: false,
                    first_close: None,
                    path: String::new(),
                    protocol: None,
                    since: Instant::now(),
                },
            );
            self.turn(id);
        }
    }

    /// One turn of a pair; a pair that is over is removed, and its end shown.
    fn turn(&mut self, id: u64) {
        let Some(mut p) = self.pairs.remove(&id) else {
            return;
        };
        let done = match p.phase {
            Phase::Request { .. } => self.request(&mut p),
            // Waiting for its connect thread; the client is not read meanwhile.
            Phase::Connecting(_) => false,
            Phase::Refusing => self.refusing(&mut p),
            Phase::Open => self.open(&mut p),
        };
        if !done {
            if let (Phase::Open, Some(s)) = (&p.phase, &p.server) {
                self.pool.set(
                    2 * id,
                    Held {
                        to_send: s.to_send(),
                        received: p.client.fwd.buffered(),
                    },
                );
                self.pool.set(
                    2 * id + 1,
                    Held {
                        to_send: p.client.to_send(),
                        received: s.fwd.buffered(),
                    },
                );
            }
            self.pairs.insert(id, p);
            return;
        }
        self.finish_pair(p);
    }

    /// A pair is over: forget it, and show its end.
    fn finish_pair(&mut self, mut p: Pair) {
        let id = p.id;
        self.pool.remove(2 * id);
        self.pool.remove(2 * id + 1);
        let _ = self.poll.registry().deregister(&mut p.client.t.sock);
        if let Some(s) = &mut p.server {
            let _ = self.poll.registry().deregister(&mut s.t.sock);
        }
        if !p.connected {
            return;
        }
        self.ended(&p);
        if self.to == Some(id) {
            self.to = None;
        }
        self.show_prompt();
    }

    /// The end of a pair, per leg: the closing handshake (when there was a close frame)
    /// or the drop (1006), then the client's leaving.
    fn ended(&mut self, p: &Pair) {
        fn frame(c: Option<&(Option<u16>, String)>) -> Option<CloseFrame<'_>> {
            c.map(|(code, reason)| CloseFrame {
                code: *code,
                reason: reason.as_str(),
            })
        }
        let id = p.id;
        for leg in [Leg::Client, Leg::Server] {
            let (this, other) = match leg {
                Leg::Client => (Some(&p.client), p.server.as_ref()),
                Leg::Server => (p.server.as_ref(), Some(&p.client)),
            };
            let received = this.and_then(|s| s.close.as_ref());
            let sent = other.and_then(|s| s.close.as_ref());
            if received.is_some() || sent.is_some() {
                let initiator = if p.first_close == Some(leg) {
                    Initiator::Remote
                } else {
                    Initiator::Local
                };
                self.say(
                    Some(id),
                    Some(leg),
                    &Event::Close {
                        sent: frame(sent),
                        received: frame(received),
                        initiator,
                        clean: received.is_some() && sent.is_some(),
                        reply_after: None,
                    },
                );
            }
            if received.is_none() {
                self.say(
                    Some(id),
                    Some(leg),
                    &Event::Disconnected {
                        code: 1006,
                        reason: "the connection ended without a close frame",
                    },
                );
            }
        }
        self.say(
            Some(id),
            None,
            &Event::Client {
                peer: &p.peer,
                connected: false,
                request: None,
                protocol: None,
            },
        );
    }

    /// Read the client's upgrade request; once it is whole, open the upstream leg.
    fn request(&mut self, p: &mut Pair) -> bool {
        let expired = p.deadline.is_some_and(|d| Instant::now() >= d);
        let Phase::Request { head, searched } = &mut p.phase else {
            return true;
        };
        let mut chunk = [0u8; 4096];
        while p.client.readable {
            match p.client.t.read(&mut chunk) {
                Ok(ReadOutcome::Data(n)) => head.extend_from_slice(&chunk[..n]),
                Ok(ReadOutcome::WouldBlock) => p.client.readable = false,
                Ok(ReadOutcome::Eof) => {
                    let e = Error::handshake(
                        "relay: the client closed the connection before its request was complete",
                    );
                    self.say(Some(p.id), Some(Leg::Client), &Event::Error(&e));
                    return true;
                }
                Err(e) => {
                    let e = Error::handshake(format!("relay: {}", e.msg));
                    self.say(Some(p.id), Some(Leg::Client), &Event::Error(&e));
                    return true;
                }
            }
            match handshake::head_end(head, *searched) {
                Ok(None) => *searched = head.len(),
                Ok(Some(end)) => {
                    let head = std::mem::take(head);
                    return self.upstream(p, head, end);
                }
                Err(max) => {
                    let problem = format!("request head over {} KiB", max / 1024);
                    return self.refuse(p, 400, &problem);
                }
            }
        }
        // What the TLS handshake wants to send.
        let _ = p.client.t.write(&[]);
        if expired {
            let e = Error::timeout(format!(
                "relay: no complete upgrade request within {} s",
                HANDSHAKE_TIMEOUT.as_secs()
            ));
            self.say(Some(p.id), Some(Leg::Client), &Event::Error(&e));
            return true;
        }
        false
    }

    /// Answer the client ourselves (its request is not an upgrade, the server cannot
    /// be reached) and end the pair.
    fn refuse(&mut self, p: &mut Pair, status: u16, problem: &str) -> bool {
        let reason = if status == 502 {
            "Bad Gateway"
        } else {
            "Bad Request"
        };
        let body = format!("wsdbg relay: {problem}\n");
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        p.client.q.append(|o| o.extend_from_slice(resp.as_bytes()));
        p.phase = Phase::Refusing;
        p.deadline = Some(Instant::now() + self.up.close_timeout);
        self.refusing(p)
    }

    /// Send the answer, end our side, then read until the client's end.
    fn refusing(&mut self, p: &mut Pair) -> bool {
        let expired = p.deadline.is_some_and(|d| Instant::now() >= d);
        let c = &mut p.client;
        if c.q.write_to(&mut c.t).is_err() {
            return true;
        }
        if c.q.is_empty() && !c.t.has_pending() && !c.shut {
            c.t.shutdown();
            c.shut = true;
        }
        let mut scratch = [0u8; 16 * 1024];
        while c.readable && !c.eof {
            match c.t.read(&mut scratch) {
                Ok(ReadOutcome::Data(_)) => {}
                Ok(ReadOutcome::WouldBlock) => c.readable = false,
                Ok(ReadOutcome::Eof) => {
                    c.readable = false;
                    c.eof = true;
                }
                Err(_) => return true,
            }
        }
        (c.eof && c.shut) || expired
    }

    /// The client's request is whole: send it on, and give the client the answer.
    fn upstream(&mut self, p: &mut Pair, head: Vec<u8>, end: usize) -> bool {
        let id = p.id;
        let a = match handshake::accept(&head[..end], &handshake::ServerOpts::default()) {
            Ok(a) => a,
            Err(r) => {
                let e = Error::handshake(format!("relay: {}", r.problem));
                self.say(Some(id), Some(Leg::Client), &Event::Error(&e));
                p.client.q.append(|o| o.extend_from_slice(&r.response));
                p.phase = Phase::Refusing;
                p.deadline = Some(Instant::now() + self.up.close_timeout);
                return self.refusing(p);
            }
        };
        // The upstream connect and handshake block (DNS, proxy, TLS): on a thread of
        // their own, bounded by --connect-timeout; the loop hears of the end through
        // the channel and the waker.
        let started = Instant::now();
        let mut req = handshake::relay_request(&self.up.target, &a.request, &self.up.ask.headers);
        if let Some(c) = self
            .up
            .cookies
            .as_ref()
            .and_then(|j| j.header(&self.up.target))
        {
            handshake::add_cookies(&mut req.headers, &c);
        }
        let deadline = started + self.up.connect_timeout;
        let header_cmd = self.up.header_cmd.clone();
        let (target, tls, proxy, route) = (
            self.up.target.clone(),
            self.up.tls.clone(),
            self.up.proxy.clone(),
            self.up.route.clone(),
        );
        let (tx, waker, mut req2) = (self.dialed_tx.clone(), self.waker.clone(), req.clone());
        let spawned = std::thread::Builder::new()
            .name("relay-connect".into())
            .spawn(move || {
                // `--header-cmd`: fresh headers for this connection; when it fails,
                // no connection is made (the client gets a 502 saying why).
                let fresh = match &header_cmd {
                    Some(cmd) => crate::connect::header_cmd(cmd, deadline),
                    None => Ok(Vec::new()),
                };
                let r = fresh
                    .and_then(|fresh| {
                        handshake::set_headers(&mut req2.headers, &fresh);
                        crate::connect::connect(&target, tls.as_ref(), &proxy, &route, deadline)
                    })
                    .and_then(|mut stream| {
                        handshake::relay_exchange(&mut stream, &req2, deadline).map(|a| (stream, a))
                    });
                let _ = tx.send(Dialed {
                    id,
                    req: req2,
                    result: r,
                });
                let _ = waker.wake();
            });
        if let Err(e) = spawned {
            let e = Error::io(format!("relay: cannot start a connect thread: {e}"));
            self.say(Some(id), Some(Leg::Server), &Event::Error(&e));
            return self.refuse(p, 502, &e.msg);
        }
        p.phase = Phase::Connecting(Box::new(Connecting {
            head,
            end,
            accepted: a,
            req,
            started,
        }));
        p.deadline = None;
        false
    }

    /// The upstream connect thread of a pair is done: give the client the answer.
    fn dialed(&mut self, d: Dialed) {
        let Some(mut p) = self.pairs.remove(&d.id) else {
            // The pair is gone (its client left): the stream is dropped.
            return;
        };
        let Phase::Connecting(c) = std::mem::replace(&mut p.phase, Phase::Refusing) else {
            self.pairs.insert(d.id, p);
            return;
        };
        let mut c = *c;
        c.req = d.req;
        if self.answered(&mut p, c, d.result) {
            self.finish_pair(p);
        } else {
            self.pairs.insert(d.id, p);
            self.turn(d.id);
        }
    }

    /// The server's answer (or why there is none) for a pair's client.
    fn answered(
        &mut self,
        p: &mut Pair,
        c: Connecting,
        result: Result<(crate::connect::Stream, handshake::RawAnswer), Error>,
    ) -> bool {
        let id = p.id;
        let Connecting {
            head,
            end,
            accepted: a,
            req,
            started,
        } = c;
        let (stream, answer) = match result {
            Ok(x) => x,
            Err(e) => {
                let e = Error {
                    msg: format!("relay: {}: {}", self.up.target.url, e.msg),
                    ..e
                };
                self.say(Some(id), Some(Leg::Server), &Event::Error(&e));
                return self.refuse(p, 502, &e.msg);
            }
        };
        p.client.q.append(|o| o.extend_from_slice(&answer.raw));
        if let Some(jar) = self.up.cookies.as_mut() {
            jar.absorb(&self.up.target, &answer.head.headers);
        }
        if answer.head.status != 101 {
            let mut e = Error::handshake(format!(
                "relay: the server refused the WebSocket handshake: {} {} (passed to the client as it came)",
                answer.head.status, answer.head.reason
            ));
            e.refusal = Some(Box::new(Refusal {
                status: answer.head.status,
                reason: answer.head.reason.clone(),
                headers: answer.head.headers.clone(),
                body: answer.body.clone(),
                request: Some(req),
            }));
            self.say(Some(id), Some(Leg::Server), &Event::Error(&e));
            p.phase = Phase::Refusing;
            p.deadline = Some(Instant::now() + self.up.close_timeout);
            return self.refusing(p);
        }
        let t = match Transport::new(stream) {
            Ok(t) => t,
            Err(e) => {
                self.say(Some(id), Some(Leg::Server), &Event::Error(&e));
                return self.refuse(p, 502, &e.msg);
            }
        };
        let mut server = Side::new(t, Role::Server, self.up.max_size);
        if let Err(e) = self.poll.registry().register(
            &mut server.t.sock,
            Token(FIRST + 2 * id as usize + 1),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            let err = Error::io(format!("relay: poll: {e}"));
            self.say(Some(id), None, &Event::Error(&err));
            return true;
        }
        let header = |h: &HttpHead, name: &str| {
            h.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // permessage-deflate as the server agreed it: each direction's inflater keeps
        // its window unless that sender resets it (`*_no_context_takeover`).
        let agreed = crate::deflate::elements(&header(&answer.head, "sec-websocket-extensions"))
            .into_iter()
            .find(|(n, _)| n == crate::deflate::NAME)
            .map(|(_, params)| crate::deflate::Params::parse(&params));
        let (from_client, from_server) = match agreed {
            None => (None, None),
            Some(Ok(p)) => (
                Some(p.client_no_context_takeover),
                Some(p.server_no_context_takeover),
            ),
            Some(Err(e)) => {
                let msg = format!(
                    "relay: the server's permessage-deflate response: {e} (passed on as it came)"
                );
                self.say(Some(id), Some(Leg::Server), &Event::Warning(&msg));
                (Some(true), Some(true))
            }
        };
        let protocol =
            Some(header(&answer.head, "sec-websocket-protocol")).filter(|p| !p.is_empty());
        server.fwd.set_deflate(from_server);
        p.client.fwd.set_deflate(from_client);
        server.fwd.feed(&answer.early);
        p.client.fwd.feed(&head[end..]);
        self.say(
            Some(id),
            None,
            &Event::Client {
                peer: &p.peer,
                connected: true,
                request: Some(&a.request),
                protocol: protocol.as_deref(),
            },
        );
        let hs = Handshake {
            url: format!(
                "{}{}",
                self.up
                    .target
                    .url
                    .split('/')
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("/"),
                req.path
            ),
            request: req,
            response: answer.head,
            protocol,
            deflate: None,
            elapsed: started.elapsed(),
        };
        self.say(Some(id), Some(Leg::Server), &Event::Handshake(&hs));
        let clients = self.pairs.values().filter(|p| p.connected).count() + 1;
        self.out.prompt(PromptView::Listen {
            clients,
            to: self.to,
        });
        p.server = Some(server);
        p.connected = true;
        p.path = a.request.path.clone();
        p.protocol = hs.protocol.clone();
        p.since = Instant::now();
        p.phase = Phase::Open;
        p.deadline = None;
        self.open(p)
    }

    /// Both legs open: release delayed frames, read each side (while the other's queue
    /// has room), forward, write, and relay the ends.
    fn open(&mut self, p: &mut Pair) -> bool {
        // One read buffer for every pair, kept between turns.
        let mut chunk = std::mem::take(&mut self.scratch);
        chunk.resize(READ_CHUNK, 0);
        let done = self.open_with(p, &mut chunk);
        self.scratch = chunk;
        done
    }

    fn open_with(&mut self, p: &mut Pair, chunk: &mut [u8]) -> bool {
        let now = Instant::now();
        let id = p.id;
        let Some(server) = p.server.as_mut() else {
            return true;
        };
        p.client.release(now);
        server.release(now);
        let mut broken = None;
        let picked = self.to.is_none_or(|t| t == id);
        for from in [Leg::Client, Leg::Server] {
            let on = picked && self.leg.takes(from);
            let (src, dst) = match from {
                Leg::Client => (&mut p.client, &mut *server),
                Leg::Server => (&mut *server, &mut p.client),
            };
            let key = 2 * id + u64::from(from == Leg::Server);
            let mut budget = READ_BUDGET;
            // Frames left over from the request's read, or from a turn out of budget.
            let r = pass(
                &mut self.out,
                id,
                from,
                src,
                dst,
                &mut p.first_close,
                self.delay,
                Ear::new(on, &mut self.engine, &mut self.heard),
            );
            if let Gone::Broken(why) = r {
                broken = Some(why);
                break;
            }
            while src.readable && !src.eof && budget > 0 {
                let held = Held {
                    to_send: dst.to_send(),
                    received: src.fwd.buffered(),
                };
                self.pool.set(key, held);
                if !self.pool.may_read(key) {
                    break;
                }
                match src.t.read(chunk) {
                    Ok(ReadOutcome::Data(n)) => {
                        budget = budget.saturating_sub(n);
                        src.fwd.feed(&chunk[..n]);
                        let r = pass(
                            &mut self.out,
                            id,
                            from,
                            src,
                            dst,
                            &mut p.first_close,
                            self.delay,
                            Ear::new(on, &mut self.engine, &mut self.heard),
                        );
                        if let Gone::Broken(why) = r {
                            broken = Some(why);
                            break;
                        }
                    }
                    Ok(ReadOutcome::WouldBlock) => src.readable = false,
                    Ok(ReadOutcome::Eof) => {
                        src.readable = false;
                        src.eof = true;
                        if src.fwd.buffered() > 0 {
                            let e = Error::protocol(
                                format!(
                                    "relay: the {} ended its connection in the middle of a frame ({} bytes received, forwarded as they came)",
                                    from.as_str(),
                                    src.fwd.buffered()
                                ),
                                "RFC 6455 5.2",
                            );
                            say(&mut self.out, id, Some(from), &Event::Error(&e));
                        }
                    }
                    Err(e) => {
                        broken = Some(format!("the {} leg: {}", from.as_str(), e.msg));
                        break;
                    }
                }
            }
            if broken.is_some() {
                break;
            }
        }
        if let Some(why) = broken {
            let e = Error::io(format!("relay: {why}; both connections dropped"));
            say(&mut self.out, id, None, &Event::Error(&e));
            return true;
        }
        for leg in [Leg::Client, Leg::Server] {
            let s = match leg {
                Leg::Client => &mut p.client,
                Leg::Server => &mut *server,
            };
            if let Err(e) = s.q.write_to(&mut s.t) {
                let e = Error::io(format!(
                    "relay: the {} leg: {}; both connections dropped",
                    leg.as_str(),
                    e.msg
                ));
                say(&mut self.out, id, Some(leg), &Event::Error(&e));
                return true;
            }
            if s.q.is_empty() {
                s.q.shrink_idle(IDLE_BUF);
            }
            if !s.readable {
                s.fwd.shrink_idle(IDLE_BUF);
            }
        }
        // An end (FIN) on one side goes to the other once what it is owed is written.
        let ends = [(p.client.eof, Leg::Server), (server.eof, Leg::Client)];
        for (ended, toward) in ends {
            let s = match toward {
                Leg::Client => &mut p.client,
                Leg::Server => &mut *server,
            };
            if ended && !s.shut && s.flushed() {
                s.t.shutdown();
                s.shut = true;
                if p.deadline.is_none() {
                    p.deadline = Some(now + self.up.close_timeout);
                }
            }
        }
        if p.client.eof && server.eof && p.client.shut && server.shut {
            return true;
        }
        // One side ended and the other did not follow in time.
        p.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

fn say<S: Sink>(out: &mut S, id: u64, leg: Option<Leg>, ev: &Event<'_>) {
    out.client(Some(id));
    out.leg(leg);
    out.emit(ev);
    out.leg(None);
}

/// Whether the engine hears a leg (`on`: commands go to it), and its messages too
/// (`data`: it would look at one now); where what it hears goes.
struct Ear<'a> {
    on: bool,
    data: bool,
    heard: &'a mut Vec<(u64, Heard)>,
}

impl<'a> Ear<'a> {
    fn new(on: bool, engine: &mut Script, heard: &'a mut Vec<(u64, Heard)>) -> Ear<'a> {
        Ear {
            on,
            data: on && engine.hears(),
            heard,
        }
    }
}

/// Forward every whole frame `src` holds toward `dst`, showing each on both legs.
#[allow(clippy::too_many_arguments)]
fn pass<S: Sink>(
    out: &mut S,
    id: u64,
    from: Leg,
    src: &mut Side,
    dst: &mut Side,
    first_close: &mut Option<Leg>,
    delay: Option<Duration>,
    ear: Ear<'_>,
) -> Gone {
    let to = from.other();
    loop {
        // Straight into the send queue when nothing is held before it (no copy, no
        // buffer per frame); else into a buffer of its own, to be held or dropped.
        let direct = delay.is_none() && dst.held.is_empty() && !dst.shut;
        let mut bytes = Vec::new();
        let next = if direct {
            let (fwd, mut got) = (&mut src.fwd, None);
            let slot = &mut got;
            dst.q.append(move |o| *slot = Some(fwd.next(o)));
            got.unwrap_or(Ok(None))
        } else {
            src.fwd.next(&mut bytes)
        };
        let passed = match next {
            Ok(Some(p)) => p,
            Ok(None) => {
                // The part of a frame that came so far goes on now.
                if !direct && !bytes.is_empty() && !dst.shut {
                    send_on(dst, bytes, delay);
                }
                return Gone::No;
            }
            Err(v) => {
                return Gone::Broken(format!(
                    "the {}: {} ({}), which the relay does not hold (--max-size)",
                    from.as_str(),
                    v.msg,
                    v.rule
                ))
            }
        };
        let h = passed.header;
        say(
            out,
            id,
            Some(from),
            &Event::Frame(FrameEv {
                dir: Dir::In,
                fin: h.fin,
                rsv: h.rsv,
                opcode: h.opcode,
                mask: h.mask,
                payload: passed.payload,
            }),
        );
        if let Some(v) = &passed.violation {
            let e = Error::protocol(
                format!(
                    "the {} broke a rule (forwarded as it came): {}",
                    from.as_str(),
                    v.msg
                ),
                v.rule,
            );
            say(out, id, Some(from), &Event::Error(&e));
        }
        say(
            out,
            id,
            Some(to),
            &Event::Frame(FrameEv {
                dir: Dir::Out,
                fin: h.fin,
                rsv: h.rsv,
                opcode: h.opcode,
                mask: passed.out_key,
                payload: passed.payload,
            }),
        );
        if let Some(m) = &passed.message {
            if ear.data {
                ear.heard.push((
                    id,
                    Heard::Message {
                        kind: m.kind,
                        payload: m.payload.to_vec(),
                        frames: m.frames,
                        wire: m.wire,
                    },
                ));
            }
            for (leg, dir) in [(from, Dir::In), (to, Dir::Out)] {
                say(
                    out,
                    id,
                    Some(leg),
                    &Event::Message {
                        dir,
                        kind: m.kind,
                        payload: &m.payload,
                        frames: m.frames,
                        wire: m.wire,
                    },
                );
            }
        }
        if h.opcode == crate::wire::OpCode::Close && src.close.is_none() {
            let (code, reason) = close_parts(passed.payload);
            src.close = Some((code, String::from_utf8_lossy(reason).into_owned()));
            first_close.get_or_insert(from);
            if ear.on {
                let reason = String::from_utf8_lossy(reason).into_owned();
                ear.heard.push((id, Heard::Close(code, reason)));
            }
        }
        if h.opcode == crate::wire::OpCode::Pong && ear.on {
            ear.heard.push((id, Heard::Pong));
        }
        if direct || dst.shut {
            // Queued already; or its end was passed on: nothing more can go to it.
            continue;
        }
        send_on(dst, bytes, delay);
    }
}

/// Bytes toward `dst`: to its queue, or held `--delay` (behind what is held already).
fn send_on(dst: &mut Side, bytes: Vec<u8>, delay: Option<Duration>) {
    match delay {
        Some(d) => {
            dst.held_bytes += bytes.len();
            dst.held.push_back((Instant::now() + d, bytes));
        }
        None if dst.held.is_empty() => queue(&mut dst.q, bytes),
        None => {
            dst.held_bytes += bytes.len();
            dst.held.push_back((Instant::now(), bytes));
        }
    }
}

/// The engine's port in `relay`: what a command sends goes to the selected leg(s) of
/// the selected pair(s), as frames of its own (the relay's), shown on that leg.
struct Steer<'a, S: Sink> {
    out: &'a mut S,
    pairs: &'a mut HashMap<u64, Pair>,
    to: &'a mut Option<u64>,
    leg: &'a mut LegPick,
    script: bool,
    /// Pairs sent to: they get a turn after the engine ran.
    touched: Vec<u64>,
    /// Pairs to drop (`/cut`).
    cut: Vec<u64>,
    quit: bool,
    /// The messages handed to the engine were shown already (by `pass`, on both legs):
    /// the engine's own `message` event for them is not printed again.
    shown: bool,
}

impl<'a, S: Sink> Steer<'a, S> {
    fn new(
        out: &'a mut S,
        pairs: &'a mut HashMap<u64, Pair>,
        to: &'a mut Option<u64>,
        leg: &'a mut LegPick,
        script: bool,
        shown: bool,
    ) -> Steer<'a, S> {
        Steer {
            out,
            pairs,
            to,
            leg,
            script,
            touched: Vec::new(),
            cut: Vec::new(),
            quit: false,
            shown,
        }
    }

    /// The open pairs commands go to, by id.
    fn targets(&self) -> Vec<u64> {
        let to = *self.to;
        let mut t: Vec<u64> = self
            .pairs
            .values()
            .filter(|p| matches!(p.phase, Phase::Open) && to.is_none_or(|id| id == p.id))
            .map(|p| p.id)
            .collect();
        t.sort_unstable();
        t
    }

    /// One frame of ours toward each selected leg: toward the server masked with a
    /// fresh key (or as `mask` says), toward the client unmasked.
    /// `whole`: the frame is a whole message of ours (`/text`, `/binary`), also shown
    /// as a `message` event on its leg.
    fn each(
        &mut self,
        fin: bool,
        rsv: [bool; 3],
        op: OpCode,
        mask: Option<Option<[u8; 4]>>,
        payload: &[u8],
        whole: Option<MsgType>,
    ) {
        for id in self.targets() {
            let Some(p) = self.pairs.get_mut(&id) else {
                continue;
            };
            for leg in [Leg::Client, Leg::Server] {
                if !self.leg.takes(leg) {
                    continue;
                }
                let side = match leg {
                    Leg::Client => Some(&mut p.client),
                    Leg::Server => p.server.as_mut(),
                };
                let Some(side) = side.filter(|s| !s.shut) else {
                    continue;
                };
                let key =
                    mask.unwrap_or_else(|| (leg == Leg::Server).then(rand::random::<[u8; 4]>));
                let mut bytes = Vec::with_capacity(payload.len() + crate::wire::MAX_HEADER_LEN);
                crate::wire::encode_header(
                    &crate::wire::Header {
                        fin,
                        rsv,
                        opcode: op,
                        mask: key,
                        len: payload.len() as u64,
                    },
                    &mut bytes,
                );
                let at = bytes.len();
                bytes.extend_from_slice(payload);
                if let Some(k) = key {
                    crate::wire::apply_mask(&mut bytes[at..], k, 0);
                }
                say(
                    self.out,
                    id,
                    Some(leg),
                    &Event::Frame(FrameEv {
                        dir: Dir::Out,
                        fin,
                        rsv,
                        opcode: op,
                        mask: key,
                        payload,
                    }),
                );
                if let Some(kind) = whole {
                    say(
                        self.out,
                        id,
                        Some(leg),
                        &Event::Message {
                            dir: Dir::Out,
                            kind,
                            payload,
                            frames: 1,
                            wire: None,
                        },
                    );
                }
                queue(&mut side.q, bytes);
            }
            self.touched.push(id);
        }
    }

    fn data(&mut self, kind: MsgType, payload: &[u8]) {
        let op = match kind {
            MsgType::Text => OpCode::Text,
            MsgType::Binary => OpCode::Binary,
        };
        self.each(true, [false; 3], op, None, payload, Some(kind));
    }

    fn raw(&mut self, f: &RawFrame) {
        let mask = match (f.mask, f.key) {
            (Some(false), _) => Some(None),
            (Some(true), k) => Some(Some(k.unwrap_or_else(rand::random))),
            (None, Some(k)) => Some(Some(k)),
            (None, None) => None,
        };
        self.each(f.fin, f.rsv, f.opcode, mask, &f.payload, None);
    }

    fn rows(&self) -> Vec<ClientRow> {
        let mut rows: Vec<ClientRow> = self
            .pairs
            .values()
            .filter(|p| p.connected && matches!(p.phase, Phase::Open))
            .map(|p| ClientRow {
                id: p.id,
                peer: p.peer.clone(),
                path: p.path.clone(),
                protocol: p.protocol.clone(),
                uptime: p.since.elapsed(),
                frames_in: p.client.fwd.frames,
                frames_out: p.server.as_ref().map_or(0, |s| s.fwd.frames),
                selected: *self.to == Some(p.id),
            })
            .collect();
        rows.sort_by_key(|r| r.id);
        rows
    }
}

impl<S: Sink> Port for Steer<'_, S> {
    fn ready(&self) -> Ready {
        let targets = self.targets();
        if targets.is_empty() {
            return crate::engine::no_target(self.script, *self.to, "pair", "is not open");
        }
        let full = targets.iter().any(|id| {
            self.pairs.get(id).is_some_and(|p| {
                p.client.q.pending() >= HIGH_WATER
                    || p.server
                        .as_ref()
                        .is_some_and(|s| s.q.pending() >= HIGH_WATER)
            })
        });
        if full {
            Ready::Full
        } else {
            Ready::Open
        }
    }

    fn emit(&mut self, ev: &Event<'_>) {
        if self.shown && matches!(ev, Event::Message { .. }) {
            return;
        }
        self.out.client(None);
        self.out.leg(None);
        self.out.emit(ev);
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Error> {
        match act {
            Act::Data { kind, payload, .. } => self.data(kind, payload),
            Act::Owned {
                kind,
                data,
                start,
                end,
            } => self.data(kind, &data[start..end]),
            Act::Ping(p) => self.each(true, [false; 3], OpCode::Ping, None, p, None),
            Act::Pong(p) => self.each(true, [false; 3], OpCode::Pong, None, p, None),
            Act::Close { code, reason } => {
                let mut payload = code.to_be_bytes().to_vec();
                payload.extend_from_slice(reason.as_bytes());
                self.each(true, [false; 3], OpCode::Close, None, &payload, None);
            }
            Act::Frame(f) => self.raw(f),
            Act::Info | Act::Clients => {
                let rows = self.rows();
                self.emit(&Event::Clients(&rows));
            }
            Act::To(to) => {
                if let Some(id) = to {
                    if !self.pairs.values().any(|p| p.id == id && p.connected) {
                        return Err(Error::usage(format!(
                            "/to: expected an open pair (see /clients), got #{id}"
                        )));
                    }
                }
                *self.to = to;
            }
            Act::Leg(l) => {
                *self.leg = l;
                let what = match l {
                    LegPick::Client => "toward the client",
                    LegPick::Server => "toward the server",
                    LegPick::Both => "toward the client and the server",
                };
                self.emit(&Event::Notice(&format!("commands now go {what}")));
            }
            Act::Cut => {
                let t = self.targets();
                if t.is_empty() {
                    return Err(Error::usage(
                        "/cut: expected an open pair (see /clients); nothing cut",
                    ));
                }
                self.cut.extend(t);
            }
            Act::Quit => self.quit = true,
            // The engine refuses these in relay.
            Act::Reconnect | Act::Kick { .. } => {}
        }
        Ok(())
    }
}
