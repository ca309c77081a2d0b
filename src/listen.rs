//! `wsdbg listen`: a local echo server, a thread per client, blocking I/O. It reuses
//! `wire` (decode, check, encode), `handshake` (response parsing rules), and the
//! renderers, so what it prints looks like what the client prints.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use tungstenite::handshake::derive_accept_key;

use crate::cli::ListenArgs;
use crate::error::Error;
use crate::event::{close_parts, Dir, Event, FrameEv, Initiator, MsgType};
use crate::output::Output;
use crate::render::Printer;
use crate::session::Sink;
use crate::wire::{self, Checker, Header, Role};

type Shared = Arc<Mutex<Output<io::BufWriter<io::Stdout>, io::Stderr>>>;

const DEFAULT_PORT: u16 = 9001;

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

pub fn run(args: ListenArgs, start: Instant) -> Result<u8, Error> {
    let addr = bind_addr(args.addr.as_deref(), args.port)?;
    let listener = TcpListener::bind(addr).map_err(|e| {
        // `Address already in use`, without Rust's ` (os error 98)`.
        let why = e.to_string();
        let why = why.split(" (os error ").next().unwrap_or_default();
        Error::connect(format!("cannot listen on {addr}: {why}"))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io(format!("listen: {e}")))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(server_tls(c, k)?),
        (None, None) => None,
        _ => {
            return Err(Error::usage(
                "listen: expected both --tls-cert and --tls-key (or neither)",
            ))
        }
    };
    let printer = Printer::new(
        args.out.format(),
        args.out.opts(io::IsTerminal::is_terminal(&io::stdout())),
        io::BufWriter::with_capacity(64 * 1024, io::stdout()),
        io::stderr(),
    );
    let shared: Shared = Arc::new(Mutex::new(Output::new(printer, start)));
    {
        let mut out = lock(&shared);
        let a = local.to_string();
        out.emit(&Event::Listening {
            addr: &a,
            tls: tls.is_some(),
        });
        out.idle();
    }
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                let err = Error::io(format!("listen: accept: {e}"));
                emit(&shared, None, &Event::Error(&err));
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        let shared = shared.clone();
        let max_size = args.max_size;
        let tls = tls.clone();
        let _ = std::thread::Builder::new()
            .name(format!("client-{id}"))
            .spawn(move || {
                let sock = match tls {
                    None => Sock::Plain(stream),
                    Some(cfg) => match rustls::ServerConnection::new(cfg) {
                        Ok(conn) => Sock::Tls(Box::new(rustls::StreamOwned::new(conn, stream))),
                        Err(e) => {
                            let err = Error::tls(format!("listen: TLS: {e}"));
                            emit(&shared, Some(id), &Event::Error(&err));
                            return;
                        }
                    },
                };
                Client::new(id, sock, shared, max_size).serve()
            });
    }
    Ok(0)
}

fn lock(
    shared: &Shared,
) -> std::sync::MutexGuard<'_, Output<io::BufWriter<io::Stdout>, io::Stderr>> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

fn emit(shared: &Shared, client: Option<u64>, ev: &Event<'_>) {
    let mut out = lock(shared);
    out.client = client;
    out.emit(ev);
    out.idle();
}

/// A client's connection, plain or TLS (`--tls-cert`).
enum Sock {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Sock {
    fn tcp(&self) -> &TcpStream {
        match self {
            Sock::Plain(s) => s,
            Sock::Tls(s) => &s.sock,
        }
    }
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(t)
    }
    /// End the connection: TLS close_notify, then TCP shutdown.
    fn shutdown(&mut self) {
        if let Sock::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(std::net::Shutdown::Both);
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Plain(s) => s.read(buf),
            Sock::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Plain(s) => s.write(buf),
            Sock::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sock::Plain(s) => s.flush(),
            Sock::Tls(s) => s.flush(),
        }
    }
}

/// The server side of `listen --tls-cert FILE --tls-key FILE`.
fn server_tls(cert: &std::path::Path, key: &std::path::Path) -> Result<Arc<ServerConfig>, Error> {
    let (certs, key_der) = crate::connect::load_cert_and_key(cert, key, "--tls-cert", "--tls-key")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::usage(format!("--tls-cert/--tls-key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(Arc::new(config))
}

struct Client {
    id: u64,
    sock: Sock,
    shared: Shared,
    max_size: u64,
    /// Frames to send, written once per read.
    out: Vec<u8>,
}

impl Client {
    fn new(id: u64, sock: Sock, shared: Shared, max_size: u64) -> Client {
        Client {
            id,
            sock,
            shared,
            max_size,
            out: Vec::new(),
        }
    }

    /// Print an event; output is flushed once per read (`flush`), not per event.
    fn emit(&self, ev: &Event<'_>) {
        let mut out = lock(&self.shared);
        out.client = Some(self.id);
        out.emit(ev);
    }

    fn serve(mut self) {
        let peer = self
            .sock
            .tcp()
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        let _ = self.sock.tcp().set_nodelay(true);
        let rest = match self.handshake() {
            Ok(rest) => rest,
            Err(e) => {
                self.emit(&Event::Error(&e));
                self.flush();
                return;
            }
        };
        self.emit(&Event::Client {
            peer: &peer,
            connected: true,
        });
        self.frames(rest);
        self.emit(&Event::Client {
            peer: &peer,
            connected: false,
        });
        self.flush();
    }

    /// Read the upgrade request and answer 101 (or 400). Returns bytes read past it.
    fn handshake(&mut self) -> Result<Vec<u8>, Error> {
        let _ = self.sock.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > 64 * 1024 {
                return Err(Error::handshake("listen: request head over 64 KiB"));
            }
            let n = self
                .sock
                .read(&mut chunk)
                .map_err(|e| Error::handshake(format!("listen: reading the request: {e}")))?;
            if n == 0 {
                return Err(Error::handshake(
                    "listen: the client closed the connection before its request was complete",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = req.parse(&buf[..end]);
        let get = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
        };
        let problem = match parsed {
            Err(e) => Some(format!("expected an HTTP/1.1 request, got a bad one ({e})")),
            Ok(_) if req.method != Some("GET") => Some(format!(
                "expected GET, got {}",
                req.method.unwrap_or("nothing")
            )),
            Ok(_) if !get("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) => {
                Some("expected \"Upgrade: websocket\"".to_string())
            }
            Ok(_) if get("sec-websocket-version").as_deref() != Some("13") => {
                Some("expected \"Sec-WebSocket-Version: 13\"".to_string())
            }
            Ok(_) if get("sec-websocket-key").is_none() => {
                Some("expected a Sec-WebSocket-Key header".to_string())
            }
            _ => None,
        };
        if let Some(p) = problem {
            let body = format!("wsdbg listen: not a WebSocket handshake: {p}\n");
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n{body}",
                body.len()
            );
            let _ = self.sock.write_all(resp.as_bytes());
            return Err(Error::handshake(format!("listen: {p}")));
        }
        let key = get("sec-websocket-key").unwrap_or_default();
        let mut resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
            derive_accept_key(key.as_bytes())
        );
        if let Some(protos) = get("sec-websocket-protocol") {
            if let Some(first) = protos.split(',').map(str::trim).find(|p| !p.is_empty()) {
                resp.push_str(&format!("Sec-WebSocket-Protocol: {first}\r\n"));
            }
        }
        resp.push_str("\r\n");
        self.sock
            .write_all(resp.as_bytes())
            .map_err(|e| Error::io(format!("listen: writing the response: {e}")))?;
        let _ = self.sock.set_read_timeout(None);
        Ok(buf[end..].to_vec())
    }

    /// Echo frames until the closing handshake or the connection ends.
    fn frames(&mut self, rest: Vec<u8>) {
        let mut checker = Checker::new(Role::Server, self.max_size);
        let mut rbuf = rest;
        let mut start = 0usize;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut partial: Option<(MsgType, Vec<u8>, u64)> = None;
        let mut checked = false;
        loop {
            // Handle every complete frame.
            while let Some((h, hlen)) = wire::decode_header(&rbuf[start..]) {
                if !checked {
                    if let Err(v) = checker.check_header(&h) {
                        self.fail(v);
                        return;
                    }
                    checked = true;
                }
                let total = hlen + h.len as usize;
                if rbuf.len() - start < total {
                    break;
                }
                checked = false;
                let p0 = start + hlen;
                let p1 = start + total;
                if let Some(key) = h.mask {
                    wire::apply_mask(&mut rbuf[p0..p1], key, 0);
                }
                start += total;
                let payload = &rbuf[p0..p1];
                self.show(Dir::In, &h, payload);
                if let Err(v) = checker.check_payload(&h, payload) {
                    self.fail(v);
                    return;
                }
                match h.opcode {
                    1 | 2 if h.fin => {
                        let kind = if h.opcode == 1 {
                            MsgType::Text
                        } else {
                            MsgType::Binary
                        };
                        self.message(kind, payload, 1);
                    }
                    1 | 2 => {
                        let kind = if h.opcode == 1 {
                            MsgType::Text
                        } else {
                            MsgType::Binary
                        };
                        partial = Some((kind, payload.to_vec(), 1));
                    }
                    0 => {
                        if let Some((_, data, frames)) = &mut partial {
                            data.extend_from_slice(payload);
                            *frames += 1;
                        }
                        if h.fin {
                            if let Some((kind, data, frames)) = partial.take() {
                                self.message(kind, &data, frames);
                            }
                        }
                    }
                    8 => {
                        let (code, reason) = close_parts(payload);
                        let reason = String::from_utf8_lossy(reason).into_owned();
                        let reply = &payload[..payload.len().min(2)];
                        self.send(8, reply);
                        self.flush();
                        self.emit(&Event::Close {
                            code,
                            reason: &reason,
                            initiator: Initiator::Remote,
                            clean: true,
                            reply_after: None,
                        });
                        self.sock.shutdown();
                        return;
                    }
                    9 => self.send(10, payload),
                    _ => {}
                }
            }
            if start == rbuf.len() {
                rbuf.clear();
                start = 0;
            } else if start > 0 && start > rbuf.len() / 2 {
                rbuf.drain(..start);
                start = 0;
            }
            self.flush();
            match self.sock.read(&mut chunk) {
                Ok(0) => {
                    self.emit(&Event::Disconnected {
                        code: 1006,
                        reason: "the client closed the connection without a close frame",
                    });
                    return;
                }
                Ok(n) => rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let reason = format!("connection: {e}");
                    self.emit(&Event::Disconnected {
                        code: 1006,
                        reason: &reason,
                    });
                    return;
                }
            }
        }
    }

    fn message(&mut self, kind: MsgType, payload: &[u8], frames: u64) {
        self.emit(&Event::Message {
            dir: Dir::In,
            kind,
            payload,
            frames,
        });
        let op = match kind {
            MsgType::Text => 1,
            MsgType::Binary => 2,
        };
        self.send(op, payload);
    }

    fn show(&self, dir: Dir, h: &Header, payload: &[u8]) {
        self.emit(&Event::Frame(FrameEv {
            dir,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            mask: h.mask,
            payload,
        }));
    }

    /// Queue an unmasked frame (servers do not mask, RFC 6455 5.1).
    fn send(&mut self, opcode: u8, payload: &[u8]) {
        let h = Header {
            fin: true,
            rsv: [false; 3],
            opcode,
            mask: None,
            len: payload.len() as u64,
        };
        wire::encode_header(&h, &mut self.out);
        self.out.extend_from_slice(payload);
        self.show(Dir::Out, &h, payload);
    }

    /// Send what was queued, and print what was shown, before waiting for more.
    fn flush(&mut self) {
        if !self.out.is_empty() {
            let _ = self.sock.write_all(&self.out);
            self.out.clear();
        }
        lock(&self.shared).idle();
    }

    fn fail(&mut self, v: wire::Violation) {
        let e = Error::protocol(v.msg, v.rule);
        self.emit(&Event::Error(&e));
        self.send(8, &v.close_code.to_be_bytes());
        self.flush();
        self.sock.shutdown();
    }
}
