//! The client's event loop and protocol state: open, closing, closed; reassembly;
//! auto-pong; pings and their round trips; close timeout; max size; `/wait` and
//! `/sleep`. One thread owns the socket (non-blocking, `mio`), takes commands from an
//! input channel and emits `Event`s to a `Sink`. It knows nothing of output formats.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use rustls::ClientConfig;

use crate::backoff::Backoff;
use crate::command::{Command, CommandError, RawFrame};
use crate::connect;
use crate::error::Error;
use crate::event::{
    close_parts, CloseFrame, ConnState, Dir, Event, FrameEv, Info, Initiator, MsgType,
};
use crate::exit;
use crate::handshake::{self, Ask};
use crate::outq::{OutQ, OWN_FROM};
use crate::target::Target;
use crate::transport::{ReadOutcome, Transport};
use crate::wire::{self, Checker, Header, Role, Violation};

const SOCK: Token = Token(0);
const WAKE: Token = Token(1);
const SIGNAL: Token = Token(2);
/// Stop taking commands while this much is waiting to be sent.
const HIGH_WATER: usize = 1 << 20;
const READ_CHUNK: usize = 64 * 1024;
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
}

/// One unit of input, in order.
#[derive(Debug)]
pub enum Input {
    Cmd(Command),
    Bad(CommandError),
    /// Whole lines read from stdin, each ending in `\n`, taken one at a time from
    /// `pos`. Parsed here rather than on the input thread, so a plain line is sent
    /// straight from this buffer with no allocation of its own. `raw`: every line is
    /// text (`--raw`).
    Lines {
        data: Vec<u8>,
        pos: usize,
        raw: bool,
    },
    /// End of input.
    Eof,
}

/// The input side: a bounded channel of batches and a waker for the event loop.
#[derive(Clone)]
pub struct InputTx {
    tx: SyncSender<Vec<Input>>,
    waker: Arc<Waker>,
    interrupted: Arc<AtomicBool>,
    /// True while a blocking connect runs.
    connecting: Arc<AtomicBool>,
}

impl InputTx {
    /// Send a batch; false when the session is gone.
    pub fn send(&self, batch: Vec<Input>) -> bool {
        if self.tx.send(batch).is_err() {
            return false;
        }
        let _ = self.waker.wake();
        true
    }

    /// Ctrl-C: close now (or stop waiting to reconnect) and exit; during a blocking
    /// connect, exit at once (130), as SIGINT does in script mode.
    pub fn interrupt(&self) {
        if self.connecting.load(Ordering::SeqCst) {
            std::process::exit(exit::INTERRUPTED.into());
        }
        self.interrupted.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
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
}

/// Lingering at end of input: the replies are in once a data message has arrived
/// after the last one we sent and the peer then went quiet for `QUIET`, or for
/// `QUIET_ANSWERED` when as many have arrived on this connection as we sent.
const QUIET: Duration = Duration::from_millis(100);
const QUIET_ANSWERED: Duration = Duration::from_millis(10);

/// A connection that stayed open this long (or the current backoff delay, if longer)
/// resets the backoff; one that ends sooner counts as a failed attempt.
const STABLE: Duration = Duration::from_secs(2);

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Both close frames were exchanged.
    Clean,
    /// Lost, timed out, or failed.
    Unclean,
}

struct Closing {
    initiator: Initiator,
    sent_at: Option<Instant>,
    /// Our close frame's code and reason, once sent.
    sent: Option<(Option<u16>, String)>,
    /// The peer's close frame's code and reason, once received.
    received: Option<(Option<u16>, String)>,
}

impl Closing {
    /// The `close` event: both frames, who started, clean or not.
    fn event(&self, clean: bool, reply_after: Option<Duration>) -> Event<'_> {
        fn frame(f: &Option<(Option<u16>, String)>) -> Option<CloseFrame<'_>> {
            f.as_ref().map(|(code, reason)| CloseFrame {
                code: *code,
                reason: reason.as_str(),
            })
        }
        Event::Close {
            sent: frame(&self.sent),
            received: frame(&self.received),
            initiator: self.initiator,
            clean,
            reply_after,
        }
    }
}

/// A fragmented message being put together.
struct Partial {
    kind: MsgType,
    data: Vec<u8>,
    frames: u64,
}

pub struct Session<S: Sink> {
    opts: Options,
    sink: S,
    poll: Poll,
    rx: Receiver<Vec<Input>>,
    queue: VecDeque<Input>,
    input_done: bool,
    block: Block,
    // Counters across the session, for /info.
    info: Info,
    connected_at: Option<Instant>,
    protocol_broken: bool,
    /// The user asked the session to end (/quit, /close, end of input, ...).
    stop: bool,
    /// `/reconnect` was asked.
    reconnect_now: bool,
    interrupted: Arc<AtomicBool>,
    /// SIGINT arrives here (signal-hook writes to the other end): Ctrl-C in script
    /// mode closes with 1000; a second one exits at once.
    sigint: Option<mio::net::UnixStream>,
    /// True while a blocking connect runs: Ctrl-C then exits at once (130).
    connecting: Arc<AtomicBool>,
    /// Held so the waker outlives the input thread: closing its fd would drop a
    /// wake-up that is still pending (the last one, end of input or Ctrl-C).
    _waker: Arc<Waker>,
    /// Keepalive pings sent so far, for distinct payloads.
    keepalives: u64,
    /// Input lines taken so far, for error messages.
    lineno: u64,
    /// Data messages received since the last one we sent (or since the connection
    /// opened): what `/wait` counts.
    rx_since_tx: u64,
    /// Script mode: a command did not run as written (exit status 4).
    script_failed: bool,
}

/// Per-connection state.
struct Conn {
    t: Transport,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    /// The header at `rstart` already passed `check_header`.
    checked: bool,
    out: OutQ,
    checker: Checker,
    partial: Option<Partial>,
    out_partial: Option<Partial>,
    closing: Option<Closing>,
    pings: VecDeque<(Vec<u8>, Instant)>,
    eof: bool,
    /// Stop decoding: a protocol violation was found.
    failed: bool,
    /// The header at `rstart` broke a rule; reported once its payload is in.
    violation: Option<Violation>,
    /// Once set, the connection is over when `out` is sent.
    done: Option<End>,
    /// `--ping-interval`: when the next keepalive ping is due.
    next_ping: Option<Instant>,
    /// The keepalive ping still waiting for its pong.
    keepalive: Option<Vec<u8>>,
    /// When bytes last arrived: the close timeout counts from here too, so a peer
    /// still delivering what it owes us before its close reply is not cut off.
    last_rx: Instant,
    /// Reads in a row that brought less than `SMALL_READ` bytes.
    small_reads: u32,
    /// When the connection is over but its last bytes are not sent: when to stop trying.
    give_up_at: Option<Instant>,
    /// Data messages sent and received on this connection.
    msgs_out: u64,
    msgs_in: u64,
    /// Input ended: since when we wait for the replies before closing.
    linger_since: Option<Instant>,
    /// When our input last put a frame on the wire, and when a frame last arrived.
    tx_at: Option<Instant>,
    rx_at: Option<Instant>,
}

impl<S: Sink> Session<S> {
    /// Create a session; the caller starts its input source with the returned `InputTx`.
    pub fn new(opts: Options, sink: S) -> Result<(Session<S>, InputTx), Error> {
        let poll = Poll::new().map_err(|e| Error::io(format!("poll: {e}")))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKE).map_err(|e| Error::io(format!("waker: {e}")))?,
        );
        // At most 16 chunks of input (about 1 MiB) wait here; then the reader waits.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let interrupted = Arc::new(AtomicBool::new(false));
        let connecting = Arc::new(AtomicBool::new(false));
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal_hook::consts::SIGINT,
            exit::INTERRUPTED.into(),
            connecting.clone(),
        );
        let sigint = match mio::net::UnixStream::pair() {
            Ok((mut rx, tx)) => {
                let ok = poll
                    .registry()
                    .register(&mut rx, SIGNAL, Interest::READABLE)
                    .is_ok()
                    && signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, tx)
                        .is_ok();
                ok.then_some(rx)
            }
            Err(_) => None,
        };
        Ok((
            Session {
                opts,
                sink,
                poll,
                rx,
                queue: VecDeque::new(),
                input_done: false,
                block: Block::None,
                info: Info::default(),
                connected_at: None,
                protocol_broken: false,
                stop: false,
                reconnect_now: false,
                interrupted: interrupted.clone(),
                _waker: waker.clone(),
                sigint,
                connecting: connecting.clone(),
                keepalives: 0,
                lineno: 0,
                rx_since_tx: 0,
                script_failed: false,
            },
            InputTx {
                tx,
                waker,
                interrupted,
                connecting: connecting.clone(),
            },
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
                    self.protocol_broken = false;
                    let end = self.run_conn(conn);
                    if opened.elapsed() >= backoff.base().max(STABLE) {
                        // It stayed open a while: start over. One that ended at once
                        // counts as a failed attempt, so --max-retries can trip.
                        backoff.reset();
                        attempt = 0;
                    }
                    match end {
                        End::Clean if !self.protocol_broken => exit::OK,
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
            if self.interrupted.load(Ordering::SeqCst) || (self.stop && !asked) {
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
        self.report_unsent("the connection is closed");
        self.sink.idle();
        if code == exit::OK && self.script_failed {
            exit::SCRIPT
        } else {
            code
        }
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
            if self.interrupted.load(Ordering::SeqCst) {
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
        let mut got = false;
        if let Some(rx) = &mut self.sigint {
            let mut buf = [0u8; 16];
            while let Ok(n) = std::io::Read::read(rx, &mut buf) {
                if n == 0 {
                    break;
                }
                got = true;
            }
        }
        if !got {
            return;
        }
        if self.interrupted.swap(true, Ordering::SeqCst) {
            self.sink.idle();
            std::process::exit(exit::INTERRUPTED.into());
        }
    }

    fn connect(&mut self) -> Result<Conn, Error> {
        self.connecting.store(true, Ordering::SeqCst);
        let r = self.connect_inner();
        self.connecting.store(false, Ordering::SeqCst);
        r
    }

    fn connect_inner(&mut self) -> Result<Conn, Error> {
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
            match handshake::perform(&mut stream, &target, &self.opts.ask, started) {
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
        self.info.handshake = Some(hs);
        self.rx_since_tx = 0;
        self.connected_at = Some(Instant::now());
        self.sink.state(ConnState::Open);
        let mut t = Transport::new(stream)?;
        self.poll
            .registry()
            .register(&mut t.sock, SOCK, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Error::io(format!("poll: {e}")))?;
        let mut rbuf = vec![0u8; READ_CHUNK.max(rest.len() * 2)];
        rbuf[..rest.len()].copy_from_slice(&rest);
        Ok(Conn {
            t,
            rend: rest.len(),
            rbuf,
            rstart: 0,
            checked: false,
            out: OutQ::default(),
            checker: Checker::new(Role::Client, self.opts.max_size),
            partial: None,
            out_partial: None,
            closing: None,
            pings: VecDeque::new(),
            eof: false,
            failed: false,
            violation: None,
            done: None,
            next_ping: self.opts.ping_interval.map(|i| Instant::now() + i),
            keepalive: None,
            last_rx: Instant::now(),
            small_reads: 0,
            give_up_at: None,
            msgs_out: 0,
            msgs_in: 0,
            linger_since: None,
            tx_at: None,
            rx_at: None,
        })
    }

    /// The event loop of one open connection.
    fn run_conn(&mut self, mut c: Conn) -> End {
        let mut events = Events::with_capacity(16);
        // Bytes may already wait (after the handshake, or inside rustls).
        let mut readable = true;
        loop {
            if readable {
                let before = self.info.bytes_in;
                readable = self.read_all(&mut c);
                self.pace_reads(&mut c, self.info.bytes_in - before, &mut readable);
            }
            self.pump_input(&mut c);
            if let Err(e) = self.flush_out(&mut c) {
                self.lost(&mut c, &e);
            }
            if let Some(end) = c.done {
                // A peer that reads nothing more gets --close-timeout to take the rest.
                c.give_up_at
                    .get_or_insert_with(|| Instant::now() + self.opts.close_timeout);
                let gave_up = c.give_up_at.is_some_and(|t| Instant::now() >= t);
                if (c.out.is_empty() && !c.t.has_pending()) || gave_up {
                    c.t.shutdown();
                    let _ = self.poll.registry().deregister(&mut c.t.sock);
                    return end;
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
            self.timers(&mut c);
        }
    }

    /// A peer that writes message by message (most servers under load) wakes us for
    /// every few dozen bytes: each wake-up costs a poll, a read and an output flush
    /// on both sides. After a run of small reads, let 200 µs of data gather, so one
    /// read takes many messages. Measured against a Node `ws` echo server with 200,000
    /// messages: wsdbg's system time 1.2 s -> 0.4 s, wall time 10-15% lower. The delay
    /// only starts after 8 small reads in a row, so a lone message is never held.
    fn pace_reads(&mut self, c: &mut Conn, got: u64, readable: &mut bool) {
        if *readable || got == 0 || got >= SMALL_READ {
            c.small_reads = 0;
            return;
        }
        c.small_reads += 1;
        if c.small_reads >= 8 && c.done.is_none() {
            std::thread::sleep(Duration::from_micros(200));
            *readable = true;
        }
    }

    fn next_timeout(&self, c: &Conn) -> Option<Duration> {
        let now = Instant::now();
        let mut at: Option<Instant> = None;
        let mut consider = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        match self.block {
            Block::Sleep(t) => consider(t),
            Block::Wait { deadline, .. } => consider(deadline),
            Block::None => {}
        }
        if let (Some(since), None) = (c.linger_since, &c.closing) {
            consider(since + self.opts.linger);
            if let Some(quiet) = reply_quiet(c) {
                consider(c.last_rx + quiet);
            }
        }
        if let Some(cl) = &c.closing {
            if let Some(sent) = cl.sent_at {
                consider(sent.max(c.last_rx) + self.opts.close_timeout);
            }
        }
        if let (Some(t), None, None) = (c.next_ping, &c.closing, c.done) {
            consider(t);
        }
        if let Some(t) = c.give_up_at {
            // Waiting only to send what is queued.
            consider(t);
        }
        if !self.queue.is_empty() && self.block == Block::None && c.out.pending() < HIGH_WATER {
            return Some(Duration::ZERO);
        }
        at.map(|t| t.saturating_duration_since(now))
    }

    fn timers(&mut self, c: &mut Conn) {
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
        self.check_linger(c, now);
        if let Some(cl) = &c.closing {
            if let Some(sent) = cl.sent_at {
                if cl.received.is_none()
                    && c.done.is_none()
                    && now >= sent.max(c.last_rx) + self.opts.close_timeout
                {
                    let e = Error::timeout(format!(
                        "no close frame from the peer, and nothing else from it, for --close-timeout ({} ms)",
                        self.opts.close_timeout.as_millis()
                    ));
                    self.sink.emit(&Event::Error(&e));
                    self.sink.emit(&cl.event(false, None));
                    c.done = Some(End::Unclean);
                }
            }
        }
        if let (Some(due), Some(interval)) = (c.next_ping, self.opts.ping_interval) {
            if now >= due && c.closing.is_none() && c.done.is_none() {
                if c.keepalive.is_some() {
                    let e = Error::timeout(format!(
                        "no pong within --ping-interval ({} ms): the connection is dead",
                        interval.as_millis()
                    ));
                    self.sink.emit(&Event::Error(&e));
                    self.disconnected(c, "no pong to the keepalive ping");
                } else {
                    self.keepalives += 1;
                    let payload = format!("wsdbg-keepalive-{}", self.keepalives).into_bytes();
                    c.pings.push_back((payload.clone(), now));
                    self.send_frame(c, 9, true, [false; 3], Some(rand::random()), &payload);
                    c.keepalive = Some(payload);
                    c.next_ping = Some(now + interval);
                }
            }
        }
        if c.give_up_at.is_some_and(|t| now >= t) {
            // Could not send what was queued in time: give up on it.
            c.out.discard();
        }
    }

    /// Take and run commands while nothing blocks them and the send buffer has room.
    fn pump_input(&mut self, c: &mut Conn) {
        loop {
            if (self.sink.broken() || self.interrupted.load(Ordering::SeqCst))
                && c.closing.is_none()
            {
                self.user_close(c, Some(1000), "");
            }
            if c.closing.is_some() || c.done.is_some() {
                // Nothing more may be sent; what is left stays queued (for a reconnect)
                // and is reported at the end.
                return;
            }
            if self.block != Block::None || c.out.pending() >= HIGH_WATER {
                return;
            }
            let Some(input) = self.next_input() else {
                return;
            };
            let sent_before = self.info.frames_out;
            self.take_input(c, input);
            if self.info.frames_out != sent_before {
                c.tx_at = Some(Instant::now());
            }
        }
    }

    /// Run one unit of input.
    fn take_input(&mut self, c: &mut Conn, input: Input) {
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
                } else if self.opts.linger.is_zero() || c.tx_at.is_none() {
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
    fn owned_line(&mut self, c: &mut Conn, data: Vec<u8>, pos: usize, end: usize, raw: bool) {
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
        self.send_owned(c, MsgType::Text, data, start, end);
    }

    /// One input line (without its `\n`): a plain line is sent as text straight from
    /// the input buffer; a command is parsed and run.
    fn line(&mut self, c: &mut Conn, line: &[u8], raw: bool) {
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
            self.send_data(c, MsgType::Text, t.as_bytes());
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

    /// Take what the channel holds now (at most its capacity), and note whether the
    /// input has ended.
    fn fill_queue(&mut self) {
        loop {
            match self.rx.try_recv() {
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
            match self.rx.try_recv() {
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

    fn execute(&mut self, c: &mut Conn, cmd: Command) {
        match cmd {
            Command::Text(t) => self.send_data(c, MsgType::Text, t.as_bytes()),
            Command::Binary(b) => self.send_data(c, MsgType::Binary, &b),
            Command::File(path) => match std::fs::read(&path) {
                Ok(b) if b.len() >= OWN_FROM => {
                    let n = b.len();
                    self.send_owned(c, MsgType::Binary, b, 0, n)
                }
                Ok(b) => self.send_data(c, MsgType::Binary, &b),
                Err(e) => {
                    let err = Error::usage(format!(
                        "/file: expected a readable file, could not read {}: {e}",
                        path.display()
                    ));
                    self.command_failed(&err);
                }
            },
            Command::Ping(p) => {
                if p.len() > 125 {
                    self.sink.emit(&Event::Warning(
                        "/ping: payload over 125 bytes breaks RFC 6455 5.5; sent as asked",
                    ));
                }
                c.pings.push_back((p.clone(), Instant::now()));
                if c.pings.len() > 64 {
                    c.pings.pop_front();
                }
                self.send_frame(c, 9, true, [false; 3], Some(rand::random()), &p);
            }
            Command::Pong(p) => self.send_frame(c, 10, true, [false; 3], Some(rand::random()), &p),
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
                self.start_close(c, Some(1000), "reconnecting");
            }
            Command::Info => {
                self.info.uptime = self.connected_at.map(|t| t.elapsed()).unwrap_or_default();
                self.info.state = "open";
                let info = self.info.clone();
                self.sink.emit(&Event::Info(&info));
            }
            Command::Quit => self.user_close(c, Some(1000), ""),
            Command::Help => {
                let help = crate::command::help_text();
                self.sink.emit(&Event::Notice(&help));
            }
        }
    }

    fn send_data(&mut self, c: &mut Conn, kind: MsgType, payload: &[u8]) {
        let op = match kind {
            MsgType::Text => 1,
            MsgType::Binary => 2,
        };
        self.send_frame(c, op, true, [false; 3], Some(rand::random()), payload);
    }

    fn send_raw(&mut self, c: &mut Conn, f: RawFrame) {
        let key = if f.mask {
            Some(f.key.unwrap_or_else(rand::random))
        } else {
            None
        };
        if f.opcode == 8 {
            // A close frame sent by hand still starts the closing handshake.
            let (code, reason) = close_parts(&f.payload);
            let reason = String::from_utf8_lossy(reason).into_owned();
            self.stop = true;
            self.send_frame(c, 8, f.fin, f.rsv, key, &f.payload);
            self.mark_close_sent(c, code, reason);
            return;
        }
        self.send_frame(c, f.opcode, f.fin, f.rsv, key, &f.payload);
    }

    /// Encode one frame into the send buffer and show it.
    fn send_frame(
        &mut self,
        c: &mut Conn,
        opcode: u8,
        fin: bool,
        rsv: [bool; 3],
        mask: Option<[u8; 4]>,
        payload: &[u8],
    ) {
        let h = Header {
            fin,
            rsv,
            opcode,
            mask,
            len: payload.len() as u64,
        };
        let before = c.out.pending();
        c.out.append(|out| {
            wire::encode_header(&h, out);
            let start = out.len();
            out.extend_from_slice(payload);
            if let Some(key) = mask {
                wire::apply_mask(&mut out[start..], key, 0);
            }
        });
        self.info.frames_out += 1;
        self.info.bytes_out += (c.out.pending() - before) as u64;
        self.sink.emit(&Event::Frame(FrameEv {
            dir: Dir::Out,
            fin,
            rsv,
            opcode,
            mask,
            payload,
        }));
        self.track_out_message(c, opcode, fin, payload);
    }

    /// Emit the `message` event for what we sent, fragments put together.
    fn track_out_message(&mut self, c: &mut Conn, opcode: u8, fin: bool, payload: &[u8]) {
        let kind = match opcode {
            1 => MsgType::Text,
            2 => MsgType::Binary,
            0 => match &mut c.out_partial {
                Some(p) => {
                    p.data.extend_from_slice(payload);
                    p.frames += 1;
                    if fin {
                        if let Some(p) = c.out_partial.take() {
                            self.info.messages_out += 1;
                            c.msgs_out += 1;
                            self.rx_since_tx = 0;
                            self.sink.emit(&Event::Message {
                                dir: Dir::Out,
                                kind: p.kind,
                                payload: &p.data,
                                frames: p.frames,
                            });
                        }
                    }
                    return;
                }
                None => return,
            },
            _ => return,
        };
        if fin {
            c.out_partial = None;
            self.info.messages_out += 1;
            c.msgs_out += 1;
            self.rx_since_tx = 0;
            self.sink.emit(&Event::Message {
                dir: Dir::Out,
                kind,
                payload,
                frames: 1,
            });
        } else {
            c.out_partial = Some(Partial {
                kind,
                data: payload.to_vec(),
                frames: 1,
            });
        }
    }

    /// A close the user asked for: the session ends after it (no reconnect).
    fn user_close(&mut self, c: &mut Conn, code: Option<u16>, reason: &str) {
        self.stop = true;
        self.start_close(c, code, reason);
    }

    fn start_close(&mut self, c: &mut Conn, code: Option<u16>, reason: &str) {
        if c.closing.as_ref().is_some_and(|cl| cl.sent_at.is_some()) || c.done.is_some() {
            return;
        }
        let mut payload = Vec::with_capacity(2 + reason.len());
        if let Some(code) = code {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        self.send_frame(c, 8, true, [false; 3], Some(rand::random()), &payload);
        self.mark_close_sent(c, code, reason.to_string());
    }

    fn mark_close_sent(&mut self, c: &mut Conn, code: Option<u16>, reason: String) {
        self.sink.state(ConnState::Closing);
        match &mut c.closing {
            Some(cl) => {
                // We are answering the peer's close: the handshake is complete.
                cl.sent_at = Some(Instant::now());
                cl.sent = Some((code, reason));
            }
            None => {
                c.closing = Some(Closing {
                    initiator: Initiator::Local,
                    sent_at: Some(Instant::now()),
                    sent: Some((code, reason)),
                    received: None,
                });
            }
        }
    }

    fn flush_out(&mut self, c: &mut Conn) -> Result<(), Error> {
        if !c.out.is_empty() || c.t.has_pending() {
            c.out.write_to(&mut c.t)?;
        }
        Ok(())
    }

    /// A data message whose payload is `buf[start..end]`, which we own: shown, then
    /// masked in place and queued without a copy.
    fn send_owned(
        &mut self,
        c: &mut Conn,
        kind: MsgType,
        mut buf: Vec<u8>,
        start: usize,
        end: usize,
    ) {
        let opcode = match kind {
            MsgType::Text => 1,
            MsgType::Binary => 2,
        };
        let key: [u8; 4] = rand::random();
        let h = Header {
            fin: true,
            rsv: [false; 3],
            opcode,
            mask: Some(key),
            len: (end - start) as u64,
        };
        buf.truncate(end);
        let payload = &buf[start..];
        self.sink.emit(&Event::Frame(FrameEv {
            dir: Dir::Out,
            fin: true,
            rsv: [false; 3],
            opcode,
            mask: Some(key),
            payload,
        }));
        self.track_out_message(c, opcode, true, payload);
        let before = c.out.pending();
        c.out.append(|out| wire::encode_header(&h, out));
        wire::apply_mask(&mut buf[start..], key, 0);
        c.out.push_owned(buf, start);
        self.info.frames_out += 1;
        self.info.bytes_out += (c.out.pending() - before) as u64;
    }

    /// The connection broke under us.
    fn lost(&mut self, c: &mut Conn, e: &Error) {
        if c.done.is_some() {
            c.out.discard();
            return;
        }
        self.sink.emit(&Event::Error(e));
        self.disconnected(c, &e.msg);
    }

    fn disconnected(&mut self, c: &mut Conn, reason: &str) {
        if let Some(cl) = &c.closing {
            if cl.initiator == Initiator::Local && cl.received.is_none() {
                self.sink.emit(&cl.event(false, None));
            }
        }
        self.sink.emit(&Event::Disconnected { code: 1006, reason });
        c.out.discard();
        c.done = Some(End::Unclean);
    }

    /// Read what is available (up to a budget, so sending is not starved) and handle
    /// every complete frame. Returns true when more may be waiting.
    fn read_all(&mut self, c: &mut Conn) -> bool {
        let mut budget = 4 * READ_CHUNK;
        loop {
            self.process(c);
            if c.done.is_some() || c.eof {
                return false;
            }
            if budget == 0 {
                return true;
            }
            // Make room.
            if c.rstart == c.rend {
                c.rstart = 0;
                c.rend = 0;
            } else if c.rend == c.rbuf.len() && c.rstart > 0 {
                c.rbuf.copy_within(c.rstart..c.rend, 0);
                c.rend -= c.rstart;
                c.rstart = 0;
            }
            if c.rend == c.rbuf.len() {
                let grow = c.rbuf.len().max(READ_CHUNK);
                c.rbuf.resize(c.rbuf.len() + grow, 0);
            }
            match c.t.read(&mut c.rbuf[c.rend..]) {
                Ok(ReadOutcome::Data(n)) => {
                    self.info.bytes_in += n as u64;
                    c.last_rx = Instant::now();
                    c.rend += n;
                    budget = budget.saturating_sub(n);
                }
                Ok(ReadOutcome::WouldBlock) => return false,
                Ok(ReadOutcome::Eof) => {
                    c.eof = true;
                    self.process(c);
                    self.on_eof(c);
                    return false;
                }
                Err(e) => {
                    self.process(c);
                    self.lost(c, &e);
                    return false;
                }
            }
        }
    }

    fn on_eof(&mut self, c: &mut Conn) {
        if c.done.is_some() {
            return;
        }
        if let Some(cl) = &c.closing {
            if cl.received.is_some() && cl.sent_at.is_some() {
                // The server closed TCP after the closing handshake, as it should.
                c.done = Some(End::Clean);
                return;
            }
        }
        let reason = if c.rend > c.rstart {
            format!(
                "connection closed in the middle of a frame ({} bytes of it received)",
                c.rend - c.rstart
            )
        } else {
            "connection closed without a close frame".to_string()
        };
        self.disconnected(c, &reason);
    }

    /// Handle every complete frame in the read buffer.
    fn process(&mut self, c: &mut Conn) {
        while !c.failed && c.done.is_none() {
            let avail = c.rend - c.rstart;
            let Some((h, hlen)) = wire::decode_header(&c.rbuf[c.rstart..c.rend]) else {
                return;
            };
            if !c.checked {
                match c.checker.check_header(&h) {
                    Ok(()) => {}
                    Err(v) if v.close_code == 1009 => {
                        // Too big to wait for: never buffer it.
                        self.fail(c, v);
                        return;
                    }
                    // Shown with its payload first; the size check bounds it.
                    Err(v) => c.violation = Some(v),
                }
                c.checked = true;
            }
            let total = hlen as u64 + h.len;
            if (avail as u64) < total {
                if c.eof {
                    if let Some(v) = c.violation.take() {
                        self.fail(c, v);
                    }
                    return;
                }
                ensure_room(c, total as usize);
                return;
            }
            let total = total as usize;
            let start = c.rstart + hlen;
            let end = c.rstart + total;
            if let Some(key) = h.mask {
                wire::apply_mask(&mut c.rbuf[start..end], key, 0);
            }
            c.rstart += total;
            c.checked = false;
            self.info.frames_in += 1;
            let rbuf = std::mem::take(&mut c.rbuf);
            if let Some(v) = c.violation.take() {
                self.emit_frame_in(&h, &rbuf[start..end]);
                c.rbuf = rbuf;
                self.fail(c, v);
                return;
            }
            self.on_frame(c, &h, &rbuf[start..end]);
            c.rbuf = rbuf;
        }
    }

    fn emit_frame_in(&mut self, h: &Header, payload: &[u8]) {
        self.sink.emit(&Event::Frame(FrameEv {
            dir: Dir::In,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            mask: h.mask,
            payload,
        }));
    }

    /// The peer broke the protocol: say which rule, close with the code the rule asks
    /// for, and end without waiting (RFC 6455 7.1.7, "Fail the WebSocket Connection").
    fn fail(&mut self, c: &mut Conn, v: Violation) {
        self.protocol_broken = true;
        c.failed = true;
        let e = Error::protocol(v.msg, v.rule);
        self.sink.emit(&Event::Error(&e));
        let already_sent = c.closing.as_ref().is_some_and(|cl| cl.sent_at.is_some());
        if !already_sent {
            let reason = match v.close_code {
                1007 => "invalid UTF-8",
                1009 => "message too big",
                _ => "protocol error",
            };
            let mut payload = v.close_code.to_be_bytes().to_vec();
            payload.extend_from_slice(reason.as_bytes());
            self.send_frame(c, 8, true, [false; 3], Some(rand::random()), &payload);
            self.mark_close_sent(c, Some(v.close_code), reason.to_string());
        }
        if let Some(cl) = &c.closing {
            self.sink.emit(&cl.event(false, None));
        }
        c.done = Some(End::Unclean);
    }

    fn on_frame(&mut self, c: &mut Conn, h: &Header, payload: &[u8]) {
        self.emit_frame_in(h, payload);
        c.rx_at = Some(Instant::now());
        if let Err(v) = c.checker.check_payload(h, payload) {
            self.fail(c, v);
            return;
        }
        let received_close = c.closing.as_ref().is_some_and(|cl| cl.received.is_some());
        if received_close {
            // RFC 6455 5.5.1: nothing is expected after a close frame; shown, not acted on.
            return;
        }
        match h.opcode {
            1 | 2 => {
                let kind = if h.opcode == 1 {
                    MsgType::Text
                } else {
                    MsgType::Binary
                };
                if h.fin {
                    self.message_in(c, kind, payload, 1);
                } else {
                    c.partial = Some(Partial {
                        kind,
                        data: payload.to_vec(),
                        frames: 1,
                    });
                }
            }
            0 => {
                if let Some(p) = &mut c.partial {
                    p.data.extend_from_slice(payload);
                    p.frames += 1;
                }
                if h.fin {
                    if let Some(p) = c.partial.take() {
                        self.message_in(c, p.kind, &p.data, p.frames);
                    }
                }
            }
            8 => self.on_close(c, payload),
            9 => {
                let closing = c.closing.as_ref().is_some_and(|cl| cl.sent_at.is_some());
                if self.opts.auto_pong && !closing {
                    self.send_frame(c, 10, true, [false; 3], Some(rand::random()), payload);
                }
            }
            10 => {
                if c.keepalive.as_deref() == Some(payload) {
                    c.keepalive = None;
                }
                if let Some(i) = c.pings.iter().position(|(p, _)| p == payload) {
                    if let Some((_, at)) = c.pings.remove(i) {
                        let rtt = at.elapsed();
                        self.info.last_rtt = Some(rtt);
                        self.sink.emit(&Event::Pong { rtt, payload });
                    }
                }
            }
            _ => {}
        }
    }

    fn message_in(&mut self, c: &mut Conn, kind: MsgType, payload: &[u8], frames: u64) {
        if let Some(max) = self.opts.max_messages {
            if self.info.messages_in >= max {
                // --max-messages: exactly N are delivered; later ones were on the wire
                // (their frames were shown) before our close reached the peer.
                return;
            }
        }
        self.info.messages_in += 1;
        c.msgs_in += 1;
        self.rx_since_tx += 1;
        self.sink.emit(&Event::Message {
            dir: Dir::In,
            kind,
            payload,
            frames,
        });
        if let Block::Wait { need, .. } = self.block {
            if self.rx_since_tx >= need {
                self.block = Block::None;
            }
        }
        if self.opts.echo && c.closing.is_none() && c.done.is_none() {
            self.send_data(c, kind, payload);
        }
        if let Some(max) = self.opts.max_messages {
            if self.info.messages_in >= max {
                self.user_close(c, Some(1000), "");
            }
        }
    }

    /// At end of input: close once the replies are in, or when `--linger` runs out.
    fn check_linger(&mut self, c: &mut Conn, now: Instant) {
        let Some(since) = c.linger_since else {
            return;
        };
        if c.closing.is_some() || c.done.is_some() {
            return;
        }
        let quiet = now.saturating_duration_since(c.last_rx);
        let answered = reply_quiet(c).is_some_and(|q| quiet >= q);
        if answered || now >= since + self.opts.linger {
            c.linger_since = None;
            self.user_close(c, Some(1000), "");
        }
    }

    fn on_close(&mut self, c: &mut Conn, payload: &[u8]) {
        let (code, reason) = close_parts(payload);
        let reason = String::from_utf8_lossy(reason).into_owned();
        match &mut c.closing {
            Some(cl) if cl.sent_at.is_some() => {
                // The reply to our close.
                cl.received = Some((code, reason));
                let reply_after = cl.sent_at.map(|t| t.elapsed());
                self.sink.emit(&cl.event(true, reply_after));
                c.done = Some(End::Clean);
            }
            _ => {
                // The peer starts the closing handshake: echo its code (RFC 6455 5.5.1).
                let received_at = Instant::now();
                c.closing = Some(Closing {
                    initiator: Initiator::Remote,
                    sent_at: None,
                    sent: None,
                    received: Some((code, reason)),
                });
                self.send_frame(
                    c,
                    8,
                    true,
                    [false; 3],
                    Some(rand::random()),
                    &payload[..payload.len().min(2)],
                );
                self.mark_close_sent(c, code, String::new());
                if let Some(cl) = &c.closing {
                    self.sink.emit(&cl.event(true, Some(received_at.elapsed())));
                }
                // The server closes TCP next; we stop once our reply is sent.
                c.done = Some(End::Clean);
            }
        }
    }
}

/// Lingering: how long the peer must have been quiet for its replies to count as in,
/// or `None` while nothing has arrived since the last frame we sent. Short when every
/// data message and ping we sent has had its answer, else `QUIET`.
fn reply_quiet(c: &Conn) -> Option<Duration> {
    match (c.rx_at, c.tx_at) {
        (Some(rx), Some(tx)) if rx >= tx => {}
        _ => return None,
    }
    if c.msgs_in >= c.msgs_out && c.pings.is_empty() {
        Some(QUIET_ANSWERED)
    } else {
        Some(QUIET)
    }
}

/// Make sure the read buffer can hold `total` bytes from `rstart`.
fn ensure_room(c: &mut Conn, total: usize) {
    if c.rbuf.len() - c.rstart >= total {
        return;
    }
    if c.rstart > 0 {
        c.rbuf.copy_within(c.rstart..c.rend, 0);
        c.rend -= c.rstart;
        c.rstart = 0;
    }
    if c.rbuf.len() < total {
        // Exactly what the frame needs: a power of two would zero (and so touch) up to
        // twice the size of a large message.
        c.rbuf.resize(total.max(READ_CHUNK), 0);
    }
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
            | Command::File(_)
            | Command::Ping(_)
            | Command::Pong(_)
            | Command::Close { .. }
            | Command::Frame(_)
    )
}
