//! Frames on the wire: encode any bits asked, decode incrementally, and check a
//! received frame against RFC 6455 (`check` returns the rule broken). No I/O, no printing.
//! Headers are encoded by hand on the hot path and held equal to tungstenite's
//! `FrameHeader::format` by a property test.
//!
//! The decoder is our own: tungstenite's `FrameHeader::parse` rejects reserved opcodes,
//! and a debugger must show them. Nothing here allocates from an announced length.

/// An opcode (RFC 6455 5.2), a reserved one kept as it came (3-7, 11-15), since a
/// debugger shows and sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0: a continuation frame.
    Continue,
    /// 1
    Text,
    /// 2
    Binary,
    /// 8
    Close,
    /// 9
    Ping,
    /// 10
    Pong,
    /// 3-7 (data) and 11-15 (control).
    Reserved(u8),
}

impl OpCode {
    /// The opcode in the low 4 bits of `n`.
    pub fn from_u8(n: u8) -> OpCode {
        match n & 0x0f {
            0 => OpCode::Continue,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            n => OpCode::Reserved(n),
        }
    }

    /// Its number on the wire, 0-15.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continue => 0,
            OpCode::Text => 1,
            OpCode::Binary => 2,
            OpCode::Close => 8,
            OpCode::Ping => 9,
            OpCode::Pong => 10,
            OpCode::Reserved(n) => n & 0x0f,
        }
    }

    /// Control frames (8-15) have the high bit of the opcode set (RFC 6455 5.5).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x08 != 0
    }

    /// The name as in the JSON output, or `None` for a reserved one.
    pub fn name(self) -> Option<&'static str> {
        opcode_name(self)
    }
}

impl From<u8> for OpCode {
    fn from(n: u8) -> OpCode {
        OpCode::from_u8(n)
    }
}

/// The longest header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// Which end of the connection we are: it decides which frames must be masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// A decoded frame header, any bits as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub rsv: [bool; 3],
    /// Reserved ones included.
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    /// Payload length as announced (may be huge: never allocate from it unchecked).
    pub len: u64,
}

/// A broken rule: the close code to answer with, the rule, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 1002, 1007 (bad UTF-8) or 1009 (too big).
    pub close_code: u16,
    /// `"RFC 6455 5.1"`
    pub rule: &'static str,
    pub msg: String,
}

impl Violation {
    fn protocol(rule: &'static str, msg: String) -> Violation {
        Violation {
            close_code: 1002,
            rule,
            msg,
        }
    }
}

/// Write a header for `h` (its `len` is the payload length) into `out`.
///
/// Any bits are written as asked (reserved opcodes, RSV bits, fragmented control
/// frames, no mask); the length takes the shortest of the 7/16/64-bit forms (RFC 6455
/// 5.2). Written byte by byte here, on the hot path of every frame sent; a property
/// test holds it equal to tungstenite's `FrameHeader::format`.
#[inline]
pub fn encode_header(h: &Header, out: &mut Vec<u8>) {
    let mut b = [0u8; MAX_HEADER_LEN];
    b[0] = (u8::from(h.fin) << 7)
        | (u8::from(h.rsv[0]) << 6)
        | (u8::from(h.rsv[1]) << 5)
        | (u8::from(h.rsv[2]) << 4)
        | (h.opcode.as_u8() & 0x0f);
    let masked = u8::from(h.mask.is_some()) << 7;
    let mut n = 2;
    if h.len < 126 {
        b[1] = masked | h.len as u8;
    } else if h.len <= 0xffff {
        b[1] = masked | 126;
        b[2..4].copy_from_slice(&(h.len as u16).to_be_bytes());
        n = 4;
    } else {
        b[1] = masked | 127;
        b[2..10].copy_from_slice(&h.len.to_be_bytes());
        n = 10;
    }
    if let Some(key) = h.mask {
        b[n..n + 4].copy_from_slice(&key);
        n += 4;
    }
    out.extend_from_slice(&b[..n]);
}

/// How many bytes `encode_header` writes for `h`.
pub fn header_len(h: &Header) -> usize {
    let ext = match h.len {
        0..=125 => 0,
        126..=0xffff => 2,
        _ => 8,
    };
    2 + ext + if h.mask.is_some() { 4 } else { 0 }
}

/// Decode a header from the start of `buf`. `None`: need more bytes.
/// Returns the header and how many bytes it took.
///
/// Any opcode and any bits are accepted (judging them is `Checker`'s job), and so are
/// lengths not in their shortest form; the length is returned, never allocated.
pub fn decode_header(buf: &[u8]) -> Option<(Header, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, mut pos) = match b1 & 0x7f {
        126 => {
            let b: [u8; 2] = buf.get(2..4)?.try_into().ok()?;
            (u64::from(u16::from_be_bytes(b)), 4)
        }
        127 => {
            let b: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(pos..pos + 4)?.try_into().ok()?;
        pos += 4;
        Some(key)
    } else {
        None
    };
    let h = Header {
        fin: b0 & 0x80 != 0,
        rsv: [b0 & 0x40 != 0, b0 & 0x20 != 0, b0 & 0x10 != 0],
        opcode: OpCode::from_u8(b0),
        mask,
        len,
    };
    Some((h, pos))
}

/// XOR `buf` with `key`, as if `buf` started `offset` bytes into the payload.
///
/// Applying it twice restores the input; a payload masked in pieces (each with its own
/// offset) equals the payload masked at once.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as seen from buf[0]: byte i of the payload is XORed with key[i % 4].
    let r = offset % 4;
    let k4 = [key[r], key[(r + 1) % 4], key[(r + 2) % 4], key[(r + 3) % 4]];
    // 8 is a multiple of 4, so every 8-byte chunk starts at the same key phase.
    let wide = u64::from_ne_bytes([k4[0], k4[1], k4[2], k4[3], k4[0], k4[1], k4[2], k4[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(w) ^ wide;
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= k4[i % 4];
    }
}

/// A close code (RFC 6455 7.4 and the IANA registry), as a type: the named codes, and
/// the ranges as arms that keep their number, like `OpCode::Reserved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    Normal,
    GoingAway,
    ProtocolError,
    Unsupported,
    /// 1005: no code was in the close frame (never on the wire).
    NoStatus,
    /// 1006: no close frame at all (never on the wire).
    Abnormal,
    InvalidPayload,
    Policy,
    TooBig,
    MandatoryExtension,
    Internal,
    Restart,
    TryAgain,
    BadGateway,
    /// 1015: the TLS handshake failed (never on the wire).
    Tls,
    /// 3000-3999: registered with IANA by libraries and frameworks.
    Registered(u16),
    /// 4000-4999: private use by applications.
    Private(u16),
    /// 1004, 1016-2999: reserved; 0-999 and 5000 and above: not used.
    Reserved(u16),
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        use CloseCode::*;
        match code {
            1000 => Normal,
            1001 => GoingAway,
            1002 => ProtocolError,
            1003 => Unsupported,
            1005 => NoStatus,
            1006 => Abnormal,
            1007 => InvalidPayload,
            1008 => Policy,
            1009 => TooBig,
            1010 => MandatoryExtension,
            1011 => Internal,
            1012 => Restart,
            1013 => TryAgain,
            1014 => BadGateway,
            1015 => Tls,
            3000..=3999 => Registered(code),
            4000..=4999 => Private(code),
            _ => Reserved(code),
        }
    }
}

impl CloseCode {
    pub fn code(self) -> u16 {
        use CloseCode::*;
        match self {
            Normal => 1000,
            GoingAway => 1001,
            ProtocolError => 1002,
            Unsupported => 1003,
            NoStatus => 1005,
            Abnormal => 1006,
            InvalidPayload => 1007,
            Policy => 1008,
            TooBig => 1009,
            MandatoryExtension => 1010,
            Internal => 1011,
            Restart => 1012,
            TryAgain => 1013,
            BadGateway => 1014,
            Tls => 1015,
            Registered(c) | Private(c) | Reserved(c) => c,
        }
    }

    /// The RFC 6455 / IANA name.
    pub fn name(self) -> &'static str {
        use CloseCode::*;
        match self {
            Normal => "Normal Closure",
            GoingAway => "Going Away",
            ProtocolError => "Protocol Error",
            Unsupported => "Unsupported Data",
            NoStatus => "No Status Received",
            Abnormal => "Abnormal Closure",
            InvalidPayload => "Invalid Frame Payload Data",
            Policy => "Policy Violation",
            TooBig => "Message Too Big",
            MandatoryExtension => "Mandatory Extension",
            Internal => "Internal Error",
            Restart => "Service Restart",
            TryAgain => "Try Again Later",
            BadGateway => "Bad Gateway",
            Tls => "TLS Handshake",
            Registered(_) => "Registered",
            Private(_) => "Private Use",
            Reserved(1004 | 1016..=2999) => "Reserved",
            Reserved(_) => "Invalid",
        }
    }

    /// Allowed in a close frame on the wire (RFC 6455 7.4)?
    ///
    /// 1000-1003 and 1007-1014 (RFC 6455 7.4.1 and the IANA registry), 3000-4999
    /// (7.4.2: registered and private use). Never on the wire: 0-999, 1004 (reserved),
    /// 1005 and 1006 (no code / no close frame), 1015 (TLS failure), 1016-2999 (reserved
    /// for future RFCs), 5000 and above. Unlike tungstenite's `CloseCode::is_allowed`,
    /// 1014 (IANA: bad gateway) is allowed.
    pub fn allowed_on_wire(self) -> bool {
        !matches!(
            self,
            CloseCode::NoStatus | CloseCode::Abnormal | CloseCode::Tls | CloseCode::Reserved(_)
        )
    }
}

/// Is this close code allowed in a close frame on the wire (RFC 6455 7.4)?
pub fn close_code_allowed(code: u16) -> bool {
    CloseCode::from(code).allowed_on_wire()
}

/// Incremental UTF-8 validation of a text message that arrives in pieces: a character
/// split across two pieces is valid; a sequence cut off at the end of the message is not.
/// An invalid byte is reported as soon as the piece holding it is fed.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The start of a character whose remaining bytes are in the next piece.
    pending: [u8; 4],
    npending: usize,
    /// Bytes fed since the last reset.
    seen: u64,
}

impl Utf8Validator {
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Forget everything: the next piece starts a new message.
    pub fn reset(&mut self) {
        *self = Utf8Validator::default();
    }

    /// Validate the next piece. `Err(pos)`: the invalid sequence starts `pos` bytes
    /// into the message (counting every byte fed since the last reset).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), u64> {
        let start = self.seen;
        let mut rest = bytes;
        let mut base = start;
        if self.npending > 0 {
            let n = self.npending;
            let lead_at = start - n as u64;
            let width = utf8_width(self.pending[0]);
            if width <= n {
                return Err(lead_at);
            }
            let take = (width - n).min(rest.len());
            self.pending[n..n + take].copy_from_slice(&rest[..take]);
            let have = n + take;
            match std::str::from_utf8(&self.pending[..have]) {
                Ok(_) => self.npending = 0,
                Err(e) if e.error_len().is_none() && take == rest.len() => {
                    // Still cut off, and this piece is used up.
                    self.npending = have;
                    self.seen = start + bytes.len() as u64;
                    return Ok(());
                }
                Err(_) => return Err(lead_at),
            }
            rest = &rest[take..];
            base += take as u64;
        }
        // ASCII (most text) is checked a word at a time; std's from_utf8 costs about
        // 130 instructions for a 32-byte line.
        if let Err(e) = utf8(rest) {
            let at = e.valid_up_to();
            if e.error_len().is_some() {
                return Err(base + at as u64);
            }
            // A valid start of a character, cut off by the end of the piece (1-3 bytes).
            let tail = &rest[at..];
            self.pending[..tail.len()].copy_from_slice(tail);
            self.npending = tail.len();
        }
        self.seen = start + bytes.len() as u64;
        Ok(())
    }

    /// The message ended: a character cut off at the end is invalid. `Err(pos)` as in
    /// `feed`. Resets for the next message either way.
    pub fn finish(&mut self) -> Result<(), u64> {
        let r = if self.npending > 0 {
            Err(self.seen - self.npending as u64)
        } else {
            Ok(())
        };
        self.reset();
        r
    }
}

/// How many bytes the UTF-8 sequence started by `lead` takes (1 for an invalid lead).
/// `std::str::from_utf8`, with ASCII (the usual text) told first a word at a time.
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes)
}

fn utf8_width(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// The opcode's name as in the JSON output, or `None` for a reserved one.
pub fn opcode_name(opcode: OpCode) -> Option<&'static str> {
    match opcode {
        OpCode::Continue => Some("continuation"),
        OpCode::Text => Some("text"),
        OpCode::Binary => Some("binary"),
        OpCode::Close => Some("close"),
        OpCode::Ping => Some("ping"),
        OpCode::Pong => Some("pong"),
        OpCode::Reserved(_) => None,
    }
}

/// The fragmented data message in progress.
#[derive(Debug, Clone, Copy)]
struct Fragmented {
    text: bool,
    /// permessage-deflate: its first frame had RSV1; its UTF-8 is checked once inflated.
    compressed: bool,
    /// Payload bytes in its fragments so far.
    len: u64,
}

/// Protocol state of one direction of received frames: fragmentation, UTF-8 across
/// fragments, message size. One per connection, fed every received frame in order.
#[derive(Debug)]
pub struct Checker {
    pub role: Role,
    pub max_size: u64,
    frag: Option<Fragmented>,
    utf8: Utf8Validator,
    /// Payload bytes of the frame being received already fed to `utf8` by
    /// `check_partial`.
    fed: usize,
    /// permessage-deflate was negotiated: RSV1 may be set on the first frame of a data
    /// message (RFC 7692 6).
    pub rsv1: bool,
}

impl Checker {
    pub fn new(role: Role, max_size: u64) -> Checker {
        Checker {
            role,
            max_size,
            frag: None,
            utf8: Utf8Validator::new(),
            fed: 0,
            rsv1: false,
        }
    }

    /// Is the frame `h` (a data frame) part of a compressed message? Its UTF-8 is then
    /// checked after inflating (`check_text`), not on the wire.
    fn compressed(&self, h: &Header) -> bool {
        match h.opcode {
            OpCode::Continue => self.frag.is_some_and(|f| f.compressed),
            _ => self.rsv1 && h.rsv[0],
        }
    }

    /// The text of a message that came compressed, once inflated (RFC 6455 8.1).
    pub fn check_text(&self, text: &[u8]) -> Result<(), Violation> {
        utf8(text).map(|_| ()).map_err(|e| Violation {
            close_code: 1007,
            rule: "RFC 6455 8.1",
            msg: format!(
                "invalid UTF-8 in text message at byte {} (after inflating it)",
                e.valid_up_to()
            ),
        })
    }

    /// The text payload of a frame still being received, `payload` being its unmasked
    /// part so far: checked as it arrives, so invalid UTF-8 fails the connection as
    /// soon as the bad bytes are in, not when the frame or the message ends (RFC 6455
    /// 8.1; Autobahn 6.4.x call waiting for the end "non-strict"). Call after
    /// `check_header` passed; `check_payload` then checks only the rest.
    pub fn check_partial(&mut self, h: &Header, payload: &[u8]) -> Result<(), Violation> {
        let text = match h.opcode {
            OpCode::Text => true,
            OpCode::Continue => self.frag.is_some_and(|f| f.text),
            _ => false,
        };
        if !text || self.compressed(h) || payload.len() <= self.fed {
            return Ok(());
        }
        if h.opcode == OpCode::Text && self.fed == 0 {
            self.utf8.reset();
        }
        let fed = self.fed;
        self.fed = payload.len();
        self.text_piece(&payload[fed..], false)
    }

    /// Checks that need only the header, called as soon as it is decoded, before the
    /// payload is read. Checked in this order: message size over `max_size` (1009,
    /// counting the fragments so far), then mask (a client must receive unmasked frames,
    /// a server masked ones, RFC 6455 5.1), RSV bits (no extension: 5.2), reserved opcode
    /// (5.2), control frame over 125 bytes or fragmented (5.5), continuation with no
    /// message started / new data frame inside a fragmented message (5.4).
    ///
    /// Changes no state: calling it twice for one frame is harmless.
    #[inline]
    pub fn check_header(&mut self, h: &Header) -> Result<(), Violation> {
        if self.plain(h) {
            return Ok(());
        }
        self.check_header_rules(h)
    }

    /// The frame almost every peer sends: a whole text or binary message within
    /// `max_size`, masked as the role asks, no RSV bit but RSV1 under
    /// permessage-deflate, no fragmented message in progress. It breaks no rule of
    /// `check_header_rules` (a property test holds them to that), and is told in a few
    /// tests (this runs twice per frame, once for the header and once in
    /// `check_payload`).
    #[inline]
    fn plain(&self, h: &Header) -> bool {
        h.fin
            && self.frag.is_none()
            && matches!(h.opcode, OpCode::Text | OpCode::Binary)
            && h.len <= self.max_size
            && h.len <= i64::MAX as u64
            && h.mask.is_some() == (self.role == Role::Server)
            && !h.rsv[1]
            && !h.rsv[2]
            && (!h.rsv[0] || self.rsv1)
    }

    #[inline(never)]
    fn check_header_rules(&mut self, h: &Header) -> Result<(), Violation> {
        let op = h.opcode;
        let name = opcode_name(op).unwrap_or("reserved");

        // The size limit applies to every frame, so that no announced length can make
        // the reader buffer more than `max_size`.
        let so_far = match (op, self.frag) {
            (OpCode::Continue, Some(f)) => f.len,
            _ => 0,
        };
        let total = so_far.saturating_add(h.len);
        // A control frame is not a message: a small `max_size` does not refuse a legal
        // one (at most 125 bytes), but a longer one is bounded like any frame.
        let limit = if op.is_control() {
            self.max_size.max(125)
        } else {
            self.max_size
        };
        if total > limit {
            let what = match op {
                _ if op.is_control() => format!("{name} frame of {} bytes", h.len),
                _ if so_far > 0 => format!(
                    "fragmented message of {total} bytes so far ({so_far} before this frame)"
                ),
                _ => format!("message of {total} bytes"),
            };
            return Err(Violation {
                close_code: 1009,
                rule: "RFC 6455 10.4",
                msg: format!("{what} (at most {limit} allowed)"),
            });
        }

        // RFC 6455 5.2: in the 64-bit length form "the most significant bit MUST be 0".
        if h.len > i64::MAX as u64 {
            return Err(Violation::protocol(
                "RFC 6455 5.2",
                format!(
                    "{name} frame whose 64-bit length has its most significant bit set ({} bytes announced)",
                    h.len
                ),
            ));
        }

        // RFC 6455 5.1: "a client MUST mask all frames that it sends to the server";
        // "A server MUST NOT mask any frames that it sends to the client."
        match (self.role, h.mask.is_some()) {
            (Role::Client, true) => {
                return Err(Violation::protocol(
                    "RFC 6455 5.1",
                    "masked frame from the server (a server must not mask, a client must)"
                        .to_string(),
                ))
            }
            (Role::Server, false) => {
                return Err(Violation::protocol(
                    "RFC 6455 5.1",
                    "unmasked frame from the client (a client must mask, a server must not)"
                        .to_string(),
                ))
            }
            _ => {}
        }

        // RFC 7692 6: permessage-deflate gives RSV1 a meaning ("Per-Message
        // Compressed") on the first frame of a data message, and only there: "An
        // endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and
        // non-first fragments of a data message."
        let rsv = if self.rsv1 && h.rsv[0] {
            if op.is_control() || op == OpCode::Continue {
                return Err(Violation::protocol(
                    "RFC 7692 6.1",
                    format!(
                        "RSV1 set on a {name} frame (permessage-deflate allows it only on \
                         the first frame of a data message)"
                    ),
                ));
            }
            [false, h.rsv[1], h.rsv[2]]
        } else {
            h.rsv
        };
        // RFC 6455 5.2: "MUST be 0 unless an extension is negotiated that defines
        // meanings for non-zero values."
        if rsv.iter().any(|&b| b) {
            let set: Vec<&str> = ["RSV1", "RSV2", "RSV3"]
                .iter()
                .zip(rsv)
                .filter(|&(_, b)| b)
                .map(|(n, _)| *n)
                .collect();
            return Err(Violation::protocol(
                "RFC 6455 5.2",
                format!("{} set but no extension negotiated", set.join(" and ")),
            ));
        }

        // RFC 6455 5.2: "If an unknown opcode is received, the receiving endpoint MUST
        // _Fail the WebSocket Connection_."
        if let OpCode::Reserved(n) = op {
            return Err(Violation::protocol(
                "RFC 6455 5.2",
                format!("reserved opcode {n} (expected 0-2 or 8-10; no extension negotiated)"),
            ));
        }
        let control = op.is_control();

        if control {
            // RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes
            // or less and MUST NOT be fragmented."
            if h.len > 125 {
                return Err(Violation::protocol(
                    "RFC 6455 5.5",
                    format!(
                        "control frame ({name}) of {} bytes (at most 125 allowed)",
                        h.len
                    ),
                ));
            }
            if !h.fin {
                return Err(Violation::protocol(
                    "RFC 6455 5.5",
                    format!(
                        "control frame ({name}) with FIN=0 (control frames must not be fragmented)"
                    ),
                ));
            }
            // Control frames may come between fragments: the message state is untouched.
            return Ok(());
        }

        // RFC 6455 5.4: a fragmented message is one frame with FIN=0 and a data opcode,
        // then zero or more continuation frames with FIN=0, then one with FIN=1.
        match (op, self.frag) {
            (OpCode::Continue, None) => Err(Violation::protocol(
                "RFC 6455 5.4",
                "continuation frame with no fragmented message in progress \
                 (expected a text or binary frame first)"
                    .to_string(),
            )),
            (OpCode::Text | OpCode::Binary, Some(f)) => {
                let started = if f.text { "text" } else { "binary" };
                Err(Violation::protocol(
                    "RFC 6455 5.4",
                    format!(
                        "new {name} frame while a fragmented {started} message is in progress \
                         (expected a continuation frame)"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Checks that need the (unmasked) payload, called once per frame after
    /// `check_header` passed: UTF-8 of text messages, incrementally across fragments
    /// (1007, RFC 6455 8.1), close payloads (1 byte: 5.5.1; code not allowed on the
    /// wire: 7.4.1; reason not UTF-8: 1007, 5.5.1). Advances the fragmentation state.
    ///
    /// Runs the header checks again first (they are cheap), so the state can never be
    /// advanced by a frame that breaks them.
    pub fn check_payload(&mut self, h: &Header, payload: &[u8]) -> Result<(), Violation> {
        self.check_header(h)?;
        // What check_partial already took.
        let fed = std::mem::take(&mut self.fed).min(payload.len());
        match h.opcode {
            OpCode::Close => check_close(payload),
            // Ping and pong: any payload.
            OpCode::Ping | OpCode::Pong => Ok(()),
            OpCode::Continue => {
                // check_header made sure a fragmented message is in progress.
                let Some(mut f) = self.frag else {
                    return Ok(());
                };
                f.len = f.len.saturating_add(payload.len() as u64);
                self.frag = if h.fin { None } else { Some(f) };
                if f.text && !f.compressed {
                    self.text_piece(&payload[fed..], h.fin)?;
                }
                Ok(())
            }
            OpCode::Text | OpCode::Binary => {
                let text = h.opcode == OpCode::Text;
                let compressed = self.compressed(h);
                if !h.fin {
                    self.frag = Some(Fragmented {
                        text,
                        compressed,
                        len: payload.len() as u64,
                    });
                }
                if text && !compressed {
                    if fed == 0 {
                        self.utf8.reset();
                        // A whole text message in one frame, valid: nothing to carry
                        // over (an invalid one goes on, to say where the bad byte is).
                        if h.fin && utf8(payload).is_ok() {
                            return Ok(());
                        }
                    }
                    self.text_piece(&payload[fed..], h.fin)?;
                }
                Ok(())
            }
            // Reserved opcodes were refused by check_header.
            OpCode::Reserved(_) => Ok(()),
        }
    }

    /// RFC 6455 8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
    /// that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
    /// _Fail the WebSocket Connection_."
    fn text_piece(&mut self, payload: &[u8], fin: bool) -> Result<(), Violation> {
        let bad = |at: u64, why: &str| Violation {
            close_code: 1007,
            rule: "RFC 6455 8.1",
            msg: format!("invalid UTF-8 in text message at byte {at}{why}"),
        };
        self.utf8.feed(payload).map_err(|at| bad(at, ""))?;
        if fin {
            self.utf8
                .finish()
                .map_err(|at| bad(at, " (a character cut off at the end of the message)"))?;
        }
        Ok(())
    }
}

/// RFC 6455 5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
/// unsigned integer [...] representing a status code"; the rest is UTF-8.
fn check_close(payload: &[u8]) -> Result<(), Violation> {
    let [c0, c1, reason @ ..] = payload else {
        if payload.len() == 1 {
            return Err(Violation::protocol(
                "RFC 6455 5.5.1",
                "close frame with a 1-byte payload (expected none, or a 2-byte code and a reason)"
                    .to_string(),
            ));
        }
        return Ok(());
    };
    let code = u16::from_be_bytes([*c0, *c1]);
    // RFC 6455 7.4.1: 1004, 1005, 1006 and 1015 "MUST NOT be set as a status code in a
    // Close control frame by an endpoint"; 7.4.2: 0-999 are not used, 1016-2999 are
    // reserved for future revisions.
    if !close_code_allowed(code) {
        return Err(Violation::protocol(
            "RFC 6455 7.4.1",
            format!(
                "close code {code} is not allowed on the wire (expected 1000-1003, 1007-1014 or 3000-4999)"
            ),
        ));
    }
    if let Err(e) = std::str::from_utf8(reason) {
        return Err(Violation {
            close_code: 1007,
            rule: "RFC 6455 5.5.1",
            msg: format!(
                "close reason is not valid UTF-8 at byte {} of the reason (expected UTF-8 text)",
                e.valid_up_to()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::OpCode as WsOpCode;
    use tungstenite::protocol::frame::FrameHeader;

    #[test]
    fn close_codes_round_trip_and_name_the_ranges() {
        for code in 0..=u16::MAX {
            let c = CloseCode::from(code);
            assert_eq!(c.code(), code);
            assert_eq!(
                c.allowed_on_wire(),
                matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                "{code}"
            );
        }
        assert_eq!(CloseCode::from(1006).name(), "Abnormal Closure");
        assert_eq!(CloseCode::from(4001).name(), "Private Use");
        assert_eq!(CloseCode::from(1004).name(), "Reserved");
        assert_eq!(CloseCode::from(999).name(), "Invalid");
        assert_eq!(CloseCode::from(5000).name(), "Invalid");
    }
    use proptest::prelude::*;

    const MIB: u64 = 1 << 20;

    fn hdr(opcode: u8, fin: bool, mask: Option<[u8; 4]>, len: u64) -> Header {
        Header {
            fin,
            rsv: [false; 3],
            opcode: OpCode::from(opcode),
            mask,
            len,
        }
    }

    /// A frame as the server sends it (unmasked), for a client-side checker.
    fn frame(opcode: u8, fin: bool, len: usize) -> Header {
        hdr(opcode, fin, None, len as u64)
    }

    fn feed(c: &mut Checker, opcode: u8, fin: bool, payload: &[u8]) -> Result<(), Violation> {
        let h = frame(opcode, fin, payload.len());
        c.check_header(&h)?;
        c.check_payload(&h, payload)
    }

    fn client() -> Checker {
        Checker::new(Role::Client, 64 * MIB)
    }

    fn encoded(h: &Header) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(h, &mut out);
        out
    }

    fn naive_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    // --- fail fast on invalid UTF-8 in a frame still arriving ---

    #[test]
    fn partial_text_fails_as_soon_as_the_bad_bytes_are_in() {
        let mut c = client();
        // A fragmented text message: the first fragment is valid; the second breaks
        // in its first half, while its second half has not arrived.
        feed(&mut c, 1, false, "h\u{e9}".as_bytes()).unwrap();
        let h = frame(0, true, 10);
        c.check_header(&h).unwrap();
        assert!(c.check_partial(&h, b"ok").is_ok());
        let v = c.check_partial(&h, b"ok\xff\xfe").unwrap_err();
        assert_eq!((v.close_code, v.rule), (1007, "RFC 6455 8.1"));
    }

    #[test]
    fn partial_then_whole_checks_each_byte_once() {
        // A 3-byte character split across partial reads and the final check.
        let euro = "\u{20ac}".as_bytes();
        let mut payload = b"a".to_vec();
        payload.extend_from_slice(euro);
        let mut c = client();
        let h = frame(1, true, payload.len());
        c.check_header(&h).unwrap();
        c.check_partial(&h, &payload[..2]).unwrap();
        c.check_partial(&h, &payload[..3]).unwrap();
        c.check_payload(&h, &payload).unwrap();
        // The next message starts fresh.
        feed(&mut c, 1, true, b"next").unwrap();
        // Binary frames are not checked.
        let b = frame(2, true, 2);
        c.check_header(&b).unwrap();
        c.check_partial(&b, b"\xff").unwrap();
        c.check_payload(&b, b"\xff\xff").unwrap();
    }

    // --- encode / decode ---

    #[test]
    fn encode_any_bits() {
        // Reserved control opcode, fin=0, RSV1+RSV3, unmasked.
        let h = Header {
            fin: false,
            rsv: [true, false, true],
            opcode: OpCode::from(0xb),
            mask: None,
            len: 3,
        };
        assert_eq!(encoded(&h), [0x5b, 0x03]);
        // Fragmented ping, masked.
        let h = hdr(9, false, Some([1, 2, 3, 4]), 0);
        assert_eq!(encoded(&h), [0x09, 0x80, 1, 2, 3, 4]);
        // Reserved data opcode 3 with FIN.
        assert_eq!(encoded(&hdr(3, true, None, 0)), [0x83, 0x00]);
    }

    #[test]
    fn encode_length_forms_are_minimal() {
        assert_eq!(encoded(&frame(2, true, 125)), [0x82, 125]);
        assert_eq!(encoded(&frame(2, true, 126)), [0x82, 126, 0, 126]);
        assert_eq!(encoded(&frame(2, true, 65535)), [0x82, 126, 0xff, 0xff]);
        assert_eq!(
            encoded(&frame(2, true, 65536)),
            [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn decode_reserved_opcode_and_bits() {
        let (h, n) = decode_header(&[0x7e, 0x85, 9, 8, 7, 6, 0xaa]).unwrap();
        assert_eq!(n, 6);
        assert_eq!(
            h,
            Header {
                fin: false,
                rsv: [true, true, true],
                opcode: OpCode::from(0xe),
                mask: Some([9, 8, 7, 6]),
                len: 5,
            }
        );
    }

    #[test]
    fn decode_accepts_non_minimal_length() {
        let (h, n) = decode_header(&[0x82, 126, 0, 5]).unwrap();
        assert_eq!((h.len, n), (5, 4));
    }

    #[test]
    fn truncated_headers_need_more_bytes() {
        let headers = [
            frame(1, true, 5),
            frame(2, true, 300),
            frame(2, true, 70_000),
            hdr(1, true, Some([1, 2, 3, 4]), 5),
            hdr(2, true, Some([1, 2, 3, 4]), 300),
            hdr(2, false, Some([1, 2, 3, 4]), 0x7fff_ffff_ffff_ffff),
        ];
        for h in headers {
            let bytes = encoded(&h);
            for cut in 0..bytes.len() {
                assert_eq!(decode_header(&bytes[..cut]), None, "{h:?} cut at {cut}");
            }
            assert_eq!(decode_header(&bytes), Some((h, bytes.len())));
        }
    }

    #[test]
    fn huge_length_decodes_and_trips_size_check() {
        let bytes = [0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let (h, n) = decode_header(&bytes).unwrap();
        assert_eq!((h.len, n), (0x7fff_ffff_ffff_ffff, 10));
        let v = client().check_header(&h).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1009, "RFC 6455 10.4"));
        assert!(v.msg.contains("9223372036854775807 bytes"), "{}", v.msg);
        // A huge control frame trips the size check first too, so nobody buffers it.
        let v = client()
            .check_header(&frame(9, true, usize::MAX))
            .unwrap_err();
        assert_eq!(v.close_code, 1009);
        let v = Checker::new(Role::Client, 10)
            .check_header(&frame(9, true, 126))
            .unwrap_err();
        assert_eq!(v.msg, "ping frame of 126 bytes (at most 125 allowed)");
    }

    // --- masking ---

    #[test]
    fn mask_at_odd_offsets_equals_bytewise() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for offset in [0, 1, 2, 3, 5, 7, 13, 1001] {
            for len in [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 999] {
                let mut fast = data[..len].to_vec();
                let mut slow = fast.clone();
                apply_mask(&mut fast, key, offset);
                naive_mask(&mut slow, key, offset);
                assert_eq!(fast, slow, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn mask_in_pieces_equals_mask_at_once() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let mut at = 0;
        for n in [1, 2, 3, 5, 8, 13, 21, 47] {
            apply_mask(&mut pieces[at..at + n], key, at);
            at += n;
        }
        assert_eq!(at, 100);
        assert_eq!(pieces, whole);
    }

    // --- close codes ---

    #[test]
    fn close_codes_on_the_wire() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(close_code_allowed(code), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!close_code_allowed(code), "{code}");
        }
    }

    // --- UTF-8 validator ---

    #[test]
    fn utf8_split_char_is_valid_and_cut_off_char_is_not() {
        let s = "aé€😀z".as_bytes();
        for cut in 0..=s.len() {
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(&s[..cut]), Ok(()));
            assert_eq!(v.feed(&s[cut..]), Ok(()));
            assert_eq!(v.finish(), Ok(()));
        }
        // Byte by byte.
        let mut v = Utf8Validator::new();
        for b in s {
            assert_eq!(v.feed(std::slice::from_ref(b)), Ok(()));
        }
        assert_eq!(v.finish(), Ok(()));
        // "€" cut off after two of its three bytes.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ab\xe2\x82"), Ok(()));
        assert_eq!(v.finish(), Err(2));
    }

    #[test]
    fn utf8_invalid_reported_early_with_position() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"hello"), Ok(()));
        assert_eq!(v.feed(b"\xff"), Err(5));
        // An impossible continuation of a split char: the char's first byte is reported.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"abc\xe2"), Ok(()));
        assert_eq!(v.feed(b"\x41"), Err(3));
        // A surrogate (ED A0..) is refused before the message ends.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xed\xa0"), Err(0));
        // An invalid prefix split over pieces.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"x\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(1));
    }

    // --- Checker: one test per rule ---

    #[test]
    fn masked_frame_from_server() {
        let v = client()
            .check_header(&hdr(1, true, Some([1, 2, 3, 4]), 0))
            .unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.1"));
        assert_eq!(
            v.msg,
            "masked frame from the server (a server must not mask, a client must)"
        );
    }

    #[test]
    fn unmasked_frame_from_client() {
        let mut c = Checker::new(Role::Server, MIB);
        let v = c.check_header(&frame(1, true, 0)).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.1"));
        assert!(v.msg.starts_with("unmasked frame from the client"));
        // A server accepts masked frames.
        let h = hdr(1, true, Some([1, 2, 3, 4]), 2);
        assert_eq!(c.check_header(&h), Ok(()));
        assert_eq!(c.check_payload(&h, b"hi"), Ok(()));
    }

    #[test]
    fn rsv_bits_without_extension() {
        let mut h = frame(1, true, 0);
        h.rsv = [true, false, false];
        let v = client().check_header(&h).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.2"));
        assert_eq!(v.msg, "RSV1 set but no extension negotiated");
        h.rsv = [false, true, true];
        let v = client().check_header(&h).unwrap_err();
        assert_eq!(v.msg, "RSV2 and RSV3 set but no extension negotiated");
    }

    #[test]
    fn reserved_opcodes() {
        for op in (3..=7).chain(11..=15) {
            let v = client().check_header(&frame(op, true, 0)).unwrap_err();
            assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.2"), "{op}");
            assert!(v.msg.contains(&format!("opcode {op}")), "{}", v.msg);
        }
    }

    #[test]
    fn control_frame_too_long() {
        let v = client().check_header(&frame(9, true, 300)).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.5"));
        assert_eq!(
            v.msg,
            "control frame (ping) of 300 bytes (at most 125 allowed)"
        );
        assert_eq!(client().check_header(&frame(9, true, 125)), Ok(()));
    }

    #[test]
    fn control_frame_fragmented() {
        let v = client().check_header(&frame(10, false, 0)).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.5"));
        assert!(v.msg.contains("(pong)"), "{}", v.msg);
    }

    #[test]
    fn continuation_without_message() {
        let v = client().check_header(&frame(0, true, 0)).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.4"));
        assert!(v
            .msg
            .starts_with("continuation frame with no fragmented message"));
        // Also after a message has completed.
        let mut c = client();
        feed(&mut c, 2, false, b"a").unwrap();
        feed(&mut c, 0, true, b"b").unwrap();
        let v = feed(&mut c, 0, true, b"c").unwrap_err();
        assert_eq!(v.rule, "RFC 6455 5.4");
    }

    #[test]
    fn new_message_inside_fragmented_message() {
        let mut c = client();
        feed(&mut c, 1, false, b"a").unwrap();
        let v = feed(&mut c, 2, true, b"b").unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.4"));
        assert_eq!(
            v.msg,
            "new binary frame while a fragmented text message is in progress \
             (expected a continuation frame)"
        );
    }

    #[test]
    fn invalid_utf8_in_text() {
        let v = feed(&mut client(), 1, true, b"hello, \xffworld").unwrap_err();
        assert_eq!((v.close_code, v.rule), (1007, "RFC 6455 8.1"));
        assert_eq!(v.msg, "invalid UTF-8 in text message at byte 7");
        // Binary is not checked.
        assert_eq!(feed(&mut client(), 2, true, b"\xff"), Ok(()));
    }

    #[test]
    fn invalid_utf8_fails_on_first_fragment() {
        let mut c = client();
        let v = feed(&mut c, 1, false, b"\xc0\xafabc").unwrap_err();
        assert_eq!(
            (v.close_code, v.msg.as_str()),
            (1007, "invalid UTF-8 in text message at byte 0")
        );
    }

    #[test]
    fn truncated_utf8_at_final_fragment() {
        let mut c = client();
        feed(&mut c, 1, false, b"ab").unwrap();
        feed(&mut c, 0, false, b"\xf0\x9f").unwrap();
        let v = feed(&mut c, 0, true, b"\x98").unwrap_err();
        assert_eq!((v.close_code, v.rule), (1007, "RFC 6455 8.1"));
        assert!(
            v.msg.starts_with("invalid UTF-8 in text message at byte 2"),
            "{}",
            v.msg
        );
    }

    #[test]
    fn close_payload_of_one_byte() {
        let v = feed(&mut client(), 8, true, &[3]).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 5.5.1"));
        assert!(v.msg.contains("1-byte payload"));
        assert_eq!(feed(&mut client(), 8, true, &[]), Ok(()));
    }

    #[test]
    fn close_code_not_allowed() {
        let v = feed(&mut client(), 8, true, &[0x03, 0xed]).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1002, "RFC 6455 7.4.1"));
        assert!(
            v.msg.starts_with("close code 1005 is not allowed"),
            "{}",
            v.msg
        );
        assert_eq!(feed(&mut client(), 8, true, b"\x03\xe8bye"), Ok(()));
        assert_eq!(feed(&mut client(), 8, true, &[0x0f, 0xa0]), Ok(()));
    }

    #[test]
    fn close_reason_not_utf8() {
        let v = feed(&mut client(), 8, true, b"\x03\xe8ok\xff").unwrap_err();
        assert_eq!((v.close_code, v.rule), (1007, "RFC 6455 5.5.1"));
        assert!(v.msg.contains("at byte 2 of the reason"), "{}", v.msg);
    }

    #[test]
    fn message_too_big() {
        let mut c = Checker::new(Role::Client, 10);
        assert_eq!(c.check_header(&frame(2, true, 10)), Ok(()));
        let v = c.check_header(&frame(2, true, 11)).unwrap_err();
        assert_eq!((v.close_code, v.rule), (1009, "RFC 6455 10.4"));
        assert_eq!(v.msg, "message of 11 bytes (at most 10 allowed)");
    }

    #[test]
    fn message_too_big_counts_fragments() {
        let mut c = Checker::new(Role::Client, 10);
        feed(&mut c, 2, false, b"1234").unwrap();
        // A control frame between fragments neither counts nor is refused by a small limit.
        feed(&mut c, 9, true, b"a ping longer than ten bytes").unwrap();
        feed(&mut c, 0, false, b"5678").unwrap();
        let v = feed(&mut c, 0, true, b"901").unwrap_err();
        assert_eq!(v.close_code, 1009);
        assert!(
            v.msg.contains("11 bytes so far (8 before this frame)"),
            "{}",
            v.msg
        );
    }

    #[test]
    fn violations_are_ordered_size_first() {
        // Masked, RSV1, reserved opcode, too big: the size is reported.
        let h = Header {
            fin: false,
            rsv: [true; 3],
            opcode: OpCode::from(0xb),
            mask: Some([0; 4]),
            len: 200,
        };
        let v = Checker::new(Role::Client, 10).check_header(&h).unwrap_err();
        assert_eq!(v.rule, "RFC 6455 10.4");
        let v = Checker::new(Role::Client, 1000)
            .check_header(&h)
            .unwrap_err();
        assert_eq!(v.rule, "RFC 6455 5.1");
        let h = Header { mask: None, ..h };
        let v = Checker::new(Role::Client, 1000)
            .check_header(&h)
            .unwrap_err();
        assert_eq!(
            v.msg,
            "RSV1 and RSV2 and RSV3 set but no extension negotiated"
        );
    }

    #[test]
    fn fragmented_text_with_split_char_and_interleaved_ping() {
        let mut c = client();
        let s = "héllo wörld €".as_bytes();
        // Split inside "é" (2 bytes) and inside "€" (3 bytes).
        let (a, rest) = s.split_at(2);
        let (b, d) = rest.split_at(rest.len() - 1);
        assert_eq!(feed(&mut c, 1, false, a), Ok(()));
        assert_eq!(feed(&mut c, 9, true, b"ping"), Ok(()));
        assert_eq!(feed(&mut c, 10, true, b"\xff not text"), Ok(()));
        assert_eq!(feed(&mut c, 0, false, b), Ok(()));
        assert_eq!(feed(&mut c, 9, true, b""), Ok(()));
        assert_eq!(feed(&mut c, 0, true, d), Ok(()));
        // The next message starts clean.
        assert_eq!(feed(&mut c, 1, true, "ok ✓".as_bytes()), Ok(()));
        assert_eq!(feed(&mut c, 2, false, b"\xff"), Ok(()));
        assert_eq!(feed(&mut c, 8, true, b"\x03\xe8"), Ok(()));
        assert_eq!(feed(&mut c, 0, true, b"\xfe"), Ok(()));
    }

    // --- properties ---

    fn any_len() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..126u64,
            126..65536u64,
            65536..=u64::MAX >> 1,
            Just(125u64),
            Just(126u64),
            Just(65535u64),
            Just(65536u64),
            Just(u64::MAX >> 1),
        ]
    }

    fn any_header() -> impl Strategy<Value = Header> {
        (
            any::<bool>(),
            any::<[bool; 3]>(),
            0..16u8,
            any::<Option<[u8; 4]>>(),
            any_len(),
        )
            .prop_map(|(fin, rsv, opcode, mask, len)| Header {
                fin,
                rsv,
                opcode: OpCode::from(opcode),
                mask,
                len,
            })
    }

    #[test]
    fn plain_headers_are_the_whole_unmasked_messages_a_client_gets() {
        let mut c = client();
        assert!(c.plain(&hdr(1, true, None, 32)));
        assert!(c.plain(&hdr(2, true, None, 0)));
        // Masked from a server, fragmented, control, too big: the full rules.
        assert!(!c.plain(&hdr(1, true, Some([1, 2, 3, 4]), 32)));
        assert!(!c.plain(&hdr(1, false, None, 32)));
        assert!(!c.plain(&hdr(9, true, None, 0)));
        assert!(!c.plain(&hdr(1, true, None, 65 * MIB)));
        assert!(c.check_header(&hdr(1, true, None, 65 * MIB)).is_err());
        let mut h = hdr(1, true, None, 3);
        h.rsv[0] = true;
        assert!(!c.plain(&h));
        c.rsv1 = true;
        assert!(c.plain(&h));
    }

    /// Headers mostly of the plain kind (the fast path), each bit off it now and then.
    fn near_plain_header() -> impl Strategy<Value = Header> {
        use proptest::bool::weighted;
        (
            weighted(0.9),
            (weighted(0.3), weighted(0.05), weighted(0.05)),
            prop_oneof![8 => 1..3u8, 1 => 0..16u8],
            prop_oneof![any::<[u8; 4]>().prop_map(Some), Just(None)],
            any_len(),
        )
            .prop_map(|(fin, (r1, r2, r3), opcode, mask, len)| Header {
                fin,
                rsv: [r1, r2, r3],
                opcode: OpCode::from(opcode),
                mask,
                len,
            })
    }

    proptest! {
        #[test]
        fn encode_equals_tungstenite_and_header_len(h in any_header()) {
            let fh = FrameHeader {
                is_final: h.fin,
                rsv1: h.rsv[0],
                rsv2: h.rsv[1],
                rsv3: h.rsv[2],
                opcode: WsOpCode::from(h.opcode.as_u8()),
                mask: h.mask,
            };
            let mut want = Vec::new();
            fh.format(h.len, &mut want).unwrap();
            let got = encoded(&h);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(header_len(&h), got.len());
        }

        #[test]
        fn a_plain_header_breaks_no_rule(
            h in prop_oneof![any_header(), near_plain_header()],
            server in any::<bool>(),
            rsv1 in any::<bool>(),
            frag in any::<Option<(bool, u64)>>(),
            max in prop_oneof![Just(64 * MIB), 0..200u64, Just(u64::MAX)],
        ) {
            let mut c = Checker::new(if server { Role::Server } else { Role::Client }, max);
            c.rsv1 = rsv1;
            c.frag = frag.map(|(text, len)| Fragmented { text, compressed: false, len });
            if c.plain(&h) {
                prop_assert!(c.check_header_rules(&h).is_ok(), "{:?}", h);
            }
        }

        #[test]
        fn encode_decode_round_trips(h in any_header()) {
            let bytes = encoded(&h);
            prop_assert_eq!(decode_header(&bytes), Some((h, bytes.len())));
            for cut in 0..bytes.len() {
                prop_assert_eq!(decode_header(&bytes[..cut]), None);
            }
            // Bytes after the header (the payload) are not part of it.
            let mut more = bytes.clone();
            more.extend_from_slice(b"payload");
            prop_assert_eq!(decode_header(&more), Some((h, bytes.len())));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            if let Some((h, n)) = decode_header(&bytes) {
                prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
                prop_assert!(h.opcode.as_u8() < 16);
                // What decodes can be checked without panicking too.
                let _ = Checker::new(Role::Client, 64 * MIB).check_header(&h);
                let _ = Checker::new(Role::Server, 64 * MIB).check_header(&h);
            }
        }

        #[test]
        fn mask_twice_is_identity_and_equals_naive(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            key in any::<[u8; 4]>(),
            offset in prop_oneof![0..64usize, any::<usize>()],
        ) {
            let mut fast = data.clone();
            apply_mask(&mut fast, key, offset);
            let mut slow = data.clone();
            // Naive with offset % 4 to avoid overflow in (offset + i).
            naive_mask(&mut slow, key, offset % 4);
            prop_assert_eq!(&fast, &slow);
            apply_mask(&mut fast, key, offset);
            prop_assert_eq!(fast, data);
        }

        #[test]
        fn utf8_validator_agrees_with_std(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(0xe2u8), Just(0x82u8), Just(0xacu8)], 0..40),
            cuts in proptest::collection::vec(0..40usize, 0..4),
        ) {
            let mut v = Utf8Validator::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut at = 0;
            let mut got = Ok(());
            for c in cuts.into_iter().chain([bytes.len()]) {
                got = v.feed(&bytes[at..c]);
                if got.is_err() {
                    break;
                }
                at = c;
            }
            let got = got.and_then(|_| v.finish());
            let want = std::str::from_utf8(&bytes).map(|_| ()).map_err(|e| e.valid_up_to() as u64);
            prop_assert_eq!(got, want);
        }
    }
}
