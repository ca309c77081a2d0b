//! `wsdbg listen`: a local WebSocket server on one event loop (`mio`), however many
//! clients, that is also a test server you drive. It accepts, reads each upgrade
//! request (`handshake::accept`), then runs a `protocol::Conn` in the server role per
//! client, what each connection does on its own (`engine::Reflex`: echo, `--greet`,
//! `--close-after`, `--delay`), and one session engine (`engine::Script`) for the
//! commands (REPL, a pipe, `-x`) sent to the selected clients (`/to`), plus `/clients`
//! and `/kick`. The loop owns the output, so events print in the order they happened,
//! each with its client. Nothing here decodes a frame or decides what a command means:
//! that is the core's and the engine's.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConfig;

use crate::config::{ListenBehaviour, ListenConfig};
use crate::engine::{self, Act, Port, Ready, Reflex, Script};
use crate::error::Error;
use crate::event::{Dir, Event, HttpHead, PromptView};
use crate::exit;
use crate::handshake;
use crate::input::{InputRx, InputTx, Sigint};
use crate::outq::OutQ;
use crate::protocol::{self, Driver, End, Msg, Tx};
use crate::session::Sink;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{OpCode, Role};

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
const SIGNAL: Token = Token(2);
/// Client tokens start here (a client's token is its id plus this).
const FIRST_CLIENT: usize = 16;
/// The whole opening handshake (TLS and the request) must be done in this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client gets to answer our close frame, to take what we still send, and
/// to end its side after ours.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// When to stop reading from a client (its send queue and `--delay`'s held echoes at
/// the high-water mark; every client together at the server-wide bound): `flow`.
use crate::flow::{Held, Pool, HIGH_WATER};
/// How much one client may be read in one turn, so the others are not starved.
const READ_BUDGET: usize = 256 * 1024;
/// A client's first read buffer (it grows with what arrives, and goes back to this
/// size once the client is idle).
const CLIENT_RBUF: usize = 4 * 1024;
/// What an idle client's send queue keeps (a larger buffer, grown for a large
/// message, is given back once it is sent).
const IDLE_OUT: usize = 64 * 1024;
/// While accepting fails (out of file descriptors), try again this often, and whenever
/// a client leaves.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Where clients come from: a TCP port, or a Unix socket (`--unix PATH`, removed again
/// when listen ends). A Unix client is carried in a `TcpStream` like `ws+unix://`'s
/// (see `connect`): the same code serves both.
enum Listener {
    Tcp(TcpListener),
    Unix(mio::net::UnixListener, std::path::PathBuf),
}

impl Listener {
    fn accept(&self) -> io::Result<(mio::net::TcpStream, String)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (s, a.to_string())),
            Listener::Unix(l, path) => {
                use std::os::fd::{FromRawFd, IntoRawFd};
                let (s, _) = l.accept()?;
                // SAFETY: a connected stream socket we own, handed over once; only
                // socket calls are made on it (the TCP-only ones fail and are ignored).
                let s = unsafe { mio::net::TcpStream::from_raw_fd(s.into_raw_fd()) };
                Ok((s, format!("unix:{}", path.display())))
            }
        }
    }
}

impl mio::event::Source for Listener {
    fn register(&mut self, r: &mio::Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Unix(l, _) => l.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &mio::Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Unix(l, _) => l.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Unix(l, _) => l.deregister(r),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Bind, say where, and get ready to serve; the caller starts the input source with
/// the returned `InputTx` (a REPL, a pipe, `-x`), then calls `run`.
pub fn start<S: Sink>(
    cfg: ListenConfig,
    mut out: S,
    script: bool,
) -> Result<(Server<S>, InputTx), Error> {
    let addr = cfg.addr;
    // `Address already in use`, without Rust's ` (os error 98)`.
    let why = |e: io::Error| {
        let why = e.to_string();
        why.split(" (os error ")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let (mut listener, a) = match &cfg.unix {
        Some(path) => {
            // A socket file left by a listen that was killed: nobody answers on it,
            // so it is removed and bound again (one that answers is in use).
            let stale = path.exists()
                && std::os::unix::net::UnixStream::connect(path).is_err()
                && std::fs::metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                });
            if stale {
                let _ = std::fs::remove_file(path);
            }
            let l = mio::net::UnixListener::bind(path).map_err(|e| {
                Error::connect(format!("cannot listen on {}: {}", path.display(), why(e)))
            })?;
            let shown = format!("ws+unix://{}:/", path.display());
            (Listener::Unix(l, path.clone()), shown)
        }
        None => {
            let l = TcpListener::bind(addr)
                .map_err(|e| Error::connect(format!("cannot listen on {addr}: {}", why(e))))?;
            let local = l
                .local_addr()
                .map_err(|e| Error::io(format!("listen: {e}")))?;
            (Listener::Tcp(l), local.to_string())
        }
    };
    let poll = Poll::new().map_err(|e| Error::io(format!("listen: poll: {e}")))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| Error::io(format!("listen: poll: {e}")))?;
    let (tx, input) = crate::input::channel(&poll, WAKE, SIGNAL)?;
    out.emit(&Event::Listening {
        addr: &a,
        tls: cfg.tls.is_some(),
    });
    out.prompt(PromptView::Listen {
        clients: 0,
        to: None,
    });
    out.idle();
    let mut ecfg = engine::Config::new(engine::Side::Listen);
    ecfg.script = script;
    ecfg.timeout = CLOSE_TIMEOUT;
    ecfg.max_size = cfg.max_size;
    ecfg.fail_fast = cfg.fail_fast;
    let server = Server {
        poll,
        listener,
        tls: cfg.tls,
        max_size: cfg.max_size,
        how: cfg.how,
        out,
        clients: HashMap::new(),
        next_id: 0,
        input,
        engine: Script::new(ecfg),
        to: None,
        script,
        interrupt_seen: false,
        abort: false,
        quitting: None,
        once_code: None,
        deviated: false,
        pool: Pool::default(),
        accept_retry: None,
        accept_failing: false,
    };
    Ok((server, tx))
}

pub struct Server<S: Sink> {
    poll: Poll,
    listener: Listener,
    tls: Option<Arc<ServerConfig>>,
    max_size: u64,
    how: ListenBehaviour,
    out: S,
    /// By token (see `FIRST_CLIENT`).
    clients: HashMap<Token, Client>,
    next_id: u64,
    input: InputRx,
    /// What the commands mean: one engine for every client.
    engine: Script,
    /// `/to`: the client commands go to; `None`: all.
    to: Option<u64>,
    /// Script mode (a pipe or `-x`, not the REPL): commands wait for a client.
    script: bool,
    interrupt_seen: bool,
    /// A second Ctrl-C: exit now.
    abort: bool,
    /// `/quit`, Ctrl-C, or `--once` done: every client is being closed; exit when
    /// they are gone or at this deadline.
    quitting: Option<Instant>,
    /// `--once`: the exit status, once the first client left.
    once_code: Option<u8>,
    /// `--replay`: a client did not follow the recording.
    deviated: bool,
    /// What every client holds, and who may read (`flow`).
    pool: Pool,
    /// Accepting failed (out of file descriptors, say): try again at this time, or
    /// when a client leaves.
    accept_retry: Option<Instant>,
    /// Accepting is failing and that was said (once, until nobody waits any more).
    accept_failing: bool,
}

/// One client: its socket and where it is in its life.
struct Client {
    id: u64,
    peer: String,
    t: Transport,
    phase: Phase,
    /// Until when the current phase may last (handshake, close reply, drain).
    deadline: Option<Instant>,
    /// Data may be waiting to be read (readiness is edge-triggered).
    readable: bool,
    /// The client ended its side.
    eof: bool,
    /// Its upgrade was accepted (so its leaving is shown).
    connected: bool,
    /// How its connection ended, once it did (for `--once`).
    ended: Option<(End, bool)>,
    /// Its upgrade was refused (`--reject`, a bad request): for `--once`, it came and
    /// went.
    refused: bool,
    /// `--replay`: it did not follow the recording.
    deviated: bool,
}

/// An open WebSocket connection and what `listen` keeps of it.
struct Live {
    p: protocol::Conn,
    since: Instant,
    request: HttpHead,
    protocol: Option<String>,
    reflex: Reflex,
}

enum Phase {
    /// Reading the upgrade request (after the TLS handshake, if any).
    Request { head: Vec<u8>, searched: usize },
    /// A refusal (400, `--reject`) is on its way; then the connection ends.
    Refusing { out: OutQ },
    /// The WebSocket connection.
    Open(Box<Live>),
    /// Our side is shut and everything was sent: reading until the client's end.
    Draining,
}

impl Client {
    /// Reading is worth a turn: data may wait, and a WebSocket client's send queue has
    /// room (else it waits for the queue to drain: backpressure).
    fn can_read(&self, pool: &Pool) -> bool {
        match &self.phase {
            Phase::Open(_) => self.readable && pool.may_read(self.id),
            _ => self.readable,
        }
    }

    /// When its turn is due without an event: its deadline or a delayed echo.
    fn wake_at(&self) -> Option<Instant> {
        let delayed = match &self.phase {
            Phase::Open(l) => l.reflex.wake_at(),
            _ => None,
        };
        match (self.deadline, delayed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Open, and not closing: commands may send to it.
    fn sendable(&self) -> bool {
        match &self.phase {
            Phase::Open(l) => {
                l.p.end().is_none() && !l.p.tx.close_sent() && !l.p.tx.close_received()
            }
            _ => false,
        }
    }
}

/// Events of one client, tagged with its id.
struct Tagged<'a, S: Sink> {
    out: &'a mut S,
    id: u64,
}

impl<S: Sink> Driver for Tagged<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        self.out.client(Some(self.id));
        self.out.emit(ev);
    }

    fn message(&mut self, _tx: &mut Tx, _m: Msg<'_>) {}
}

/// The engine's port for one client's events (`received`, `pong`, `peer_closed`).
struct One<'a, 'b, S: Sink> {
    d: &'b mut Tagged<'a, S>,
    tx: Option<&'b mut Tx>,
}

impl<S: Sink> Port for One<'_, '_, S> {
    fn ready(&self) -> Ready {
        Ready::Open
    }

    fn emit(&mut self, ev: &Event<'_>) {
        self.d.emit(ev);
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Error> {
        if let (Act::Close { code, reason }, Some(tx)) = (act, self.tx.as_deref_mut()) {
            tx.close(self.d, Some(code), reason);
        }
        Ok(())
    }
}

/// The protocol core's view of one client: its events tagged; its messages to its
/// reflexes (echo, close-after), and, when it is selected (`/to`), to the engine.
struct Peer<'a, S: Sink> {
    d: Tagged<'a, S>,
    how: &'a engine::Behaviour,
    reflex: &'a mut Reflex,
    engine: &'a mut Script,
    selected: bool,
}

impl<S: Sink> Driver for Peer<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        self.d.emit(ev);
    }

    fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
        let now = Instant::now();
        if self.selected {
            self.engine.received(
                now,
                &m,
                &mut One {
                    d: &mut self.d,
                    tx: Some(tx),
                },
            );
        } else {
            self.d.emit(&m.event(Dir::In));
        }
        self.reflex.message(self.how, now, &m, tx, &mut self.d);
    }

    fn pong(&mut self, _payload: &[u8]) {
        if self.selected {
            let port = &mut One {
                d: &mut self.d,
                tx: None,
            };
            self.engine.pong(Instant::now(), port);
        }
    }

    fn closed(&mut self, code: Option<u16>, reason: &str) {
        if self.selected {
            let port = &mut One {
                d: &mut self.d,
                tx: None,
            };
            self.engine.peer_closed(Instant::now(), code, reason, port);
        }
    }
}

impl Live {
    /// The core, and the driver its events and messages go through for one turn of
    /// this client.
    fn split<'a, S: Sink>(
        &'a mut self,
        out: &'a mut S,
        id: u64,
        how: &'a ListenBehaviour,
        engine: &'a mut Script,
        selected: bool,
    ) -> (&'a mut protocol::Conn, Peer<'a, S>) {
        let Live { p, reflex, .. } = self;
        let d = Peer {
            d: Tagged { out, id },
            how: &how.reflex,
            reflex,
            engine,
            selected,
        };
        (p, d)
    }
}

/// The engine's port on the server: sends go to the selected clients.
struct Serve<'a, S: Sink> {
    out: &'a mut S,
    clients: &'a mut HashMap<Token, Client>,
    to: &'a mut Option<u64>,
    script: bool,
    /// Clients that were sent to: they get a turn after the engine ran.
    touched: Vec<Token>,
    quit: bool,
    prompt: bool,
}

impl<'a, S: Sink> Serve<'a, S> {
    fn new(
        out: &'a mut S,
        clients: &'a mut HashMap<Token, Client>,
        to: &'a mut Option<u64>,
        script: bool,
    ) -> Serve<'a, S> {
        Serve {
            out,
            clients,
            to,
            script,
            touched: Vec::new(),
            quit: false,
            prompt: false,
        }
    }

    /// The clients a command sends to: the one chosen with `/to`, else all that are
    /// open.
    fn targets(&self) -> Vec<Token> {
        let to = *self.to;
        let mut t: Vec<(u64, Token)> = self
            .clients
            .iter()
            .filter(|(_, c)| c.sendable() && to.is_none_or(|id| id == c.id))
            .map(|(t, c)| (c.id, *t))
            .collect();
        t.sort_unstable();
        t.into_iter().map(|(_, t)| t).collect()
    }

    fn each(&mut self, mut f: impl FnMut(&mut Tx, &mut Tagged<'_, S>)) {
        for token in self.targets() {
            let Some(c) = self.clients.get_mut(&token) else {
                continue;
            };
            if let Phase::Open(l) = &mut c.phase {
                let mut d = Tagged {
                    out: &mut *self.out,
                    id: c.id,
                };
                f(&mut l.p.tx, &mut d);
                self.touched.push(token);
            }
        }
    }

    /// `/clients`: the clients still open (not those whose connection is over and
    /// only draining), by id.
    fn clients_rows(&self) -> Vec<crate::event::ClientRow> {
        let mut live: Vec<&Client> = self.clients.values().filter(|c| c.connected).collect();
        live.sort_by_key(|c| c.id);
        live.into_iter()
            .filter_map(|c| match &c.phase {
                Phase::Open(l) => Some(crate::event::ClientRow {
                    id: c.id,
                    peer: c.peer.to_string(),
                    path: l.request.path.clone(),
                    protocol: l.protocol.clone(),
                    uptime: l.since.elapsed(),
                    frames_in: l.p.rx.frames,
                    frames_out: l.p.tx.frames,
                    selected: *self.to == Some(c.id),
                }),
                _ => None,
            })
            .collect()
    }
}

impl<S: Sink> Port for Serve<'_, S> {
    fn ready(&self) -> Ready {
        let targets = self.targets();
        if targets.is_empty() {
            return engine::no_target(self.script, *self.to, "client", "is not connected");
        }
        let full = targets.iter().any(|t| {
            matches!(self.clients.get(t).map(|c| &c.phase), Some(Phase::Open(l)) if l.p.tx.out.pending() >= HIGH_WATER)
        });
        if full {
            Ready::Full
        } else {
            Ready::Open
        }
    }

    fn can_compress(&self) -> bool {
        self.targets().iter().all(|t| {
            matches!(self.clients.get(t).map(|c| &c.phase), Some(Phase::Open(l)) if l.p.tx.can_compress())
        })
    }

    fn emit(&mut self, ev: &Event<'_>) {
        self.out.client(None);
        self.out.emit(ev);
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Error> {
        match act {
            Act::Data {
                kind,
                payload,
                compress,
            } => self.each(|tx, d| match compress {
                None => tx.send_data(d, kind, payload),
                Some(c) => tx.send_message(d, kind, payload, c),
            }),
            Act::Owned {
                kind,
                data,
                start,
                end,
            } => self.each(|tx, d| tx.send_data(d, kind, &data[start..end])),
            Act::Ping(p) => {
                self.each(|tx, d| tx.send_frame(d, OpCode::Ping, true, [false; 3], None, p))
            }
            Act::Pong(p) => {
                self.each(|tx, d| tx.send_frame(d, OpCode::Pong, true, [false; 3], None, p))
            }
            Act::Close { code, reason } => self.each(|tx, d| tx.close(d, Some(code), reason)),
            Act::Frame(f) => self.each(|tx, d| tx.send_raw(d, f)),
            Act::Info | Act::Clients => {
                let rows = self.clients_rows();
                self.emit(&Event::Clients(&rows));
            }
            Act::To(to) => {
                if let Some(id) = to {
                    if !self.clients.values().any(|c| c.id == id && c.connected) {
                        return Err(Error::usage(format!(
                            "/to: expected a connected client (see /clients), got #{id}"
                        )));
                    }
                }
                *self.to = to;
                self.prompt = true;
            }
            Act::Kick { id, code, reason } => {
                let token = self
                    .clients
                    .iter()
                    .find(|(_, c)| c.id == id && c.sendable())
                    .map(|(t, _)| *t);
                let Some(token) = token else {
                    return Err(Error::usage(format!(
                        "/kick: expected a connected client (see /clients), got #{id}"
                    )));
                };
                if let Some(c) = self.clients.get_mut(&token) {
                    if let Phase::Open(l) = &mut c.phase {
                        let mut d = Tagged {
                            out: &mut *self.out,
                            id: c.id,
                        };
                        l.p.tx.close(&mut d, Some(code), reason);
                        self.touched.push(token);
                    }
                }
            }
            Act::Quit => self.quit = true,
            // The engine refuses /reconnect on listen's side.
            Act::Reconnect => {}
            // The engine refuses relay's commands on listen's side.
            Act::Leg(_) | Act::Cut => {}
        }
        Ok(())
    }
}

impl<S: Sink> Server<S> {
    /// Serve until `/quit`, Ctrl-C, or (`--once`) the first client left; returns the
    /// exit code.
    pub fn run(mut self) -> u8 {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.abort {
                self.out.idle();
                return exit::INTERRUPTED;
            }
            if let Some(code) = self.finished() {
                self.out.prompt(PromptView::Listen {
                    clients: 0,
                    to: None,
                });
                self.out.idle();
                return code;
            }
            self.pump_input();
            let timeout = self
                .next_deadline()
                .map(|t| t.saturating_duration_since(Instant::now()));
            self.out.idle();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                let e = Error::io(format!("listen: poll: {e}"));
                self.out.client(None);
                self.out.emit(&Event::Error(&e));
                return exit::LOST;
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKE => {}
                    SIGNAL => {
                        if self.input.sigint() == Sigint::Again {
                            self.abort = true;
                        }
                    }
                    token => {
                        if let Some(c) = self.clients.get_mut(&token) {
                            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                                c.readable = true;
                            }
                        }
                        self.turn(token);
                    }
                }
            }
            // Clients with more to read than one turn took, and timers.
            let now = Instant::now();
            let due: Vec<Token> = self
                .clients
                .iter()
                .filter(|(_, c)| c.can_read(&self.pool) || c.wake_at().is_some_and(|d| now >= d))
                .map(|(t, _)| *t)
                .collect();
            for token in due {
                self.turn(token);
            }
            if self.accept_retry.is_some_and(|t| Instant::now() >= t) {
                self.accept_all();
            }
        }
    }

    /// The exit code, once it is time to exit.
    fn finished(&mut self) -> Option<u8> {
        let deadline = self.quitting?;
        if !self.clients.is_empty() && Instant::now() < deadline {
            return None;
        }
        self.input.hand_to(&mut self.engine, true);
        let why = "the server is shutting down";
        let mut port = Serve::new(&mut self.out, &mut self.clients, &mut self.to, self.script);
        self.engine.finish(why, &mut port);
        Some(exit::code(
            self.once_code.unwrap_or(exit::OK),
            self.engine.failed() || self.deviated,
        ))
    }

    /// Close every client (1001) and stop accepting; exit once they are gone.
    fn quit(&mut self) {
        if self.quitting.is_some() {
            return;
        }
        self.quitting = Some(Instant::now() + 2 * CLOSE_TIMEOUT);
        let _ = self.poll.registry().deregister(&mut self.listener);
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        for token in tokens {
            if let Some(c) = self.clients.get_mut(&token) {
                if let Phase::Open(l) = &mut c.phase {
                    let mut d = Tagged {
                        out: &mut self.out,
                        id: c.id,
                    };
                    l.p.tx.close(&mut d, Some(1001), "going away");
                }
            }
            self.turn(token);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        if self.clients.values().any(|c| c.can_read(&self.pool)) {
            return Some(now);
        }
        if self.engine.runnable() && self.quitting.is_none() {
            return Some(now);
        }
        if self.quitting.is_some() && self.clients.is_empty() {
            // Quitting with nobody left: exit now, not at the quit deadline.
            return Some(now);
        }
        [
            self.clients.values().filter_map(Client::wake_at).min(),
            self.engine.deadline(now),
            self.quitting,
            self.accept_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // -- input -----------------------------------------------------------------

    /// Let the engine run what it can (and its timers), then give the clients it sent
    /// to a turn.
    fn pump_input(&mut self) {
        if self.quitting.is_some() {
            return;
        }
        self.input.hand_to(&mut self.engine, false);
        let interrupted = self.input.is_interrupted() && !self.interrupt_seen;
        self.interrupt_seen |= interrupted;
        let now = Instant::now();
        let mut port = Serve::new(&mut self.out, &mut self.clients, &mut self.to, self.script);
        if interrupted {
            self.engine.interrupt(&mut port);
        }
        self.engine.tick(now, now, &mut port);
        let Serve {
            touched,
            quit,
            prompt,
            ..
        } = port;
        for token in touched {
            self.turn(token);
        }
        if prompt {
            self.show_prompt();
        }
        if quit {
            self.quit();
        }
    }

    fn show_prompt(&mut self) {
        self.show_prompt_with(0);
    }

    /// The prompt, counting `extra` connected clients that are out of the map (the one
    /// whose turn it is).
    fn show_prompt_with(&mut self, extra: usize) {
        let clients = self.clients.values().filter(|c| c.connected).count() + extra;
        self.out.prompt(PromptView::Listen {
            clients,
            to: self.to,
        });
    }

    // -- clients ---------------------------------------------------------------

    fn accept_all(&mut self) {
        if self.quitting.is_some() {
            self.accept_retry = None;
            return;
        }
        loop {
            let (mut sock, addr) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Nobody is waiting any more: a later shortage is said again.
                    self.accept_retry = None;
                    self.accept_failing = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of file descriptors, say: the waiting connections stay in
                    // the backlog, and no new event will say so (readiness is
                    // edge-triggered): try again when a client leaves, or soon. Said
                    // once, not at every try.
                    if !self.accept_failing {
                        let err = Error::io(format!(
                            "listen: accept: {e}; waiting connections are accepted once a client leaves"
                        ));
                        self.out.client(None);
                        self.out.emit(&Event::Error(&err));
                        self.accept_failing = true;
                    }
                    self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
            };
            self.next_id += 1;
            let id = self.next_id;
            let token = Token(id as usize + FIRST_CLIENT);
            let _ = sock.set_nodelay(true);
            if let Err(e) = self.poll.registry().register(
                &mut sock,
                token,
                Interest::READABLE | Interest::WRITABLE,
            ) {
                let err = Error::io(format!("listen: poll: {e}"));
                self.out.client(Some(id));
                self.out.emit(&Event::Error(&err));
                continue;
            }
            let tls = match &self.tls {
                None => None,
                Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                    Ok(c) => Some(rustls::Connection::Server(c)),
                    Err(e) => {
                        let err = Error::tls(format!("listen: TLS: {e}"));
                        self.out.client(Some(id));
                        self.out.emit(&Event::Error(&err));
                        let _ = self.poll.registry().deregister(&mut sock);
                        continue;
                    }
                },
            };
            self.clients.insert(
                token,
                Client {
                    id,
                    peer: addr.to_string(),
                    t: Transport::with(sock, tls),
                    phase: Phase::Request {
                        head: Vec::new(),
                        searched: 0,
                    },
                    deadline: Some(Instant::now() + HANDSHAKE_TIMEOUT),
                    readable: true,
                    eof: false,
                    connected: false,
                    ended: None,
                    refused: false,
                    deviated: false,
                },
            );
        }
    }

    /// Give one client a turn: read, handle, write, check its timer. A client that is
    /// finished is removed.
    fn turn(&mut self, token: Token) {
        let Some(mut c) = self.clients.remove(&token) else {
            return;
        };
        let done = self.step(&mut c);
        if !done {
            match &c.phase {
                Phase::Open(l) => self.pool.set(c.id, Held::of(&l.p, l.reflex.held())),
                _ => self.pool.remove(c.id),
            }
            self.clients.insert(token, c);
            return;
        }
        self.pool.remove(c.id);
        let _ = self.poll.registry().deregister(&mut c.t.sock);
        drop(c.t);
        if self.accept_retry.is_some() {
            // A descriptor is free: a connection waiting in the backlog may be taken.
            self.accept_all();
        }
        if !c.connected {
            if c.refused && self.how.once && self.once_code.is_none() {
                // Refused as asked (`--reject`): that is its whole visit.
                self.once_code = Some(exit::OK);
                self.quit();
            }
            return;
        }
        self.out.client(Some(c.id));
        self.out.emit(&Event::Client {
            peer: &c.peer,
            connected: false,
            request: None,
            protocol: None,
        });
        if self.to == Some(c.id) {
            self.to = None;
        }
        self.show_prompt();
        if self.how.once && self.once_code.is_none() {
            self.once_code = Some(match c.ended {
                Some((End::Clean, false)) if c.deviated => exit::SCRIPT,
                Some((End::Clean, false)) => exit::OK,
                _ => exit::LOST,
            });
            self.quit();
        }
    }

    /// Returns true when the client is finished.
    fn step(&mut self, c: &mut Client) -> bool {
        let now = Instant::now();
        let expired = c.deadline.is_some_and(|d| now >= d);
        match &mut c.phase {
            Phase::Request { .. } => self.request(c, expired),
            Phase::Refusing { out } => {
                let r = out.write_to(&mut c.t);
                if r.is_err() || expired {
                    return true;
                }
                if out.is_empty() {
                    // Then read until the client's end, so it gets the answer whole
                    // (closing with unread data would reset the connection).
                    c.t.shutdown();
                    c.phase = Phase::Draining;
                    c.deadline = Some(now + CLOSE_TIMEOUT);
                    c.readable = true;
                }
                false
            }
            Phase::Open(_) => self.open(c, expired),
            Phase::Draining => {
                let mut scratch = [0u8; 16 * 1024];
                for _ in 0..16 {
                    match c.t.read(&mut scratch) {
                        Ok(ReadOutcome::Data(_)) => continue,
                        Ok(ReadOutcome::WouldBlock) => {
                            c.readable = false;
                            return expired;
                        }
                        Ok(ReadOutcome::Eof) | Err(_) => return true,
                    }
                }
                expired
            }
        }
    }

    /// Read the upgrade request; answer it (101 and open, or a refusal).
    fn request(&mut self, c: &mut Client, expired: bool) -> bool {
        let Phase::Request { head, searched } = &mut c.phase else {
            return true;
        };
        let mut chunk = [0u8; 4096];
        while c.readable {
            match c.t.read(&mut chunk) {
                Ok(ReadOutcome::Data(n)) => head.extend_from_slice(&chunk[..n]),
                Ok(ReadOutcome::WouldBlock) => c.readable = false,
                Ok(ReadOutcome::Eof) => {
                    let e = Error::handshake(
                        "listen: the client closed the connection before its request was complete",
                    );
                    self.client_error(c.id, &e);
                    return true;
                }
                Err(e) => {
                    self.client_error(c.id, &Error::handshake(format!("listen: {}", e.msg)));
                    return true;
                }
            }
            match handshake::head_end(head, *searched) {
                Ok(None) => *searched = head.len(),
                Ok(Some(end)) => return self.answer(c, end),
                Err(max) => {
                    let problem = format!("request head over {} KiB", max / 1024);
                    return self.refuse(c, problem, None, true);
                }
            }
        }
        // Flush what the TLS handshake wants to send.
        let _ = c.t.write(&[]);
        if expired {
            let e = Error::timeout(format!(
                "listen: no complete upgrade request within {} s",
                HANDSHAKE_TIMEOUT.as_secs()
            ));
            self.client_error(c.id, &e);
            return true;
        }
        false
    }

    fn answer(&mut self, c: &mut Client, end: usize) -> bool {
        let Phase::Request { head, .. } = &mut c.phase else {
            return true;
        };
        let head = std::mem::take(head);
        if self.quitting.is_some() {
            return self.refuse(c, "the server is shutting down".into(), None, true);
        }
        let a = match handshake::accept(&head[..end], &self.how.accept) {
            Err(r) if r.asked => {
                self.out.client(Some(c.id));
                self.out
                    .emit(&Event::Notice(&format!("listen: {}", r.problem)));
                return self.refuse(c, r.problem, Some(r.response), false);
            }
            Err(r) => return self.refuse(c, r.problem, Some(r.response), true),
            Ok(a) => a,
        };
        let mut p = protocol::Conn::new(
            protocol::Config {
                role: Role::Server,
                max_size: self.max_size,
                auto_pong: self.how.auto_pong,
                rbuf: CLIENT_RBUF,
                deflate: a.deflate,
                close_timeout: CLOSE_TIMEOUT,
            },
            &head[end..],
        );
        p.tx.out.append(|o| o.extend_from_slice(&a.response));
        self.out.client(Some(c.id));
        for note in &a.notes {
            self.out.emit(&Event::Warning(note));
        }
        self.out.emit(&Event::Client {
            peer: &c.peer,
            connected: true,
            request: Some(&a.request),
            protocol: a.protocol.as_deref(),
        });
        c.connected = true;
        let mut reflex = Reflex::default();
        reflex.speaks(&self.how.reflex, a.protocol.as_deref(), &a.request.path);
        c.phase = Phase::Open(Box::new(Live {
            p,
            since: Instant::now(),
            request: a.request,
            protocol: a.protocol,
            reflex,
        }));
        c.deadline = None;
        c.readable = true;
        self.show_prompt_with(1);
        if let Phase::Open(l) = &mut c.phase {
            let Live { p, reflex, .. } = &mut **l;
            let mut d = Tagged {
                out: &mut self.out,
                id: c.id,
            };
            reflex.opened(&self.how.reflex, &mut p.tx, &mut d);
        }
        self.open(c, false)
    }

    /// Refuse the upgrade (400 with a body saying why, or `--reject`'s answer), then
    /// end the connection.
    /// `report`: say why as an error (not for `--reject`, which is what was asked).
    fn refuse(
        &mut self,
        c: &mut Client,
        problem: String,
        response: Option<Vec<u8>>,
        report: bool,
    ) -> bool {
        let response = response.unwrap_or_else(|| {
            let body = format!("wsdbg listen: {problem}\n");
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        if report {
            self.client_error(c.id, &Error::handshake(format!("listen: {problem}")));
        }
        let mut out = OutQ::default();
        out.append(|o| o.extend_from_slice(&response));
        c.phase = Phase::Refusing { out };
        c.refused = true;
        c.deadline = Some(Instant::now() + CLOSE_TIMEOUT);
        false
    }

    fn client_error(&mut self, id: u64, e: &Error) {
        self.out.client(Some(id));
        self.out.emit(&Event::Error(e));
    }

    /// The WebSocket connection: delayed echoes, what arrived with the upgrade request,
    /// read (while the send queue has room), handle, write; then the deadlines the core
    /// keeps (close reply, give-up, drain).
    fn open(&mut self, c: &mut Client, _expired: bool) -> bool {
        let Phase::Open(l) = &mut c.phase else {
            return true;
        };
        let selected = self.to.is_none_or(|id| id == c.id);
        let (p, mut d) = l.split(&mut self.out, c.id, &self.how, &mut self.engine, selected);
        let now = Instant::now();
        d.reflex.due(now, &mut p.tx, &mut d.d);
        // Frames that came in the same read as the upgrade request (or are left over
        // from a turn that ran out of budget) are handled before reading more.
        p.process(&mut d);
        let mut budget = READ_BUDGET;
        loop {
            self.pool.set(c.id, Held::of(p, d.reflex.held()));
            if !(c.readable && p.end().is_none() && self.pool.may_read(c.id)) {
                break;
            }
            if budget == 0 {
                // More next turn.
                break;
            }
            match c.t.read(p.rx.space()) {
                Ok(ReadOutcome::Data(n)) => {
                    p.rx.filled(n);
                    budget = budget.saturating_sub(n);
                    p.process(&mut d);
                }
                Ok(ReadOutcome::WouldBlock) => c.readable = false,
                Ok(ReadOutcome::Eof) => {
                    c.readable = false;
                    c.eof = true;
                    p.eof(&mut d);
                }
                Err(e) => {
                    c.readable = false;
                    p.process(&mut d);
                    d.emit(&Event::Error(&e));
                    p.lost(&mut d, &e.msg);
                }
            }
        }
        let Peer {
            d: mut tagged,
            reflex,
            how,
            ..
        } = d;
        let d = &mut tagged;
        if let Err(e) = p.write_to(d, &mut c.t) {
            if p.end().is_none() {
                d.emit(&Event::Error(&e));
                p.lost(d, &e.msg);
            } else {
                p.abandon(d);
            }
        }
        if !c.readable && p.tx.out.is_empty() && !c.t.has_pending() {
            // Idle: a large message has gone through; give its buffers back.
            p.rx.shrink_idle(CLIENT_RBUF);
            p.tx.out.shrink_idle(IDLE_OUT);
        }
        let now = Instant::now();
        p.tick(d, now);
        c.deadline = p.deadline();
        let Some(end) = p.end() else {
            return false;
        };
        if c.ended.is_none() && reflex.ended(how, d) > 0 {
            // `--replay`: it did not follow the recording.
            c.deviated = true;
            self.deviated = true;
        }
        c.ended = Some((end, p.broken()));
        if c.t.has_pending() {
            return false;
        }
        let Some(until) = p.drain_until(now) else {
            return false;
        };
        // Everything is sent (or given up): shut our side and read until the client's
        // end (closing with unread data would reset the connection).
        c.ended = Some((p.end().unwrap_or(End::Unclean), p.broken()));
        c.t.shutdown();
        let over = c.eof || p.abandoned();
        c.phase = Phase::Draining;
        if over {
            return true;
        }
        c.deadline = Some(until);
        c.readable = true;
        false
    }
}
