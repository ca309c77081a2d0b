//! `wsdbg listen`: a local WebSocket server on one event loop (`mio`), however many
//! clients, that is also a test server you drive. It accepts, reads each upgrade
//! request (`handshake::accept`), then runs a `protocol::Conn` in the server role per
//! client: it echoes (unless `--no-echo`), and takes the client grammar's commands
//! (REPL, a pipe, `-x`) for the selected clients (`/to`), plus `/clients`, `/kick`.
//! Behaviour flags for unattended tests: `--greet`, `--close-after`, `--delay`,
//! `--no-pong`, `--subprotocol`, `--header`, `--reject`, `--once`.
//! The loop owns the output, so events print in the order they happened, each with
//! its client. Nothing here decodes a frame: that is the protocol core's.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConfig;

use crate::cli::ListenConfig;
use crate::command::{self, Command};
use crate::error::Error;
use crate::event::{Dir, Event, HttpHead, MsgType, PromptView};
use crate::exit;
use crate::handshake::{self, ServerOpts};
use crate::input::{Input, InputRx, InputTx, Sigint};
use crate::outq::{OutQ, OWN_FROM};
use crate::protocol::{self, Driver, End, Msg, Tx};
use crate::session::Sink;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{OpCode, Role};

const DEFAULT_PORT: u16 = 9001;
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
/// Stop reading from a client while this much waits to be sent to it: a client that
/// sends and never reads cannot make the server's memory grow.
const HIGH_WATER: usize = 1 << 20;
/// How much one client may be read in one turn, so the others are not starved.
const READ_BUDGET: usize = 256 * 1024;
/// A client's first read buffer (it grows with what arrives).
const CLIENT_RBUF: usize = 4 * 1024;

/// What `listen` does on its own: the behaviour flags.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Echo every data message (not with `--no-echo`).
    pub echo: bool,
    /// `--greet TEXT`: sent to each client once it is connected.
    pub greet: Option<String>,
    /// `--close-after N [CODE [REASON]]`: close a client after N messages from it.
    pub close_after: Option<(u64, u16, String)>,
    /// `--delay MS`: echo (and answer) this much later.
    pub delay: Option<Duration>,
    /// Answer pings (not with `--no-pong`).
    pub auto_pong: bool,
    /// `--once`: exit when the first client leaves, with its close's status.
    pub once: bool,
    /// How upgrade requests are answered (`--subprotocol`, `--header`, `--reject`,
    /// `--compress`).
    pub accept: ServerOpts,
}

/// Where to bind: `[ADDR]` (HOST, HOST:PORT, or an IP) and `--port`.
pub fn bind_addr(addr: Option<&str>, port: Option<u16>) -> Result<SocketAddr, Error> {
    let a = addr.unwrap_or("127.0.0.1");
    if let Ok(mut sa) = a.parse::<SocketAddr>() {
        if let Some(p) = port {
            sa.set_port(p);
        }
        return Ok(sa);
    }
    let bare = a.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port.unwrap_or(DEFAULT_PORT)));
    }
    let (host, p) = match a.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| {
                Error::usage(format!(
                    "listen: expected ADDR as HOST, HOST:PORT or IP, got {a:?} (bad port)"
                ))
            })?,
        ),
        None => (a, DEFAULT_PORT),
    };
    let p = port.unwrap_or(p);
    (host, p)
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| Error::usage(format!("listen: cannot resolve {host:?}")))
}

/// Bind, say where, and get ready to serve; the caller starts the input source with
/// the returned `InputTx` (a REPL, a pipe, `-x`), then calls `run`.
pub fn start<S: Sink>(
    cfg: ListenConfig,
    mut out: S,
    script: bool,
) -> Result<(Server<S>, InputTx), Error> {
    let addr = cfg.addr;
    let mut listener = TcpListener::bind(addr).map_err(|e| {
        // `Address already in use`, without Rust's ` (os error 98)`.
        let why = e.to_string();
        let why = why.split(" (os error ").next().unwrap_or_default();
        Error::connect(format!("cannot listen on {addr}: {why}"))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io(format!("listen: {e}")))?;
    let poll = Poll::new().map_err(|e| Error::io(format!("listen: poll: {e}")))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| Error::io(format!("listen: poll: {e}")))?;
    let (tx, input) = crate::input::channel(&poll, WAKE, SIGNAL)?;
    let a = local.to_string();
    out.emit(&Event::Listening {
        addr: &a,
        tls: cfg.tls.is_some(),
    });
    out.prompt(PromptView::Listen {
        clients: 0,
        to: None,
    });
    out.idle();
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
        queue: VecDeque::new(),
        input_done: false,
        block: Block::None,
        to: None,
        rx_since_tx: 0,
        script,
        script_failed: false,
        quitting: None,
        once_code: None,
    };
    Ok((server, tx))
}

pub struct Server<S: Sink> {
    poll: Poll,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    max_size: u64,
    how: Behaviour,
    out: S,
    /// By token (see `FIRST_CLIENT`).
    clients: HashMap<Token, Client>,
    next_id: u64,
    input: InputRx,
    queue: VecDeque<Input>,
    input_done: bool,
    block: Block,
    /// `/to`: the client commands go to; `None`: all.
    to: Option<u64>,
    /// Data messages received (from any client) since the last one a command sent:
    /// what `/wait` counts.
    rx_since_tx: u64,
    /// Script mode (a pipe or `-x`, not the REPL): commands wait for a client, and one
    /// that did not run as written makes the exit status 4.
    script: bool,
    script_failed: bool,
    /// `/quit`, Ctrl-C, or `--once` done: every client is being closed; exit when
    /// they are gone or at this deadline.
    quitting: Option<Instant>,
    /// `--once`: the exit status, once the first client left.
    once_code: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Sleep(Instant),
    /// `/wait N`: until N data messages arrived since the last one a command sent.
    Wait {
        need: u64,
        deadline: Instant,
    },
    /// Script mode: a command waits for a client to send to.
    Client,
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
}

/// An open WebSocket connection and what `listen` keeps of it.
struct Live {
    p: protocol::Conn,
    since: Instant,
    request: HttpHead,
    protocol: Option<String>,
    /// Data messages from it (for `--close-after`).
    msgs_in: u64,
    /// `--delay`: echoes (and a `--close-after` close behind them) due later.
    delayed: VecDeque<(Instant, Later)>,
}

impl Live {
    /// The engine, and the driver its events and replies go through for one turn of
    /// this client (the engine and the counters are borrowed apart).
    fn split<'a, S: Sink>(
        &'a mut self,
        out: &'a mut S,
        id: u64,
        how: &'a Behaviour,
        rx_since_tx: &'a mut u64,
    ) -> (&'a mut protocol::Conn, Peer<'a, S>) {
        let Live {
            p,
            msgs_in,
            delayed,
            ..
        } = self;
        let d = Peer {
            out,
            id,
            how,
            msgs_in,
            delayed,
            rx_since_tx,
        };
        (p, d)
    }
}

/// What `--delay` holds back.
enum Later {
    Echo(MsgType, Vec<u8>),
    /// `--close-after`: after the echoes before it.
    Close(u16, String),
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
    fn can_read(&self) -> bool {
        match &self.phase {
            Phase::Open(l) => self.readable && l.p.tx.out.pending() < HIGH_WATER,
            _ => self.readable,
        }
    }

    /// When its turn is due without an event: its deadline or a delayed echo.
    fn wake_at(&self) -> Option<Instant> {
        let delayed = match &self.phase {
            Phase::Open(l) => l.delayed.front().map(|d| d.0),
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

/// The protocol core's view of one client: print with its id; echo (perhaps later),
/// count, close after N.
struct Peer<'a, S: Sink> {
    out: &'a mut S,
    id: u64,
    how: &'a Behaviour,
    msgs_in: &'a mut u64,
    delayed: &'a mut VecDeque<(Instant, Later)>,
    rx_since_tx: &'a mut u64,
}

impl<S: Sink> Driver for Peer<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        self.out.client(Some(self.id));
        self.out.emit(ev);
    }

    fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
        self.emit(&m.event(Dir::In));
        *self.msgs_in += 1;
        *self.rx_since_tx += 1;
        let open = !tx.close_sent() && !tx.close_received();
        let due = self.how.delay.map(|d| Instant::now() + d);
        if self.how.echo && open {
            match due {
                Some(at) => self
                    .delayed
                    .push_back((at, Later::Echo(m.kind, m.payload.to_vec()))),
                // A fragmented message is echoed as one frame (compressed when the
                // extension is on).
                None => tx.send_data(self, m.kind, m.payload),
            }
        }
        if let Some((n, code, reason)) = &self.how.close_after {
            if *self.msgs_in == *n {
                match due {
                    // After the echoes that wait.
                    Some(at) => self
                        .delayed
                        .push_back((at, Later::Close(*code, reason.clone()))),
                    None => tx.close(self, Some(*code), reason),
                }
            }
        }
    }
}

/// What a command asks of the loop.
enum Flow {
    Go,
    /// Put the command back and wait (for a client to send to).
    Again(Box<Command>),
}

impl<S: Sink> Server<S> {
    /// Serve until `/quit`, Ctrl-C, or (`--once`) the first client left; returns the
    /// exit code.
    pub fn run(mut self) -> u8 {
        let mut events = Events::with_capacity(1024);
        loop {
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
                            self.out.idle();
                            std::process::exit(exit::INTERRUPTED.into());
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
            if self.input.is_interrupted() {
                self.quit();
            }
            self.timers();
            // Clients with more to read than one turn took, and timers.
            let now = Instant::now();
            let due: Vec<Token> = self
                .clients
                .iter()
                .filter(|(_, c)| c.can_read() || c.wake_at().is_some_and(|d| now >= d))
                .map(|(t, _)| *t)
                .collect();
            for token in due {
                self.turn(token);
            }
        }
    }

    /// The exit code, once it is time to exit.
    fn finished(&mut self) -> Option<u8> {
        let deadline = self.quitting?;
        if !self.clients.is_empty() && Instant::now() < deadline {
            return None;
        }
        let code = self.once_code.unwrap_or(exit::OK);
        Some(if code == exit::OK && self.script_failed {
            exit::SCRIPT
        } else {
            code
        })
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
            self.with_client(token, |tx, d| tx.close(d, Some(1001), "going away"));
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.clients.values().any(Client::can_read) {
            return Some(Instant::now());
        }
        let mut at = self.clients.values().filter_map(Client::wake_at).min();
        let mut consider = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        match self.block {
            Block::Sleep(t) | Block::Wait { deadline: t, .. } => consider(t),
            Block::None | Block::Client => {}
        }
        if let Some(t) = self.quitting {
            consider(t);
        }
        if !self.queue.is_empty() && self.block == Block::None {
            return Some(Instant::now());
        }
        at
    }

    fn timers(&mut self) {
        let now = Instant::now();
        match self.block {
            Block::Sleep(t) if now >= t => self.block = Block::None,
            Block::Wait { need, deadline } if self.rx_since_tx >= need || now >= deadline => {
                self.block = Block::None;
                if self.rx_since_tx < need {
                    let e = Error::timeout(format!(
                        "/wait: expected {need} data message(s) after the last one sent, got {} before the timeout",
                        self.rx_since_tx
                    ));
                    self.command_failed(&e);
                }
            }
            Block::Client if self.clients.values().any(Client::sendable) => {
                self.block = Block::None
            }
            _ => {}
        }
    }

    // -- input -----------------------------------------------------------------

    /// Take and run commands while nothing blocks them.
    fn pump_input(&mut self) {
        loop {
            self.timers();
            if self.block != Block::None || self.quitting.is_some() {
                return;
            }
            if self.queue.is_empty() && !self.input_done {
                match self.input.rx.try_recv() {
                    Ok(batch) => self.queue.extend(batch),
                    Err(std::sync::mpsc::TryRecvError::Empty) => {}
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => self.input_done = true,
                }
            }
            let Some(input) = self.queue.pop_front() else {
                return;
            };
            match input {
                Input::Cmd(cmd) => {
                    if let Flow::Again(cmd) = self.command(cmd) {
                        self.queue.push_front(Input::Cmd(*cmd));
                        self.block = Block::Client;
                    }
                }
                Input::Bad(e) => self.command_failed(&Error::usage(e.to_string())),
                Input::Lines { data, pos, .. } => {
                    let end = data[pos..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(data.len(), |i| pos + i);
                    let line = &data[pos..end];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let parsed = match std::str::from_utf8(line) {
                        Ok(text) => command::parse(text).map_err(|e| Error::usage(e.to_string())),
                        Err(e) => Err(Error::usage(format!(
                            "input: expected UTF-8 text, got an invalid byte at offset {}",
                            e.valid_up_to()
                        ))),
                    };
                    if end + 1 < data.len() {
                        self.queue.push_front(Input::Lines {
                            data: data.clone(),
                            pos: end + 1,
                            raw: false,
                        });
                    }
                    match parsed {
                        Ok(cmd) => {
                            if let Flow::Again(cmd) = self.command(cmd) {
                                // The rest of the chunk waits behind it.
                                self.queue.push_front(Input::Cmd(*cmd));
                                self.block = Block::Client;
                            }
                        }
                        Err(e) => self.command_failed(&e),
                    }
                }
                // A server goes on serving after its input ended.
                Input::Eof => self.input_done = true,
            }
        }
    }

    fn command_failed(&mut self, e: &Error) {
        self.out.client(None);
        self.out.emit(&Event::Error(e));
        if self.script {
            self.script_failed = true;
        }
    }

    /// The clients a command sends to: the one chosen with `/to`, else all that are
    /// open.
    fn targets(&self) -> Vec<Token> {
        self.clients
            .iter()
            .filter(|(_, c)| c.sendable() && self.to.is_none_or(|id| id == c.id))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Run `f` with one open client's sending half, then give the client a turn (so
    /// what was queued goes out).
    fn with_client(&mut self, token: Token, f: impl FnOnce(&mut Tx, &mut Peer<'_, S>)) {
        let Some(mut c) = self.clients.remove(&token) else {
            return;
        };
        if let Phase::Open(l) = &mut c.phase {
            let (p, mut d) = l.split(&mut self.out, c.id, &self.how, &mut self.rx_since_tx);
            f(&mut p.tx, &mut d);
        }
        self.clients.insert(token, c);
        self.turn(token);
    }

    /// Run one command.
    fn command(&mut self, cmd: Command) -> Flow {
        let sends = matches!(
            cmd,
            Command::Text(_)
                | Command::Binary(_)
                | Command::Deflate { .. }
                | Command::File(_)
                | Command::Ping(_)
                | Command::Pong(_)
                | Command::Close { .. }
                | Command::Frame(_)
        );
        if !sends {
            self.control(cmd);
            return Flow::Go;
        }
        let targets = self.targets();
        if targets.is_empty() {
            if self.script && self.to.is_none() {
                // Script mode: the commands are for the client about to connect.
                return Flow::Again(Box::new(cmd));
            }
            let who = match self.to {
                Some(id) => format!("client #{id} is not connected (see /clients, /to all)"),
                None => "no client is connected".to_string(),
            };
            self.command_failed(&Error::usage(format!(
                "expected a client to send to: {who}; nothing sent"
            )));
            return Flow::Go;
        }
        // `/file` is read once for all.
        let file = match &cmd {
            Command::File(path) => match read_file(path, self.max_size) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.command_failed(&e);
                    return Flow::Go;
                }
            },
            _ => None,
        };
        if let Command::Close { code, reason } = &cmd {
            if !crate::wire::close_code_allowed(*code) {
                let msg = format!(
                    "/close: code {code} is not allowed on the wire (RFC 6455 7.4.1); sent as asked"
                );
                self.out.client(None);
                self.out.emit(&Event::Warning(&msg));
            }
            if reason.len() > 123 {
                self.out.client(None);
                self.out.emit(&Event::Warning(
                    "/close: a reason over 123 bytes makes the payload over 125 bytes, which breaks RFC 6455 5.5; sent as asked",
                ));
            }
        }
        if let Command::Deflate { compress: true, .. } = &cmd {
            let can = targets.iter().all(|t| {
                matches!(&self.clients.get(t).map(|c| &c.phase), Some(Phase::Open(l)) if l.p.tx.can_compress())
            });
            if !can {
                self.command_failed(&Error::usage(
                    "compress=1: expected permessage-deflate to be on with every client sent to (listen --compress, and the client must offer it); nothing sent",
                ));
                return Flow::Go;
            }
        }
        let data = matches!(
            cmd,
            Command::Text(_) | Command::Binary(_) | Command::Deflate { .. } | Command::File(_)
        ) || matches!(&cmd, Command::Frame(f) if matches!(f.opcode, OpCode::Text | OpCode::Binary | OpCode::Continue) && f.fin);
        for token in targets {
            self.with_client(token, |tx, d| match &cmd {
                Command::Text(t) => tx.send_data(d, MsgType::Text, t.as_bytes()),
                Command::Binary(b) => tx.send_data(d, MsgType::Binary, b),
                Command::Deflate {
                    binary,
                    payload,
                    compress,
                } => {
                    let kind = if *binary {
                        MsgType::Binary
                    } else {
                        MsgType::Text
                    };
                    tx.send_message(d, kind, payload, *compress)
                }
                Command::File(_) => {
                    if let Some(b) = &file {
                        if b.len() >= OWN_FROM {
                            tx.send_owned(d, MsgType::Binary, b.clone(), 0, b.len());
                        } else {
                            tx.send_data(d, MsgType::Binary, b);
                        }
                    }
                }
                Command::Ping(p) => {
                    tx.send_frame(d, OpCode::Ping, true, [false; 3], None, p);
                }
                Command::Pong(p) => {
                    tx.send_frame(d, OpCode::Pong, true, [false; 3], None, p);
                }
                Command::Close { code, reason } => tx.close(d, Some(*code), reason),
                Command::Frame(f) => tx.send_raw(d, f),
                _ => {}
            });
        }
        if data {
            self.rx_since_tx = 0;
        }
        Flow::Go
    }

    /// Commands that send nothing.
    fn control(&mut self, cmd: Command) {
        match cmd {
            Command::Sleep(d) => self.block = Block::Sleep(Instant::now() + d),
            Command::Wait { n, timeout } => {
                let deadline = Instant::now() + timeout.unwrap_or(CLOSE_TIMEOUT);
                if self.rx_since_tx < n {
                    self.block = Block::Wait { need: n, deadline };
                }
            }
            Command::Clients | Command::Info => {
                let text = self.clients_text();
                self.out.client(None);
                self.out.emit(&Event::Notice(&text));
            }
            Command::To(to) => {
                if let Some(id) = to {
                    if !self.clients.values().any(|c| c.id == id && c.connected) {
                        self.command_failed(&Error::usage(format!(
                            "/to: expected a connected client (see /clients), got #{id}"
                        )));
                        return;
                    }
                }
                self.to = to;
                self.show_prompt();
            }
            Command::Kick { id, code, reason } => {
                let token = self
                    .clients
                    .iter()
                    .find(|(_, c)| c.id == id && c.sendable())
                    .map(|(t, _)| *t);
                match token {
                    Some(t) => self.with_client(t, |tx, d| tx.close(d, Some(code), &reason)),
                    None => self.command_failed(&Error::usage(format!(
                        "/kick: expected a connected client (see /clients), got #{id}"
                    ))),
                }
            }
            Command::Quit => self.quit(),
            Command::Help => {
                let help = command::help_text();
                self.out.client(None);
                self.out.emit(&Event::Notice(&help));
            }
            Command::Reconnect => self.command_failed(&Error::usage(
                "/reconnect: expected in the client only (listen serves its clients)",
            )),
            // Sending commands are run by `command`.
            _ => {}
        }
    }

    /// `/clients`: one line each.
    fn clients_text(&self) -> String {
        let mut live: Vec<&Client> = self.clients.values().filter(|c| c.connected).collect();
        live.sort_by_key(|c| c.id);
        if live.is_empty() {
            return "no clients connected\n".to_string();
        }
        let mut s = String::new();
        for c in live {
            let sel = if self.to == Some(c.id) {
                " (selected)"
            } else {
                ""
            };
            match &c.phase {
                Phase::Open(l) => s.push_str(&format!(
                    "#{} {} {} protocol={} up {:.1}s frames in={} out={}{sel}\n",
                    c.id,
                    c.peer,
                    l.request.path,
                    l.protocol.as_deref().unwrap_or("-"),
                    l.since.elapsed().as_secs_f64(),
                    l.p.rx.frames,
                    l.p.tx.frames,
                )),
                _ => s.push_str(&format!("#{} {} (closing){sel}\n", c.id, c.peer)),
            }
        }
        s
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
        loop {
            let (mut sock, addr) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors, say: report, keep serving the others.
                    let err = Error::io(format!("listen: accept: {e}"));
                    self.out.client(None);
                    self.out.emit(&Event::Error(&err));
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
            self.clients.insert(token, c);
            return;
        }
        let _ = self.poll.registry().deregister(&mut c.t.sock);
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
                    return self.refuse(c, problem, None);
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
            return self.refuse(c, "the server is shutting down".into(), None);
        }
        let a = match handshake::accept(&head[..end], &self.how.accept) {
            Err(r) => return self.refuse(c, r.problem, Some(r.response)),
            Ok(a) => a,
        };
        let mut p = protocol::Conn::new(
            protocol::Config {
                role: Role::Server,
                max_size: self.max_size,
                auto_pong: self.how.auto_pong,
                rbuf: CLIENT_RBUF,
                deflate: a.deflate,
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
        c.phase = Phase::Open(Box::new(Live {
            p,
            since: Instant::now(),
            request: a.request,
            protocol: a.protocol,
            msgs_in: 0,
            delayed: VecDeque::new(),
        }));
        c.deadline = None;
        c.readable = true;
        self.show_prompt_with(1);
        if let (Some(text), Phase::Open(l)) = (&self.how.greet, &mut c.phase) {
            let (p, mut d) = l.split(&mut self.out, c.id, &self.how, &mut self.rx_since_tx);
            p.tx.send_data(&mut d, MsgType::Text, text.as_bytes());
        }
        self.open(c, false)
    }

    /// Refuse the upgrade (400 with a body saying why, or `--reject`'s answer), then
    /// end the connection.
    fn refuse(&mut self, c: &mut Client, problem: String, response: Option<Vec<u8>>) -> bool {
        let response = response.unwrap_or_else(|| {
            let body = format!("wsdbg listen: {problem}\n");
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        self.client_error(c.id, &Error::handshake(format!("listen: {problem}")));
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

    /// The WebSocket connection: delayed echoes, read (while the send queue has room),
    /// handle, write.
    fn open(&mut self, c: &mut Client, expired: bool) -> bool {
        let Phase::Open(l) = &mut c.phase else {
            return true;
        };
        let (p, mut d) = l.split(&mut self.out, c.id, &self.how, &mut self.rx_since_tx);
        // `--delay`: the echoes that are due.
        let now = Instant::now();
        while d.delayed.front().is_some_and(|e| e.0 <= now) {
            let Some((_, later)) = d.delayed.pop_front() else {
                break;
            };
            if p.tx.close_sent() || p.tx.close_received() {
                continue;
            }
            match later {
                Later::Echo(kind, payload) => p.tx.send_data(&mut d, kind, &payload),
                Later::Close(code, reason) => p.tx.close(&mut d, Some(code), &reason),
            }
        }
        let mut budget = READ_BUDGET;
        while c.readable && p.end().is_none() && p.tx.out.pending() < HIGH_WATER {
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
        if let Err(e) = p.write_to(&mut d, &mut c.t) {
            if p.end().is_none() {
                d.emit(&Event::Error(&e));
                p.lost(&mut d, &e.msg);
            } else {
                p.abandon(&mut d);
            }
        }
        // Our close frame waits for its reply only so long.
        if let Some(sent) = p.tx.awaiting_close_reply() {
            if Instant::now() >= sent.max(p.rx.last_at) + CLOSE_TIMEOUT {
                let e = Error::timeout(format!(
                    "listen: no close frame from the client within {} s of ours",
                    CLOSE_TIMEOUT.as_secs()
                ));
                d.emit(&Event::Error(&e));
                p.close_timed_out(&mut d);
            } else {
                c.deadline = Some(sent.max(p.rx.last_at) + CLOSE_TIMEOUT);
            }
        }
        let Some(end) = p.end() else {
            return false;
        };
        c.ended = Some((end, p.broken()));
        // Over: send the rest (a client that reads nothing gets CLOSE_TIMEOUT), then
        // shut our side and read until the client's end.
        let give_up = *c.deadline.get_or_insert(Instant::now() + CLOSE_TIMEOUT);
        if expired || Instant::now() >= give_up {
            p.abandon(&mut d);
            c.ended = Some((p.end().unwrap_or(End::Unclean), p.broken()));
        }
        if !p.tx.out.is_empty() || c.t.has_pending() {
            return false;
        }
        c.t.shutdown();
        if c.eof {
            c.phase = Phase::Draining;
            return true;
        }
        c.phase = Phase::Draining;
        c.deadline = Some(Instant::now() + CLOSE_TIMEOUT);
        c.readable = true;
        false
    }
}

/// `/file`, at most `max` bytes.
fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| {
        Error::usage(format!(
            "/file: expected a readable file, could not read {}: {e}",
            path.display()
        ))
    })?;
    let mut buf = Vec::new();
    f.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| {
            Error::usage(format!(
                "/file: expected a readable file, could not read {}: {e}",
                path.display()
            ))
        })?;
    if buf.len() as u64 > max {
        return Err(Error::usage(format!(
            "/file: {} is larger than --max-size ({max} bytes); nothing sent",
            path.display()
        )));
    }
    Ok(buf)
}
