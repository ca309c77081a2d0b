//! The session engine: what a session does with input and time, once for every driver
//! (the client, `listen`, and the drivers to come). No sockets and no clock of its own:
//! the driver passes `now`, the engine acts through a [`Port`] (send this, close, show
//! that) and says when it must run next ([`Script::deadline`]).
//!
//! [`Script`] owns the queue of commands and input lines (comments and blank lines do
//! nothing), `/sleep`, `/wait`, `/expect` and the queue of received messages they read,
//! the end-of-input linger, `--max-messages`, `--fail-fast`, the checks on `/close`,
//! `/ping` and `/file`, which commands each side takes, and whether the script ran as
//! written (the exit status 4). [`Reflex`] is what one connection does on its own:
//! `--echo`, `--greet`, `--close-after`, `--delay`.
//!
//! It must not read a socket, a terminal or the clock, nor print: events go through the
//! port, in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::command::{self, Command, Expect, RawFrame};
use crate::error::Error;
use crate::event::{Dir, Event, MsgType};
use crate::input::Input;
use crate::outq::OWN_FROM;
use crate::protocol::{Driver, Msg, Tx};
use crate::wire::{self, OpCode};

/// Which driver runs the engine: it decides which commands are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Listen,
    /// `relay`: serves like `listen`; commands go to a leg of the selected pair.
    Relay,
}

/// The settings the engine follows, checked by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    pub side: Side,
    /// Script mode (a pipe or `-x`): a command that did not run as written makes the
    /// exit status 4, and lingering applies at end of input. Not the REPL.
    pub script: bool,
    /// `--close-timeout`: the default of `/wait` and `/expect`.
    pub timeout: Duration,
    /// `--linger MS`; `None`: the contract's default rules.
    pub linger: Option<Duration>,
    /// `--keep-open`: end of input does not close.
    pub keep_open: bool,
    /// `--max-messages N`: close (1000) once N data messages were delivered.
    pub max_messages: Option<u64>,
    /// `--fail-fast`: a failed `/expect` closes (1000) and ends the session.
    pub fail_fast: bool,
    /// `--max-size`: the largest `/file`, and the bytes the received-message queue holds.
    pub max_size: u64,
}

impl Config {
    /// A client's REPL with the defaults (for tests and callers that need a base).
    pub fn new(side: Side) -> Config {
        Config {
            side,
            script: false,
            timeout: Duration::from_secs(5),
            linger: None,
            keep_open: false,
            max_messages: None,
            fail_fast: false,
            max_size: 64 << 20,
        }
    }
}

/// Whether a command that sends can run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// Send.
    Open,
    /// The send queue is over its high-water mark: wait for room.
    Full,
    /// The closing handshake began: nothing more may be sent; what is left stays queued
    /// (and is reported at the end).
    Closing,
    /// No connection yet (connecting, reconnecting, a script waiting for a client):
    /// wait.
    Wait,
    /// Nobody to send to (the listen REPL with no client): the command fails with this.
    Nobody(String),
}

/// What the engine asks of its driver. Sends go to the connection (the client) or to
/// the selected clients (`listen`).
#[derive(Debug)]
pub enum Act<'a> {
    /// A data message; `compress`: `/text compress=0|1`, else as negotiated.
    Data {
        kind: MsgType,
        payload: &'a [u8],
        compress: Option<bool>,
    },
    /// A data message whose payload is `data[start..end]`, given away (sent with no
    /// copy).
    Owned {
        kind: MsgType,
        data: Vec<u8>,
        start: usize,
        end: usize,
    },
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// Start the closing handshake.
    Close {
        code: u16,
        reason: &'a str,
    },
    Frame(&'a RawFrame),
    /// The client: drop the connection and connect again.
    Reconnect,
    /// Show `/info` (client) or `/clients` (listen).
    Info,
    Clients,
    /// `/quit`, Ctrl-C, `--fail-fast`: close (1000; listen: every client, 1001) and end.
    Quit,
    To(Option<u64>),
    Kick {
        id: u64,
        code: u16,
        reason: &'a str,
    },
    /// `relay`: `/to client|server|both`.
    Leg(command::LegPick),
    /// `relay`: drop the selected pair's connections.
    Cut,
}

/// The driver's side of the engine.
pub trait Port {
    /// Whether sending commands can run now.
    fn ready(&self) -> Ready;
    /// permessage-deflate is on where the sends go (`compress=1` needs it).
    fn can_compress(&self) -> bool {
        false
    }
    fn emit(&mut self, ev: &Event<'_>);
    /// Do it; an error (a `/to` to nobody, say) fails the command.
    fn act(&mut self, act: Act<'_>) -> Result<(), Error>;
}

/// What the script waits for before its next command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    None,
    Sleep(Instant),
    /// `/wait N`: `got` of `need` messages so far.
    Wait {
        need: u64,
        got: u64,
        deadline: Instant,
    },
    /// `/expect`: `next` checks only the next one of its kind; `seen` describes the
    /// last that did not match (what came instead).
    Expect {
        what: Expect,
        next: bool,
        deadline: Instant,
        seen: Option<String>,
    },
}

/// What the received-message queue keeps, in bytes, while input goes on and no `/wait`
/// or `/expect` has been read yet: a later one may still want them, but a feed should
/// not pay for it.
const SPECULATIVE: u64 = 1 << 20;
/// ... and in messages: a feed of small messages would otherwise grow the queue's
/// index by doubling to 32,768 entries (1 MiB, reallocated with `mremap`, which cost
/// 6% of a throughput run in TLB shootdowns on a 2-CPU VM).
const SPECULATIVE_MSGS: usize = 2048;

/// Received events not yet consumed by a `/wait` or `/expect`.
#[derive(Debug, Default)]
struct Inbox {
    msgs: VecDeque<(MsgType, Vec<u8>)>,
    bytes: u64,
    /// Messages dropped (oldest first) to stay within `--max-size`, since the last
    /// `/wait` or `/expect` read the queue.
    dropped: u64,
    /// Of those, dropped while no `/wait` or `/expect` had been read yet (the
    /// [`SPECULATIVE`] bound).
    dropped_early: u64,
    pongs: u64,
    /// The peer's close frame, once it passed the protocol checks.
    close: Option<(Option<u16>, String)>,
}

/// What the current connection has seen, for lingering.
#[derive(Debug, Default, Clone, Copy)]
struct Conn {
    /// Data messages we sent.
    sent: u64,
    /// Data messages received after our first one.
    answered: u64,
    /// Anything (a frame) was sent.
    any: bool,
}

/// Lingering at end of input, without `--linger`: done once every message sent had a
/// reply and the peer has been quiet this long, or quiet `QUIET_UNANSWERED` with
/// replies still owed.
pub const QUIET_ANSWERED: Duration = Duration::from_millis(10);
pub const QUIET_UNANSWERED: Duration = Duration::from_millis(1000);
/// However long replies keep coming, lingering ends this many quiet periods after the
/// end of input.
const LINGER_CAP: u32 = 10;

/// One session's script: commands, waits, expectations, lingering, the outcome.
pub struct Script {
    cfg: Config,
    queue: VecDeque<Input>,
    input_done: bool,
    /// Input lines taken so far, for error messages.
    lineno: u64,
    block: Block,
    inbox: Inbox,
    conn: Conn,
    /// Data messages delivered, over every connection (`--max-messages`).
    delivered: u64,
    /// A command did not run as written.
    failed: bool,
    /// The user asked the session to end (`/quit`, `/close`, end of input, ...): no
    /// reconnect after it.
    stop: bool,
    /// `--fail-fast` tripped: quit at the next turn.
    quit_due: bool,
    quit_sent: bool,
    /// End of input was reached: since when we wait for the replies.
    linger_since: Option<Instant>,
    /// Cached: a `/wait` or `/expect` is still in the queue (once input has ended).
    ahead: Option<bool>,
    /// The last id `/emit ack`, `/gql` or an MQTT packet handed out.
    next_id: u64,
    /// `/mqtt connect v5`: MQTT 5.0 packets from then on.
    mqtt_v5: bool,
}

impl Script {
    pub fn new(cfg: Config) -> Script {
        Script {
            cfg,
            queue: VecDeque::new(),
            input_done: false,
            lineno: 0,
            block: Block::None,
            inbox: Inbox::default(),
            conn: Conn::default(),
            delivered: 0,
            failed: false,
            stop: false,
            quit_due: false,
            quit_sent: false,
            linger_since: None,
            ahead: None,
            next_id: 0,
            mqtt_v5: false,
        }
    }

    // -- input ---------------------------------------------------------------------

    /// More input, in order.
    pub fn push(&mut self, batch: Vec<Input>) {
        for i in batch {
            if matches!(i, Input::Eof) {
                self.input_done = true;
            }
            self.queue.push_back(i);
        }
        self.ahead = None;
    }

    /// The input source is gone (without saying so).
    pub fn input_gone(&mut self) {
        if !self.input_done {
            self.push(vec![Input::Eof]);
        }
    }

    /// The driver should hand over more input (one batch keeps memory bounded).
    pub fn wants_input(&self) -> bool {
        self.queue.is_empty() && !self.input_done
    }

    /// A command could run now if the connection takes it (for the driver's poll
    /// timeout).
    pub fn runnable(&self) -> bool {
        self.block == Block::None && !self.queue.is_empty()
    }

    /// The user asked the session to end: no reconnect after this connection.
    pub fn stopped(&self) -> bool {
        self.stop
    }

    /// A command did not run as written (exit status 4 when the session was
    /// otherwise clean).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Data messages delivered so far (`--max-messages` stops counting at N).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    // -- the connection --------------------------------------------------------------

    /// A new connection is open: what lingering counts starts again.
    pub fn opened(&mut self) {
        self.conn = Conn::default();
    }

    /// The connection ended without the user asking and the session goes on to a new
    /// one (`--reconnect`): say how many data messages were in flight, written into
    /// it with no reply since (TCP cannot say whether the server read them; they are
    /// not sent again). Input not yet written stays queued for the next connection.
    pub fn connection_lost(&mut self, port: &mut impl Port) {
        let in_flight = self.conn.sent.saturating_sub(self.conn.answered);
        self.conn = Conn::default();
        if in_flight > 0 && !self.stop {
            let msg = format!(
                "the connection ended with {in_flight} data message(s) in flight (written into it, no reply since): they may not have reached the server and are not sent again; input not yet written goes to the next connection"
            );
            port.emit(&Event::Warning(&msg));
        }
    }

    /// Ctrl-C (the first): close and end.
    pub fn interrupt(&mut self, port: &mut impl Port) {
        self.stop = true;
        self.quit(port);
    }

    /// A complete data message arrived (from the selected clients, in `listen`): shown,
    /// counted, and consumed by a waiting `/wait` or `/expect`, or kept for one ahead.
    pub fn received(&mut self, now: Instant, m: &Msg<'_>, port: &mut impl Port) {
        if self
            .cfg
            .max_messages
            .is_some_and(|max| self.delivered >= max)
        {
            // --max-messages: exactly N are delivered; later ones were on the wire
            // (their frames were shown) before our close reached the peer.
            return;
        }
        self.delivered += 1;
        if self.conn.sent > 0 {
            self.conn.answered += 1;
        }
        port.emit(&m.event(Dir::In));
        match &mut self.block {
            Block::Wait { need, got, .. } => {
                *got += 1;
                if *got >= *need {
                    self.block = Block::None;
                }
            }
            Block::Expect { what, .. } if is_data(what) => {
                self.inbox.msgs.push_back((m.kind, m.payload.to_vec()));
                self.inbox.bytes += m.payload.len() as u64;
                self.check_expect(now, port);
            }
            _ => {
                if let Some(bound) = self.holding() {
                    self.hold(m.kind, m.payload, bound);
                }
            }
        }
        if self
            .cfg
            .max_messages
            .is_some_and(|max| self.delivered >= max)
        {
            self.stop = true;
            let _ = port.act(Act::Close {
                code: 1000,
                reason: "",
            });
        }
    }

    /// Would a message received now be looked at (a `/wait` or `/expect` runs, or one
    /// may come and messages are kept for it)? A driver that must copy a message to
    /// hand it over (`relay`) asks first; the others just call [`Script::received`].
    pub fn hears(&mut self) -> bool {
        matches!(self.block, Block::Wait { .. } | Block::Expect { .. }) || self.holding().is_some()
    }

    /// A pong arrived.
    pub fn pong(&mut self, now: Instant, port: &mut impl Port) {
        self.inbox.pongs += 1;
        self.check_expect(now, port);
    }

    /// The peer's close frame arrived and passed the protocol checks.
    pub fn peer_closed(
        &mut self,
        now: Instant,
        code: Option<u16>,
        reason: &str,
        port: &mut impl Port,
    ) {
        self.inbox.close = Some((code, reason.to_string()));
        self.check_expect(now, port);
    }

    /// Keep a message for a `/wait` or `/expect` that may come, within `bound` bytes
    /// in all (the oldest goes first).
    fn hold(&mut self, kind: MsgType, payload: &[u8], bound: u64) {
        let max = bound;
        let early = bound < self.cfg.max_size;
        let len = payload.len() as u64;
        // A dropped message's buffer is the new one's: a piped feed at the bound
        // allocates nothing per message.
        let mut spare = None;
        while self.inbox.bytes + len > max || (early && self.inbox.msgs.len() >= SPECULATIVE_MSGS) {
            let Some((_, old)) = self.inbox.msgs.pop_front() else {
                break;
            };
            self.inbox.bytes -= old.len() as u64;
            self.inbox.dropped += 1;
            self.inbox.dropped_early += u64::from(early);
            spare = Some(old);
        }
        if len > max {
            self.inbox.dropped += 1;
            self.inbox.dropped_early += u64::from(early);
            return;
        }
        self.inbox.bytes += len;
        let copy = match spare {
            Some(mut v) => {
                v.clear();
                v.extend_from_slice(payload);
                v
            }
            None => payload.to_vec(),
        };
        self.inbox.msgs.push_back((kind, copy));
    }

    /// Received messages are kept while a `/wait` or `/expect` may read them, and how
    /// many bytes of them: in a script, `--max-size` while one is in the commands read
    /// so far; [`SPECULATIVE`] while input goes on and none is in sight yet (a feed piped
    /// through `-o payload` keeps about nothing); nothing once input ended with none
    /// left. In the REPL only while one runs.
    fn holding(&mut self) -> Option<u64> {
        if !self.cfg.script {
            return None;
        }
        let a = match self.ahead {
            Some(a) => a,
            None => {
                let a = self.queue.iter().any(mentions_wait_or_expect);
                self.ahead = Some(a);
                a
            }
        };
        if a {
            return Some(self.cfg.max_size);
        }
        if !self.input_done {
            return Some(self.cfg.max_size.min(SPECULATIVE));
        }
        self.inbox.msgs.clear();
        self.inbox.bytes = 0;
        None
    }

    // -- running commands ------------------------------------------------------------

    /// Run commands while nothing blocks them and the port takes them.
    pub fn pump(&mut self, now: Instant, port: &mut impl Port) {
        if self.quit_due && !self.quit_sent {
            self.quit(port);
        }
        loop {
            self.check_block(now, port);
            if self.block != Block::None || self.quit_sent {
                return;
            }
            let Some(unit) = self.queue.pop_front() else {
                return;
            };
            let ready = port.ready();
            match unit {
                Input::Eof => {
                    if matches!(ready, Ready::Open | Ready::Full) || self.cfg.side != Side::Client {
                        self.end_of_input(now, port);
                    } else {
                        self.queue.push_front(Input::Eof);
                        return;
                    }
                }
                Input::Bad(e) => self.command_failed(&Error::usage(e.to_string()), port),
                Input::Cmd(cmd) => {
                    if let Err(cmd) = self.command(now, cmd, &ready, port) {
                        self.queue.push_front(Input::Cmd(cmd));
                        return;
                    }
                }
                Input::Lines { data, pos, raw } => {
                    if !self.lines(now, data, pos, raw, port) {
                        return;
                    }
                }
            }
        }
    }

    /// Take lines from a chunk of input; false when the next one must wait (the chunk
    /// is back at the head of the queue).
    fn lines(
        &mut self,
        now: Instant,
        data: Vec<u8>,
        mut pos: usize,
        raw: bool,
        port: &mut impl Port,
    ) -> bool {
        loop {
            if pos >= data.len() {
                return true;
            }
            if self.block != Block::None || self.quit_sent {
                self.queue.push_front(Input::Lines { data, pos, raw });
                return true;
            }
            let ready = &port.ready();
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let mut line_end = end;
            if data[pos..end].ends_with(b"\r") {
                line_end -= 1;
            }
            let line = &data[pos..line_end];
            let text = match crate::wire::utf8(line) {
                Ok(t) => t,
                Err(e) => {
                    self.lineno += 1;
                    let err = Error::usage(format!(
                        "input line {}: expected UTF-8 text (use --binary for raw bytes), got an invalid byte at offset {}",
                        self.lineno,
                        e.valid_up_to()
                    ));
                    self.command_failed(&err, port);
                    pos = end + 1;
                    continue;
                }
            };
            let plain = if raw {
                Some(text)
            } else {
                command::plain_text(text)
            };
            if let Some(t) = plain {
                if *ready != Ready::Open {
                    if let Ready::Nobody(why) = ready {
                        self.lineno += 1;
                        self.command_failed(&Error::usage(why.clone()), port);
                        pos = end + 1;
                        continue;
                    }
                    self.queue.push_front(Input::Lines { data, pos, raw });
                    return false;
                }
                self.lineno += 1;
                let skip = t.as_ptr() as usize - text.as_ptr() as usize;
                self.conn.sent += 1;
                self.conn.any = true;
                if end + 1 >= data.len() && line_end - pos >= OWN_FROM {
                    // A long last line: sent from this buffer, no copy.
                    let _ = port.act(Act::Owned {
                        kind: MsgType::Text,
                        data,
                        start: pos + skip,
                        end: line_end,
                    });
                    return true;
                }
                let _ = port.act(Act::Data {
                    kind: MsgType::Text,
                    payload: t.as_bytes(),
                    compress: None,
                });
                pos = end + 1;
                continue;
            }
            match command::parse(text) {
                Err(e) => {
                    self.lineno += 1;
                    self.command_failed(&Error::usage(e.to_string()), port);
                }
                Ok(cmd) => {
                    if let Err(_cmd) = self.command(now, cmd, ready, port) {
                        self.queue.push_front(Input::Lines { data, pos, raw });
                        return false;
                    }
                    self.lineno += 1;
                }
            }
            pos = end + 1;
        }
    }

    /// Run one command; `Err(cmd)` when it must wait (it goes back to the queue).
    fn command(
        &mut self,
        now: Instant,
        cmd: Command,
        ready: &Ready,
        port: &mut impl Port,
    ) -> Result<(), Command> {
        if let Some(e) = self.refused(&cmd) {
            self.command_failed(&e, port);
            return Ok(());
        }
        if sends(&cmd) {
            match ready {
                Ready::Open => {}
                Ready::Nobody(why) => {
                    self.command_failed(&Error::usage(why.clone()), port);
                    return Ok(());
                }
                Ready::Full | Ready::Closing | Ready::Wait => return Err(cmd),
            }
        } else if *ready == Ready::Closing
            && !matches!(cmd, Command::Expect { .. } | Command::Comment)
        {
            // Closing: only what reads what came (an `/expect` of the close) still runs.
            return Err(cmd);
        }
        self.run(now, cmd, port);
        Ok(())
    }

    /// A command this side does not take.
    fn refused(&self, cmd: &Command) -> Option<Error> {
        match (self.cfg.side, cmd) {
            (Side::Client, Command::Clients | Command::To(_) | Command::Kick { .. }) => {
                let name = cmd.listen_only().unwrap_or_default();
                Some(Error::usage(format!(
                    "{name}: expected in `wsdbg listen` only (a client has one connection)"
                )))
            }
            (Side::Client, Command::Leg(_) | Command::Cut) => {
                let name = cmd.listen_only().unwrap_or_default();
                Some(Error::usage(format!(
                    "{name}: expected in `wsdbg relay` only (a client has one connection)"
                )))
            }
            (Side::Listen, Command::Leg(_) | Command::Cut) => {
                let what = match cmd {
                    Command::Cut => "/cut",
                    _ => "/to client|server|both",
                };
                Some(Error::usage(format!(
                    "{what}: expected in `wsdbg relay` only (listen's clients have one leg: /to ID|all)"
                )))
            }
            (Side::Listen | Side::Relay, Command::Reconnect) => Some(Error::usage(
                "/reconnect: expected in the client only (listen and relay serve their clients)",
            )),
            (Side::Relay, Command::Kick { .. }) => Some(Error::usage(
                "/kick: expected in `wsdbg listen` only (in relay: /to ID, /to client|server|both, then /close CODE, or /cut)",
            )),
            _ => None,
        }
    }

    /// The next id for a packet that carries one (an MQTT packet id: 1-65535).
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `/emit`, `/gql`, `/mqtt`, `/publish`, `/subscribe`: the message, with the next id
    /// where one is handed out.
    fn speak(&mut self, s: command::Speak) -> (MsgType, Vec<u8>) {
        use crate::proto::mqtt;
        let mqtt_id = |s: &mut Script| ((s.id() - 1) % 65535) as u16 + 1;
        let bytes = match s {
            command::Speak::MqttConnect { client_id, v5 } => {
                self.mqtt_v5 = v5;
                return (MsgType::Binary, mqtt::encode_connect(&client_id, 0, v5));
            }
            command::Speak::Publish {
                topic,
                qos,
                payload,
            } => {
                let id = if qos > 0 { mqtt_id(self) } else { 0 };
                return (
                    MsgType::Binary,
                    mqtt::encode_publish(&topic, &payload, qos, id, self.mqtt_v5),
                );
            }
            command::Speak::Subscribe { topic, qos } => {
                let id = mqtt_id(self);
                return (
                    MsgType::Binary,
                    mqtt::encode_subscribe(id, &topic, qos, self.mqtt_v5),
                );
            }
            other => other,
        };
        let text = match bytes {
            command::Speak::Emit {
                namespace,
                event,
                args,
                ack,
            } => {
                let id = ack.then(|| self.id());
                crate::proto::socketio::encode_event(namespace.as_deref(), &event, &args, id)
            }
            command::Speak::Gql { query: None, .. } => crate::proto::graphql::encode_init(),
            command::Speak::Gql {
                query: Some(q),
                variables,
            } => {
                let id = self.id().to_string();
                crate::proto::graphql::encode_subscribe(&id, &q, variables.as_ref(), false)
            }
            command::Speak::Stomp {
                command,
                headers,
                body,
            } => crate::proto::stomp::encode(&command, &headers, body.as_bytes()),
            command::Speak::SignalrHandshake => crate::proto::signalr::encode_handshake(),
            command::Speak::Invoke { target, args } => {
                let id = self.id().to_string();
                crate::proto::signalr::encode_invocation(
                    &target,
                    &serde_json::Value::Array(args),
                    Some(&id),
                )
            }
            command::Speak::Rpc { method, params } => {
                let id = self.id();
                crate::proto::jsonrpc::encode_request(&method, params.as_ref(), id)
            }
            // Made above.
            _ => Vec::new(),
        };
        (MsgType::Text, text)
    }

    fn run(&mut self, now: Instant, cmd: Command, port: &mut impl Port) {
        let data = |s: &mut Script| {
            s.conn.sent += 1;
            s.conn.any = true;
        };
        match cmd {
            Command::Comment => {}
            Command::Text(t) => {
                data(self);
                self.send(
                    port,
                    Act::Data {
                        kind: MsgType::Text,
                        payload: t.as_bytes(),
                        compress: None,
                    },
                );
            }
            Command::Binary(b) => {
                data(self);
                self.send(
                    port,
                    Act::Data {
                        kind: MsgType::Binary,
                        payload: &b,
                        compress: None,
                    },
                );
            }
            Command::Speak(s) => {
                data(self);
                let (kind, bytes) = self.speak(s);
                self.send(
                    port,
                    Act::Data {
                        kind,
                        payload: &bytes,
                        compress: None,
                    },
                );
            }
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
                if compress && !port.can_compress() {
                    let e = Error::usage(format!(
                        "{name} compress=1: expected permessage-deflate to be on (offer it with \
                         --compress; the server must agree), nothing sent"
                    ));
                    self.command_failed(&e, port);
                } else {
                    data(self);
                    self.send(
                        port,
                        Act::Data {
                            kind,
                            payload: &payload,
                            compress: Some(compress),
                        },
                    );
                }
            }
            Command::File(path) => match crate::input::read_file(&path, self.cfg.max_size) {
                Ok(b) => {
                    data(self);
                    if b.len() >= OWN_FROM {
                        let end = b.len();
                        self.send(
                            port,
                            Act::Owned {
                                kind: MsgType::Binary,
                                data: b,
                                start: 0,
                                end,
                            },
                        );
                    } else {
                        self.send(
                            port,
                            Act::Data {
                                kind: MsgType::Binary,
                                payload: &b,
                                compress: None,
                            },
                        );
                    }
                }
                Err(e) => self.command_failed(&e, port),
            },
            Command::Ping(p) => {
                if p.len() > 125 {
                    port.emit(&Event::Warning(
                        "/ping: payload over 125 bytes breaks RFC 6455 5.5; sent as asked",
                    ));
                }
                self.conn.any = true;
                self.send(port, Act::Ping(&p));
            }
            Command::Pong(p) => {
                self.conn.any = true;
                self.send(port, Act::Pong(&p));
            }
            Command::Close { code, reason } => {
                if !wire::close_code_allowed(code) {
                    let msg = format!(
                        "/close: code {code} is not allowed on the wire (RFC 6455 7.4.1); sent as asked"
                    );
                    port.emit(&Event::Warning(&msg));
                }
                if reason.len() > 123 {
                    let msg = format!(
                        "/close: a reason of {} bytes makes the payload over 125 bytes, which breaks RFC 6455 5.5; sent as asked",
                        reason.len()
                    );
                    port.emit(&Event::Warning(&msg));
                }
                self.warn_unanswered(port);
                if self.cfg.side == Side::Client {
                    self.stop = true;
                }
                self.send(
                    port,
                    Act::Close {
                        code,
                        reason: &reason,
                    },
                );
            }
            Command::Frame(f) => {
                if f.opcode == OpCode::Close && self.cfg.side == Side::Client {
                    // A close frame sent by hand still starts the closing handshake.
                    self.stop = true;
                }
                if matches!(f.opcode, OpCode::Text | OpCode::Binary | OpCode::Continue) && f.fin {
                    self.conn.sent += 1;
                }
                self.conn.any = true;
                self.send(port, Act::Frame(&f));
            }
            Command::Sleep(d) => self.block = Block::Sleep(now + d),
            Command::Wait { n, timeout } => {
                self.ahead = None;
                self.note_dropped(port);
                let mut got = 0;
                while got < n {
                    let Some((_, m)) = self.inbox.msgs.pop_front() else {
                        break;
                    };
                    self.inbox.bytes -= m.len() as u64;
                    got += 1;
                }
                if got < n {
                    self.block = Block::Wait {
                        need: n,
                        got,
                        deadline: now + timeout.unwrap_or(self.cfg.timeout),
                    };
                }
            }
            Command::Expect { what, within, next } => {
                self.ahead = None;
                self.note_dropped(port);
                self.block = Block::Expect {
                    what,
                    next,
                    deadline: now + within.unwrap_or(self.cfg.timeout),
                    seen: None,
                };
                self.check_expect(now, port);
            }
            Command::Reconnect => self.send(port, Act::Reconnect),
            Command::Info => self.send(port, Act::Info),
            Command::Clients => self.send(port, Act::Clients),
            Command::To(to) => self.send(port, Act::To(to)),
            Command::Kick { id, code, reason } => self.send(
                port,
                Act::Kick {
                    id,
                    code,
                    reason: &reason,
                },
            ),
            Command::Leg(l) => self.send(port, Act::Leg(l)),
            Command::Cut => self.send(port, Act::Cut),
            Command::Quit => {
                self.stop = true;
                self.quit(port);
            }
            Command::Help => {
                let help = command::help_text(self.cfg.side != Side::Client);
                port.emit(&Event::Notice(&help));
            }
        }
    }

    fn send(&mut self, port: &mut impl Port, act: Act<'_>) {
        if let Err(e) = port.act(act) {
            self.command_failed(&e, port);
        }
    }

    fn quit(&mut self, port: &mut impl Port) {
        self.quit_due = false;
        self.quit_sent = true;
        self.linger_since = None;
        let _ = port.act(Act::Quit);
    }

    /// In a script, an explicit `/close` with replies still owed: say how many.
    fn warn_unanswered(&mut self, port: &mut impl Port) {
        if !self.cfg.script || self.cfg.side != Side::Client {
            return;
        }
        let owed = self.conn.sent.saturating_sub(self.conn.answered);
        if owed > 0 {
            let msg = format!(
                "/close: {owed} data message(s) sent have had no reply yet (use /wait to wait for them); closing as asked"
            );
            port.emit(&Event::Warning(&msg));
        }
    }

    /// Messages were dropped from the queue a `/wait` or `/expect` reads: say so.
    fn note_dropped(&mut self, port: &mut impl Port) {
        let n = std::mem::take(&mut self.inbox.dropped);
        let early = std::mem::take(&mut self.inbox.dropped_early);
        if early > 0 {
            let msg = format!(
                "{n} received message(s) were dropped before this command could read them: \
                 before any /wait or /expect is read the queue keeps at most {} bytes in \
                 {SPECULATIVE_MSGS} messages, then --max-size ({} bytes); put the /wait or \
                 /expect earlier in the script",
                self.cfg.max_size.min(SPECULATIVE),
                self.cfg.max_size
            );
            port.emit(&Event::Warning(&msg));
        } else if n > 0 {
            let msg = format!(
                "{n} received message(s) were dropped before this command could read them: the queue holds at most --max-size ({} bytes); raise --max-size",
                self.cfg.max_size
            );
            port.emit(&Event::Warning(&msg));
        }
    }

    /// A command could not run as written: said, and in script mode the exit status
    /// becomes 4.
    fn command_failed(&mut self, e: &Error, port: &mut impl Port) {
        port.emit(&Event::Error(e));
        if self.cfg.script {
            self.failed = true;
        }
    }

    // -- end of input ----------------------------------------------------------------

    fn end_of_input(&mut self, now: Instant, port: &mut impl Port) {
        if self.cfg.side != Side::Client || self.cfg.keep_open || self.cfg.max_messages.is_some() {
            // A server goes on serving; --keep-open and --max-messages stay until the
            // peer closes, Ctrl-C, or the Nth message.
            return;
        }
        self.stop = true;
        let linger = self.cfg.linger.unwrap_or(QUIET_UNANSWERED);
        if !self.cfg.script || linger.is_zero() || !self.conn.any {
            let _ = port.act(Act::Close {
                code: 1000,
                reason: "",
            });
        } else {
            // Let the replies come home first (`tick` closes).
            self.linger_since = Some(now);
        }
    }

    /// When lingering ends, given when bytes last arrived.
    fn linger_until(&self, last_rx: Instant) -> Option<Instant> {
        let since = self.linger_since?;
        let from = since.max(last_rx);
        let quiet = match self.cfg.linger {
            Some(l) => l,
            None if self.conn.answered >= self.conn.sent => QUIET_ANSWERED,
            None => QUIET_UNANSWERED,
        };
        let cap = since + self.cfg.linger.unwrap_or(QUIET_UNANSWERED) * LINGER_CAP;
        Some((from + quiet).min(cap))
    }

    // -- time ------------------------------------------------------------------------

    /// When the engine must run next (`tick`), given when bytes last arrived.
    pub fn deadline(&self, last_rx: Instant) -> Option<Instant> {
        let block = match &self.block {
            Block::None => None,
            Block::Sleep(t) => Some(*t),
            Block::Wait { deadline, .. } | Block::Expect { deadline, .. } => Some(*deadline),
        };
        match (block, self.linger_until(last_rx)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: end what is due (a `/sleep`, a `/wait` or `/expect` timeout,
    /// lingering), then run what can run.
    pub fn tick(&mut self, now: Instant, last_rx: Instant, port: &mut impl Port) {
        self.check_block(now, port);
        if let Some(until) = self.linger_until(last_rx) {
            if now >= until && port.ready() != Ready::Closing {
                self.linger_since = None;
                let _ = port.act(Act::Close {
                    code: 1000,
                    reason: "",
                });
            }
        }
        self.pump(now, port);
    }

    fn check_block(&mut self, now: Instant, port: &mut impl Port) {
        match &self.block {
            Block::Sleep(t) if now >= *t => self.block = Block::None,
            Block::Wait {
                need,
                got,
                deadline,
            } if now >= *deadline => {
                let e = Error::timeout(format!(
                    "/wait: expected {need} data message(s) not read by an earlier /wait or /expect, got {got} before the timeout"
                ));
                self.block = Block::None;
                self.command_failed(&e, port);
            }
            Block::Expect { .. } => self.check_expect(now, port),
            _ => {}
        }
    }

    /// Check the waiting `/expect` against what came.
    fn check_expect(&mut self, now: Instant, port: &mut impl Port) {
        let Block::Expect {
            what,
            next,
            deadline,
            seen,
        } = &mut self.block
        else {
            return;
        };
        let verdict: Option<(bool, String, Option<String>)> = match what {
            Expect::Close(code) => self.inbox.close.as_ref().map(|(c, reason)| {
                let shown = match c {
                    Some(c) => format!("close {c} {reason:?}"),
                    None => "close without a code".to_string(),
                };
                (code.is_none() || *code == *c, shown, None)
            }),
            Expect::Pong => (self.inbox.pongs > 0).then(|| {
                self.inbox.pongs -= 1;
                (true, "pong".to_string(), None)
            }),
            _ => loop {
                let Some((kind, payload)) = self.inbox.msgs.pop_front() else {
                    break None;
                };
                self.inbox.bytes -= payload.len() as u64;
                let (ok, shown, diff) = expect_message(what, kind, &payload);
                if ok || *next {
                    break Some((ok, shown, diff));
                }
                let msg = format!("/expect {}: skipped {shown}", what.describe());
                port.emit(&Event::Notice(&msg));
                *seen = Some(shown);
            },
        };
        let (ok, got, diff) = match verdict {
            Some(v) => v,
            None if now >= *deadline => {
                let got = match seen.take() {
                    Some(s) => format!("{s} (nothing matched before the timeout)"),
                    None => "nothing before the timeout".to_string(),
                };
                (false, got, None)
            }
            None => return,
        };
        let Block::Expect { what, .. } = std::mem::replace(&mut self.block, Block::None) else {
            return;
        };
        self.expect_result(&what, ok, &got, diff.as_deref(), port);
    }

    fn expect_result(
        &mut self,
        what: &Expect,
        ok: bool,
        got: &str,
        diff: Option<&str>,
        port: &mut impl Port,
    ) {
        let what = what.describe();
        port.emit(&Event::Expect {
            what: &what,
            ok,
            got,
            diff,
        });
        if !ok {
            self.failed = true;
            if self.cfg.fail_fast {
                self.stop = true;
                self.quit_due = true;
            }
        }
    }

    // -- the end ---------------------------------------------------------------------

    /// The session is over: an `/expect` still waiting, or never reached, fails; the
    /// commands never sent are counted in a warning (`why` they were not).
    pub fn finish(&mut self, why: &str, port: &mut impl Port) {
        if let Block::Expect { what, .. } = std::mem::replace(&mut self.block, Block::None) {
            self.expect_result(
                &what,
                false,
                "nothing: the connection ended first",
                None,
                port,
            );
        }
        let mut left = Vec::new();
        let mut unsent = 0usize;
        for input in &self.queue {
            match input {
                Input::Cmd(Command::Expect { what, .. }) => left.push(what.clone()),
                Input::Cmd(c) if sends(c) => unsent += 1,
                Input::Lines { data, pos, raw } => {
                    let rest = &data[*pos..];
                    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
                    for line in rest.split(|&b| b == b'\n') {
                        let text = String::from_utf8_lossy(line);
                        let text = text.trim_end_matches('\r');
                        if *raw || command::plain_text(text).is_some() {
                            unsent += usize::from(*raw || !command::is_comment(text));
                            continue;
                        }
                        match command::parse(text) {
                            Ok(Command::Expect { what, .. }) => left.push(what),
                            Ok(c) if sends(&c) => unsent += 1,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        for what in left {
            self.expect_result(
                &what,
                false,
                "never checked: the connection ended first",
                None,
                port,
            );
        }
        if unsent > 0 {
            let more = if self.input_done {
                ""
            } else {
                " (and input after them was not read)"
            };
            let msg = format!("{unsent} queued command(s) were not sent: {why}{more}");
            port.emit(&Event::Warning(&msg));
        }
        self.queue.clear();
    }
}

/// Would this input line put something on the wire (a plain line, or a command that
/// sends)? The REPL counts with it the lines it handed over while no connection was
/// open, to say how many were not sent when Ctrl-C ends a connect.
pub fn line_sends(line: &str) -> bool {
    if command::plain_text(line).is_some() {
        return true;
    }
    matches!(command::parse(line), Ok(c) if sends(&c))
}

/// Does this command put something on the wire (and so needs a connection)?
pub fn sends(c: &Command) -> bool {
    matches!(
        c,
        Command::Text(_)
            | Command::Speak(_)
            | Command::Binary(_)
            | Command::Deflate { .. }
            | Command::File(_)
            | Command::Ping(_)
            | Command::Pong(_)
            | Command::Close { .. }
            | Command::Frame(_)
            | Command::Kick { .. }
            | Command::Cut
    )
}

/// An expectation about data messages (not a close or a pong).
fn is_data(e: &Expect) -> bool {
    !matches!(e, Expect::Close(_) | Expect::Pong)
}

/// Is a `/wait` or `/expect` among this input?
fn mentions_wait_or_expect(i: &Input) -> bool {
    match i {
        Input::Cmd(Command::Wait { .. } | Command::Expect { .. }) => true,
        Input::Lines { data, pos, raw } => {
            !raw && data[*pos..]
                .split(|&b| b == b'\n')
                .any(|l| l.starts_with(b"/wait") || l.starts_with(b"/expect"))
        }
        _ => false,
    }
}

/// A message as `/expect` shows what came: `text "..."` (200 chars at most) or `binary
/// HEX` (64 bytes at most).
fn shown(kind: MsgType, payload: &[u8]) -> String {
    match (kind, std::str::from_utf8(payload)) {
        (MsgType::Text, Ok(t)) => {
            let cut: String = t.chars().take(200).collect();
            let more = if cut.len() < t.len() { "..." } else { "" };
            format!("text {cut:?}{more}")
        }
        _ => {
            let hex: String = payload
                .iter()
                .take(64)
                .map(|b| format!("{b:02x}"))
                .collect();
            let more = if payload.len() > 64 { "..." } else { "" };
            format!("binary {hex}{more}")
        }
    }
}

/// Does a data message meet a data `/expect`? (ok, what it was, and for a recorded
/// message that differs, how: `compare`.)
fn expect_message(what: &Expect, kind: MsgType, payload: &[u8]) -> (bool, String, Option<String>) {
    let shown = shown(kind, payload);
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
                        Some(g) => return (false, format!("{shown}, where {path} is {g}"), None),
                        None => return (false, format!("{shown}, which has no {path}"), None),
                    }
                }
                Err(_) => return (false, format!("{shown}, which is not JSON"), None),
            }
        }
        (
            Expect::Equal {
                binary,
                payload: want,
                ignore,
                ignore_json,
            },
            _,
        ) => {
            let want_kind = if *binary {
                MsgType::Binary
            } else {
                MsgType::Text
            };
            // The rules were checked when the command was parsed (or made).
            let rules = crate::compare::Rules::parse(ignore, ignore_json).unwrap_or_default();
            let diff = rules.differs(want_kind, want, kind, payload);
            return (diff.is_none(), shown, diff);
        }
        _ => false,
    };
    (ok, shown, None)
}

// -- what one connection does on its own -------------------------------------------

/// What a connection does without being told: the behaviour flags.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Echo every data message (`listen` unless `--no-echo`; the client's `--echo`).
    pub echo: bool,
    /// `--greet TEXT`: sent once the connection is open.
    pub greet: Option<String>,
    /// `--close-after N [CODE [REASON]]`: close after N messages from the peer.
    pub close_after: Option<(u64, u16, String)>,
    /// `--delay MS`: echo (and close after) this much later.
    pub delay: Option<Duration>,
    /// `listen --replay FILE`: play the server's side of this recording.
    pub mock: Option<std::sync::Arc<Mock>>,
    /// `--proto`: answer the keep-alives of the protocol the connection speaks.
    pub proto: Option<crate::proto::Pick>,
}

/// `listen --replay FILE`, the mock server: to each client, the server's side of a
/// recording. It waits for each message the recording's client sent and compares the
/// one that comes (`compare`, as `replay` does: an `expect` event either way), then
/// sends what the server sent after it (with the recorded pauses unless `--timing
/// fast`). A message that differs, one more than the recording has, or a client that
/// leaves before sending all it recorded, is a deviation.
#[derive(Debug)]
pub struct Mock {
    pub steps: Vec<crate::replay::Step>,
    pub rules: crate::compare::Rules,
    pub timing: crate::replay::Timing,
}

impl Mock {
    /// The server's messages from step `from` on, up to the next client step, each
    /// with its pause after the step before (none with `--timing fast`); and the index
    /// after them.
    fn replies(&self, from: usize) -> (Vec<(Duration, &crate::replay::Step)>, usize) {
        let mut out = Vec::new();
        let mut i = from;
        while let Some(s) = self.steps.get(i).filter(|s| !s.from_client) {
            let before = i.checked_sub(1).and_then(|b| self.steps[b].at);
            let pause = match (self.timing, s.at, before) {
                (crate::replay::Timing::Original, Some(at), Some(b)) if at > b => {
                    Duration::from_secs_f64((at - b).min(3600.0))
                }
                _ => Duration::ZERO,
            };
            out.push((pause, s));
            i += 1;
        }
        (out, i)
    }
}

/// A server side (`listen`, `relay`) with no selected peer to send to: in a script with
/// no `/to`, the commands are for the one about to come (wait); else nothing is sent,
/// and it says why. `noun` names the peer (`client`, `pair`), `gone` what it is not.
pub fn no_target(script: bool, to: Option<u64>, noun: &str, gone: &str) -> Ready {
    if script && to.is_none() {
        return Ready::Wait;
    }
    let who = match to {
        Some(id) => format!("{noun} #{id} {gone} (see /clients, /to all)"),
        None => "no client is connected".to_string(),
    };
    Ready::Nobody(format!("expected a {noun} to send to: {who}; nothing sent"))
}

/// What `--delay` holds back.
#[derive(Debug)]
enum Later {
    Echo(MsgType, Vec<u8>),
    /// `--close-after`: after the echoes before it.
    Close(u16, String),
}

/// One connection's behaviour state.
#[derive(Debug, Default)]
pub struct Reflex {
    /// Data messages from the peer.
    msgs_in: u64,
    delayed: VecDeque<(Instant, Later)>,
    /// Bytes in `delayed`.
    held: usize,
    /// `--replay`: the next step of the recording.
    at: usize,
    /// `--replay`: how the client deviated from it, so far.
    deviated: u64,
    /// `--proto`: the protocol whose keep-alives this connection answers.
    speaks: Option<crate::proto::Proto>,
    /// STOMP: what the peer's frames said (CONNECTED's heart-beat), and the heart-beat
    /// we owe it: its period and when the next is due.
    stomp: Option<crate::proto::stomp::Decoder>,
    beat: Option<(Duration, Instant)>,
}

impl Reflex {
    /// The connection is open with this subprotocol and request path: the protocol it
    /// speaks, for `--proto`'s keep-alives.
    pub fn speaks(&mut self, how: &Behaviour, subprotocol: Option<&str>, path: &str) {
        self.speaks = how
            .proto
            .map(|p| p.resolve(subprotocol, path))
            .filter(|p| *p != crate::proto::Proto::Raw);
        self.stomp = (self.speaks == Some(crate::proto::Proto::Stomp))
            .then(crate::proto::stomp::Decoder::default);
    }

    /// The connection opened: greet (or, `--replay`, send what the recording's server
    /// sent first).
    pub fn opened(&mut self, how: &Behaviour, tx: &mut Tx, d: &mut (impl Driver + ?Sized)) {
        if let Some(text) = &how.greet {
            tx.send_data(d, MsgType::Text, text.as_bytes());
        }
        if let Some(mock) = &how.mock {
            self.play(mock, Instant::now(), tx, d);
        }
    }

    /// `--replay`: send (or hold for their pauses) the server's messages from `self.at`.
    fn play(&mut self, mock: &Mock, now: Instant, tx: &mut Tx, d: &mut (impl Driver + ?Sized)) {
        let (replies, next) = mock.replies(self.at);
        self.at = next;
        let mut due = self.delayed.back().map_or(now, |(at, _)| (*at).max(now));
        for (pause, s) in replies {
            due += pause;
            if due <= now && self.delayed.is_empty() {
                tx.send_data(d, s.kind, &s.payload);
            } else {
                self.held += s.payload.len();
                self.delayed
                    .push_back((due, Later::Echo(s.kind, s.payload.clone())));
            }
        }
    }

    /// `--replay`: a message from the client, against the recording's next one.
    fn follow(
        &mut self,
        mock: &Mock,
        now: Instant,
        m: &Msg<'_>,
        tx: &mut Tx,
        d: &mut (impl Driver + ?Sized),
    ) {
        let shown = shown(m.kind, m.payload);
        let Some(want) = mock.steps.get(self.at).filter(|s| s.from_client) else {
            self.deviated += 1;
            d.emit(&Event::Expect {
                what: "nothing more: the recording ended",
                ok: false,
                got: &shown,
                diff: None,
            });
            return;
        };
        let what = Expect::Equal {
            binary: want.kind == MsgType::Binary,
            payload: want.payload.clone(),
            ignore: Vec::new(),
            ignore_json: Vec::new(),
        }
        .describe();
        let diff = mock
            .rules
            .differs(want.kind, &want.payload, m.kind, m.payload);
        self.deviated += u64::from(diff.is_some());
        d.emit(&Event::Expect {
            what: &what,
            ok: diff.is_none(),
            got: &shown,
            diff: diff.as_deref(),
        });
        self.at += 1;
        self.play(mock, now, tx, d);
    }

    /// `--replay`: the connection ended; how many times the client deviated (one more
    /// when it left before sending all the recording's client sent, said here).
    pub fn ended(&mut self, how: &Behaviour, d: &mut (impl Driver + ?Sized)) -> u64 {
        let Some(mock) = &how.mock else {
            return 0;
        };
        let left = mock.steps[self.at.min(mock.steps.len())..]
            .iter()
            .filter(|s| s.from_client)
            .count();
        if left > 0 {
            self.deviated += 1;
            let got = format!("the connection ended with {left} recorded message(s) not sent");
            d.emit(&Event::Expect {
                what: "the rest of the recording",
                ok: false,
                got: &got,
                diff: None,
            });
            // Said once.
            self.at = mock.steps.len();
        }
        self.deviated
    }

    /// A data message arrived: echo it (perhaps later), count it, close after N.
    pub fn message(
        &mut self,
        how: &Behaviour,
        now: Instant,
        m: &Msg<'_>,
        tx: &mut Tx,
        d: &mut (impl Driver + ?Sized),
    ) {
        self.msgs_in += 1;
        // STOMP: the heart-beats CONNECTED asked of us, from then on.
        if let Some(st) = self.stomp.as_mut() {
            use crate::proto::Decoder as _;
            st.decode(Dir::In, m.kind, m.payload, 0.0);
            if self.beat.is_none() {
                if let Some(ms) = st.heartbeat_interval_ms().filter(|ms| *ms > 0) {
                    let every = Duration::from_millis(ms);
                    self.beat = Some((every, now + every));
                }
            }
        }
        // `--proto`: the keep-alive the protocol needs (Engine.IO's ping gets its pong).
        if let Some(p) = self.speaks {
            if let Some((kind, bytes)) = p.decoder().keepalive(m.kind, m.payload) {
                if !tx.close_sent() && !tx.close_received() {
                    tx.send_data(d, kind, &bytes);
                }
            }
        }
        if let Some(mock) = &how.mock {
            self.follow(mock, now, m, tx, d);
        }
        let open = !tx.close_sent() && !tx.close_received();
        let due = how.delay.map(|d| now + d);
        if how.echo && open {
            match due {
                Some(at) => {
                    self.held += m.payload.len();
                    self.delayed
                        .push_back((at, Later::Echo(m.kind, m.payload.to_vec())));
                }
                // A fragmented message is echoed as one frame (compressed when the
                // extension is on).
                None => tx.send_data(d, m.kind, m.payload),
            }
        }
        if let Some((n, code, reason)) = &how.close_after {
            if self.msgs_in == *n {
                match due {
                    // After the echoes that wait.
                    Some(at) => {
                        self.held += reason.len();
                        self.delayed
                            .push_back((at, Later::Close(*code, reason.clone())));
                    }
                    None => tx.close(d, Some(*code), reason),
                }
            }
        }
    }

    /// Send what `--delay` held and is due now.
    pub fn due(&mut self, now: Instant, tx: &mut Tx, d: &mut (impl Driver + ?Sized)) {
        if let Some((every, at)) = self.beat {
            if now >= at && !tx.close_sent() && !tx.close_received() {
                tx.send_data(d, MsgType::Text, crate::proto::stomp::HEARTBEAT);
                self.beat = Some((every, now + every));
            }
        }
        while self.delayed.front().is_some_and(|e| e.0 <= now) {
            let Some((_, later)) = self.delayed.pop_front() else {
                break;
            };
            self.held -= match &later {
                Later::Echo(_, p) => p.len(),
                Later::Close(_, r) => r.len(),
            };
            if tx.close_sent() || tx.close_received() {
                continue;
            }
            match later {
                Later::Echo(kind, payload) => tx.send_data(d, kind, &payload),
                Later::Close(code, reason) => tx.close(d, Some(code), &reason),
            }
        }
    }

    /// When something held is due.
    pub fn wake_at(&self) -> Option<Instant> {
        let beat = self.beat.map(|(_, at)| at);
        match (self.delayed.front().map(|d| d.0), beat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Bytes held for later (`--delay`): they count against the high-water mark
    /// (`flow`).
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port that records what the engine asked, with a readiness the test sets.
    struct Rec {
        ready: Ready,
        acts: Vec<String>,
        events: Vec<String>,
    }

    impl Rec {
        fn new() -> Rec {
            Rec {
                ready: Ready::Open,
                acts: Vec::new(),
                events: Vec::new(),
            }
        }
        fn sent(&self) -> Vec<&str> {
            self.acts.iter().map(String::as_str).collect()
        }
        fn expects(&self) -> Vec<&str> {
            self.events
                .iter()
                .filter(|e| e.starts_with("expect"))
                .map(String::as_str)
                .collect()
        }
        fn closes(&self) -> usize {
            self.acts.iter().filter(|a| a.starts_with("close")).count()
        }
    }

    impl Port for Rec {
        fn ready(&self) -> Ready {
            self.ready.clone()
        }
        fn emit(&mut self, ev: &Event<'_>) {
            let s = match ev {
                Event::Expect { what, ok, got, .. } => format!("expect {what} ok={ok} got={got}"),
                Event::Error(e) => format!("error {}", e.msg),
                Event::Warning(w) => format!("warning {w}"),
                Event::Notice(n) => format!("notice {n}"),
                Event::Message { payload, .. } => {
                    format!("message {}", String::from_utf8_lossy(payload))
                }
                _ => "other".to_string(),
            };
            self.events.push(s);
        }
        fn act(&mut self, act: Act<'_>) -> Result<(), Error> {
            let s = match act {
                Act::Data { payload, .. } => format!("text {}", String::from_utf8_lossy(payload)),
                Act::Owned {
                    data, start, end, ..
                } => format!("text {}", String::from_utf8_lossy(&data[start..end])),
                Act::Ping(p) => format!("ping {}", String::from_utf8_lossy(p)),
                Act::Pong(_) => "pong".into(),
                Act::Close { code, reason } => format!("close {code} {reason}").trim().into(),
                Act::Frame(f) => format!("frame {:?}", f.opcode),
                Act::Quit => "quit".into(),
                other => format!("{other:?}"),
            };
            if s.starts_with("close") || s == "quit" {
                self.ready = Ready::Closing;
            }
            self.acts.push(s);
            Ok(())
        }
    }

    fn script(cfg: Config) -> Script {
        Script::new(Config {
            script: true,
            ..cfg
        })
    }

    fn client() -> Config {
        Config::new(Side::Client)
    }

    fn cmds(s: &mut Script, lines: &[&str]) {
        let batch = lines
            .iter()
            .map(|l| Input::Cmd(command::parse(l).expect(l)))
            .collect();
        s.push(batch);
    }

    fn lines(s: &mut Script, text: &str) {
        s.push(vec![Input::Lines {
            data: text.as_bytes().to_vec(),
            pos: 0,
            raw: false,
        }]);
    }

    fn text(t: &str) -> Msg<'_> {
        Msg {
            kind: MsgType::Text,
            payload: t.as_bytes(),
            frames: 1,
            wire: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The greeting arrives before the first send, or after it: `/expect` sees it
    /// either way, and the echo after it.
    #[test]
    fn expect_reads_what_came_before_or_after_it() {
        for greeting_first in [true, false] {
            for (re, skipped) in [("^welcome$", false), ("^hello$", true)] {
                let t0 = Instant::now();
                let mut s = script(client());
                let mut p = Rec::new();
                cmds(&mut s, &["hello", &format!("/expect text {re}")]);
                s.push(vec![Input::Eof]);
                if greeting_first {
                    s.received(t0, &text("welcome"), &mut p);
                }
                s.pump(t0, &mut p);
                if !greeting_first {
                    s.received(t0 + ms(1), &text("welcome"), &mut p);
                }
                s.received(t0 + ms(2), &text("hello"), &mut p);
                s.tick(t0 + ms(3), t0 + ms(2), &mut p);
                assert_eq!(
                    p.expects(),
                    vec![format!(
                        "expect text /{re}/ ok=true got=text {:?}",
                        if skipped { "hello" } else { "welcome" }
                    )],
                    "greeting first: {greeting_first}"
                );
                assert_eq!(
                    p.events
                        .iter()
                        .any(|e| e.contains("skipped text \"welcome\"")),
                    skipped
                );
                assert!(!s.failed());
            }
        }
    }

    #[test]
    fn expect_next_checks_only_the_next_message() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/expect next text ^b$"]);
        s.pump(t0, &mut p);
        s.received(t0, &text("a"), &mut p);
        s.received(t0, &text("b"), &mut p);
        assert_eq!(
            p.expects(),
            vec!["expect text /^b$/ ok=false got=text \"a\""]
        );
        assert!(s.failed());
    }

    #[test]
    fn expect_times_out_with_what_came_instead() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/expect text ^x$ within 100", "after"]);
        s.pump(t0, &mut p);
        s.received(t0 + ms(10), &text("y"), &mut p);
        assert_eq!(s.deadline(t0), Some(t0 + ms(100)));
        s.tick(t0 + ms(99), t0, &mut p);
        assert!(p.expects().is_empty());
        assert!(p.sent().is_empty(), "the next command waits");
        s.tick(t0 + ms(100), t0, &mut p);
        assert_eq!(
            p.expects(),
            vec!["expect text /^x$/ ok=false got=text \"y\" (nothing matched before the timeout)"]
        );
        assert_eq!(p.sent(), vec!["text after"], "the script goes on");
        assert!(s.failed());
    }

    #[test]
    fn expect_close_needs_a_close_that_passed_the_checks() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/expect close 4000 within 50"]);
        s.pump(t0, &mut p);
        // A close frame the core rejected never reaches `peer_closed`.
        s.tick(t0 + ms(50), t0, &mut p);
        assert_eq!(
            p.expects(),
            vec!["expect close 4000 ok=false got=nothing before the timeout"]
        );
        let mut s = script(client());
        let mut p = Rec::new();
        s.peer_closed(t0, Some(4000), "bye", &mut p);
        cmds(&mut s, &["/expect close 4000"]);
        p.ready = Ready::Closing;
        s.pump(t0, &mut p);
        assert_eq!(
            p.expects(),
            vec!["expect close 4000 ok=true got=close 4000 \"bye\""]
        );
    }

    #[test]
    fn expect_pong_and_fail_fast_quits() {
        let t0 = Instant::now();
        let mut s = script(Config {
            fail_fast: true,
            ..client()
        });
        let mut p = Rec::new();
        cmds(
            &mut s,
            &["/ping a", "/expect pong", "/expect text ^z$", "never"],
        );
        s.pump(t0, &mut p);
        s.pong(t0, &mut p);
        s.pump(t0, &mut p);
        s.received(t0, &text("y"), &mut p);
        s.tick(t0 + ms(5000), t0, &mut p);
        assert_eq!(p.sent(), vec!["ping a", "quit"]);
        assert_eq!(p.expects().len(), 2);
        assert!(s.stopped() && s.failed());
    }

    /// `/wait N` consumes N messages not consumed before, whenever they came.
    #[test]
    fn wait_counts_messages_not_yet_consumed() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        s.received(t0, &text("greeting"), &mut p);
        cmds(&mut s, &["a", "/wait 2 500", "b", "/wait 1 100", "c"]);
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text a"]);
        s.received(t0 + ms(1), &text("a"), &mut p);
        s.pump(t0 + ms(1), &mut p);
        assert_eq!(p.sent(), vec!["text a", "text b"]);
        s.tick(t0 + ms(101), t0, &mut p);
        assert!(s.failed(), "the second /wait timed out");
        assert_eq!(p.sent(), vec!["text a", "text b", "text c"]);
        assert!(p
            .events
            .iter()
            .any(|e| e.contains("/wait: expected 1 data message(s)")));
    }

    #[test]
    fn comments_and_blank_lines_send_nothing() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        lines(
            &mut s,
            "# login flow\n\n   \nuser\n/text\n/text # x\n#/close\n",
        );
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text user", "text ", "text # x"]);
        assert!(!s.failed());
    }

    #[test]
    fn a_bad_line_fails_the_script_and_the_rest_runs() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        lines(&mut s, "/bogus\nok\n");
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text ok"]);
        assert!(s.failed());
        assert!(p.events[0].starts_with("error /bogus: expected one of"));
    }

    /// End of input without --linger: once every message had a reply and 10 ms passed
    /// quietly; while some are unanswered, after 1000 ms of quiet.
    #[test]
    fn linger_default_waits_for_replies_then_quiet() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        lines(&mut s, "1\n2\n3\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        assert_eq!(p.closes(), 0);
        // One echo every 300 ms: never 1000 ms of quiet, never all answered until 900.
        for i in 1..=3u64 {
            let at = t0 + ms(300 * i);
            s.tick(at - ms(1), at - ms(300).min(at - t0), &mut p);
            assert_eq!(p.closes(), 0, "closed before reply {i}");
            s.received(at, &text(&i.to_string()), &mut p);
        }
        let last = t0 + ms(900);
        assert_eq!(s.deadline(last), Some(last + QUIET_ANSWERED));
        s.tick(last + ms(9), last, &mut p);
        assert_eq!(p.closes(), 0);
        s.tick(last + ms(10), last, &mut p);
        assert_eq!(p.sent().last(), Some(&"close 1000"));
    }

    #[test]
    fn linger_default_gives_up_after_1000_ms_of_quiet() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        lines(&mut s, "q\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.tick(t0 + ms(999), t0, &mut p);
        assert_eq!(p.closes(), 0);
        s.tick(t0 + ms(1000), t0, &mut p);
        assert_eq!(p.closes(), 1);
    }

    /// `--linger MS`: MS of quiet, answered or not (the ack-then-result server).
    #[test]
    fn linger_given_waits_for_quiet_answered_or_not() {
        let t0 = Instant::now();
        let mut s = script(Config {
            linger: Some(ms(1000)),
            ..client()
        });
        let mut p = Rec::new();
        lines(&mut s, "q\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.received(t0 + ms(1), &text("ack"), &mut p);
        s.tick(t0 + ms(400), t0 + ms(1), &mut p);
        assert_eq!(
            p.closes(),
            0,
            "answered, but --linger asks for 1000 ms of quiet"
        );
        s.received(t0 + ms(401), &text("result"), &mut p);
        s.tick(t0 + ms(1400), t0 + ms(401), &mut p);
        assert_eq!(p.closes(), 0);
        s.tick(t0 + ms(1401), t0 + ms(401), &mut p);
        assert_eq!(p.closes(), 1);
    }

    #[test]
    fn linger_zero_and_nothing_sent_close_at_once_and_lingering_is_capped() {
        let t0 = Instant::now();
        for (cfg, input) in [
            (
                Config {
                    linger: Some(Duration::ZERO),
                    ..client()
                },
                "x\n",
            ),
            (client(), "# nothing\n"),
        ] {
            let mut s = script(cfg);
            let mut p = Rec::new();
            lines(&mut s, input);
            s.push(vec![Input::Eof]);
            s.pump(t0, &mut p);
            assert_eq!(p.closes(), 1, "{input:?}");
            assert!(s.stopped());
        }
        // A peer that never stops sending: at most 10 quiet periods after the end.
        let mut s = script(client());
        let mut p = Rec::new();
        lines(&mut s, "x\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.tick(t0 + ms(9999), t0 + ms(9990), &mut p);
        assert_eq!(p.closes(), 0);
        s.tick(t0 + ms(10_000), t0 + ms(9999), &mut p);
        assert_eq!(p.closes(), 1);
    }

    #[test]
    fn keep_open_and_the_repl_do_not_linger() {
        let t0 = Instant::now();
        let mut s = script(Config {
            keep_open: true,
            ..client()
        });
        let mut p = Rec::new();
        lines(&mut s, "x\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.tick(t0 + ms(60_000), t0, &mut p);
        assert_eq!(p.closes(), 0);
        assert_eq!(s.deadline(t0), None);
        // The REPL (Ctrl-D): close at once.
        let mut s = Script::new(client());
        let mut p = Rec::new();
        cmds(&mut s, &["x"]);
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text x", "close 1000"]);
    }

    #[test]
    fn explicit_close_warns_about_unanswered_messages() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        lines(&mut s, "a\nb\n/close 1000 bye\nc\n");
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.received(t0, &text("a"), &mut p);
        assert_eq!(p.sent(), vec!["text a", "text b", "close 1000 bye"]);
        assert!(p
            .events
            .iter()
            .any(|e| e.contains("2 data message(s) sent")));
        assert!(s.stopped());
        s.finish("the connection is closed", &mut p);
        assert!(p
            .events
            .iter()
            .any(|e| e == "warning 1 queued command(s) were not sent: the connection is closed"));
    }

    #[test]
    fn max_messages_delivers_exactly_n_then_closes() {
        let t0 = Instant::now();
        let mut s = script(Config {
            max_messages: Some(2),
            ..client()
        });
        let mut p = Rec::new();
        for m in ["1", "2", "3"] {
            s.received(t0, &text(m), &mut p);
        }
        let shown: Vec<&String> = p
            .events
            .iter()
            .filter(|e| e.starts_with("message"))
            .collect();
        assert_eq!(shown, vec!["message 1", "message 2"]);
        assert_eq!(p.closes(), 1);
        assert_eq!(s.delivered(), 2);
    }

    /// The queue `/wait` and `/expect` read holds nothing in the REPL, nothing once no
    /// `/wait` or `/expect` is left, and at most `--max-size` bytes (the oldest go, and
    /// the next reader is told).
    #[test]
    fn the_received_queue_is_held_only_when_needed_and_bounded() {
        let t0 = Instant::now();
        let mut s = Script::new(client());
        let mut p = Rec::new();
        s.received(t0, &text("early"), &mut p);
        cmds(&mut s, &["/wait 1 100"]);
        s.pump(t0, &mut p);
        s.tick(t0 + ms(100), t0, &mut p);
        assert!(
            p.events.iter().any(|e| e.contains("/wait: expected 1")),
            "REPL holds nothing"
        );

        let mut s = script(client());
        let mut p = Rec::new();
        s.push(vec![Input::Eof]);
        s.received(t0, &text("x"), &mut p);
        assert_eq!(
            s.inbox.msgs.len(),
            0,
            "input over, nothing ahead: nothing held"
        );

        let mut s = script(Config {
            max_size: 10,
            ..client()
        });
        let mut p = Rec::new();
        for m in ["aaaa", "bbbb", "cccc"] {
            s.received(t0, &text(m), &mut p);
        }
        assert_eq!(s.inbox.bytes, 8);
        cmds(&mut s, &["/expect text ^bbbb$"]);
        s.pump(t0, &mut p);
        assert!(p
            .events
            .iter()
            .any(|e| e.contains("1 received message(s) were dropped")
                && e.contains("raise --max-size")));
        assert_eq!(
            p.expects(),
            vec!["expect text /^bbbb$/ ok=true got=text \"bbbb\""]
        );
    }

    /// While input goes on with no `/wait` or `/expect` in sight, the queue keeps at
    /// most `SPECULATIVE` bytes (a piped feed pays about nothing); one in sight gives it
    /// `--max-size`; a reader after an early drop is told to move earlier.
    #[test]
    fn a_feed_without_a_wait_in_sight_keeps_little() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        let big = "x".repeat(300 * 1024);
        for _ in 0..10 {
            s.received(t0, &text(&big), &mut p);
        }
        assert!(s.inbox.bytes <= SPECULATIVE, "{}", s.inbox.bytes);
        assert_eq!(s.inbox.msgs.len(), 3);
        cmds(&mut s, &["/wait 3 100"]);
        s.pump(t0, &mut p);
        assert!(
            p.events
                .iter()
                .any(|e| e.contains("put the /wait or /expect earlier")),
            "{:?}",
            p.events
        );
        // A /wait in sight: --max-size bounds it.
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/sleep 1000", "/wait 10 5000"]);
        s.pump(t0, &mut p);
        for _ in 0..10 {
            s.received(t0, &text(&big), &mut p);
        }
        assert_eq!(s.inbox.msgs.len(), 10);
    }

    /// The speculative queue is bounded in messages too (small messages, far under
    /// `SPECULATIVE` bytes); the newest are kept, and a `/wait` in sight lifts it.
    #[test]
    fn a_feed_of_small_messages_keeps_at_most_speculative_msgs() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        for i in 0..3 * SPECULATIVE_MSGS {
            s.received(t0, &text(&format!("m{i}")), &mut p);
        }
        assert_eq!(s.inbox.msgs.len(), SPECULATIVE_MSGS);
        let last = format!("m{}", 3 * SPECULATIVE_MSGS - 1);
        assert_eq!(
            s.inbox.msgs.back().map(|m| m.1.as_slice()),
            Some(last.as_bytes())
        );
        assert_eq!(s.inbox.dropped, 2 * SPECULATIVE_MSGS as u64);
        let mut s = script(client());
        cmds(&mut s, &["/sleep 1000", "/wait 1 5000"]);
        s.pump(t0, &mut p);
        for i in 0..3 * SPECULATIVE_MSGS {
            s.received(t0, &text(&format!("m{i}")), &mut p);
        }
        assert_eq!(s.inbox.msgs.len(), 3 * SPECULATIVE_MSGS);
    }

    #[test]
    fn no_target_waits_in_a_script_and_says_who_is_missing() {
        assert!(matches!(
            no_target(true, None, "client", "is not connected"),
            Ready::Wait
        ));
        match no_target(true, Some(3), "pair", "is not open") {
            Ready::Nobody(m) => assert_eq!(
                m,
                "expected a pair to send to: pair #3 is not open (see /clients, /to all); nothing sent"
            ),
            _ => panic!("expected Nobody"),
        }
        assert!(matches!(
            no_target(false, None, "client", "is not connected"),
            Ready::Nobody(m) if m.contains("no client is connected")
        ));
    }

    #[test]
    fn commands_wait_for_a_connection_or_fail_with_nobody() {
        let t0 = Instant::now();
        let mut s = script(Config::new(Side::Listen));
        let mut p = Rec::new();
        p.ready = Ready::Wait;
        cmds(&mut s, &["hi", "/sleep 5"]);
        s.pump(t0, &mut p);
        assert!(p.sent().is_empty() && s.runnable());
        p.ready = Ready::Open;
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text hi"]);

        let mut s = Script::new(Config::new(Side::Listen));
        let mut p = Rec::new();
        p.ready = Ready::Nobody("expected a client to send to: no client is connected".into());
        cmds(&mut s, &["hi", "/reconnect"]);
        s.pump(t0, &mut p);
        assert_eq!(p.events.len(), 2);
        assert!(p.events[1].contains("/reconnect: expected in the client only"));
        assert!(!s.failed(), "the REPL does not fail a script");
    }

    #[test]
    fn listen_commands_are_refused_by_the_client() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/kick 1", "/to 2", "/clients"]);
        s.pump(t0, &mut p);
        assert!(p.sent().is_empty());
        assert_eq!(p.events.len(), 3);
        assert!(s.failed());
    }

    #[test]
    fn expectations_never_reached_fail_at_the_end() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        p.ready = Ready::Wait;
        lines(&mut s, "a\n/expect text ^a$\n");
        cmds(&mut s, &["/expect pong"]);
        s.push(vec![Input::Eof]);
        s.pump(t0, &mut p);
        s.finish("could not connect", &mut p);
        assert_eq!(p.expects().len(), 2);
        assert!(p.expects().iter().all(|e| e.contains("never checked")));
        assert!(p
            .events
            .iter()
            .any(|e| e == "warning 1 queued command(s) were not sent: could not connect"));
        assert!(s.failed());
    }

    #[test]
    fn sleep_blocks_until_its_time() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/sleep 50", "x"]);
        s.pump(t0, &mut p);
        assert_eq!(s.deadline(t0), Some(t0 + ms(50)));
        s.tick(t0 + ms(49), t0, &mut p);
        assert!(p.sent().is_empty());
        s.tick(t0 + ms(50), t0, &mut p);
        assert_eq!(p.sent(), vec!["text x"]);
    }

    #[test]
    fn close_code_checks_warn_and_send_as_asked() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/close 1005"]);
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["close 1005"]);
        assert!(p.events[0].contains("RFC 6455 7.4.1"));
    }

    #[test]
    fn compress_1_without_deflate_fails_and_sends_nothing() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        cmds(&mut s, &["/text compress=1 hi"]);
        s.pump(t0, &mut p);
        assert!(p.sent().is_empty());
        assert!(s.failed());
    }

    #[test]
    fn file_is_refused_when_not_a_regular_file_or_too_big() {
        let t0 = Instant::now();
        let mut s = script(Config {
            max_size: 4,
            ..client()
        });
        let mut p = Rec::new();
        let dir = std::env::temp_dir().join(format!("wsdbg-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big");
        std::fs::write(&big, b"12345").unwrap();
        let small = dir.join("small");
        std::fs::write(&small, b"1234").unwrap();
        cmds(
            &mut s,
            &[
                "/file /dev/zero",
                &format!("/file {}", big.display()),
                &format!("/file {}", small.display()),
            ],
        );
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text 1234"]);
        assert!(p.events[0].contains("expected a regular file"));
        assert!(p.events[1].contains("larger than --max-size"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_send_queue_holds_the_lines_in_order() {
        let t0 = Instant::now();
        let mut s = script(client());
        let mut p = Rec::new();
        p.ready = Ready::Full;
        lines(&mut s, "a\nb\n");
        s.pump(t0, &mut p);
        assert!(p.sent().is_empty());
        p.ready = Ready::Open;
        s.pump(t0, &mut p);
        assert_eq!(p.sent(), vec!["text a", "text b"]);
    }
}
