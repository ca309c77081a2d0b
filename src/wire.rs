//! Frames on the wire: encode any bits asked, decode incrementally, and check a
//! received frame against RFC 6455 (`check` returns the rule broken). No I/O, no printing.
//! Built on tungstenite's `FrameHeader` (its `format` writes our headers) and `OpCode`.

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
    /// 0-15, reserved ones included.
    pub opcode: u8,
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

/// Write a header for `h` (its `len` is the payload length) into `out`.
pub fn encode_header(_h: &Header, _out: &mut Vec<u8>) {
    unimplemented!()
}

/// Decode a header from the start of `buf`. `Ok(None)`: need more bytes.
/// Returns the header and how many bytes it took.
pub fn decode_header(_buf: &[u8]) -> Option<(Header, usize)> {
    unimplemented!()
}

/// XOR `buf` with `key`, as if `buf` started `offset` bytes into the payload.
pub fn apply_mask(_buf: &mut [u8], _key: [u8; 4], _offset: usize) {
    unimplemented!()
}

/// Is this close code allowed in a close frame on the wire (RFC 6455 7.4)?
pub fn close_code_allowed(_code: u16) -> bool {
    unimplemented!()
}

/// Protocol state of one direction of received frames: fragmentation, UTF-8 across
/// fragments, message size. One per connection, fed every received frame in order.
#[derive(Debug)]
pub struct Checker {
    pub role: Role,
    pub max_size: u64,
    // private state is the implementer's choice
}

impl Checker {
    pub fn new(role: Role, max_size: u64) -> Checker {
        Checker { role, max_size }
    }

    /// Checks that need only the header, called as soon as it is decoded, before the
    /// payload is read. Checked in this order: message size over `max_size` (1009,
    /// counting the fragments so far), then mask (a client must receive unmasked frames,
    /// a server masked ones, RFC 6455 5.1), RSV bits (no extension: 5.2), reserved opcode
    /// (5.2), control frame over 125 bytes or fragmented (5.5), continuation with no
    /// message started / new data frame inside a fragmented message (5.4).
    pub fn check_header(&mut self, _h: &Header) -> Result<(), Violation> {
        unimplemented!()
    }

    /// Checks that need the (unmasked) payload, called once per frame after
    /// `check_header` passed: UTF-8 of text messages, incrementally across fragments
    /// (1007, RFC 6455 8.1), close payloads (1 byte: 5.5.1; code not allowed on the
    /// wire: 7.4.1; reason not UTF-8: 1007, 5.5.1). Advances the fragmentation state.
    pub fn check_payload(&mut self, _h: &Header, _payload: &[u8]) -> Result<(), Violation> {
        unimplemented!()
    }
}
