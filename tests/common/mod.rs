//! Shared test infrastructure: a scripted WebSocket server that writes exactly the bytes
//! a test asks for, frame builders and a client-frame reader, the `wsdbg` command with a
//! fixed environment, a `wsdbg listen` child process, JSON-lines helpers, and a test PKI.
//!
//! Every server binds 127.0.0.1:0 (never a fixed port) and checks itself: dropping a
//! `Server` that was never connected to fails the test (STYLE.md, Tests, habit 8).
#![allow(dead_code)]

pub mod many;
pub mod peers;
pub mod rss;
pub mod tmux;

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any single run of `wsdbg` may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a scripted server waits for its client(s) to connect.
const ACCEPT_DEADLINE: Duration = Duration::from_secs(30);
/// Read timeout on a server's socket, so a server never hangs a test.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

pub const OP_CONT: u8 = 0;
pub const OP_TEXT: u8 = 1;
pub const OP_BINARY: u8 = 2;
pub const OP_CLOSE: u8 = 8;
pub const OP_PING: u8 = 9;
pub const OP_PONG: u8 = 10;

// ---------------------------------------------------------------------------------------
// The wsdbg command
// ---------------------------------------------------------------------------------------

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wsdbg")
}

const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

fn fix_env_std(cmd: &mut StdCommand) {
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.env_remove("SSLKEYLOGFILE");
    cmd.env_remove("CLICOLOR_FORCE");
    cmd.env("NO_COLOR", "1");
    cmd.env("TERM", "dumb");
}

/// `wsdbg` as a `std::process::Command` with the environment of [`wsdbg`] (no timeout):
/// for a child a test drives while it runs (a `peers::Proc`).
pub fn wsdbg_std() -> StdCommand {
    let mut std = StdCommand::new(bin());
    fix_env_std(&mut std);
    std
}

/// `wsdbg` with `NO_COLOR=1`, no proxy variables, no `SSLKEYLOGFILE`, and a timeout.
/// Standard input is empty unless the test writes some (`write_stdin`).
pub fn wsdbg() -> assert_cmd::Command {
    let std = wsdbg_std();
    let mut cmd = assert_cmd::Command::from_std(std);
    cmd.timeout(RUN_TIMEOUT);
    cmd.write_stdin("");
    cmd
}

/// What one run of `wsdbg` did. `Display` dumps everything, for assertion messages.
pub struct Run {
    /// `None` when the process was killed (the timeout ran out) or died of a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs the command to the end (or its timeout).
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let start = Instant::now();
    let out = cmd.output().expect("cannot start wsdbg");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit code: {:?} after {:?}", self.code, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Run {
    /// Asserts the exit code, showing the whole run when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, Some(want), "wrong exit code\n{self}");
        self
    }

    /// stdout parsed as JSON lines; a line that is not a JSON object fails the test.
    #[track_caller]
    pub fn events(&self) -> Vec<Value> {
        parse_jsonl(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{self}"))
    }

    /// All events named `name`.
    #[track_caller]
    pub fn all(&self, name: &str) -> Vec<Value> {
        events_named(&self.events(), name)
    }

    /// The first event named `name`; fails the test when there is none.
    #[track_caller]
    pub fn first(&self, name: &str) -> Value {
        self.all(name)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {name:?} event\n{self}"))
    }

    /// The one `error` event; fails the test unless there is exactly one.
    #[track_caller]
    pub fn error(&self) -> Value {
        let errors = self.all("error");
        assert_eq!(errors.len(), 1, "expected exactly one error event\n{self}");
        errors.into_iter().next().unwrap()
    }

    /// `frame` events going `dir` ("in"/"out").
    #[track_caller]
    pub fn frames(&self, dir: &str) -> Vec<Value> {
        self.all("frame")
            .into_iter()
            .filter(|f| f["dir"] == dir)
            .collect()
    }

    /// `message` events going `dir`.
    #[track_caller]
    pub fn messages(&self, dir: &str) -> Vec<Value> {
        self.all("message")
            .into_iter()
            .filter(|f| f["dir"] == dir)
            .collect()
    }

    /// The `text` of each text `message` going `dir`.
    #[track_caller]
    pub fn texts(&self, dir: &str) -> Vec<String> {
        self.messages(dir)
            .iter()
            .filter(|m| m["type"] == "text")
            .map(|m| m["text"].as_str().unwrap_or("<no text>").to_string())
            .collect()
    }

    /// Asserts that this run ended with a clean close: exit 0 and a `close` event with
    /// `clean: true`, and returns that event.
    #[track_caller]
    pub fn clean_close(&self) -> Value {
        self.code(0);
        let close = self.first("close");
        assert_eq!(close["clean"], true, "close not clean\n{self}");
        close
    }

    /// Asserts a clean closing handshake after a script that did not run as written:
    /// exit 4 (issue 8).
    #[track_caller]
    pub fn clean_close_script_failed(&self) -> Value {
        self.code(4);
        let close = self.first("close");
        assert_eq!(close["clean"], true, "close not clean\n{self}");
        close
    }

    /// Asserts a protocol error with this rule and exit 3.
    #[track_caller]
    pub fn protocol_error(&self, rule: &str) -> Value {
        self.code(3);
        let err = self.error();
        assert_eq!(err["kind"], "protocol", "wrong error kind\n{self}");
        assert_eq!(err["rule"], rule, "wrong rule\n{self}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without message\n{self}"
        );
        err
    }

    /// Asserts an error of this kind with exit code `code`.
    #[track_caller]
    pub fn error_kind(&self, kind: &str, code: i32) -> Value {
        self.code(code);
        let err = self.error();
        assert_eq!(err["kind"], kind, "wrong error kind\n{self}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without message\n{self}"
        );
        err
    }
}

/// Parses JSON lines: every non-empty line must be a JSON object whose first key is `event`.
pub fn parse_jsonl(stdout: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with("{\"event\":") {
            return Err(format!(
                "stdout line {} is not a JSON object starting with \"event\": {line:?}",
                i + 1
            ));
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("stdout line {} is not JSON ({e}): {line:?}", i + 1))?;
        out.push(v);
    }
    Ok(out)
}

/// The events named `name`, in order.
pub fn events_named(events: &[Value], name: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["event"] == name)
        .cloned()
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------

/// RSV bits as a number: 0b100 is RSV1, 0b010 RSV2, 0b001 RSV3.
pub const RSV1: u8 = 0b100;
pub const RSV2: u8 = 0b010;
pub const RSV3: u8 = 0b001;

/// A frame header announcing `len` bytes, exactly as given (no payload follows).
pub fn header(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, len: u64) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f)];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(k) = mask {
        out.extend_from_slice(&k);
    }
    out
}

/// Any frame, bits exactly as given; the payload is masked with `mask` when there is one.
pub fn frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = header(fin, rsv, opcode, mask, payload.len() as u64);
    match mask {
        Some(k) => out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4])),
        None => out.extend_from_slice(payload),
    }
    out
}

/// An unmasked, final text frame.
pub fn text(s: &str) -> Vec<u8> {
    frame(true, 0, OP_TEXT, None, s.as_bytes())
}

pub fn binary(b: &[u8]) -> Vec<u8> {
    frame(true, 0, OP_BINARY, None, b)
}

pub fn ping(b: &[u8]) -> Vec<u8> {
    frame(true, 0, OP_PING, None, b)
}

pub fn pong(b: &[u8]) -> Vec<u8> {
    frame(true, 0, OP_PONG, None, b)
}

/// A close frame with a code and a reason.
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    frame(true, 0, OP_CLOSE, None, &p)
}

/// A close frame with this exact payload.
pub fn close_raw(payload: &[u8]) -> Vec<u8> {
    frame(true, 0, OP_CLOSE, None, payload)
}

/// One frame as a client sent it, unmasked.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientFrame {
    pub fin: bool,
    pub rsv: [bool; 3],
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

impl ClientFrame {
    /// The close code of a close frame (`None` for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == OP_CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }

    pub fn close_reason(&self) -> String {
        String::from_utf8_lossy(self.payload.get(2..).unwrap_or_default()).into_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    pub fn is_control(&self) -> bool {
        self.opcode >= 8
    }
}

impl fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame(op={} fin={} rsv={:?} mask={:?} len={} payload={:?})",
            self.opcode,
            self.fin,
            self.rsv,
            self.mask.map(|k| hex(&k)),
            self.payload.len(),
            String::from_utf8_lossy(&self.payload)
        )
    }
}

/// Reads one frame from `r` and unmasks it. EOF before a whole frame is an error.
pub fn read_frame(r: &mut impl Read) -> io::Result<ClientFrame> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h)?;
    let len7 = h[1] & 0x7f;
    let len = match len7 {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    if len > 256 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("client frame announces {len} bytes"),
        ));
    }
    let mask = if h[1] & 0x80 != 0 {
        let mut k = [0u8; 4];
        r.read_exact(&mut k)?;
        Some(k)
    } else {
        None
    };
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if let Some(k) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Ok(ClientFrame {
        fin: h[0] & 0x80 != 0,
        rsv: [h[0] & 0x40 != 0, h[0] & 0x20 != 0, h[0] & 0x10 != 0],
        opcode: h[0] & 0x0f,
        mask,
        payload,
    })
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// The client's upgrade request as the server read it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The whole head, as text, up to and including the blank line.
    pub raw: String,
    pub method: String,
    pub path: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of the headers with this name, in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The accept key that answers this request's `Sec-WebSocket-Key`.
    pub fn accept_key(&self) -> String {
        let key = self.header("Sec-WebSocket-Key").unwrap_or_default();
        tungstenite::handshake::derive_accept_key(key.as_bytes())
    }
}

/// Reads an HTTP head byte by byte (so nothing after the blank line is consumed).
pub fn read_request(r: &mut impl Read) -> io::Result<Request> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head over 64 KiB",
            ));
        }
        match r.read(&mut b)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "EOF in request head after {:?}",
                        String::from_utf8_lossy(&buf)
                    ),
                ))
            }
            _ => buf.push(b[0]),
        }
    }
    let raw = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = raw.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Request {
        raw,
        method,
        path,
        version,
        headers,
    })
}

/// What the server answers to the upgrade request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 101 with the right `Sec-WebSocket-Accept`.
    Accept,
    /// 101 with the right accept key and these extra headers.
    AcceptWith(Vec<(String, String)>),
    /// 101 with a wrong `Sec-WebSocket-Accept`.
    WrongAccept,
    /// A non-101 answer: status, reason, headers, body (`Content-Length` is added).
    Status {
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Exactly these bytes.
    Raw(Vec<u8>),
    /// Read nothing, answer nothing: the script gets the bare connection.
    Nothing,
}

impl Reply {
    pub fn status(code: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        Reply::Status {
            code,
            reason: reason.to_string(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
        }
    }

    pub fn accept_with(headers: &[(&str, &str)]) -> Reply {
        Reply::AcceptWith(
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The bytes of this answer to `req` (nothing for `Reply::Nothing`).
    pub fn bytes_for(&self, req: &Request) -> Vec<u8> {
        self.bytes(req).unwrap_or_default()
    }

    fn bytes(&self, req: &Request) -> Option<Vec<u8>> {
        let switching = |accept: &str, extra: &[(String, String)]| {
            let mut s = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
            );
            for (n, v) in extra {
                s.push_str(&format!("{n}: {v}\r\n"));
            }
            s.push_str("\r\n");
            s.into_bytes()
        };
        match self {
            Reply::Accept => Some(switching(&req.accept_key(), &[])),
            Reply::AcceptWith(extra) => Some(switching(&req.accept_key(), extra)),
            Reply::WrongAccept => Some(switching("dGhlIHNhbXBsZSBub25jZQ==", &[])),
            Reply::Status {
                code,
                reason,
                headers,
                body,
            } => {
                let mut s = format!("HTTP/1.1 {code} {reason}\r\n");
                for (n, v) in headers {
                    s.push_str(&format!("{n}: {v}\r\n"));
                }
                s.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ));
                Some(s.into_bytes())
            }
            Reply::Raw(b) => Some(b.clone()),
            Reply::Nothing => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scripted server
// ---------------------------------------------------------------------------------------

pub trait Stream: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Stream for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// One accepted connection, after the upgrade request was read and answered.
pub struct Conn {
    stream: Box<dyn Stream>,
    /// Which connection this is, 0, 1, ...
    pub index: usize,
    /// The upgrade request (default when the reply is `Reply::Nothing`).
    pub request: Request,
    /// Frames read so far, for failure messages.
    pub seen: Vec<ClientFrame>,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Conn {
    /// Reads an upgrade request and answers it with `reply` (for scripts that start with
    /// `Reply::Nothing`, e.g. a proxy that then acts as the server).
    #[track_caller]
    pub fn handshake(&mut self, reply: &Reply) -> Request {
        let req = read_request(self).unwrap_or_else(|e| panic!("server: no upgrade request: {e}"));
        self.send(&reply.bytes_for(&req));
        self.request = req.clone();
        req
    }

    /// Writes these bytes and flushes; a failure fails the test.
    #[track_caller]
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .unwrap_or_else(|e| panic!("server: cannot write to the client: {e}"));
    }

    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The next frame from the client.
    pub fn read_frame(&mut self) -> io::Result<ClientFrame> {
        let f = read_frame(&mut self.stream)?;
        self.seen.push(f.clone());
        Ok(f)
    }

    /// Frames until (and including) the first close frame, or until EOF / timeout.
    pub fn frames_until_close(&mut self) -> Vec<ClientFrame> {
        let mut out = Vec::new();
        while let Ok(f) = self.read_frame() {
            let is_close = f.opcode == OP_CLOSE;
            out.push(f);
            if is_close {
                break;
            }
        }
        out
    }

    /// Reads until the client's close frame, skipping anything else; fails the test when
    /// the connection ends first.
    #[track_caller]
    pub fn expect_close(&mut self) -> ClientFrame {
        loop {
            match self.read_frame() {
                Ok(f) if f.opcode == OP_CLOSE => return f,
                Ok(_) => {}
                Err(e) => panic!(
                    "server: no close frame from the client ({e}); frames seen: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Like `expect_close`, but `None` when the connection ends without a close frame.
    pub fn try_close(&mut self) -> Option<ClientFrame> {
        loop {
            match self.read_frame() {
                Ok(f) if f.opcode == OP_CLOSE => return Some(f),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Echoes data frames (as they came, unmasked), answers pings, and answers the
    /// client's close with the same payload. Returns the client's close frame, if any.
    pub fn echo_until_close(&mut self) -> Option<ClientFrame> {
        loop {
            let f = self.read_frame().ok()?;
            let reply = match f.opcode {
                OP_CLOSE => {
                    let _ = self.try_send(&frame(true, 0, OP_CLOSE, None, &f.payload));
                    return Some(f);
                }
                OP_PING => frame(true, 0, OP_PONG, None, &f.payload),
                OP_PONG => continue,
                op => frame(f.fin, 0, op, None, &f.payload),
            };
            if self.try_send(&reply).is_err() {
                return None;
            }
        }
    }

    /// Answers a close frame the client sent (echoing its payload), ignoring errors.
    pub fn reply_close(&mut self, client_close: &ClientFrame) {
        let _ = self.try_send(&frame(true, 0, OP_CLOSE, None, &client_close.payload));
    }

    /// Reads and discards everything until EOF or `limit`.
    pub fn drain(&mut self, limit: Duration) {
        let _ = self.stream.tcp().set_read_timeout(Some(limit));
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = self.stream.tcp().set_read_timeout(Some(SOCKET_TIMEOUT));
    }

    /// Closes the TCP connection now, without a close frame (FIN, not RST).
    pub fn hang_up(&mut self) {
        let _ = self.stream.flush();
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }

    /// Sets the read timeout of the socket.
    pub fn set_read_timeout(&mut self, t: Duration) {
        let _ = self.stream.tcp().set_read_timeout(Some(t));
    }

    /// Graceful end: stop writing, read whatever the client still sends (so closing does
    /// not reset the connection and destroy data in flight), then close.
    fn finish(&mut self) {
        let _ = self.stream.flush();
        let _ = self.stream.tcp().shutdown(Shutdown::Write);
        self.drain(Duration::from_secs(3));
    }
}

type Script<T> = Box<dyn FnMut(&mut Conn) -> T + Send>;

pub struct ServerBuilder {
    port: u16,
    reply: Reply,
    conns: usize,
    expect_connection: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            port: 0,
            reply: Reply::Accept,
            conns: 1,
            expect_connection: true,
            tls: None,
        }
    }
}

impl ServerBuilder {
    pub fn reply(mut self, r: Reply) -> Self {
        self.reply = r;
        self
    }

    /// Bind this port on 127.0.0.1 instead of one the OS picks (for a server that must
    /// appear where a client is already trying: take the port from `closed_port()`).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Accept this many connections, one after the other, running the script for each.
    pub fn conns(mut self, n: usize) -> Self {
        self.conns = n;
        self
    }

    /// Do not fail the test when nobody connects.
    pub fn may_not_connect(mut self) -> Self {
        self.expect_connection = false;
        self
    }

    /// Speak TLS with this configuration before HTTP.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Runs `script` on the (only) connection.
    pub fn run<T, F>(self, script: F) -> Server<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> T + Send + 'static,
    {
        let mut once = Some(script);
        self.run_each(move |c| (once.take().expect("script run twice: use run_each"))(c))
    }

    /// Runs `script` on each connection in turn.
    pub fn run_each<T, F>(self, script: F) -> Server<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Conn) -> T + Send + 'static,
    {
        Server::start(self, Box::new(script))
    }
}

/// A server on 127.0.0.1:0 that answers the upgrade and then runs a script.
/// `finish()` (or drop) joins it, fails the test if the script panicked, and — unless
/// `may_not_connect` — fails the test if nobody connected.
pub struct Server<T: Send + 'static = ()> {
    pub addr: SocketAddr,
    handle: Option<JoinHandle<Vec<T>>>,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    expect_connection: bool,
    conns: usize,
}

impl Server<()> {
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// 101, then the script.
    pub fn scripted<T, F>(script: F) -> Server<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> T + Send + 'static,
    {
        Server::builder().run(script)
    }

    /// An echo server: 101, then echo until the client closes.
    pub fn echo() -> Server<Option<ClientFrame>> {
        Server::builder().run(|c| c.echo_until_close())
    }
}

impl<T: Send + 'static> Server<T> {
    fn start(b: ServerBuilder, mut script: Script<T>) -> Server<T> {
        let listener = TcpListener::bind(("127.0.0.1", b.port)).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local_addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, hits2, requests2) = (stop.clone(), hits.clone(), requests.clone());
        let (reply, n, tls) = (b.reply, b.conns, b.tls);
        let handle = std::thread::spawn(move || {
            let mut results = Vec::new();
            let deadline = Instant::now() + ACCEPT_DEADLINE;
            while results.len() < n {
                let tcp = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if stop2.load(Ordering::SeqCst) || Instant::now() > deadline {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(e) => panic!("server: accept failed: {e}"),
                };
                hits2.fetch_add(1, Ordering::SeqCst);
                tcp.set_nonblocking(false).expect("blocking");
                tcp.set_read_timeout(Some(SOCKET_TIMEOUT)).expect("timeout");
                tcp.set_write_timeout(Some(SOCKET_TIMEOUT))
                    .expect("timeout");
                tcp.set_nodelay(true).expect("nodelay");
                let stream: Box<dyn Stream> = match &tls {
                    Some(cfg) => {
                        let conn = rustls::ServerConnection::new(cfg.clone()).expect("tls");
                        Box::new(rustls::StreamOwned::new(conn, tcp))
                    }
                    None => Box::new(tcp),
                };
                let mut conn = Conn {
                    stream,
                    index: results.len(),
                    request: Request::default(),
                    seen: Vec::new(),
                };
                if let Some(bytes) = {
                    if matches!(reply, Reply::Nothing) {
                        None
                    } else {
                        let req = read_request(&mut conn)
                            .unwrap_or_else(|e| panic!("server: no upgrade request: {e}"));
                        requests2.lock().unwrap().push(req.clone());
                        conn.request = req.clone();
                        reply.bytes(&req)
                    }
                } {
                    conn.send(&bytes);
                }
                let r = script(&mut conn);
                conn.finish();
                results.push(r);
            }
            results
        });
        Server {
            addr,
            handle: Some(handle),
            stop,
            hits,
            requests,
            expect_connection: b.expect_connection,
            conns: n,
        }
    }

    /// `ws://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// `wss://localhost:PORT` + path.
    pub fn wss_url(&self, path: &str) -> String {
        format!("wss://localhost:{}{path}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Upgrade requests read so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The only upgrade request; fails the test unless there was exactly one.
    #[track_caller]
    pub fn request(&self) -> Request {
        let r = self.requests();
        assert_eq!(
            r.len(),
            1,
            "server: expected one upgrade request, got {r:?}"
        );
        r.into_iter().next().unwrap()
    }

    /// Waits for the script(s) to end; returns what each returned. Fails the test when a
    /// script panicked or (unless `may_not_connect`) nobody connected.
    #[track_caller]
    pub fn finish(mut self) -> Vec<T> {
        self.join().unwrap_or_else(|msg| panic!("{msg}"))
    }

    /// What the single script returned.
    #[track_caller]
    pub fn result(self) -> T {
        let mut v = self.finish();
        assert_eq!(
            v.len(),
            1,
            "server: expected one connection, got {}",
            v.len()
        );
        v.pop().unwrap()
    }

    fn join(&mut self) -> Result<Vec<T>, String> {
        let Some(h) = self.handle.take() else {
            return Ok(Vec::new());
        };
        // Stop waiting for connections that are not coming; a script in progress runs on.
        self.stop.store(true, Ordering::SeqCst);
        let results = match h.join() {
            Ok(r) => r,
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "non-string panic".into());
                return Err(format!("scripted server failed: {msg}"));
            }
        };
        let hits = self.hits.load(Ordering::SeqCst);
        if self.expect_connection && hits < self.conns {
            return Err(format!(
                "scripted server on {} expected {} connection(s), got {hits}",
                self.addr, self.conns
            ));
        }
        Ok(results)
    }
}

impl<T: Send + 'static> Drop for Server<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::SeqCst);
            return;
        }
        if let Err(msg) = self.join() {
            panic!("{msg}");
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

// ---------------------------------------------------------------------------------------
// wsdbg listen as a child process
// ---------------------------------------------------------------------------------------

/// `wsdbg listen` on 127.0.0.1 with a port it picks; killed on drop. Its stdout lines
/// are collected. Drop fails the test when it printed nothing after its first line
/// (nobody used it), unless `unused()` was called.
pub struct Listen {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub first_line: String,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    expect_use: bool,
    _stdin: Option<ChildStdin>,
}

impl Listen {
    /// `wsdbg listen --port 0 --json`.
    pub fn json() -> Listen {
        Listen::start(&["listen", "--port", "0", "--json"], true)
    }

    /// `wsdbg listen 127.0.0.1:0` (pretty output).
    pub fn pretty() -> Listen {
        Listen::start(&["listen", "127.0.0.1:0"], false)
    }

    /// `wsdbg listen --port 0 --json` plus these arguments.
    pub fn json_with(extra: &[&str]) -> Listen {
        let mut args = vec!["listen", "--port", "0", "--json"];
        args.extend_from_slice(extra);
        Listen::start(&args, true)
    }

    /// `wsdbg` with exactly these arguments (a listen that prints JSON).
    #[track_caller]
    pub fn json_args(args: &[&str]) -> Listen {
        Listen::start(args, true)
    }

    /// `wsdbg listen 127.0.0.1:0` (pretty output) plus these arguments.
    pub fn pretty_with(extra: &[&str]) -> Listen {
        let mut args = vec!["listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Listen::start(&args, false)
    }

    /// `wsdbg listen --port 0 --json` plus these arguments, run with at most `nofile`
    /// open files (`ulimit -n` in `sh -c`, which then `exec`s wsdbg: the same pid).
    pub fn json_with_nofile(nofile: u32, extra: &[&str]) -> Listen {
        let mut args = vec!["listen", "--port", "0", "--json"];
        args.extend_from_slice(extra);
        Listen::start_in(Some(nofile), &args, true)
    }

    #[track_caller]
    fn start(args: &[&str], json: bool) -> Listen {
        Listen::start_in(None, args, json)
    }

    #[track_caller]
    fn start_in(nofile: Option<u32>, args: &[&str], json: bool) -> Listen {
        let mut cmd = match nofile {
            None => StdCommand::new(bin()),
            Some(n) => {
                let mut c = StdCommand::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin());
                c
            }
        };
        fix_env_std(&mut cmd);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("cannot start wsdbg listen");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines2 = lines.clone();
        let reader = std::thread::spawn(move || {
            let mut first = true;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if first {
                    let _ = tx.send(line.clone());
                    first = false;
                }
                lines2.lock().unwrap().push(line);
            }
        });
        let first_line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("wsdbg {args:?} printed no first line within 10 s");
            }
        };
        let addr = if json {
            let v: Value = serde_json::from_str(&first_line)
                .unwrap_or_else(|e| panic!("listen: first line is not JSON ({e}): {first_line:?}"));
            assert_eq!(v["event"], "listening", "listen: first line {first_line:?}");
            v["addr"]
                .as_str()
                .unwrap_or_else(|| panic!("listen: no addr in {first_line:?}"))
                .to_string()
        } else {
            first_line
                .strip_prefix("listening on ws://")
                .unwrap_or_else(|| panic!("listen: first line {first_line:?}"))
                .trim_end_matches('/')
                .to_string()
        };
        assert!(
            ((addr.starts_with("127.0.0.1:") || addr.starts_with("[::1]:"))
                && !addr.ends_with(":0"))
                || addr.starts_with("ws+unix://"),
            "listen: addr {addr:?} from {first_line:?}"
        );
        Listen {
            child,
            addr,
            first_line,
            lines,
            reader: Some(reader),
            expect_use: true,
            _stdin: stdin,
        }
    }

    /// `ws://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The server's process id (to read /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// End listen's input (EOF on its stdin): no command can come, so no received
    /// message is kept for a `/wait` or `/expect`.
    pub fn close_stdin(&mut self) {
        self._stdin = None;
    }

    /// Do not fail the test when nobody used this server.
    pub fn unused(mut self) -> Self {
        self.expect_use = false;
        self
    }

    /// Stdout lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Kills the server and returns all it printed.
    pub fn stop(mut self) -> Vec<String> {
        self.kill();
        self.lines()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        self.kill();
        if self.expect_use && !std::thread::panicking() {
            let n = self.lines.lock().unwrap().len();
            assert!(
                n > 1,
                "wsdbg listen on {} printed nothing after its first line: nobody connected",
                self.addr
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------

/// A CA made at test time, a server certificate it signed for `localhost` and
/// 127.0.0.1, and a client certificate it signed; PEM files in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: PathBuf,
    pub server_cert_pem: PathBuf,
    pub server_key_pem: PathBuf,
    pub client_cert_pem: PathBuf,
    pub client_key_pem: PathBuf,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

pub fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wsdbg test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf = |names: Vec<String>, cn: &str, eku: ExtendedKeyUsagePurpose| {
        let mut p = CertificateParams::new(names).expect("leaf params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![eku];
        let key = KeyPair::generate().expect("leaf key");
        let cert = p.signed_by(&key, &issuer).expect("leaf cert");
        (cert, key)
    };
    let (server_cert, server_key) = leaf(
        vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "ws.example.invalid".into(),
        ],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(
        vec!["client.test".into()],
        "wsdbg test client",
        ExtendedKeyUsagePurpose::ClientAuth,
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write pem");
        p
    };
    let ca_pem = write("ca.pem", ca_cert.pem());
    let server_cert_pem = write("server.pem", server_cert.pem());
    let server_key_pem = write("server.key", server_key.serialize_pem());
    let client_cert_pem = write("client.pem", client_cert.pem());
    let client_key_pem = write("client.key", client_key.serialize_pem());
    Pki {
        ca_der: ca_cert.der().clone(),
        server_chain: vec![server_cert.der().clone()],
        server_key_der: server_key.serialize_der(),
        dir,
        ca_pem,
        server_cert_pem,
        server_key_pem,
        client_cert_pem,
        client_key_pem,
    }
}

impl Pki {
    /// A rustls server configuration (ring) with the server certificate; with
    /// `client_auth`, clients must present a certificate signed by the CA.
    pub fn server_config(&self, client_auth: bool) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("tls versions");
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).expect("ca root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), key)
                .expect("server cert"),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------------------

/// stdin for a run that must still be connected when the server acts: a sleep, so end of
/// input (and its close 1000) comes only after `ms`.
pub fn sleep_stdin(ms: u64) -> String {
    format!("/sleep {ms}\n")
}
