//! `wsdbg listen`: a local WebSocket server on one event loop (`mio`), however many
//! clients: it accepts, reads each upgrade request (`handshake::accept`), then runs a
//! `protocol::Conn` in the server role per client and echoes what arrives. The loop
//! owns the output, so events print in the order they happened, each with its client.
//! Nothing here decodes a frame: that is the protocol core's.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConfig;

use crate::cli::ListenConfig;
use crate::error::Error;
use crate::event::{Dir, Event};
use crate::handshake;
use crate::outq::OutQ;
use crate::protocol::{self, Driver, Msg, Tx};
use crate::session::Sink;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::Role;

const DEFAULT_PORT: u16 = 9001;
const LISTENER: Token = Token(0);
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

/// Serve until killed; events go to `out`.
pub fn run<S: Sink>(cfg: ListenConfig, mut out: S) -> Result<u8, Error> {
    let addr = cfg.addr;
    let listener = TcpListener::bind(addr).map_err(|e| {
        // `Address already in use`, without Rust's ` (os error 98)`.
        let why = e.to_string();
        let why = why.split(" (os error ").next().unwrap_or_default();
        Error::connect(format!("cannot listen on {addr}: {why}"))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io(format!("listen: {e}")))?;
    let a = local.to_string();
    out.emit(&Event::Listening {
        addr: &a,
        tls: cfg.tls.is_some(),
    });
    out.idle();
    let mut server = Server {
        poll: Poll::new().map_err(|e| Error::io(format!("listen: poll: {e}")))?,
        listener,
        tls: cfg.tls,
        max_size: cfg.max_size,
        compress: cfg.compress,
        out,
        clients: HashMap::new(),
        next_id: 0,
    };
    server
        .poll
        .registry()
        .register(&mut server.listener, LISTENER, Interest::READABLE)
        .map_err(|e| Error::io(format!("listen: poll: {e}")))?;
    server.run()
}

struct Server<S: Sink> {
    poll: Poll,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    max_size: u64,
    compress: bool,
    out: S,
    /// By token; a client's token is its id.
    clients: HashMap<Token, Client>,
    next_id: u64,
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
}

impl Client {
    /// Reading is worth a turn: data may wait, and a WebSocket client's send queue has
    /// room (else it waits for the queue to drain: backpressure).
    fn can_read(&self) -> bool {
        match &self.phase {
            Phase::Open(p) => self.readable && p.tx.out.pending() < HIGH_WATER,
            _ => self.readable,
        }
    }
}

enum Phase {
    /// Reading the upgrade request (after the TLS handshake, if any).
    Request { head: Vec<u8>, searched: usize },
    /// A 400 (or 101 failed) answer is on its way; then the connection ends.
    Refusing { out: OutQ },
    /// The WebSocket connection.
    Open(Box<protocol::Conn>),
    /// Our side is shut and everything was sent: reading until the client's end.
    Draining,
}

/// The protocol core's view of the server: print with the client's id; echo.
struct Echo<'a, S: Sink> {
    out: &'a mut S,
    id: u64,
}

impl<S: Sink> Driver for Echo<'_, S> {
    fn emit(&mut self, ev: &Event<'_>) {
        self.out.client(Some(self.id));
        self.out.emit(ev);
    }

    fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
        self.emit(&m.event(Dir::In));
        if !tx.close_sent() && !tx.close_received() {
            // A fragmented message is echoed as one frame (compressed when the
            // extension is on).
            tx.send_data(self, m.kind, m.payload);
        }
    }
}

impl<S: Sink> Server<S> {
    fn run(&mut self) -> Result<u8, Error> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self
                .next_deadline()
                .map(|t| t.saturating_duration_since(Instant::now()));
            self.out.idle();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io(format!("listen: poll: {e}")));
            }
            for ev in events.iter() {
                let token = ev.token();
                if token == LISTENER {
                    self.accept_all();
                    continue;
                }
                if let Some(c) = self.clients.get_mut(&token) {
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        c.readable = true;
                    }
                }
                self.turn(token);
            }
            // Clients with more to read than one turn took, and timers.
            let now = Instant::now();
            let due: Vec<Token> = self
                .clients
                .iter()
                .filter(|(_, c)| c.can_read() || c.deadline.is_some_and(|d| now >= d))
                .map(|(t, _)| *t)
                .collect();
            for token in due {
                self.turn(token);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.clients.values().any(Client::can_read) {
            return Some(Instant::now());
        }
        self.clients.values().filter_map(|c| c.deadline).min()
    }

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
            let token = Token(id as usize);
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
        if done {
            let _ = self.poll.registry().deregister(&mut c.t.sock);
            if c.connected {
                self.out.client(Some(c.id));
                self.out.emit(&Event::Client {
                    peer: &c.peer,
                    connected: false,
                });
            }
        } else {
            self.clients.insert(token, c);
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

    /// Read the upgrade request; answer it with 101 (and open) or 400.
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
        match handshake::accept(&head[..end], self.compress) {
            Err(r) => self.refuse(c, r.problem, Some(r.response)),
            Ok(a) => {
                let mut conn = Box::new(protocol::Conn::new(
                    protocol::Config {
                        role: Role::Server,
                        max_size: self.max_size,
                        auto_pong: true,
                        rbuf: CLIENT_RBUF,
                        deflate: a.deflate,
                    },
                    &head[end..],
                ));
                conn.tx.out.append(|o| o.extend_from_slice(&a.response));
                self.out.client(Some(c.id));
                for note in &a.notes {
                    self.out.emit(&Event::Warning(note));
                }
                self.out.client(Some(c.id));
                self.out.emit(&Event::Client {
                    peer: &c.peer,
                    connected: true,
                });
                c.connected = true;
                c.phase = Phase::Open(conn);
                c.deadline = None;
                c.readable = true;
                self.open(c, false)
            }
        }
    }

    /// Answer 400 (a body saying why), then end the connection.
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
        c.deadline = Some(Instant::now() + CLOSE_TIMEOUT);
        false
    }

    fn client_error(&mut self, id: u64, e: &Error) {
        self.out.client(Some(id));
        self.out.emit(&Event::Error(e));
    }

    /// The WebSocket connection: read (while the send queue has room), handle, write.
    fn open(&mut self, c: &mut Client, expired: bool) -> bool {
        let Phase::Open(p) = &mut c.phase else {
            return true;
        };
        let mut d = Echo {
            out: &mut self.out,
            id: c.id,
        };
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
        if p.end().is_none() {
            return false;
        }
        // Over: send the rest (a client that reads nothing gets CLOSE_TIMEOUT), then
        // shut our side and read until the client's end.
        let give_up = *c.deadline.get_or_insert(Instant::now() + CLOSE_TIMEOUT);
        if expired || Instant::now() >= give_up {
            p.abandon(&mut d);
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
