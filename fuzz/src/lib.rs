//! Harnesses for hostile input, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`,
//! nightly) and the property tests (`tests/props.rs` includes this file with `#[path]`,
//! stable, in CI). Each one drives a wsdbg parser the way the program does and panics
//! when an invariant breaks; a panic inside wsdbg is a finding too.
//!
//! Only `wsdbg`, std and two crates wsdbg already depends on (`tungstenite` for the
//! accept key, `serde_json` to check the JSON output): no fuzzing crate here, so the
//! same code builds on stable. Nothing here allocates from a length a peer announced.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use wsdbg::deflate::{Agreed, Params};
use wsdbg::error::{Error, Kind};
use wsdbg::event::{close_parts, Ctx, Dir, Event, MsgType, OpCode};
use wsdbg::protocol::{self, Driver, Msg, Tx};
use wsdbg::render::{Format, Opts, Printer};
use wsdbg::wire::{self, Header, Role, Violation, MAX_HEADER_LEN};
use wsdbg::{command, handshake, target};

// ---------------------------------------------------------------------------------------
// Setup: what the first bytes of a fuzz input choose
// ---------------------------------------------------------------------------------------

/// `--max-size` values a run may use: the edges of the 7/16/64-bit length forms and of
/// the control-frame limit, the default (64 MiB) and the largest accepted.
pub const MAX_SIZES: [u64; 8] = [0, 1, 125, 126, 1000, 65_536, 64 << 20, u64::MAX];

/// How one run is set up. The fuzz targets take it from the first two bytes of their
/// input (`Setup::split`); the property tests generate it.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Which end we are (decides which frames must be masked).
    pub role: Role,
    pub max_size: u64,
    /// Output format everything is rendered in.
    pub format: Format,
    pub color: bool,
    pub verbose: bool,
    /// How the byte stream is cut into reads: see `Reads`.
    pub seed: u8,
    /// The end of the stream: `false` EOF, `true` a read timeout (what a socket with a
    /// deadline returns).
    pub timeout_at_end: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            role: Role::Client,
            max_size: 64 << 20,
            format: Format::Pretty,
            color: false,
            verbose: true,
            seed: 0,
            timeout_at_end: false,
        }
    }
}

impl Setup {
    /// The setup chosen by the first two bytes of `data`, and the rest of `data`.
    ///
    /// Byte 0: bit 0 role (server when set), bits 1-3 an index in `MAX_SIZES`, bits 4-5
    /// the format (pretty, json, payload, pretty), bit 6 colour, bit 7 verbose.
    /// Byte 1: the `Reads` seed; bit 7 a timeout rather than EOF at the end.
    pub fn split(data: &[u8]) -> (Setup, &[u8]) {
        let [b0, b1, rest @ ..] = data else {
            return (Setup::default(), data);
        };
        let format = match (b0 >> 4) & 3 {
            1 => Format::Json,
            2 => Format::Payload,
            _ => Format::Pretty,
        };
        let setup = Setup {
            role: if b0 & 1 == 0 {
                Role::Client
            } else {
                Role::Server
            },
            max_size: MAX_SIZES[usize::from((b0 >> 1) & 7)],
            format,
            color: b0 & 0x40 != 0,
            verbose: b0 & 0x80 != 0,
            seed: *b1,
            timeout_at_end: b1 & 0x80 != 0,
        };
        (setup, rest)
    }
}

/// Read sizes the way a socket might deliver a stream, chosen by `seed`: bits 0-1 pick
/// all at once, one byte at a time, 1-16 bytes or 1-1024 bytes; the sizes follow a
/// xorshift generator seeded with the whole byte.
#[derive(Debug, Clone)]
pub struct Sizes {
    max: usize,
    rng: u64,
}

impl Sizes {
    pub fn new(seed: u8) -> Sizes {
        let max = match seed & 3 {
            0 => usize::MAX,
            1 => 1,
            2 => 16,
            _ => 1024,
        };
        Sizes {
            max,
            rng: 0x9e37_79b9_7f4a_7c15 ^ u64::from(seed),
        }
    }

    /// The size of the next read (at least 1).
    pub fn next(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if self.max == usize::MAX {
            usize::MAX
        } else {
            1 + (self.rng % self.max as u64) as usize
        }
    }
}

/// `data` cut into reads by `Sizes`.
pub struct Reads<'a> {
    data: &'a [u8],
    sizes: Sizes,
}

impl<'a> Reads<'a> {
    pub fn new(data: &'a [u8], seed: u8) -> Reads<'a> {
        Reads {
            data,
            sizes: Sizes::new(seed),
        }
    }
}

impl<'a> Iterator for Reads<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let n = self.sizes.next().min(self.data.len());
        let (chunk, rest) = self.data.split_at(n);
        self.data = rest;
        Some(chunk)
    }
}

// ---------------------------------------------------------------------------------------
// Output: every event rendered, and the output checked
// ---------------------------------------------------------------------------------------

/// A printer writing to memory; every event is checked as it is rendered.
pub struct Out {
    p: Printer<Vec<u8>, Vec<u8>>,
    /// Events rendered so far.
    pub events: usize,
}

impl Out {
    pub fn new(setup: &Setup) -> Out {
        let opts = Opts {
            verbose: setup.verbose,
            color: setup.color,
            ..Opts::default()
        };
        Out {
            p: Printer::new(setup.format, opts, Vec::new(), Vec::new()),
            events: 0,
        }
    }

    /// Render `ev` and check what it wrote:
    /// - pretty and every human line on stderr, without colour: UTF-8, and no control
    ///   character but `\n` and `\t` (no ESC, no C1, no DEL: "nothing a peer sends can
    ///   move the cursor or change the terminal's colours", render/esc.rs);
    /// - json: each line on stdout is one JSON object whose first key is `event`.
    pub fn emit(&mut self, ev: &Event<'_>) {
        let (o0, e0) = (self.p.out.len(), self.p.err.len());
        self.p
            .emit(&Ctx::default(), ev)
            .expect("writing to a Vec cannot fail");
        self.events += 1;
        let (out, err) = (&self.p.out[o0..], &self.p.err[e0..]);
        let color = self.p.opts.color;
        match self.p.format {
            Format::Pretty if !color => {
                assert_terminal_safe(out, ev);
                assert_terminal_safe(err, ev);
            }
            Format::Json => {
                assert_json_lines(out, ev);
                if !color {
                    assert_terminal_safe(err, ev);
                }
            }
            Format::Payload if !color => assert_terminal_safe(err, ev),
            _ => {}
        }
        // Keep memory flat over a long run: the checks above are per event.
        if self.p.out.len() > 1 << 16 {
            self.p.out.clear();
        }
        if self.p.err.len() > 1 << 16 {
            self.p.err.clear();
        }
    }
}

/// Human output a terminal shows: valid UTF-8, and the only control characters are
/// `\n` and `\t`.
pub fn assert_terminal_safe(bytes: &[u8], ev: &Event<'_>) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => panic!("human output is not UTF-8 ({e}) for {ev:?}: {bytes:?}"),
    };
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        panic!("control character {c:?} reached human output for {ev:?}: {text:?}");
    }
}

/// JSON output: whole lines, each an object whose first key is `event`.
pub fn assert_json_lines(bytes: &[u8], ev: &Event<'_>) {
    if bytes.is_empty() {
        return;
    }
    assert!(
        bytes.ends_with(b"\n"),
        "JSON output does not end a line for {ev:?}: {:?}",
        String::from_utf8_lossy(bytes)
    );
    for line in bytes[..bytes.len() - 1].split(|&b| b == b'\n') {
        let shown = String::from_utf8_lossy(line);
        assert!(
            line.starts_with(b"{\"event\":"),
            "JSON line does not start with the event key for {ev:?}: {shown}"
        );
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => assert!(v.is_object(), "JSON line is not an object: {shown}"),
            Err(e) => panic!("JSON line does not parse ({e}) for {ev:?}: {shown}"),
        }
    }
}

/// An error or warning message is one line a user can read: not empty, and no line
/// break or other control character in it (a tab is allowed).
pub fn assert_one_line(what: &str, msg: &str) {
    assert!(!msg.trim().is_empty(), "{what}: empty message");
    // The message is data (JSON escapes it); what a person sees is the rendered line:
    // one line, no control character (peer and user text in it are escaped).
    let mut p = Printer::new(Format::Pretty, Opts::default(), Vec::new(), Vec::new());
    let e = Error::usage(msg);
    p.emit(&Ctx::default(), &Event::Error(&e))
        .expect("writing to a Vec cannot fail");
    let line = String::from_utf8(p.err).expect("UTF-8");
    let body = line.strip_suffix('\n').unwrap_or(&line);
    if let Some(c) = body.chars().find(|&c| c.is_control() && c != '\t') {
        panic!("{what}: control character {c:?} in the shown line {line:?}");
    }
}

/// A violation closes with 1002, 1007 or 1009 and names its rule: RFC 6455, or with
/// permessage-deflate agreed (`deflate`) RFC 7692 too.
fn assert_violation_shape(v: &Violation, deflate: bool) {
    assert!(
        matches!(v.close_code, 1002 | 1007 | 1009),
        "violation with close code {}: {v:?}",
        v.close_code
    );
    assert!(
        v.rule.starts_with("RFC 6455 ") || (deflate && v.rule.starts_with("RFC 7692 ")),
        "rule {:?}: {v:?}",
        v.rule
    );
    assert_one_line("violation", &v.msg);
}

// ---------------------------------------------------------------------------------------
// frame_decoder: received frames as the protocol core (client and listen) handles them
// ---------------------------------------------------------------------------------------

/// How a frame run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramesEnd {
    /// The input ran out (mid-frame or between frames).
    Eof,
    /// The peer's close frame was received: nothing after it is decoded.
    Closed,
    /// A rule was broken: the connection is failed (exit 3); the close code we sent and
    /// the rule, as a `Violation`.
    Failed(Violation),
}

/// What a frame run saw.
#[derive(Debug, Clone)]
pub struct FramesReport {
    pub frames: u64,
    pub messages: u64,
    pub end: FramesEnd,
    /// The most bytes the core held undecoded between reads while the connection was
    /// open: one frame at most, so bounded by `--max-size` (and 125 for control frames)
    /// plus a header.
    pub peak_frame: u64,
    /// FNV-1a over every delivered message (its type, then its payload, then a
    /// separator), so a run can be compared with what was sent without keeping it.
    pub digest: u64,
}

/// FNV-1a, 64 bits: the digest of delivered messages (`FramesReport::digest`).
pub fn digest_step(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The digest of no message at all.
pub const DIGEST_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The digest `h` after one more message.
pub fn digest_push(h: u64, kind: MsgType, payload: &[u8]) -> u64 {
    let h = digest_step(h, &[u8::from(kind == MsgType::Text)]);
    let h = digest_step(h, payload);
    digest_step(h, &(payload.len() as u64).to_le_bytes())
}

/// The digest of `msgs` delivered in this order.
pub fn digest_of<'a>(msgs: impl IntoIterator<Item = (MsgType, &'a [u8])>) -> u64 {
    msgs.into_iter()
        .fold(DIGEST_START, |h, (kind, p)| digest_push(h, kind, p))
}

/// The driver: renders every event (checked by `Out`) and checks what the core
/// promises of what it delivers.
struct Rec<'a> {
    out: &'a mut Out,
    max_size: u64,
    messages: u64,
    frames: u64,
    close_in: bool,
    /// The protocol error, and the code of the close frame we sent.
    error: Option<(&'static str, String)>,
    close_out: Option<u16>,
    digest: u64,
}

impl Driver for Rec<'_> {
    fn emit(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Frame(f) if f.dir == Dir::In => {
                self.frames += 1;
                assert!(
                    f.payload.len() as u64 <= self.max_size.max(125),
                    "a frame over --max-size"
                );
                if f.opcode == OpCode::Close {
                    self.close_in = true;
                }
            }
            Event::Frame(f) if f.opcode == OpCode::Close => {
                self.close_out = close_parts(f.payload).0;
            }
            Event::Error(e) => {
                assert_eq!(e.kind, Kind::Protocol, "{e}");
                assert_one_line("protocol error", &e.msg);
                self.error = Some((e.rule.unwrap_or(""), e.msg.clone()));
            }
            _ => {}
        }
        self.out.emit(ev);
    }

    fn message(&mut self, _tx: &mut Tx, m: Msg<'_>) {
        if m.kind == MsgType::Text {
            assert!(
                std::str::from_utf8(m.payload).is_ok(),
                "a text message that is not UTF-8 passed: {:?}",
                m.payload
            );
        }
        assert!(
            m.payload.len() as u64 <= self.max_size,
            "a message over --max-size"
        );
        self.messages += 1;
        self.digest = digest_push(self.digest, m.kind, m.payload);
        self.out.emit(&m.event(Dir::In));
    }
}

/// A decoded header is what the bytes said: it re-encodes to a header that decodes the
/// same, and when the bytes used the shortest length form, to the same bytes.
pub fn check_decoded(h: &Header, hlen: usize, avail: &[u8]) {
    assert!(hlen <= MAX_HEADER_LEN && hlen <= avail.len(), "hlen {hlen}");
    assert!(h.opcode.as_u8() < 16, "opcode {:?}", h.opcode);
    assert_eq!(wire::decode_header(&avail[..hlen]), Some((*h, hlen)));
    let mut again = Vec::new();
    wire::encode_header(h, &mut again);
    assert_eq!(
        wire::decode_header(&again),
        Some((*h, again.len())),
        "{h:?} re-encoded as {again:?}"
    );
    assert!(again.len() <= hlen, "{h:?}: {again:?} longer than {hlen}");
    if again.len() == hlen {
        assert_eq!(again, &avail[..hlen], "{h:?}");
    }
}

/// Feed `stream` in the reads `setup.seed` chooses, as frames received after the
/// handshake, then end it (EOF, or a read timeout). Panics when an invariant breaks.
pub fn frames(setup: &Setup, stream: &[u8]) -> FramesReport {
    let mut out = Out::new(setup);
    frames_into(setup, None, stream, &mut out)
}

fn frames_into(
    setup: &Setup,
    deflate: Option<Agreed>,
    stream: &[u8],
    out: &mut Out,
) -> FramesReport {
    if let Some((h, hlen)) = wire::decode_header(stream) {
        check_decoded(&h, hlen, stream);
    }
    let mut conn = protocol::Conn::new(
        protocol::Config {
            role: setup.role,
            max_size: setup.max_size,
            auto_pong: true,
            rbuf: 4096,
            deflate,
            close_timeout: std::time::Duration::from_secs(5),
        },
        &[],
    );
    let mut rec = Rec {
        out,
        max_size: setup.max_size,
        messages: 0,
        frames: 0,
        close_in: false,
        error: None,
        close_out: None,
        digest: DIGEST_START,
    };
    let mut peak = 0u64;
    let mut sent = Vec::new();
    for chunk in Reads::new(stream, setup.seed) {
        let mut rest = chunk;
        while !rest.is_empty() && conn.end().is_none() {
            let space = conn.rx.space();
            let n = space.len().min(rest.len());
            space[..n].copy_from_slice(&rest[..n]);
            conn.rx.filled(n);
            rest = &rest[n..];
            conn.process(&mut rec);
            if conn.end().is_none() {
                peak = peak.max(conn.rx.buffered() as u64);
            }
        }
        // What the core answers (pongs, the close) goes out.
        let _ = conn.write_to(&mut rec, &mut sent);
        if conn.end().is_some() {
            break;
        }
    }
    if conn.end().is_none() {
        if setup.timeout_at_end {
            conn.lost(&mut rec, "timed out");
        } else {
            conn.eof(&mut rec);
        }
    }
    let _ = conn.write_to(&mut rec, &mut sent);
    let end = match (&rec.error, rec.close_in) {
        (Some((rule, msg)), _) => FramesEnd::Failed(Violation {
            close_code: rec.close_out.unwrap_or(0),
            rule,
            msg: msg.clone(),
        }),
        (None, true) => FramesEnd::Closed,
        (None, false) => FramesEnd::Eof,
    };
    FramesReport {
        frames: rec.frames,
        messages: rec.messages,
        end,
        peak_frame: peak,
        digest: rec.digest,
    }
}

/// The fuzz target: setup from the first two bytes, the rest is the stream.
pub fn frames_fuzz(data: &[u8]) {
    let (setup, stream) = Setup::split(data);
    let report = frames(&setup, stream);
    assert!(report.frames <= stream.len() as u64 / 2 + 1);
    if let FramesEnd::Failed(v) = &report.end {
        assert_violation_shape(v, false);
    }
}

// ---------------------------------------------------------------------------------------
// inflate: received frames with permessage-deflate agreed (RFC 7692)
// ---------------------------------------------------------------------------------------

/// What was agreed for permessage-deflate, as it concerns what we receive and send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pmd {
    /// The peer's window bits (8-15): what it says it deflates with. wsdbg inflates
    /// with a 15-bit window whatever was agreed, so any window the peer uses reads.
    pub peer_bits: u8,
    /// The peer resets its context after each message (`*_no_context_takeover`).
    pub peer_reset: bool,
    /// Our window bits (8-15; 8 means we may not compress: a raw deflater cannot).
    pub our_bits: u8,
    /// We reset ours after each message.
    pub our_reset: bool,
}

impl Pmd {
    /// From one byte: bits 0-2 the peer's window (8 + n), bit 3 its reset, bits 4-6
    /// our window, bit 7 ours.
    pub fn from_byte(b: u8) -> Pmd {
        Pmd {
            peer_bits: 8 + (b & 7),
            peer_reset: b & 8 != 0,
            our_bits: 8 + ((b >> 4) & 7),
            our_reset: b & 0x80 != 0,
        }
    }

    /// The agreement the protocol core is given, for `role` (what the handshake of a
    /// client or of `listen` would have produced).
    pub fn agreed(&self, role: Role) -> Agreed {
        let (server_bits, client_bits, server_reset, client_reset) = match role {
            // We are the client: the peer is the server.
            Role::Client => (
                self.peer_bits,
                self.our_bits,
                self.peer_reset,
                self.our_reset,
            ),
            Role::Server => (
                self.our_bits,
                self.peer_bits,
                self.our_reset,
                self.peer_reset,
            ),
        };
        Agreed {
            params: Params {
                server_no_context_takeover: server_reset,
                client_no_context_takeover: client_reset,
                server_max_window_bits: Some(server_bits),
                client_max_window_bits: Some(Some(client_bits)),
            },
            compress_out: self.our_bits >= 9,
            out_bits: self.our_bits.max(9),
            out_reset: self.our_reset,
            in_reset: self.peer_reset,
        }
    }
}

/// Feed `stream` as frames received with permessage-deflate agreed as `pmd` says:
/// what has RSV1 is inflated (a peer controls it: bombs, corrupt streams, a window
/// larger than agreed, context kept or not). Panics when an invariant breaks: every
/// invariant of `frames`, and an inflated message is never over `--max-size`.
pub fn inflate(setup: &Setup, pmd: Pmd, stream: &[u8]) -> FramesReport {
    let mut out = Out::new(setup);
    let report = frames_into(setup, Some(pmd.agreed(setup.role)), stream, &mut out);
    if let FramesEnd::Failed(v) = &report.end {
        assert_violation_shape(v, true);
    }
    report
}

/// The fuzz target: setup from the first two bytes, the agreement from the third, the
/// rest is the stream.
pub fn inflate_fuzz(data: &[u8]) {
    let (setup, rest) = Setup::split(data);
    let [b, stream @ ..] = rest else {
        return;
    };
    inflate(&setup, Pmd::from_byte(*b), stream);
}

// ---------------------------------------------------------------------------------------
// handshake_response: `handshake::perform` against a peer that answers anything
// ---------------------------------------------------------------------------------------

/// In a peer's answer, replaced by the right `Sec-WebSocket-Accept` value for the key
/// wsdbg sent, so a fuzzer (and a generator) can write a valid 101.
pub const ACCEPT_PLACEHOLDER: &[u8] = b"{accept}";

/// A server that reads the request and answers with fixed bytes, delivered in the reads
/// `seed` chooses, then EOF or a read timeout.
pub struct Peer<'a> {
    answer: &'a [u8],
    /// The answer with the placeholder replaced, once the request is known.
    replaced: Option<Vec<u8>>,
    pos: usize,
    sizes: Sizes,
    timeout_at_end: bool,
    pub request: Vec<u8>,
    /// read() calls after the answer ran out.
    pub reads_after_end: usize,
}

impl<'a> Peer<'a> {
    pub fn new(answer: &'a [u8], seed: u8, timeout_at_end: bool) -> Peer<'a> {
        Peer {
            answer,
            replaced: None,
            pos: 0,
            sizes: Sizes::new(seed),
            timeout_at_end,
            request: Vec::new(),
            reads_after_end: 0,
        }
    }

    fn answer(&mut self) -> &[u8] {
        if self.replaced.is_none() {
            let key = request_key(&self.request).unwrap_or_default();
            let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
            self.replaced = Some(replace_all(
                self.answer,
                ACCEPT_PLACEHOLDER,
                accept.as_bytes(),
            ));
        }
        self.replaced.as_deref().unwrap_or_default()
    }

    /// What the peer had not sent yet.
    pub fn unread(&mut self) -> Vec<u8> {
        let pos = self.pos;
        self.answer()[pos..].to_vec()
    }
}

/// The in-memory peer has no socket timeout to re-arm: its reads end by themselves.
impl wsdbg::connect::Deadline for Peer<'_> {
    fn set_deadline(&self, _deadline: Instant) -> Result<(), Error> {
        Ok(())
    }
}

impl Read for Peer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(
            !self.request.is_empty(),
            "read the response before sending a request"
        );
        let pos = self.pos;
        let left = self.answer().len() - pos;
        if left == 0 || buf.is_empty() {
            self.reads_after_end += 1;
            return if self.timeout_at_end {
                Err(io::Error::new(io::ErrorKind::WouldBlock, "timed out"))
            } else {
                Ok(0)
            };
        }
        let n = self.sizes.next().min(left).min(buf.len());
        let answer = self.answer();
        buf[..n].copy_from_slice(&answer[pos..pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Peer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.request.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn request_key(request: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(request).ok()?;
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    })
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// What the handshake came to.
#[derive(Debug)]
pub enum HandshakeEnd {
    /// A 101 that passed every check; then the frames after it.
    Upgraded(FramesReport),
    /// Refused or broken: the error the user sees (exit 1).
    Failed(Error),
}

/// The subprotocol wsdbg offers in these runs (`-p chat`).
pub const OFFERED_PROTOCOL: &str = "chat";

/// Run the client handshake against a peer that answers `answer` (with
/// `ACCEPT_PLACEHOLDER` replaced), render what the session would, and on success go on
/// with the frames that follow, as the session does. Panics when an invariant breaks.
pub fn handshake(setup: &Setup, answer: &[u8]) -> HandshakeEnd {
    let mut out = Out::new(setup);
    let target = target::parse("ws://fuzz.example:9001/p?q=1").expect("a valid URL");
    let ask = handshake::Ask {
        headers: Vec::new(),
        protocols: vec![OFFERED_PROTOCOL.to_string()],
        origin: None,
        compress: None,
    };
    let mut peer = Peer::new(answer, setup.seed, setup.timeout_at_end);
    let now = Instant::now();
    let result = handshake::perform(&mut peer, &target, &ask, now, now + Duration::from_secs(10));
    // Once the peer has nothing more to say, reading again would wait forever (or spin):
    // every path stops at the first EOF or error.
    assert!(
        peer.reads_after_end <= 1,
        "{} reads after the end of the answer",
        peer.reads_after_end
    );
    match result {
        Ok((hs, rest)) => {
            assert_eq!(hs.response.status, 101);
            if let Some(p) = &hs.protocol {
                assert_eq!(p, OFFERED_PROTOCOL);
            }
            out.emit(&Event::Handshake(&hs));
            let mut stream = rest;
            stream.extend_from_slice(&peer.unread());
            let client = Setup {
                role: Role::Client,
                ..*setup
            };
            HandshakeEnd::Upgraded(frames_into(&client, hs.deflate, &stream, &mut out))
        }
        Err(e) => {
            let shown = e.clone();
            assert!(
                matches!(e.kind, Kind::Handshake | Kind::Timeout),
                "kind {:?}: {e}",
                e.kind
            );
            assert_eq!(e.exit_code(), wsdbg::exit::CONNECT, "{e}");
            assert_one_line("handshake error", &shown.msg);
            if let Some(r) = &e.refusal {
                assert!(r.body.len() <= 4096, "a {}-byte body kept", r.body.len());
            }
            out.emit(&Event::Error(&shown));
            HandshakeEnd::Failed(e)
        }
    }
}

/// The fuzz target: setup from the first two bytes, the rest is the server's answer.
pub fn handshake_fuzz(data: &[u8]) {
    let (setup, answer) = Setup::split(data);
    handshake(&setup, answer);
}

// ---------------------------------------------------------------------------------------
// command: one input line
// ---------------------------------------------------------------------------------------

/// `command::parse` on one line, as the REPL, script mode and `-x` use it; errors are
/// rendered as the session shows them. Panics when an invariant breaks.
pub fn command_line(setup: &Setup, line: &str) -> Result<command::Command, command::CommandError> {
    let parsed = command::parse(line);
    let trimmed = line.strip_suffix('\r').unwrap_or(line);
    match &parsed {
        Ok(command::Command::Text(t)) => {
            // Plain text is sent as typed, less one leading `/` of a `//`.
            if let Some(plain) = command::plain_text(trimmed) {
                assert_eq!(t, plain);
            } else {
                assert!(
                    trimmed.starts_with("/text"),
                    "{line:?} parsed as text {t:?}"
                );
            }
        }
        Ok(command::Command::Frame(f)) => {
            assert!(f.opcode.as_u8() <= 15);
            assert!(
                f.mask != Some(false) || f.key.is_none(),
                "key= without mask: {f:?}"
            );
        }
        Ok(command::Command::Wait { n, .. }) => assert!(*n >= 1),
        Ok(command::Command::File(p)) => assert!(!p.as_os_str().is_empty()),
        Ok(_) => {}
        Err(e) => {
            assert!(trimmed.starts_with('/') && !trimmed.starts_with("//"));
            assert!(e.command.starts_with('/'), "{e:?}");
            let shown = e.to_string();
            // A line of input has no line break; one that does (`-x` takes any string)
            // must still give a one-line error.
            assert_one_line("command error", &shown);
            let mut out = Out::new(setup);
            let as_usage = Error::usage(shown);
            out.emit(&Event::Error(&as_usage));
        }
    }
    parsed
}

/// The fuzz target: setup from the first two bytes, the rest (UTF-8) is the line.
pub fn command_fuzz(data: &[u8]) {
    let (setup, rest) = Setup::split(data);
    if let Ok(line) = std::str::from_utf8(rest) {
        let _ = command_line(&setup, line);
    }
}

// ---------------------------------------------------------------------------------------
// url: the URL rules, for a URL given by the user and a Location given by a server
// ---------------------------------------------------------------------------------------

/// `target::parse` on `input`. A URL that parses is safe to put in a request line and a
/// `Host` header, and parsing what it shows gives the same target. Panics when an
/// invariant breaks.
pub fn url(input: &str) -> Result<target::Target, Error> {
    let parsed = target::parse(input);
    match &parsed {
        Ok(t) => check_target(t, input),
        Err(e) => {
            assert_eq!(e.kind, Kind::Usage, "{e}");
            assert_eq!(e.exit_code(), wsdbg::exit::USAGE);
            assert_one_line("URL error", &e.msg);
        }
    }
    parsed
}

fn check_target(t: &target::Target, input: &str) {
    let scheme = if t.tls { "wss://" } else { "ws://" };
    assert!(t.url.starts_with(scheme), "{input:?} -> {t:?}");
    assert!(!t.host.is_empty(), "{input:?} -> {t:?}");
    assert!(t.path.starts_with('/'), "{input:?} -> {t:?}");
    // These go into the request head as they are: no space, no line break, nothing a
    // peer could read as the end of a header (request line `GET PATH HTTP/1.1`).
    for (what, v) in [("path", &t.path), ("Host", &t.host_header)] {
        assert!(
            !v.bytes().any(|b| b <= b' ' || b == 0x7f),
            "{what} {v:?} from {input:?} would break the request head"
        );
    }
    if let Some(a) = &t.authorization {
        assert!(a.starts_with("Basic ") && !a.bytes().any(|b| b < b' '));
    }
    let authority = t.url[scheme.len()..].split('/').next().unwrap_or_default();
    assert!(
        !authority.contains('@'),
        "credentials shown in {:?} from {input:?}",
        t.url
    );
    // What the user is shown parses back to the same place.
    let again = target::parse(&t.url)
        .unwrap_or_else(|e| panic!("{:?} (from {input:?}) does not parse again: {e}", t.url));
    assert_eq!(
        (
            &again.url,
            again.tls,
            &again.host,
            again.port,
            &again.path,
            &again.host_header
        ),
        (&t.url, t.tls, &t.host, t.port, &t.path, &t.host_header),
        "from {input:?}"
    );
}

/// `target::redirect` from `from` to a `Location` a server sent. Never drops TLS; a bad
/// one is a handshake error (exit 1). Panics when an invariant breaks.
pub fn redirect(from: &target::Target, location: &str) -> Result<target::Target, Error> {
    let next = target::redirect(from, location);
    match &next {
        Ok(t) => {
            assert!(t.tls || !from.tls, "{location:?} dropped TLS: {t:?}");
            check_target(t, location);
        }
        Err(e) => {
            assert_eq!(e.kind, Kind::Handshake, "{e}");
            assert_one_line("redirect error", &e.msg);
        }
    }
    next
}

/// The fuzz target: byte 0 picks how the input is used, the rest (UTF-8) is a URL, or a
/// `Location` for a redirect from a ws:// or wss:// URL.
pub fn url_fuzz(data: &[u8]) {
    let [b0, rest @ ..] = data else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    match b0 % 3 {
        0 => {
            let _ = url(s);
        }
        n => {
            let from = if n == 1 {
                "ws://a.example:8080/dir/page?x=1"
            } else {
                "wss://user:pw@b.example/dir/"
            };
            let from = target::parse(from).expect("a valid URL");
            let _ = redirect(&from, s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// relay: one direction of a relayed connection (`forward::Forward`)
// ---------------------------------------------------------------------------------------

/// What a `Forward` did with a stream: the frames it reported, and its bytes on.
pub struct Forwarded {
    /// (header as it came, payload unmasked, key it went on with) of each frame reported.
    pub frames: Vec<(Header, Vec<u8>, Option<[u8; 4]>)>,
    /// Every byte it gave toward the other peer, in order.
    pub out: Vec<u8>,
    /// It refused a frame over `--max-size` (the pair would end).
    pub refused: bool,
}

/// Feed `stream` (frames from `from`) to a `Forward` in the reads `seed` picks, as the
/// relay does, and check what went on: it decodes, frame by frame, into the frames
/// reported with the same FIN, RSV, opcode, length and payload, masked with the key
/// reported (toward the server) or not at all (toward the client); what follows the
/// last reported frame is a frame begun: a prefix of the next one, as it came so far.
pub fn forward(from: Role, max_size: u64, seed: u8, stream: &[u8]) -> Forwarded {
    let mut f = wsdbg::forward::Forward::new(from, max_size);
    let mut got = Forwarded {
        frames: Vec::new(),
        out: Vec::new(),
        refused: false,
    };
    'reads: for chunk in Reads::new(stream, seed) {
        f.feed(chunk);
        loop {
            match f.next(&mut got.out) {
                Ok(Some(p)) => {
                    assert_eq!(
                        p.out_key.is_some(),
                        from == Role::Client,
                        "masked toward the server only"
                    );
                    got.frames.push((p.header, p.payload.to_vec(), p.out_key));
                }
                Ok(None) => break,
                Err(v) => {
                    assert_eq!(v.close_code, 1009, "only the size is refused: {}", v.msg);
                    got.refused = true;
                    break 'reads;
                }
            }
        }
    }
    let mut at = 0;
    for (h, payload, key) in &got.frames {
        let (o, n) = wire::decode_header(&got.out[at..]).expect("a reported frame went on whole");
        assert_eq!(
            (o.fin, o.rsv, o.opcode, o.len),
            (h.fin, h.rsv, h.opcode, h.len)
        );
        assert_eq!(o.mask, *key);
        let mut p = got.out[at + n..at + n + payload.len()].to_vec();
        if let Some(k) = o.mask {
            wire::apply_mask(&mut p, k, 0);
        }
        assert_eq!(&p, payload, "the payload went on as it came");
        at += n + payload.len();
    }
    // The rest: a frame begun, never more than came of it.
    let rest = &got.out[at..];
    if !rest.is_empty() {
        if let Some((o, n)) = wire::decode_header(rest) {
            assert!(
                (rest.len() - n) as u64 <= o.len,
                "no more than the frame went on"
            );
        }
    }
    // Each frame may gain a mask key (an unmasked frame from a client, a 5.1 violation,
    // goes on masked) and no more.
    let keys = 4 * (got.frames.len() + 1);
    assert!(
        got.out.len() <= stream.len() + keys,
        "nothing went on that did not come"
    );
    got
}

/// The `forward` target: byte 0 picks the sender and `--max-size`, byte 1 the reads.
pub fn forward_fuzz(data: &[u8]) {
    let (setup, rest) = Setup::split(data);
    forward(setup.role, setup.max_size, setup.seed, rest);
}

// ---------------------------------------------------------------------------------------
// --proto: the application protocol decoders (`wsdbg::proto`)
// ---------------------------------------------------------------------------------------

/// Messages of one connection to a protocol's decoder: byte 0 picks the protocol
/// (`Proto::NAMES`, raw excluded), the rest is cut into messages at each 0xff byte, the
/// first byte of each giving its direction (bit 0) and kind (bit 1: binary). No panic;
/// every packet has a type and a one-line summary; the JSON of a `message` event that
/// carries them parses.
pub fn proto_fuzz(data: &[u8]) {
    use wsdbg::proto::{Decoded, Proto};
    let [pick, rest @ ..] = data else { return };
    let protos = &Proto::NAMES[1..];
    let proto = protos[usize::from(*pick) % protos.len()].1;
    let mut dec = proto.decoder();
    for (i, msg) in rest.split(|b| *b == 0xff).enumerate() {
        let (head, payload) = match msg.split_first() {
            Some((h, p)) => (*h, p),
            None => (0, msg),
        };
        let dir = if head & 1 == 0 { Dir::In } else { Dir::Out };
        let kind = if head & 2 == 0 {
            MsgType::Text
        } else {
            MsgType::Binary
        };
        let packets = dec.decode(dir, kind, payload, i as f64);
        let _ = dec.keepalive(kind, payload);
        for p in &packets {
            assert!(!p.kind.is_empty(), "{proto:?}: a packet with no type");
            assert!(
                !p.summary.contains('\n'),
                "{proto:?}: a summary of more than a line: {:?}",
                p.summary
            );
        }
        let d = Decoded { proto, packets };
        let mut printer = Printer::new(Format::Json, Opts::default(), Vec::new(), Vec::new());
        let ev = Event::Message {
            dir,
            kind,
            payload,
            frames: 1,
            wire: None,
        };
        let ctx = Ctx {
            t: Duration::ZERO,
            client: None,
            leg: None,
            stamp: wsdbg::event::Stamp::None,
        };
        printer
            .emit_with(&ctx, &ev, Some((&d, false)))
            .expect("writing to a Vec");
        let line = String::from_utf8(printer.out).expect("JSON is UTF-8");
        if !line.is_empty() {
            let v: serde_json::Value =
                serde_json::from_str(line.trim_end()).expect("the message event is JSON");
            if !d.packets.is_empty() {
                assert_eq!(v["proto"]["name"], proto.name(), "{line}");
            }
        }
    }
}
