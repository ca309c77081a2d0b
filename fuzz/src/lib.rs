//! Harnesses for hostile input, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`,
//! nightly) and the property tests (`tests/props.rs` includes this file with `#[path]`,
//! stable, in CI). Each one drives a wsdbg parser the way the program does and panics
//! when an invariant breaks; a panic inside wsdbg is a finding too.
//!
//! Only `wsdbg`, std and two crates wsdbg already depends on (`tungstenite` for the
//! accept key, `serde_json` to check the JSON output): no fuzzing crate here, so the
//! same code builds on stable. Nothing here allocates from a length a peer announced.

use std::io::{self, Read, Write};
use std::time::Instant;

use wsdbg::error::{Error, Kind};
use wsdbg::event::{close_parts, CloseFrame, Ctx, Dir, Event, FrameEv, Initiator, MsgType};
use wsdbg::render::{Format, Opts, Printer};
use wsdbg::wire::{self, Checker, Header, Role, Violation, MAX_HEADER_LEN};
use wsdbg::{command, handshake, target};

/// Findings reported and not fixed yet. Each has an ignored regression test in
/// tests/props.rs; the harnesses step around exactly these inputs so that fuzzing can
/// go on finding other things, except those named in `WSDBG_FUZZ_KNOWN` (a comma-
/// separated list of `max_size`, `dechunk`, `refusal_text`, `command_name`,
/// `colon_slashes`, or `all`),
/// to check that a target still finds them or that a fix holds. When a fix lands,
/// delete its entry here and the `#[ignore]` on its test.
pub mod known {
    use std::sync::OnceLock;

    use wsdbg::error::Error;
    use wsdbg::wire::MAX_HEADER_LEN;

    /// Is finding `name` to be hunted rather than stepped around?
    pub fn hunt(name: &str) -> bool {
        static HUNT: OnceLock<String> = OnceLock::new();
        let list = HUNT.get_or_init(|| std::env::var("WSDBG_FUZZ_KNOWN").unwrap_or_default());
        list.split(',')
            .any(|n| n.trim() == name || n.trim() == "all")
    }

    /// The largest `--max-size` a run uses: `SESSION_MAX_SIZE_LIMIT`, or `u64::MAX`
    /// when hunting `max_size`.
    pub fn max_size_top() -> u64 {
        if hunt("max_size") {
            u64::MAX
        } else {
            SESSION_MAX_SIZE_LIMIT
        }
    }

    /// A refused handshake's reason phrase and `Location` go into the error message as
    /// the server sent them (`handshake.rs` `refused`), and the pretty printer writes the
    /// message as it is (`render/pretty.rs` `error`: `writeln!(buf, "{e}")`): a C1
    /// control such as U+009B (CSI) from a hostile server reaches the terminal. The
    /// error with those two replaced, for the checks. Test:
    /// `refusal_reason_and_location_reach_the_terminal`.
    pub fn refusal_text(e: &Error) -> Error {
        let Some(r) = e.refusal.as_deref().filter(|_| !hunt("refusal_text")) else {
            return e.clone();
        };
        let mut e = e.clone();
        let prefix = "the server refused the WebSocket handshake: ";
        if let Some(rest) = e.msg.strip_prefix(prefix) {
            let status = r.status.to_string();
            let mut msg = format!("{prefix}{status} REASON");
            if let Some(at) = rest.find(" -> ") {
                if rest.ends_with(" (a redirect; -L follows it)") {
                    msg.push_str(" -> LOCATION (a redirect; -L follows it)");
                } else {
                    msg.push_str(&rest[at..]);
                }
            } else if rest.ends_with(" (a redirect with no Location header)") {
                msg.push_str(" (a redirect with no Location header)");
            }
            e.msg = msg;
        }
        e
    }

    /// The largest `--max-size` the session survives. Above it, a frame announcing
    /// 2^64-1 bytes passes the size check and `session.rs` `process` overflows on
    /// `hlen as u64 + h.len` (`listen.rs` `frames` likewise on `hlen + h.len as
    /// usize`). Tests: `max_size_u64_max_client_panics`, `max_size_u64_max_listen_panics`.
    pub const SESSION_MAX_SIZE_LIMIT: u64 = u64::MAX - MAX_HEADER_LEN as u64;

    /// A refused handshake with `Transfer-Encoding: chunked` and a chunk size near
    /// 2^64 (`ffffffffffffffff`, or with leading zeros): `handshake.rs` `dechunk`
    /// overflows on `start + size`. True when `dechunk`'s walk over the body (copied
    /// below, the addition checked) would overflow. Test:
    /// `issue9_refused_chunked_huge_chunk_size_panics`.
    pub fn dechunk_overflow(answer: &[u8]) -> bool {
        if hunt("dechunk") {
            return false;
        }
        // The body as `perform` sees it: the placeholder becomes a 28-byte accept key.
        let answer = super::replace_all(answer, super::ACCEPT_PLACEHOLDER, &[b'A'; 28]);
        let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
        head.contains("chunked") && dechunk_walk_overflows(&answer[end + 4..])
    }

    /// `handshake.rs` `dechunk`, with `start + size` checked: does it overflow?
    fn dechunk_walk_overflows(raw: &[u8]) -> bool {
        let mut rest = raw;
        loop {
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return false;
            };
            let size_str = String::from_utf8_lossy(&rest[..eol]);
            let size_str = size_str.split(';').next().unwrap_or("").trim();
            let Ok(size) = usize::from_str_radix(size_str, 16) else {
                return false;
            };
            if size == 0 {
                return false;
            }
            let start = eol + 2;
            let Some(end) = start.checked_add(size) else {
                return true;
            };
            let end = end.min(rest.len());
            if end + 2 > rest.len() {
                return false;
            }
            rest = &rest[end + 2..];
        }
    }

    /// The name of an unknown command is shown as typed, control characters and line
    /// breaks included (`command.rs` `parse`: `error(&command, ..)`; the `Display` of
    /// `CommandError` does not escape `command`). The name, replaced for the checks.
    /// Test: `unknown_command_name_is_shown_unescaped`.
    pub fn command_name(shown: &str, name: &str) -> String {
        if hunt("command_name") {
            return shown.to_string();
        }
        shown.replacen(name, "/NAME", 1)
    }

    /// `target::parse` refuses any URL with `:///` in it as having no host, also when
    /// the `:///` is in the path or query (`ws://h/a:///b`), so such a URL, shown after
    /// a parse, does not parse again. Test: `url_with_colon_slashes_in_path_is_refused`.
    pub fn colon_slashes(url: &str) -> bool {
        !hunt("colon_slashes") && url.contains(":///")
    }
}

// ---------------------------------------------------------------------------------------
// Setup: what the first bytes of a fuzz input choose
// ---------------------------------------------------------------------------------------

/// `--max-size` values a run may use: the edges of the 7/16/64-bit length forms and of
/// the control-frame limit, the default (64 MiB) and the largest accepted (lowered to
/// `known::max_size_top()`).
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
            max_size: MAX_SIZES[usize::from((b0 >> 1) & 7)].min(known::max_size_top()),
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
    if let Some(c) = msg.chars().find(|&c| c.is_control() && c != '\t') {
        panic!("{what}: control character {c:?} in the message {msg:?}");
    }
}

fn assert_violation_shape(v: &Violation) {
    assert!(
        matches!(v.close_code, 1002 | 1007 | 1009),
        "violation with close code {}: {v:?}",
        v.close_code
    );
    assert!(v.rule.starts_with("RFC 6455 "), "rule {:?}: {v:?}", v.rule);
    assert_one_line("violation", &v.msg);
}

// ---------------------------------------------------------------------------------------
// frame_decoder: received frames as session.rs `process` handles them
// ---------------------------------------------------------------------------------------

/// How a frame run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramesEnd {
    /// The input ran out (mid-frame or between frames).
    Eof,
    /// A close frame was received: the session stops reading frames there.
    Closed,
    /// A rule was broken: the session fails the connection (exit 3).
    Failed(Violation),
}

/// What a frame run saw.
#[derive(Debug, Clone)]
pub struct FramesReport {
    pub frames: u64,
    pub messages: u64,
    pub end: FramesEnd,
    /// The most the session would have buffered for one frame (header and payload).
    pub peak_frame: u64,
}

/// The receiving side of a connection, as `session.rs` `process`/`on_frame` drive
/// `wire`: decode a header from the read buffer, check it once (1009 fails at once,
/// other violations wait for the payload so it can be shown), wait for the whole
/// frame, unmask, show it, `check_payload`, reassemble.
struct Receiver {
    role: Role,
    checker: Checker,
    rbuf: Vec<u8>,
    rstart: usize,
    checked: bool,
    violation: Option<Violation>,
    partial: Option<(MsgType, Vec<u8>, u64)>,
    frames: u64,
    messages: u64,
    peak_frame: u64,
}

impl Receiver {
    fn new(role: Role, max_size: u64) -> Receiver {
        Receiver {
            role,
            checker: Checker::new(role, max_size),
            rbuf: Vec::new(),
            rstart: 0,
            checked: false,
            violation: None,
            partial: None,
            frames: 0,
            messages: 0,
            peak_frame: 0,
        }
    }

    fn fail(&mut self, out: &mut Out, v: Violation) -> Option<FramesEnd> {
        assert_violation_shape(&v);
        let e = Error::protocol(v.msg.clone(), v.rule);
        out.emit(&Event::Error(&e));
        assert_eq!(e.exit_code(), wsdbg::exit::LOST);
        Some(FramesEnd::Failed(v))
    }

    /// Handle every complete frame in the buffer; `Some` when the run is over.
    fn process(&mut self, out: &mut Out) -> Option<FramesEnd> {
        loop {
            let avail = &self.rbuf[self.rstart..];
            let (h, hlen) = wire::decode_header(avail)?;
            check_decoded(&h, hlen, avail);
            let max_size = self.checker.max_size;
            if !self.checked {
                match self.checker.check_header(&h) {
                    Ok(()) => {}
                    Err(v) if v.close_code == 1009 => return self.fail(out, v),
                    Err(v) => {
                        assert_violation_shape(&v);
                        self.violation = Some(v);
                    }
                }
                self.checked = true;
                // What the session does next, `hlen as u64 + h.len` and then
                // `ensure_room(total as usize)`, relies on the size check bounding h.len.
                let limit = max_size.max(125);
                assert!(
                    h.len <= limit,
                    "a {}-byte frame passed the size check with --max-size {max_size}",
                    h.len
                );
                let total = (hlen as u64).checked_add(h.len);
                assert!(
                    total.is_some_and(|t| usize::try_from(t).is_ok()),
                    "session.rs process: `hlen as u64 + h.len` overflows ({hlen} + {}) \
                     for a frame the size check let through (--max-size {max_size})",
                    h.len
                );
            }
            let total = hlen as u64 + h.len;
            self.peak_frame = self.peak_frame.max(total);
            if (avail.len() as u64) < total {
                // The session grows its buffer to `total` here and reads on.
                return None;
            }
            let total = total as usize;
            let (start, end) = (self.rstart + hlen, self.rstart + total);
            if let Some(key) = h.mask {
                wire::apply_mask(&mut self.rbuf[start..end], key, 0);
            }
            self.rstart += total;
            self.checked = false;
            self.frames += 1;
            let rbuf = std::mem::take(&mut self.rbuf);
            let end = self.on_frame(out, &h, &rbuf[start..end]);
            self.rbuf = rbuf;
            if end.is_some() {
                return end;
            }
            // Keep the buffer small, as the session's `ensure_room` does.
            if self.rstart > 4096 {
                self.rbuf.drain(..self.rstart);
                self.rstart = 0;
            }
        }
    }

    fn on_frame(&mut self, out: &mut Out, h: &Header, payload: &[u8]) -> Option<FramesEnd> {
        out.emit(&Event::Frame(FrameEv {
            dir: Dir::In,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            mask: h.mask,
            payload,
        }));
        if let Some(v) = self.violation.take() {
            return self.fail(out, v);
        }
        if let Err(v) = self.checker.check_payload(h, payload) {
            return self.fail(out, v);
        }
        // The frame passed every check: what the checker promised holds.
        assert_eq!(h.rsv, [false; 3], "RSV bits passed: {h:?}");
        assert_eq!(h.mask.is_some(), self.role == Role::Server, "mask: {h:?}");
        assert!(wire::opcode_name(h.opcode).is_some(), "opcode: {h:?}");
        match h.opcode {
            1 | 2 => {
                let kind = if h.opcode == 1 {
                    MsgType::Text
                } else {
                    MsgType::Binary
                };
                assert!(
                    self.partial.is_none(),
                    "a new message inside a fragmented one"
                );
                if h.fin {
                    self.message(out, kind, payload, 1);
                } else {
                    self.partial = Some((kind, payload.to_vec(), 1));
                }
            }
            0 => {
                let Some((kind, mut data, frames)) = self.partial.take() else {
                    panic!("a continuation passed with no message in progress: {h:?}");
                };
                data.extend_from_slice(payload);
                assert!(
                    data.len() as u64 <= self.checker.max_size,
                    "a fragmented message of {} bytes passed --max-size {}",
                    data.len(),
                    self.checker.max_size
                );
                if h.fin {
                    self.message(out, kind, &data, frames + 1);
                } else {
                    self.partial = Some((kind, data, frames + 1));
                }
            }
            8 => {
                let (code, reason) = close_parts(payload);
                assert!(payload.len() != 1, "a 1-byte close payload passed");
                if let Some(code) = code {
                    assert!(wire::close_code_allowed(code), "close code {code} passed");
                }
                let reason = match std::str::from_utf8(reason) {
                    Ok(r) => r,
                    Err(e) => panic!("a close reason that is not UTF-8 passed: {e}"),
                };
                let received = CloseFrame { code, reason };
                out.emit(&Event::Close {
                    sent: Some(CloseFrame { code, reason: "" }),
                    received: Some(received),
                    initiator: Initiator::Remote,
                    clean: true,
                    reply_after: None,
                });
                return Some(FramesEnd::Closed);
            }
            9 | 10 => assert!(payload.len() <= 125, "a long control frame passed"),
            op => panic!("reserved opcode {op} passed the checker"),
        }
        None
    }

    fn message(&mut self, out: &mut Out, kind: MsgType, payload: &[u8], frames: u64) {
        if kind == MsgType::Text {
            assert!(
                std::str::from_utf8(payload).is_ok(),
                "a text message that is not UTF-8 passed: {payload:?}"
            );
        }
        assert!(payload.len() as u64 <= self.checker.max_size);
        self.messages += 1;
        out.emit(&Event::Message {
            dir: Dir::In,
            kind,
            payload,
            frames,
        });
    }

    /// The peer closed TCP: a violation still waiting for its payload is reported.
    fn eof(&mut self, out: &mut Out) -> FramesEnd {
        if let Some(v) = self.violation.take() {
            if let Some(end) = self.fail(out, v) {
                return end;
            }
        }
        FramesEnd::Eof
    }
}

/// A decoded header is what the bytes said: it re-encodes to a header that decodes the
/// same, and when the bytes used the shortest length form, to the same bytes.
fn check_decoded(h: &Header, hlen: usize, avail: &[u8]) {
    assert!(hlen <= MAX_HEADER_LEN && hlen <= avail.len(), "hlen {hlen}");
    assert!(h.opcode < 16, "opcode {}", h.opcode);
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
/// handshake, then end it (EOF). Panics when an invariant breaks.
pub fn frames(setup: &Setup, stream: &[u8]) -> FramesReport {
    let mut out = Out::new(setup);
    frames_into(setup, stream, &mut out)
}

fn frames_into(setup: &Setup, stream: &[u8], out: &mut Out) -> FramesReport {
    let mut rx = Receiver::new(setup.role, setup.max_size);
    let mut end = None;
    for chunk in Reads::new(stream, setup.seed) {
        rx.rbuf.extend_from_slice(chunk);
        end = rx.process(out);
        if end.is_some() {
            break;
        }
    }
    let end = end.unwrap_or_else(|| rx.eof(out));
    FramesReport {
        frames: rx.frames,
        messages: rx.messages,
        end,
        peak_frame: rx.peak_frame,
    }
}

/// The fuzz target: setup from the first two bytes, the rest is the stream.
pub fn frames_fuzz(data: &[u8]) {
    let (setup, stream) = Setup::split(data);
    let report = frames(&setup, stream);
    assert!(report.frames <= stream.len() as u64 / 2 + 1);
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
    };
    let mut peer = Peer::new(answer, setup.seed, setup.timeout_at_end);
    let result = handshake::perform(&mut peer, &target, &ask, Instant::now());
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
            HandshakeEnd::Upgraded(frames_into(&client, &stream, &mut out))
        }
        Err(e) => {
            let shown = known::refusal_text(&e);
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
    if known::dechunk_overflow(answer) {
        return;
    }
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
            assert!(f.opcode <= 15);
            assert!(f.mask || f.key.is_none(), "key= without mask: {f:?}");
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
            let shown = known::command_name(&shown, &e.command);
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
    if known::colon_slashes(&t.url) {
        return;
    }
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
