//! The protocol core of one connection, for both roles, with no I/O: bytes in, events
//! and bytes to send out. It owns the read buffer and the frame decoder, the checker,
//! reassembly, auto-pong, the closing handshake and `--max-size`; the role decides
//! masking and which frames break the rules.
//!
//! It never touches a socket, a timer, a terminal or `--output`. Its driver (the
//! client session, the listen server) reads into `Rx::space`, calls `process`, writes
//! with `write_to`, keeps the timers (close timeout, keepalive) and decides what a
//! message means (echo, `/wait`, `--max-messages`). Events go to the driver through
//! `Driver::emit` as they happen, borrowing payloads from the read buffer.

use std::time::{Duration, Instant};

use crate::deflate::{self, Deflater, InflateError, Inflater};
use crate::error::Error;
use crate::event::{close_parts, CloseFrame, Dir, Event, FrameEv, Initiator, MsgType};
use crate::outq::{OutQ, WriteSome};
use crate::wire::{self, Checker, Header, OpCode, Role, Violation};

/// The read buffer's size when idle, and its smallest growth step.
pub const READ_CHUNK: usize = 64 * 1024;
/// An idle read buffer bigger than this (after a large message) is given back.
const KEEP_RBUF: usize = 4 << 20;
/// An auto-pong waits while more than this is queued to send, and a newer ping
/// replaces it (RFC 6455 5.5.3: "an endpoint MAY elect to send a Pong frame for only
/// the most recently processed Ping frame"), so a peer that floods pings and reads
/// nothing cannot make the send queue grow.
const PONG_ROOM: usize = 64 * 1024;

/// What the core tells its driver.
pub trait Driver {
    /// Something happened: a frame crossed the wire (either way), the closing
    /// handshake ended, a rule was broken.
    fn emit(&mut self, ev: &Event<'_>);
    /// A complete data message arrived (fragments put together, inflated when it came
    /// compressed: `wire` is then its size on the wire). The driver shows it
    /// (`Event::Message`) and may answer through `tx`.
    fn message(&mut self, tx: &mut Tx, m: Msg<'_>);
    /// A pong arrived (to match it with a ping the driver sent).
    fn pong(&mut self, _payload: &[u8]) {}
    /// The peer's close frame arrived and passed the checks (a valid code, UTF-8
    /// reason): the fact `/expect close` reads. A close frame that broke a rule is a
    /// violation instead (an `Error` event with its rule), never this.
    fn closed(&mut self, _code: Option<u16>, _reason: &str) {}
}

/// A complete data message, as the core hands it to its driver.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    pub kind: MsgType,
    pub payload: &'a [u8],
    pub frames: u64,
    /// permessage-deflate: `Some(bytes on the wire)` when it came compressed.
    pub wire: Option<u64>,
}

impl<'a> Msg<'a> {
    /// The `message` event for it.
    pub fn event(&self, dir: Dir) -> Event<'a> {
        Event::Message {
            dir,
            kind: self.kind,
            payload: self.payload,
            frames: self.frames,
            wire: self.wire,
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both close frames were exchanged and ours was written.
    Clean,
    /// Lost, timed out, or failed.
    Unclean,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub role: Role,
    /// Largest message accepted; beyond it close with 1009.
    pub max_size: u64,
    /// Answer pings.
    pub auto_pong: bool,
    /// The read buffer's first size: a client takes 64 KiB reads; a server with many
    /// idle clients starts small, and each buffer grows with what arrives.
    pub rbuf: usize,
    /// permessage-deflate, when negotiated.
    pub deflate: Option<deflate::Agreed>,
    /// `--close-timeout`: how long our close frame waits for its reply, a peer that
    /// stopped reading gets to take the rest, and the drain after our half-close lasts.
    pub close_timeout: Duration,
}

/// However long the peer keeps sending (or taking bytes slowly), the close-reply and
/// give-up waits end this many close timeouts after they began.
pub const CLOSE_WAIT_CAP: u32 = 10;

/// One connection's protocol state: the receiving half and the sending half, apart so
/// that a driver answering a message (`Driver::message`) can send while the message
/// still borrows the read buffer.
pub struct Conn {
    pub rx: Rx,
    pub tx: Tx,
}

/// The receiving half: read buffer, decoder state, checker, reassembly.
pub struct Rx {
    buf: Vec<u8>,
    /// The undecoded bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Bytes the frame at `start` needs in all (header and payload), once known.
    need: usize,
    /// The header at `start` went through `check_header`.
    checked: bool,
    /// Payload bytes of the frame at `start` already unmasked in place.
    unmasked: usize,
    checker: Checker,
    partial: Option<Partial>,
    /// permessage-deflate: inflates what came with RSV1.
    inflater: Option<Inflater>,
    max_size: u64,
    /// The peer ended its side of the connection.
    eof: bool,
    pub frames: u64,
    pub bytes: u64,
    /// When bytes last arrived.
    pub last_at: Instant,
}

/// The sending half: the send queue, masking, the closing handshake.
pub struct Tx {
    role: Role,
    pub out: OutQ,
    auto_pong: bool,
    /// The ping to answer once the send queue has room.
    pong_due: Option<Vec<u8>>,
    /// permessage-deflate: compresses our data messages (none when we may not).
    deflater: Option<Deflater>,
    /// permessage-deflate was negotiated (RSV1 is ours to set).
    negotiated: bool,
    /// A data message we are sending in fragments, for its `message` event.
    partial: Option<Partial>,
    close: Option<Closing>,
    end: Option<End>,
    /// The peer broke a rule.
    broken: bool,
    close_timeout: Duration,
    /// The connection is over but its last bytes are not written: give up on them
    /// at `give_up.0` (pushed on while bytes go out) or `give_up.2`; `give_up.1` is
    /// what had been written when `give_up.0` was set.
    give_up: Option<(Instant, u64, Instant)>,
    /// After our half-close: read what the peer still sends until this.
    drain_until: Option<Instant>,
    /// Bytes queued to send were given up (the peer stopped reading).
    abandoned: bool,
    pub frames: u64,
    pub bytes: u64,
    pub messages: u64,
    /// Masking keys drawn ahead from the thread's CSPRNG.
    keys: Keys,
}

/// Masking keys (RFC 6455 5.3: fresh and unpredictable for every frame), drawn from
/// the CSPRNG 64 at a time: one draw per frame cost 3% of a small-message run.
struct Keys {
    buf: [u32; 64],
    at: usize,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            buf: [0; 64],
            at: 64,
        }
    }
}

impl Keys {
    fn next(&mut self) -> [u8; 4] {
        if self.at >= self.buf.len() {
            rand::fill(&mut self.buf[..]);
            self.at = 0;
        }
        let k = self.buf[self.at];
        self.at += 1;
        k.to_ne_bytes()
    }
}

/// A fragmented message being put together.
struct Partial {
    kind: MsgType,
    data: Vec<u8>,
    frames: u64,
    /// Its first frame had RSV1 (permessage-deflate): `data` is compressed.
    compressed: bool,
}

/// The closing handshake: what each side's close frame said, and when.
struct Closing {
    initiator: Initiator,
    sent: Option<(Option<u16>, String)>,
    sent_at: Option<Instant>,
    /// `out.queued()` just past our close frame: it is written once `out.written()`
    /// gets there.
    sent_end: u64,
    received: Option<(Option<u16>, String)>,
    received_at: Option<Instant>,
    /// The `close` event was emitted.
    reported: bool,
}

impl Closing {
    fn event(&self, clean: bool) -> Event<'_> {
        fn frame(f: &Option<(Option<u16>, String)>) -> Option<CloseFrame<'_>> {
            f.as_ref().map(|(code, reason)| CloseFrame {
                code: *code,
                reason: reason.as_str(),
            })
        }
        let reply_after = match (self.initiator, self.sent_at, self.received_at) {
            (Initiator::Local, Some(s), Some(r)) => Some(r.saturating_duration_since(s)),
            (Initiator::Remote, Some(s), Some(r)) => Some(s.saturating_duration_since(r)),
            _ => None,
        };
        Event::Close {
            sent: frame(&self.sent),
            received: frame(&self.received),
            initiator: self.initiator,
            clean,
            reply_after: if clean { reply_after } else { None },
        }
    }

    fn complete(&self) -> bool {
        self.sent.is_some() && self.received.is_some()
    }
}

impl Conn {
    /// A new connection; `early` holds bytes read past the opening handshake.
    pub fn new(cfg: Config, early: &[u8]) -> Conn {
        let mut buf = vec![0u8; cfg.rbuf.max(early.len()).max(64)];
        buf[..early.len()].copy_from_slice(early);
        let mut checker = Checker::new(cfg.role, cfg.max_size);
        checker.rsv1 = cfg.deflate.is_some();
        Conn {
            rx: Rx {
                buf,
                start: 0,
                end: early.len(),
                need: 0,
                checked: false,
                unmasked: 0,
                checker,
                partial: None,
                inflater: cfg.deflate.map(|a| Inflater::new(a.in_reset)),
                max_size: cfg.max_size,
                eof: false,
                frames: 0,
                bytes: 0,
                last_at: Instant::now(),
            },
            tx: Tx {
                role: cfg.role,
                out: OutQ::default(),
                auto_pong: cfg.auto_pong,
                pong_due: None,
                deflater: cfg
                    .deflate
                    .filter(|a| a.compress_out)
                    .map(|a| Deflater::new(a.out_bits, a.out_reset)),
                negotiated: cfg.deflate.is_some(),
                partial: None,
                close: None,
                end: None,
                broken: false,
                close_timeout: cfg.close_timeout,
                give_up: None,
                drain_until: None,
                abandoned: false,
                frames: 0,
                bytes: 0,
                messages: 0,
                keys: Keys::default(),
            },
        }
    }

    /// The connection is over for the protocol (what is queued may still go out).
    pub fn end(&self) -> Option<End> {
        self.tx.end
    }

    /// The peer broke a rule of the protocol.
    pub fn broken(&self) -> bool {
        self.tx.broken
    }

    /// Handle every complete frame in the read buffer (and fail fast on a text frame
    /// whose arrived part is already invalid UTF-8).
    pub fn process(&mut self, d: &mut (impl Driver + ?Sized)) {
        while self.tx.end.is_none() {
            let rx = &mut self.rx;
            let avail = rx.end - rx.start;
            let Some((h, hlen)) = wire::decode_header(&rx.buf[rx.start..rx.end]) else {
                rx.need = 0;
                if avail == 0 && rx.buf.len() > KEEP_RBUF {
                    // A large message went through: give its buffer back now, not at
                    // the next read (which backpressure may put off).
                    rx.start = 0;
                    rx.end = 0;
                    rx.buf = vec![0u8; READ_CHUNK];
                }
                return;
            };
            if !rx.checked {
                rx.checked = true;
                rx.unmasked = 0;
                // A header that breaks a rule fails the connection at once: nothing of
                // its payload is waited for or buffered (a peer could announce a large
                // one and hold the socket).
                if let Err(v) = rx.checker.check_header(&h) {
                    return self.fail(d, v);
                }
            }
            // A length's top bit is refused above, so this cannot overflow; saturate
            // all the same.
            let total = (hlen as u64).saturating_add(h.len);
            let pstart = rx.start + hlen;
            if (avail as u64) < total {
                // The size check made `total` fit in memory.
                rx.need = total as usize;
                if avail > hlen {
                    let have = avail - hlen;
                    if let Some(key) = h.mask {
                        let from = pstart + rx.unmasked;
                        wire::apply_mask(&mut rx.buf[from..pstart + have], key, rx.unmasked);
                    }
                    rx.unmasked = have;
                    if let Err(v) = rx.checker.check_partial(&h, &rx.buf[pstart..pstart + have]) {
                        return self.fail(d, v);
                    }
                }
                return;
            }
            let pend = rx.start + total as usize;
            if let Some(key) = h.mask {
                let from = pstart + rx.unmasked;
                wire::apply_mask(&mut rx.buf[from..pend], key, rx.unmasked);
            }
            rx.start = pend;
            rx.checked = false;
            rx.unmasked = 0;
            rx.need = 0;
            rx.frames += 1;
            let buf = std::mem::take(&mut rx.buf);
            self.frame(d, &h, &buf[pstart..pend]);
            self.rx.buf = buf;
        }
    }

    fn frame(&mut self, d: &mut (impl Driver + ?Sized), h: &Header, payload: &[u8]) {
        d.emit(&Event::Frame(FrameEv {
            dir: Dir::In,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            mask: h.mask,
            payload,
        }));
        if let Err(v) = self.rx.checker.check_payload(h, payload) {
            return self.fail(d, v);
        }
        match h.opcode {
            OpCode::Text | OpCode::Binary => {
                let kind = if h.opcode == OpCode::Text {
                    MsgType::Text
                } else {
                    MsgType::Binary
                };
                let compressed = h.rsv[0] && self.rx.inflater.is_some();
                if h.fin {
                    self.deliver(d, kind, payload, 1, compressed);
                } else {
                    self.rx.partial = Some(Partial {
                        kind,
                        data: payload.to_vec(),
                        frames: 1,
                        compressed,
                    });
                }
            }
            OpCode::Continue => {
                if let Some(p) = &mut self.rx.partial {
                    p.data.extend_from_slice(payload);
                    p.frames += 1;
                }
                if h.fin {
                    if let Some(p) = self.rx.partial.take() {
                        self.deliver(d, p.kind, &p.data, p.frames, p.compressed);
                    }
                }
            }
            OpCode::Close => self.on_close(d, payload),
            OpCode::Ping if self.tx.auto_pong && !self.tx.close_sent() => {
                // Only the latest ping is answered while the queue is full.
                self.tx.pong_due = Some(payload.to_vec());
                self.tx.send_due_pong(d);
            }
            OpCode::Pong => d.pong(payload),
            _ => {}
        }
    }

    /// A complete message to the driver, inflated first when it came compressed: a
    /// message that inflates past `--max-size` is refused with 1009 (inflating stops
    /// there), one that does not inflate with 1007.
    fn deliver(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        kind: MsgType,
        payload: &[u8],
        frames: u64,
        compressed: bool,
    ) {
        let inflater = match &mut self.rx.inflater {
            // An empty payload with RSV1 is not deflate data (an empty message is the
            // block `0x00`); taken as an empty message, leaving the inflater as it was.
            Some(i) if compressed && !payload.is_empty() => i,
            _ => {
                let m = Msg {
                    kind,
                    payload,
                    frames,
                    wire: None,
                };
                return d.message(&mut self.tx, m);
            }
        };
        let mut plain = Vec::new();
        if let Err(e) = inflater.message(payload, self.rx.max_size, &mut plain) {
            let v = match e {
                InflateError::TooBig { limit } => Violation {
                    close_code: 1009,
                    rule: "RFC 6455 10.4",
                    msg: format!(
                        "compressed message of {} bytes inflates past --max-size ({limit} bytes); inflating stopped there",
                        payload.len()
                    ),
                },
                InflateError::Corrupt(why) => Violation {
                    close_code: 1007,
                    rule: "RFC 7692 7.2.2",
                    msg: format!(
                        "compressed message of {} bytes does not inflate: {why}",
                        payload.len()
                    ),
                },
            };
            return self.fail(d, v);
        }
        if kind == MsgType::Text {
            if let Err(v) = self.rx.checker.check_text(&plain) {
                return self.fail(d, v);
            }
        }
        let m = Msg {
            kind,
            payload: &plain,
            frames,
            wire: Some(payload.len() as u64),
        };
        d.message(&mut self.tx, m);
    }

    /// The peer's close frame: the reply to ours, or the start of the closing handshake
    /// (answered with its code, RFC 6455 5.5.1).
    fn on_close(&mut self, d: &mut (impl Driver + ?Sized), payload: &[u8]) {
        let (code, reason) = close_parts(payload);
        let reason = String::from_utf8_lossy(reason).into_owned();
        let now = Instant::now();
        match &mut self.tx.close {
            Some(cl) => {
                cl.received = Some((code, reason));
                cl.received_at = Some(now);
            }
            None => {
                self.tx.close = Some(Closing {
                    initiator: Initiator::Remote,
                    sent: None,
                    sent_at: None,
                    sent_end: 0,
                    received: Some((code, reason)),
                    received_at: Some(now),
                    reported: false,
                });
                let key = self.tx.mask_key();
                self.tx.send_frame(
                    d,
                    OpCode::Close,
                    true,
                    [false; 3],
                    key,
                    &payload[..payload.len().min(2)],
                );
            }
        }
        if let Some(cl) = &self.tx.close {
            if let Some((code, reason)) = &cl.received {
                d.closed(*code, reason);
            }
        }
        // Both frames are exchanged: nothing more is expected (RFC 6455 5.5.1). The
        // `close` event waits until our frame is written.
        self.tx.end = Some(End::Clean);
        self.tx.check_written(d);
    }

    /// The peer broke a rule: say which, close with the code the rule asks for, and
    /// stop (RFC 6455 7.1.7, "Fail the WebSocket Connection").
    pub fn fail(&mut self, d: &mut (impl Driver + ?Sized), v: Violation) {
        self.tx.broken = true;
        d.emit(&Event::Error(&Error::protocol(v.msg, v.rule)));
        if !self.tx.close_sent() {
            let reason = match (v.close_code, v.rule.starts_with("RFC 7692")) {
                (1007, true) => "invalid compressed data",
                (1007, false) => "invalid UTF-8",
                (1009, _) => "message too big",
                _ => "protocol error",
            };
            self.tx.close(d, Some(v.close_code), reason);
        }
        self.tx.report(d, false);
        self.tx.end = Some(End::Unclean);
    }

    /// The peer ended its side of the connection: handle what is buffered, then the
    /// connection is over (cleanly when the closing handshake was done).
    pub fn eof(&mut self, d: &mut (impl Driver + ?Sized)) {
        self.rx.eof = true;
        self.process(d);
        if self.tx.end.is_some() {
            return;
        }
        let reason = if self.rx.end > self.rx.start {
            format!(
                "connection closed in the middle of a frame ({} bytes of it received)",
                self.rx.end - self.rx.start
            )
        } else {
            "connection closed without a close frame".to_string()
        };
        self.lost(d, &reason);
    }

    /// The connection broke (or is declared dead): 1006.
    pub fn lost(&mut self, d: &mut (impl Driver + ?Sized), reason: &str) {
        if self.tx.end.is_some() {
            // Over already; what could not be sent is given up.
            self.abandon(d);
            return;
        }
        self.tx.report(d, false);
        d.emit(&Event::Disconnected { code: 1006, reason });
        self.tx.out.discard();
        self.tx.end = Some(End::Unclean);
    }

    /// No close frame came back within the close timeout.
    pub fn close_timed_out(&mut self, d: &mut (impl Driver + ?Sized)) {
        self.tx.report(d, false);
        self.tx.end = Some(End::Unclean);
    }

    /// What is queued will never be sent (the peer stopped reading): a closing
    /// handshake whose last frame was ours is then not clean.
    pub fn abandon(&mut self, d: &mut (impl Driver + ?Sized)) {
        if !self.tx.out.is_empty() {
            self.tx.abandoned = true;
        }
        self.tx.out.discard();
        if self.tx.close.as_ref().is_some_and(|c| !c.reported) {
            self.tx.report(d, false);
            self.tx.end = Some(End::Unclean);
        }
    }

    /// When `tick` must run next: the close reply's deadline, or the give-up on the
    /// bytes a finished connection still has to send.
    pub fn deadline(&self) -> Option<Instant> {
        let ct = self.tx.close_timeout;
        let reply = self
            .tx
            .awaiting_close_reply()
            .map(|sent| (sent.max(self.rx.last_at) + ct).min(sent + ct * CLOSE_WAIT_CAP));
        let give_up = self.tx.give_up.map(|(at, _, cap)| at.min(cap));
        match (reply, give_up) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: our close frame's reply is overdue (nothing from the peer for
    /// `--close-timeout`, or `CLOSE_WAIT_CAP` of them though it kept sending), or a
    /// finished connection's last bytes found no reader (no progress for
    /// `--close-timeout`, `CLOSE_WAIT_CAP` of them in all): the connection ends.
    pub fn tick(&mut self, d: &mut (impl Driver + ?Sized), now: Instant) {
        let ct = self.tx.close_timeout;
        if let Some(sent) = self.tx.awaiting_close_reply() {
            let ms = ct.as_millis();
            let msg = if now >= sent + ct * CLOSE_WAIT_CAP {
                Some(format!(
                    "no close frame from the peer within {CLOSE_WAIT_CAP} x --close-timeout ({} ms) of ours, though it kept sending",
                    ms * u128::from(CLOSE_WAIT_CAP)
                ))
            } else if now >= sent.max(self.rx.last_at) + ct {
                Some(format!(
                    "no close frame from the peer, and nothing else from it, for --close-timeout ({ms} ms)"
                ))
            } else {
                None
            };
            if let Some(msg) = msg {
                d.emit(&Event::Error(&Error::timeout(msg)));
                self.close_timed_out(d);
            }
        }
        if self.tx.end.is_some() && !self.tx.out.is_empty() {
            let written = self.tx.out.written();
            match &mut self.tx.give_up {
                Some((at, w, _)) if *w != written => {
                    *at = now + ct;
                    *w = written;
                }
                Some(_) => {}
                None => self.tx.give_up = Some((now + ct, written, now + ct * CLOSE_WAIT_CAP)),
            }
            if let Some((at, _, cap)) = self.tx.give_up {
                if now >= at || now >= cap {
                    self.abandon(d);
                }
            }
        }
    }

    /// The connection is over and everything is written (or given up): the driver
    /// shuts its side and reads what the peer still sends until this deadline (so
    /// closing with unread data does not reset the connection and destroy our close
    /// frame on its way). `None` while there is still something to send.
    pub fn drain_until(&mut self, now: Instant) -> Option<Instant> {
        if self.tx.end.is_none() || !self.tx.out.is_empty() {
            return None;
        }
        Some(
            *self
                .tx
                .drain_until
                .get_or_insert(now + self.tx.close_timeout),
        )
    }

    /// We gave up on the bytes still queued (the peer stopped reading): nothing is
    /// left to protect by draining.
    pub fn abandoned(&self) -> bool {
        self.tx.abandoned
    }

    /// Send what the transport takes now; a pong waiting for room goes first when
    /// there is room. Reports the closing handshake once our close frame is written.
    pub fn write_to(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        w: &mut impl WriteSome,
    ) -> Result<(), Error> {
        loop {
            self.tx.send_due_pong(d);
            let r = self.tx.out.write_to(w);
            self.tx.check_written(d);
            r?;
            if self.tx.pong_due.is_none() || self.tx.out.pending() > PONG_ROOM {
                return Ok(());
            }
        }
    }
}

impl Rx {
    /// Where to read the next bytes: the free end of the buffer, made room for. The
    /// buffer grows with what arrives, never ahead of it to an announced length.
    pub fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > KEEP_RBUF && self.need == 0 {
                self.buf = vec![0u8; READ_CHUNK];
                self.buf.shrink_to_fit();
            }
        }
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Double (by READ_CHUNK at least, once that big), but not past what the
            // frame in progress needs.
            let len = self.buf.len();
            let step = if len < READ_CHUNK {
                len
            } else {
                READ_CHUNK.max(len / 2)
            };
            let grow = if self.need > len {
                (self.need - len).min(step.max(len))
            } else {
                step
            };
            self.buf.resize(len + grow, 0);
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into `space()`.
    pub fn filled(&mut self, n: usize) {
        self.end += n;
        self.bytes += n as u64;
        if n > 0 {
            self.last_at = Instant::now();
        }
    }

    /// Bytes received and not yet handled (an incomplete frame).
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The read buffer's size (for tests of memory bounds).
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of the peer's held in memory: an incomplete frame, and the fragments of
    /// a message being put together (for flow control, `flow`).
    pub fn held(&self) -> usize {
        self.buffered() + self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Give the read buffer back to `size` when it holds nothing and grew past it
    /// (after a large message), so an idle connection costs its idle size.
    pub fn shrink_idle(&mut self, size: usize) {
        if self.start == self.end && self.need == 0 && self.buf.len() > size.max(READ_CHUNK) {
            self.start = 0;
            self.end = 0;
            self.buf = vec![0u8; size];
            self.buf.shrink_to_fit();
        }
    }
}

impl Tx {
    /// The masking key for a frame we send: a fresh random one as a client (RFC 6455
    /// 5.3), none as a server (5.1).
    pub fn mask_key(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(self.keys.next()),
            Role::Server => None,
        }
    }

    /// The connection is over for the protocol.
    pub fn is_over(&self) -> bool {
        self.end.is_some()
    }

    /// Our close frame was sent (or queued).
    pub fn close_sent(&self) -> bool {
        self.close.as_ref().is_some_and(|c| c.sent.is_some())
    }

    /// The peer's close frame arrived.
    pub fn close_received(&self) -> bool {
        self.close.as_ref().is_some_and(|c| c.received.is_some())
    }

    /// When we sent our close frame, while its reply is awaited.
    pub fn awaiting_close_reply(&self) -> Option<Instant> {
        let cl = self.close.as_ref()?;
        if cl.received.is_some() || self.end.is_some() {
            return None;
        }
        cl.sent_at
    }

    /// `/frame`: one frame exactly as asked, masked as asked (by default as the role
    /// asks).
    pub fn send_raw(&mut self, d: &mut (impl Driver + ?Sized), f: &crate::command::RawFrame) {
        let masked = f.mask.unwrap_or(self.role == Role::Client);
        let key = masked.then(|| f.key.unwrap_or_else(rand::random));
        self.send_frame(d, f.opcode, f.fin, f.rsv, key, &f.payload);
    }

    /// A data message, masked as the role asks, and compressed whenever
    /// permessage-deflate was agreed, however short (as browsers, Python `websockets`
    /// and Node `ws` do; Autobahn's 12.* and 13.* expect every message compressed).
    pub fn send_data(&mut self, d: &mut (impl Driver + ?Sized), kind: MsgType, payload: &[u8]) {
        let compress = self.deflater.is_some();
        self.send_message(d, kind, payload, compress);
    }

    /// Whether `send_message(.., true)` can compress: permessage-deflate was
    /// negotiated and allows us to.
    pub fn can_compress(&self) -> bool {
        self.deflater.is_some()
    }

    /// A data message, compressed (RSV1) or not, as asked; `compress` needs
    /// `can_compress()` (else it is sent plain).
    pub fn send_message(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        kind: MsgType,
        payload: &[u8],
        compress: bool,
    ) {
        let key = self.mask_key();
        let Some(deflater) = self.deflater.as_mut().filter(|_| compress) else {
            return self.send_frame(d, data_op(kind), true, [false; 3], key, payload);
        };
        let mut wire = Vec::new();
        deflater.message(payload, &mut wire);
        let h = Header {
            fin: true,
            rsv: [true, false, false],
            opcode: data_op(kind),
            mask: key,
            len: wire.len() as u64,
        };
        self.out.append(|out| {
            wire::encode_header(&h, out);
            let start = out.len();
            out.extend_from_slice(&wire);
            if let Some(key) = key {
                wire::apply_mask(&mut out[start..], key, 0);
            }
        });
        self.count_and_show(d, &h, &wire);
        self.partial = None;
        self.messages += 1;
        d.emit(&Event::Message {
            dir: Dir::Out,
            kind,
            payload,
            frames: 1,
            wire: Some(wire.len() as u64),
        });
    }

    /// Start (or answer) the closing handshake, unless our close frame went already.
    pub fn close(&mut self, d: &mut (impl Driver + ?Sized), code: Option<u16>, reason: &str) {
        if self.close_sent() || self.end.is_some() {
            return;
        }
        let mut payload = Vec::with_capacity(2 + reason.len());
        if let Some(code) = code {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        let key = self.mask_key();
        self.send_frame(d, OpCode::Close, true, [false; 3], key, &payload);
    }

    /// Encode one frame exactly as asked into the send queue and show it. A close
    /// frame (any, also one made by hand) starts or answers the closing handshake.
    pub fn send_frame(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        opcode: OpCode,
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
        let before = self.out.queued();
        self.out.append(|out| {
            wire::encode_header(&h, out);
            let start = out.len();
            out.extend_from_slice(payload);
            if let Some(key) = mask {
                wire::apply_mask(&mut out[start..], key, 0);
            }
        });
        self.sent(d, &h, payload, before);
    }

    /// A data message whose payload is `buf[start..end]`, which the caller gives
    /// away: shown, then masked in place and queued without a copy.
    pub fn send_owned(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        kind: MsgType,
        mut buf: Vec<u8>,
        start: usize,
        end: usize,
    ) {
        let opcode = data_op(kind);
        let mask = self.mask_key();
        let h = Header {
            fin: true,
            rsv: [false; 3],
            opcode,
            mask,
            len: (end - start) as u64,
        };
        if self.deflater.is_some() {
            // Compressed: a copy is made anyway.
            return self.send_data(d, kind, &buf[start..end]);
        }
        buf.truncate(end);
        let before = self.out.queued();
        self.sent(d, &h, &buf[start..], before);
        self.out.append(|out| wire::encode_header(&h, out));
        if let Some(key) = mask {
            wire::apply_mask(&mut buf[start..], key, 0);
        }
        self.out.push_owned(buf, start);
    }

    /// Count and show a frame just queued; returns its size on the wire.
    fn count_and_show(
        &mut self,
        d: &mut (impl Driver + ?Sized),
        h: &Header,
        payload: &[u8],
    ) -> u64 {
        self.frames += 1;
        // Header and payload: for `send_owned` the payload is queued after this.
        let size = (wire::header_len(h) + payload.len()) as u64;
        self.bytes += size;
        d.emit(&Event::Frame(FrameEv {
            dir: Dir::Out,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            mask: h.mask,
            payload,
        }));
        size
    }

    /// Count, show and follow a frame just queued (from `before` in the queue).
    fn sent(&mut self, d: &mut (impl Driver + ?Sized), h: &Header, payload: &[u8], before: u64) {
        let size = self.count_and_show(d, h, payload);
        if h.opcode == OpCode::Close {
            self.close_went(payload, before + size);
        } else {
            self.track_message(d, h, payload);
        }
    }

    fn close_went(&mut self, payload: &[u8], end: u64) {
        let (code, reason) = close_parts(payload);
        let sent = Some((code, String::from_utf8_lossy(reason).into_owned()));
        let now = Some(Instant::now());
        match &mut self.close {
            Some(cl) if cl.sent.is_none() => {
                // Our answer to the peer's close: the handshake is complete.
                cl.sent = sent;
                cl.sent_at = now;
                cl.sent_end = end;
            }
            // A second close frame sent by hand: the handshake counts the first.
            Some(_) => {}
            None => {
                self.close = Some(Closing {
                    initiator: Initiator::Local,
                    sent,
                    sent_at: now,
                    sent_end: end,
                    received: None,
                    received_at: None,
                    reported: false,
                });
            }
        }
    }

    /// Emit the `message` event for a data message we sent, fragments put together.
    fn track_message(&mut self, d: &mut (impl Driver + ?Sized), h: &Header, payload: &[u8]) {
        let kind = match h.opcode {
            OpCode::Text => MsgType::Text,
            OpCode::Binary => MsgType::Binary,
            OpCode::Continue => {
                let Some(p) = &mut self.partial else {
                    return;
                };
                p.data.extend_from_slice(payload);
                p.frames += 1;
                if h.fin {
                    if let Some(p) = self.partial.take() {
                        self.messages += 1;
                        // A message made by hand with RSV1 is shown as it went.
                        d.emit(&Event::Message {
                            dir: Dir::Out,
                            kind: p.kind,
                            payload: &p.data,
                            frames: p.frames,
                            wire: None,
                        });
                    }
                }
                return;
            }
            _ => return,
        };
        if h.fin {
            self.partial = None;
            self.messages += 1;
            d.emit(&Event::Message {
                dir: Dir::Out,
                kind,
                payload,
                frames: 1,
                wire: None,
            });
        } else {
            self.partial = Some(Partial {
                kind,
                data: payload.to_vec(),
                frames: 1,
                compressed: h.rsv[0] && self.negotiated,
            });
        }
    }

    fn send_due_pong(&mut self, d: &mut (impl Driver + ?Sized)) {
        if self.close_sent() {
            // Nothing may follow our close frame (RFC 6455 5.5.1).
            self.pong_due = None;
            return;
        }
        if self.out.pending() > PONG_ROOM {
            return;
        }
        if let Some(p) = self.pong_due.take() {
            let key = self.mask_key();
            self.send_frame(d, OpCode::Pong, true, [false; 3], key, &p);
        }
    }

    /// The `close` event, once.
    fn report(&mut self, d: &mut (impl Driver + ?Sized), clean: bool) {
        if let Some(cl) = &mut self.close {
            if !cl.reported {
                cl.reported = true;
                d.emit(&cl.event(clean));
            }
        }
    }

    /// A complete closing handshake is reported once our close frame is written.
    fn check_written(&mut self, d: &mut (impl Driver + ?Sized)) {
        let written = self.out.written();
        if let Some(cl) = &self.close {
            if cl.complete() && !cl.reported && written >= cl.sent_end {
                self.report(d, true);
            }
        }
    }
}

/// The opcode of a data message's (first) frame.
pub fn data_op(kind: MsgType) -> OpCode {
    match kind {
        MsgType::Text => OpCode::Text,
        MsgType::Binary => OpCode::Binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masking keys drawn ahead are fresh past each refill of 64: 1,000 keys from two
    /// pools, nearly all distinct (a repeat among 32-bit keys is a 1-in-10,000 event
    /// here), and the pools differ.
    #[test]
    fn masking_keys_are_fresh_across_refills() {
        let mut a = Keys::default();
        let mut b = Keys::default();
        let ka: Vec<[u8; 4]> = (0..1000).map(|_| a.next()).collect();
        let kb: Vec<[u8; 4]> = (0..1000).map(|_| b.next()).collect();
        let distinct: std::collections::HashSet<_> = ka.iter().collect();
        assert!(distinct.len() >= 998, "{}", distinct.len());
        assert_ne!(ka, kb);
        assert_ne!(ka[..64], ka[64..128]);
    }

    /// A driver that records what it was told, and echoes messages when asked.
    #[derive(Default)]
    struct Rec {
        lines: Vec<String>,
        echo: bool,
    }

    impl Driver for Rec {
        fn emit(&mut self, ev: &Event<'_>) {
            let line = match ev {
                Event::Frame(f) => format!(
                    "{} op={} fin={} len={}",
                    f.dir.as_str(),
                    f.opcode.as_u8(),
                    f.fin as u8,
                    f.payload.len()
                ),
                Event::Message {
                    dir,
                    kind,
                    payload,
                    frames,
                    ..
                } => format!(
                    "message {} {} {:?} frames={frames}",
                    dir.as_str(),
                    kind.as_str(),
                    String::from_utf8_lossy(payload)
                ),
                Event::Close {
                    sent,
                    received,
                    initiator,
                    clean,
                    ..
                } => format!(
                    "close {} sent={:?} received={:?} clean={clean}",
                    initiator.as_str(),
                    sent.map(|f| f.code),
                    received.map(|f| f.code)
                ),
                Event::Error(e) => format!("error {}", e.rule.unwrap_or("")),
                Event::Disconnected { code, .. } => format!("disconnected {code}"),
                other => format!("{other:?}"),
            };
            self.lines.push(line);
        }
        fn message(&mut self, tx: &mut Tx, m: Msg<'_>) {
            self.emit(&m.event(Dir::In));
            if self.echo {
                tx.send_data(self, m.kind, m.payload);
            }
        }
    }

    fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let h = Header {
            fin,
            rsv: [false; 3],
            opcode: OpCode::from(opcode),
            mask: None,
            len: payload.len() as u64,
        };
        let mut out = Vec::new();
        wire::encode_header(&h, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let h = Header {
            fin,
            rsv: [false; 3],
            opcode: OpCode::from(opcode),
            mask: Some(key),
            len: payload.len() as u64,
        };
        let mut out = Vec::new();
        wire::encode_header(&h, &mut out);
        let start = out.len();
        out.extend_from_slice(payload);
        wire::apply_mask(&mut out[start..], key, 0);
        out
    }

    fn conn(role: Role) -> Conn {
        Conn::new(
            Config {
                role,
                max_size: 1000,
                auto_pong: true,
                rbuf: READ_CHUNK,
                deflate: None,
                close_timeout: Duration::from_secs(5),
            },
            &[],
        )
    }

    /// Feed `bytes` in pieces of `step`, processing after each.
    fn feed(c: &mut Conn, d: &mut Rec, bytes: &[u8], step: usize) {
        for piece in bytes.chunks(step.max(1)) {
            let space = c.rx.space();
            space[..piece.len()].copy_from_slice(piece);
            c.rx.filled(piece.len());
            c.process(d);
        }
    }

    /// Frames decoded from what the connection wrote (unmasked): (opcode, payload).
    fn written(c: &mut Conn, d: &mut Rec) -> Vec<(u8, Vec<u8>)> {
        let mut bytes = Vec::new();
        c.write_to(d, &mut bytes).unwrap();
        let mut frames = Vec::new();
        let mut pos = 0;
        while let Some((h, hlen)) = wire::decode_header(&bytes[pos..]) {
            let start = pos + hlen;
            let end = start + h.len as usize;
            let mut p = bytes[start..end].to_vec();
            if let Some(key) = h.mask {
                wire::apply_mask(&mut p, key, 0);
            }
            frames.push((h.opcode.as_u8(), p));
            pos = end;
        }
        assert_eq!(pos, bytes.len(), "whole frames only");
        frames
    }

    #[test]
    fn fragments_are_reassembled_whatever_the_splits() {
        let mut bytes = server_frame(1, false, b"hel");
        bytes.extend(server_frame(9, true, b"p")); // a ping between fragments
        bytes.extend(server_frame(0, false, b"lo "));
        bytes.extend(server_frame(0, true, b"world"));
        for step in [1, 2, 3, 7, bytes.len()] {
            let mut c = conn(Role::Client);
            let mut d = Rec::default();
            feed(&mut c, &mut d, &bytes, step);
            let msgs: Vec<_> = d
                .lines
                .iter()
                .filter(|l| l.starts_with("message"))
                .collect();
            assert_eq!(
                msgs,
                ["message in text \"hello world\" frames=3"],
                "step {step}"
            );
            // The ping was answered (masked, as a client must) with its payload.
            assert_eq!(written(&mut c, &mut d), vec![(10, b"p".to_vec())]);
            assert_eq!(c.end(), None);
        }
    }

    #[test]
    fn a_server_unmasks_and_a_client_frame_must_be_masked() {
        let mut c = conn(Role::Server);
        let mut d = Rec {
            echo: true,
            ..Rec::default()
        };
        feed(&mut c, &mut d, &client_frame(2, true, &[9, 8, 7]), 2);
        assert!(d
            .lines
            .contains(&"message in binary \"\\t\\u{8}\\u{7}\" frames=1".to_string()));
        // Echoed unmasked.
        let mut bytes = Vec::new();
        c.write_to(&mut d, &mut bytes).unwrap();
        assert_eq!(bytes, server_frame(2, true, &[9, 8, 7]));
        // An unmasked frame from a client breaks RFC 6455 5.1: close 1002.
        feed(&mut c, &mut d, &server_frame(1, true, b"x"), 10);
        assert!(
            d.lines.contains(&"error RFC 6455 5.1".to_string()),
            "{:?}",
            d.lines
        );
        assert_eq!(written(&mut c, &mut d)[0].0, 8);
        assert_eq!(c.end(), Some(End::Unclean));
        assert!(c.broken());
    }

    #[test]
    fn remote_close_is_answered_and_reported_once_written() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        let mut close = 4000u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye");
        feed(&mut c, &mut d, &server_frame(8, true, &close), 100);
        assert_eq!(c.end(), Some(End::Clean));
        assert!(
            !d.lines.iter().any(|l| l.starts_with("close")),
            "not reported before our reply is written: {:?}",
            d.lines
        );
        // The reply carries the code only.
        assert_eq!(
            written(&mut c, &mut d),
            vec![(8, 4000u16.to_be_bytes().to_vec())]
        );
        assert_eq!(
            d.lines.last().unwrap(),
            "close remote sent=Some(Some(4000)) received=Some(Some(4000)) clean=true"
        );
    }

    #[test]
    fn a_reply_that_is_never_written_is_not_clean() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        feed(
            &mut c,
            &mut d,
            &server_frame(8, true, &1000u16.to_be_bytes()),
            100,
        );
        c.abandon(&mut d);
        assert_eq!(c.end(), Some(End::Unclean));
        assert!(
            d.lines.last().unwrap().ends_with("clean=false"),
            "{:?}",
            d.lines
        );
    }

    #[test]
    fn local_close_then_reply() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        c.tx.close(&mut d, Some(1005), "");
        assert!(c.tx.awaiting_close_reply().is_some());
        written(&mut c, &mut d);
        let mut reply = 1002u16.to_be_bytes().to_vec();
        reply.extend_from_slice(b"invalid status code");
        feed(&mut c, &mut d, &server_frame(8, true, &reply), 5);
        assert_eq!(c.end(), Some(End::Clean));
        assert_eq!(
            d.lines.last().unwrap(),
            "close local sent=Some(Some(1005)) received=Some(Some(1002)) clean=true"
        );
    }

    #[test]
    fn invalid_utf8_fails_before_the_frame_is_complete() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        let mut bytes = server_frame(1, false, b"ok");
        let second = server_frame(
            0,
            true,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        );
        // Only the part up to just past the bad bytes has arrived.
        let cut = second.len() - 6;
        bytes.extend_from_slice(&second[..cut]);
        feed(&mut c, &mut d, &bytes, 4);
        assert!(
            d.lines.contains(&"error RFC 6455 8.1".to_string()),
            "{:?}",
            d.lines
        );
        let out = written(&mut c, &mut d);
        assert_eq!(out[0].0, 8);
        assert_eq!(&out[0].1[..2], &1007u16.to_be_bytes());
    }

    #[test]
    fn a_huge_announced_length_is_refused_before_any_buffering() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        // 2^63 - 1 bytes announced.
        let mut bytes = vec![0x82, 127];
        bytes.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
        feed(&mut c, &mut d, &bytes, 100);
        assert!(
            d.lines.contains(&"error RFC 6455 10.4".to_string()),
            "{:?}",
            d.lines
        );
        assert_eq!(&written(&mut c, &mut d)[0].1[..2], &1009u16.to_be_bytes());
        assert!(c.rx.capacity() <= READ_CHUNK);
    }

    #[test]
    fn the_read_buffer_grows_with_what_arrives_not_with_what_is_announced() {
        let mut c = Conn::new(
            Config {
                role: Role::Client,
                max_size: 64 << 20,
                auto_pong: true,
                rbuf: READ_CHUNK,
                deflate: None,
                close_timeout: Duration::from_secs(5),
            },
            &[],
        );
        let mut d = Rec::default();
        // 64 MiB announced, 3 bytes sent.
        let mut bytes = vec![0x82, 127];
        bytes.extend_from_slice(&(64u64 << 20).to_be_bytes());
        bytes.extend_from_slice(b"abc");
        feed(&mut c, &mut d, &bytes, 100);
        for _ in 0..4 {
            let _ = c.rx.space();
        }
        assert!(c.rx.capacity() <= 2 * READ_CHUNK, "{}", c.rx.capacity());
    }

    #[test]
    fn a_ping_flood_leaves_one_pong_waiting() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        // Something big queued that the peer does not read.
        c.tx.send_data(&mut d, MsgType::Binary, &vec![0u8; 2 * PONG_ROOM]);
        let mut bytes = Vec::new();
        for i in 0..1000u32 {
            bytes.extend(server_frame(9, true, &i.to_be_bytes()));
        }
        feed(&mut c, &mut d, &bytes, 4096);
        let queued = c.tx.out.pending();
        assert!(queued < 2 * PONG_ROOM + 100, "{queued}");
        // Once the queue drains, only the latest ping is answered.
        let out = written(&mut c, &mut d);
        assert_eq!(
            out.len(),
            2,
            "{:?}",
            out.iter().map(|f| f.0).collect::<Vec<_>>()
        );
        assert_eq!(out[1], (10, 999u32.to_be_bytes().to_vec()));
    }

    #[test]
    fn frames_after_the_closing_handshake_are_not_decoded() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        let mut bytes = server_frame(8, true, &[]);
        bytes.extend(server_frame(1, true, b"late"));
        feed(&mut c, &mut d, &bytes, 100);
        assert!(!d.lines.iter().any(|l| l.contains("late")));
        assert_eq!(written(&mut c, &mut d), vec![(8, vec![])]);
    }

    fn deflate_conn(role: Role, max_size: u64) -> Conn {
        let (agreed, _) = deflate::Agreed::client(
            &deflate::Params::browser_offer(),
            &deflate::Params::default(),
        )
        .unwrap();
        Conn::new(
            Config {
                role,
                max_size,
                auto_pong: true,
                rbuf: READ_CHUNK,
                deflate: Some(agreed),
                close_timeout: Duration::from_secs(5),
            },
            &[],
        )
    }

    fn deflated(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        deflate::Deflater::new(15, true).message(data, &mut out);
        out
    }

    fn rsv1_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = server_frame(opcode, fin, payload);
        f[0] |= 0x40;
        f
    }

    #[test]
    fn compressed_messages_are_inflated_single_and_fragmented() {
        let text = "hello hello hello hello hello compressed world".repeat(3);
        let wire = deflated(text.as_bytes());
        let mut bytes = rsv1_frame(1, true, &wire);
        // Fragmented: RSV1 on the first frame only.
        bytes.extend(rsv1_frame(1, false, &wire[..5]));
        bytes.extend(server_frame(0, true, &wire[5..]));
        // An uncompressed message is legal too (RSV1=0).
        bytes.extend(server_frame(1, true, b"plain"));
        let mut c = deflate_conn(Role::Client, 1 << 20);
        let mut d = Rec::default();
        feed(&mut c, &mut d, &bytes, 9);
        let msgs: Vec<&String> = d
            .lines
            .iter()
            .filter(|l| l.starts_with("message"))
            .collect();
        assert_eq!(msgs.len(), 3, "{:?}", d.lines);
        assert!(
            msgs[0].contains(&text) && msgs[1].contains(&text),
            "{msgs:?}"
        );
        assert!(msgs[1].ends_with("frames=2"), "{msgs:?}");
        assert!(msgs[2].contains("plain"));
        assert_eq!(c.end(), None);
    }

    #[test]
    fn rsv1_on_a_continuation_or_control_frame_breaks_rfc_7692() {
        for bytes in [
            {
                let mut b = server_frame(1, false, b"a");
                b.extend(rsv1_frame(0, true, b"b"));
                b
            },
            rsv1_frame(9, true, b"p"),
        ] {
            let mut c = deflate_conn(Role::Client, 1 << 20);
            let mut d = Rec::default();
            feed(&mut c, &mut d, &bytes, 100);
            assert!(
                d.lines.contains(&"error RFC 7692 6.1".to_string()),
                "{:?}",
                d.lines
            );
            assert_eq!(&written(&mut c, &mut d)[0].1[..2], &1002u16.to_be_bytes());
        }
        // Without the extension RSV1 anywhere is RFC 6455 5.2.
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        feed(&mut c, &mut d, &rsv1_frame(1, true, b"x"), 100);
        assert!(
            d.lines.contains(&"error RFC 6455 5.2".to_string()),
            "{:?}",
            d.lines
        );
    }

    #[test]
    fn a_bomb_is_1009_and_a_corrupt_stream_1007() {
        let bomb = deflated(&vec![b'a'; 5 << 20]);
        let mut c = deflate_conn(Role::Client, 100_000);
        let mut d = Rec::default();
        feed(&mut c, &mut d, &rsv1_frame(2, true, &bomb), 4096);
        assert!(
            d.lines.contains(&"error RFC 6455 10.4".to_string()),
            "{:?}",
            d.lines
        );
        assert_eq!(&written(&mut c, &mut d)[0].1[..2], &1009u16.to_be_bytes());

        let mut c = deflate_conn(Role::Client, 100_000);
        let mut d = Rec::default();
        feed(
            &mut c,
            &mut d,
            &rsv1_frame(1, true, b"\xff\xfe\xfd not deflate"),
            100,
        );
        assert!(
            d.lines.contains(&"error RFC 7692 7.2.2".to_string()),
            "{:?}",
            d.lines
        );
        assert_eq!(&written(&mut c, &mut d)[0].1[..2], &1007u16.to_be_bytes());

        // Valid deflate, invalid UTF-8 inside: 1007 too.
        let mut c = deflate_conn(Role::Client, 100_000);
        let mut d = Rec::default();
        let bad = deflated(b"ok \xff\xfe not utf-8 ........................");
        feed(&mut c, &mut d, &rsv1_frame(1, true, &bad), 100);
        assert!(
            d.lines.contains(&"error RFC 6455 8.1".to_string()),
            "{:?}",
            d.lines
        );
    }

    #[test]
    fn our_messages_go_compressed_once_agreed_however_short() {
        let mut c = deflate_conn(Role::Client, 1 << 20);
        let mut d = Rec::default();
        let long = "x".repeat(1000);
        c.tx.send_data(&mut d, MsgType::Text, long.as_bytes());
        c.tx.send_data(&mut d, MsgType::Text, b"tiny");
        c.tx.send_message(&mut d, MsgType::Text, long.as_bytes(), false);
        let mut bytes = Vec::new();
        c.write_to(&mut d, &mut bytes).unwrap();
        let mut pos = 0;
        let mut seen = Vec::new();
        while let Some((h, hlen)) = wire::decode_header(&bytes[pos..]) {
            seen.push((h.rsv[0], h.len));
            pos += hlen + h.len as usize;
        }
        assert!(seen[0].0 && seen[0].1 < 100, "{seen:?}");
        // Four bytes deflate to more than four, and still go compressed.
        assert!(seen[1].0, "{seen:?}");
        assert_eq!(seen[2], (false, 1000));
        // The message event shows the text, the frame what crossed the wire.
        assert!(d
            .lines
            .iter()
            .any(|l| l.starts_with("message out text") && l.contains("xxxx")));
    }

    #[test]
    fn eof_mid_frame_is_a_1006_with_what_was_seen() {
        let mut c = conn(Role::Client);
        let mut d = Rec::default();
        let bytes = server_frame(2, true, &[1; 50]);
        feed(&mut c, &mut d, &bytes[..20], 100);
        c.eof(&mut d);
        assert_eq!(d.lines.last().unwrap(), "disconnected 1006");
        assert_eq!(c.end(), Some(End::Unclean));
    }
}
