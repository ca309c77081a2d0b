//! What happened, as data. The session and the listen server produce these;
//! the renderers turn them into bytes. Nothing here does I/O.
//!
//! Events borrow their payloads so that a frame is never copied just to be shown.

use std::time::Duration;

use crate::error::Error;
pub use crate::wire::OpCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
        }
    }
}

/// Who started the closing handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    Local,
    Remote,
}

impl Initiator {
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Local => "local",
            Initiator::Remote => "remote",
        }
    }
}

/// An HTTP request or response head, headers in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpHead {
    /// `GET` for a request, empty for a response.
    pub method: String,
    /// Request target for a request, empty for a response.
    pub path: String,
    /// Status code for a response, 0 for a request.
    pub status: u16,
    /// Reason phrase for a response.
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

/// A completed opening handshake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Handshake {
    pub url: String,
    pub request: HttpHead,
    pub response: HttpHead,
    /// Negotiated subprotocol.
    pub protocol: Option<String>,
    /// permessage-deflate, when the response agreed to it.
    pub deflate: Option<crate::deflate::Agreed>,
    /// From the start of the TCP connect to the 101 response.
    pub elapsed: Duration,
}

/// One frame as it crossed the wire. `payload` is unmasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEv<'a> {
    pub dir: Dir,
    pub fin: bool,
    pub rsv: [bool; 3],
    /// Reserved ones included.
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Text,
    Binary,
}

impl MsgType {
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Text => "text",
            MsgType::Binary => "binary",
        }
    }
}

/// Counters and state for `/info`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    pub handshake: Option<Handshake>,
    pub frames_in: u64,
    pub frames_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub uptime: Duration,
    pub last_rtt: Option<Duration>,
    pub state: &'static str,
    /// The address the connection went to (`--resolve`, `--connect-to`, `-4`/`-6`
    /// show what they chose), when it has one (not a Unix socket).
    pub peer: Option<String>,
}

/// One row of `listen`'s `/clients`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    pub id: u64,
    pub peer: String,
    pub path: String,
    pub protocol: Option<String>,
    pub uptime: Duration,
    pub frames_in: u64,
    pub frames_out: u64,
    /// `/to` picked it.
    pub selected: bool,
}

/// `probe`'s verdict counts, after the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub checks: usize,
    pub pass: usize,
    pub fail: usize,
    pub lenient: usize,
    pub not_applicable: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// `listen`: `/clients` (and `/info`): the clients connected now.
    Clients(&'a [ClientRow]),
    /// `probe`: the counts of the verdicts, once every check ran.
    Summary(&'a Tally),
    /// Before the TCP connect: where we are going.
    Connecting {
        url: &'a str,
    },
    Handshake(&'a Handshake),
    /// `-L`: a 3xx answer to the handshake, followed to `to` (hop 1, 2, ...); the
    /// refusal holds the request sent and the response.
    Redirect {
        hop: u32,
        to: &'a str,
        refusal: &'a crate::error::Refusal,
    },
    Frame(FrameEv<'a>),
    /// A complete data message, after its last fragment (inflated, when it came
    /// compressed).
    Message {
        dir: Dir,
        kind: MsgType,
        payload: &'a [u8],
        frames: u64,
        /// permessage-deflate: `Some(bytes on the wire)` when it was compressed.
        wire: Option<u64>,
    },
    /// A pong that answers a ping we sent.
    Pong {
        rtt: Duration,
        payload: &'a [u8],
    },
    /// The closing handshake ended (or gave up waiting): what each side's close frame
    /// said, who started, whether both frames were exchanged.
    Close {
        /// Our close frame, when we sent one.
        sent: Option<CloseFrame<'a>>,
        /// The peer's close frame, when one arrived.
        received: Option<CloseFrame<'a>>,
        initiator: Initiator,
        clean: bool,
        /// How long the reply took, when there was one.
        reply_after: Option<Duration>,
    },
    /// The TCP connection is gone. 1006 when no close frame was received.
    Disconnected {
        code: u16,
        reason: &'a str,
    },
    Reconnect {
        attempt: u32,
        delay_ms: u64,
    },
    Error(&'a Error),
    /// Something a user should know that is not an error (`-k`, a forbidden close code sent on purpose).
    Warning(&'a str),
    /// Text the user asked for (`/help`).
    Notice(&'a str),
    Info(&'a Info),
    /// `/expect`: what was expected, and whether it came (else what came instead).
    Expect {
        what: &'a str,
        ok: bool,
        got: &'a str,
        /// For a recorded message that came otherwise (`replay`, `listen --replay`):
        /// how it differs (`compare`), a line or a few.
        diff: Option<&'a str>,
    },
    /// `probe`: one check's result.
    Check(&'a CheckResult),
    /// `listen` is bound and accepting.
    Listening {
        addr: &'a str,
        /// `wss://` (listen --tls-cert) rather than `ws://`.
        tls: bool,
    },
    /// `listen`: a client connected (after its handshake) or left.
    Client {
        peer: &'a str,
        connected: bool,
        /// On connect: its upgrade request and the subprotocol chosen.
        request: Option<&'a HttpHead>,
        protocol: Option<&'a str>,
    },
}

/// What one close frame said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// `None` for a close frame without a code.
    pub code: Option<u16>,
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// The frame of the side that started the closing handshake (the JSON top-level
    /// `code` and `reason`).
    pub fn initiators(
        initiator: Initiator,
        sent: Option<CloseFrame<'a>>,
        received: Option<CloseFrame<'a>>,
    ) -> Option<CloseFrame<'a>> {
        match initiator {
            Initiator::Local => sent,
            Initiator::Remote => received,
        }
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Lenient,
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Lenient => "lenient",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// One check's result, as shown.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub rfc: &'static str,
    pub expected: String,
    pub observed: String,
    pub verdict: Verdict,
    pub elapsed: Duration,
}

/// The connection's state, for the REPL prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Connecting,
    Open,
    Closing,
    /// Waiting this long before the next attempt.
    Reconnecting(Duration),
    Closed,
}

/// What the REPL prompt shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptView {
    /// The client: its connection's state.
    Conn(ConnState),
    /// `listen`: how many clients, and which one commands go to (`None`: all).
    Listen { clients: usize, to: Option<u64> },
}

impl Default for PromptView {
    fn default() -> Self {
        PromptView::Conn(ConnState::default())
    }
}

/// `relay`: the two connections of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    /// Between the client and wsdbg.
    Client,
    /// Between wsdbg and the server (the relay's URL).
    Server,
}

impl Leg {
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Client => "client",
            Leg::Server => "server",
        }
    }

    /// The other leg of the pair.
    pub fn other(self) -> Leg {
        match self {
            Leg::Client => Leg::Server,
            Leg::Server => Leg::Client,
        }
    }
}

/// When and for whom an event happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ctx {
    /// Since the program started.
    pub t: Duration,
    /// `listen`: which client (1, 2, ...).
    pub client: Option<u64>,
    /// `relay`: which leg of the pair the event is about.
    pub leg: Option<Leg>,
    /// What the time column shows (`--timestamps`).
    pub stamp: Stamp,
}

/// `--timestamps`: the time column of pretty output, and JSON's `time`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stamp {
    /// Seconds since start (`t`), the default.
    #[default]
    Relative,
    /// The wall clock, as time since the Unix epoch: RFC 3339 in UTC, milliseconds.
    Wall(Duration),
    /// No time column.
    None,
}

/// The code and reason of a close frame payload. `None` code for an empty payload
/// (a 1-byte payload is a protocol error; its code is `None` as well).
pub fn close_parts(payload: &[u8]) -> (Option<u16>, &[u8]) {
    if payload.len() >= 2 {
        (
            Some(u16::from_be_bytes([payload[0], payload[1]])),
            &payload[2..],
        )
    } else {
        (None, &[])
    }
}

/// The RFC 6455 / IANA name of a close code (see `wire::CloseCode`).
pub fn close_code_name(code: u16) -> &'static str {
    crate::wire::CloseCode::from(code).name()
}

/// The name of an opcode as the contract spells it in JSON; `None` for reserved ones.
pub use crate::wire::opcode_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_parts_splits_code_and_reason() {
        assert_eq!(
            close_parts(&[0x03, 0xe8, b'o', b'k']),
            (Some(1000), &b"ok"[..])
        );
        assert_eq!(close_parts(&[]), (None, &b""[..]));
        assert_eq!(close_parts(&[0x03]), (None, &b""[..]));
    }

    #[test]
    fn names() {
        assert_eq!(close_code_name(1006), "Abnormal Closure");
        assert_eq!(close_code_name(4001), "Private Use");
        assert_eq!(opcode_name(OpCode::Continue), Some("continuation"));
        assert_eq!(opcode_name(OpCode::Reserved(3)), None);
    }
}
