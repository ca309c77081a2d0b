//! One direction of a relayed connection (`relay`), with no I/O: bytes from one peer
//! in, the same frames out toward the other peer. Each frame keeps the bits it came
//! with (FIN, RSV1-3, the opcode, reserved ones included, the payload, compressed or
//! not); only the mask changes: a fresh key toward the server, none toward the client
//! (RFC 6455 5.1, 5.3). Every frame is judged by the protocol core's `Checker` for the
//! report, and forwarded whatever the verdict: a debugger must not repair what it
//! watches. The one thing refused is a frame announced longer than `--max-size`,
//! which cannot be held to be forwarded whole. Each data message is also put together
//! (and, compressed, inflated) as a copy for display.
//!
//! A frame goes on as it arrives: its header once it is whole, then each piece of its
//! payload as it comes (re-masked at its offset), so the far peer sees the bytes when it
//! would have without the relay (Autobahn 6.4.3: invalid UTF-8 in the second of three
//! pieces is failed at once by a strict peer). The frame is held until its end all the
//! same, to be judged and shown whole.

use std::borrow::Cow;

use crate::deflate::{InflateError, Inflater};
use crate::event::MsgType;
use crate::wire::{self, Checker, Header, OpCode, Role, Violation};

/// A data message, whole, for display: after its last frame went on (inflated when it
/// came compressed).
#[derive(Debug)]
pub struct Whole<'a> {
    pub kind: MsgType,
    pub payload: Cow<'a, [u8]>,
    pub frames: u64,
    /// permessage-deflate: the bytes it took on the wire, when it came compressed.
    pub wire: Option<u64>,
}

/// A data message whose frames are still coming.
#[derive(Debug)]
struct Partial {
    kind: MsgType,
    compressed: bool,
    frames: u64,
    data: Vec<u8>,
}

/// A frame that went through: as it came, and how it went on.
#[derive(Debug)]
pub struct Passed<'a> {
    /// The header as it came (its mask key included).
    pub header: Header,
    /// The payload, unmasked.
    pub payload: &'a [u8],
    /// The key it was masked with on its way on (toward the server), or none.
    pub out_key: Option<[u8; 4]>,
    /// The rule it broke, if any (it was forwarded all the same).
    pub violation: Option<Violation>,
    /// The data message it completed, for display.
    pub message: Option<Whole<'a>>,
}

/// Frames from one peer toward the other.
pub struct Forward {
    checker: Checker,
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`.
    start: usize,
    /// Toward the server: mask every frame with a fresh key.
    mask_out: bool,
    /// Frames passed on.
    pub frames: u64,
    max_size: u64,
    /// permessage-deflate: inflates a copy of each compressed message, for display.
    inflater: Option<Inflater>,
    partial: Option<Partial>,
    /// The frame at `start` is partly forwarded: the key it goes on with, and how
    /// many bytes of its payload went.
    streaming: Option<(Option<[u8; 4]>, usize)>,
}

impl Forward {
    /// `from`: who sends the frames this direction reads (`Role::Client`: the client,
    /// so they are masked on arrival and masked again toward the server).
    pub fn new(from: Role, max_size: u64) -> Forward {
        let receiver = match from {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        };
        Forward {
            checker: Checker::new(receiver, max_size),
            buf: Vec::new(),
            start: 0,
            mask_out: from == Role::Client,
            frames: 0,
            max_size,
            inflater: None,
            partial: None,
            streaming: None,
        }
    }

    /// permessage-deflate was agreed by the two ends: RSV1 may be set on the first
    /// frame of a data message, and such a message is inflated for display, the
    /// window kept between messages unless the sender resets it (`reset_each`: its
    /// `*_no_context_takeover`).
    pub fn set_deflate(&mut self, reset_each: Option<bool>) {
        self.checker.rsv1 = reset_each.is_some();
        self.inflater = reset_each.map(Inflater::new);
    }

    /// Bytes of a message still being put together (for display).
    pub fn holding(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Bytes read from the peer.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 && (self.start == self.buf.len() || self.start >= 64 * 1024) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received and not yet forwarded (an incomplete frame), and those of a
    /// message being put together for display.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start + self.holding()
    }

    /// Once idle, let go of a buffer a large frame grew.
    pub fn shrink_idle(&mut self, size: usize) {
        if self.buf.len() == self.start && self.buf.capacity() > size {
            self.buf = Vec::new();
            self.start = 0;
        }
    }

    /// The next complete frame: its bytes toward the other peer are appended to `out`,
    /// and what it was is returned. `Ok(None)`: more bytes are needed; what came of a
    /// frame begun (its header, the payload so far) is appended to `out` all the same.
    /// `Err`: a frame announced over `--max-size`, which is not forwarded (the pair must
    /// end).
    pub fn next(&mut self, out: &mut Vec<u8>) -> Result<Option<Passed<'_>>, Violation> {
        let Some((h, hlen)) = wire::decode_header(&self.buf[self.start..]) else {
            return Ok(None);
        };
        let header_verdict = self.checker.check_header(&h);
        if let Err(v) = &header_verdict {
            if v.close_code == 1009 {
                return Err(v.clone());
            }
        }
        // check_header passed, so `len` is at most `max_size`; a violation other than
        // the size still has a length that was checked against it above.
        let Ok(len) = usize::try_from(h.len) else {
            return Err(Violation {
                close_code: 1009,
                rule: "RFC 6455 10.4",
                msg: format!("frame of {} bytes", h.len),
            });
        };
        let begin = self.start + hlen;
        let Some(end) = begin.checked_add(len) else {
            return Ok(None);
        };
        // The header goes on once, with the key of this frame's way on.
        let (out_key, sent) = match self.streaming {
            Some(s) => s,
            None => {
                let key = self.mask_out.then(rand::random::<[u8; 4]>);
                wire::encode_header(&Header { mask: key, ..h }, out);
                (key, 0)
            }
        };
        // What came of the payload since, unmasked in place (for the check and the
        // display) and masked again on its way on.
        let have = self.buf.len().min(end);
        let from = begin + sent;
        if have > from {
            if let Some(key) = h.mask {
                wire::apply_mask(&mut self.buf[from..have], key, sent);
            }
            let at = out.len();
            out.extend_from_slice(&self.buf[from..have]);
            if let Some(key) = out_key {
                wire::apply_mask(&mut out[at..], key, sent);
            }
        }
        if have < end {
            self.streaming = Some((out_key, have.max(from) - begin));
            return Ok(None);
        }
        self.streaming = None;
        let payload = &self.buf[begin..end];
        let compressed = self.checker.rsv1 && h.rsv[0];
        let mut violation = match header_verdict {
            Err(v) => Some(v),
            Ok(()) => self.checker.check_payload(&h, payload).err(),
        };
        self.start = end;
        self.frames += 1;
        let (message, bad) = whole(
            &mut self.partial,
            self.inflater.as_mut(),
            self.max_size,
            &h,
            compressed,
            payload,
        );
        if violation.is_none() {
            violation = bad;
        }
        Ok(Some(Passed {
            header: h,
            payload,
            out_key,
            violation,
            message,
        }))
    }
}

/// The message `h` completes, if it does (data frames only; a broken sequence starts
/// over at the next text or binary frame), and what inflating it broke.
fn whole<'a>(
    partial: &mut Option<Partial>,
    inflater: Option<&mut Inflater>,
    max_size: u64,
    h: &Header,
    compressed: bool,
    payload: &'a [u8],
) -> (Option<Whole<'a>>, Option<Violation>) {
    let kind = match h.opcode {
        OpCode::Text => MsgType::Text,
        OpCode::Binary => MsgType::Binary,
        OpCode::Continue => {
            let Some(p) = partial.as_mut() else {
                return (None, None);
            };
            p.frames += 1;
            p.data.extend_from_slice(payload);
            if !h.fin {
                return (None, None);
            }
            let Some(p) = partial.take() else {
                return (None, None);
            };
            return finish(
                p.kind,
                p.compressed,
                p.frames,
                Cow::Owned(p.data),
                inflater,
                max_size,
            );
        }
        _ => return (None, None),
    };
    if !h.fin {
        *partial = Some(Partial {
            kind,
            compressed,
            frames: 1,
            data: payload.to_vec(),
        });
        return (None, None);
    }
    *partial = None;
    finish(
        kind,
        compressed,
        1,
        Cow::Borrowed(payload),
        inflater,
        max_size,
    )
}

fn finish<'a>(
    kind: MsgType,
    compressed: bool,
    frames: u64,
    data: Cow<'a, [u8]>,
    inflater: Option<&mut Inflater>,
    max_size: u64,
) -> (Option<Whole<'a>>, Option<Violation>) {
    let (Some(inf), true) = (inflater, compressed) else {
        return (
            Some(Whole {
                kind,
                payload: data,
                frames,
                wire: None,
            }),
            None,
        );
    };
    let mut out = Vec::new();
    let wire = Some(data.len() as u64);
    match inf.message(&data, max_size, &mut out) {
        Ok(()) => (
            Some(Whole {
                kind,
                payload: Cow::Owned(out),
                frames,
                wire,
            }),
            None,
        ),
        Err(e) => {
            let (code, msg) = match e {
                InflateError::TooBig { limit } => (
                    1009,
                    format!("message inflates past {limit} bytes (--max-size)"),
                ),
                InflateError::Corrupt(m) => (1007, format!("invalid compressed data: {m}")),
            };
            (
                None,
                Some(Violation {
                    close_code: code,
                    rule: "RFC 7692 6.2",
                    msg,
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::OpCode;

    fn frame(fin: bool, rsv: [bool; 3], op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        wire::encode_header(
            &Header {
                fin,
                rsv,
                opcode: OpCode::from_u8(op),
                mask,
                len: payload.len() as u64,
            },
            &mut out,
        );
        let at = out.len();
        out.extend_from_slice(payload);
        if let Some(k) = mask {
            wire::apply_mask(&mut out[at..], k, 0);
        }
        out
    }

    /// A frame goes on as it arrives: after each piece, what came of it is out, masked
    /// again at its offset; the frame is reported once, whole, when its end came.
    #[test]
    fn a_frame_goes_on_piece_by_piece_and_is_reported_whole() {
        for from in [Role::Client, Role::Server] {
            let mut f = Forward::new(from, 1 << 20);
            let key = (from == Role::Client).then_some([9, 8, 7, 6]);
            let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
            let bytes = frame(true, [false; 3], 2, key, &payload);
            let mut out = Vec::new();
            let mut reported = Vec::new();
            for (i, piece) in bytes.chunks(333).enumerate() {
                f.feed(piece);
                match f.next(&mut out).unwrap() {
                    Some(p) => reported.push((i, p.payload.to_vec(), p.out_key)),
                    None => assert_eq!(out.len(), (i + 1) * 333, "all of it went on"),
                }
            }
            assert_eq!(reported.len(), 1);
            let (at, got, out_key) = &reported[0];
            assert_eq!(*at, bytes.len() / 333, "reported at the last piece");
            assert_eq!(got, &payload);
            let (h, n) = wire::decode_header(&out).unwrap();
            assert_eq!(h.mask, *out_key);
            assert_eq!(
                h.mask.is_some(),
                from == Role::Client,
                "masked toward the server"
            );
            let mut p = out[n..].to_vec();
            if let Some(k) = h.mask {
                wire::apply_mask(&mut p, k, 0);
            }
            assert_eq!(p, payload, "the pieces join up under one key");
            assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn client_frames_are_masked_again_with_the_bits_kept() {
        let mut f = Forward::new(Role::Client, 1 << 20);
        let mut bytes = frame(false, [false; 3], 1, Some([1, 2, 3, 4]), b"hel");
        bytes.extend(frame(true, [false; 3], 0, Some([5, 6, 7, 8]), b"lo"));
        // Fed one byte at a time: each frame is reported once it is whole.
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for b in &bytes {
            f.feed(&[*b]);
            while let Some(p) = f.next(&mut out).unwrap() {
                assert!(p.violation.is_none());
                assert!(p.out_key.is_some());
                seen.push((p.header.fin, p.header.opcode, p.payload.to_vec()));
            }
        }
        assert_eq!(
            seen,
            vec![
                (false, OpCode::Text, b"hel".to_vec()),
                (true, OpCode::Continue, b"lo".to_vec())
            ]
        );
        // What went out decodes as two masked frames with the same bits.
        let (h, n) = wire::decode_header(&out).unwrap();
        assert!(!h.fin && h.opcode == OpCode::Text && h.mask.is_some() && h.len == 3);
        let mut p = out[n..n + 3].to_vec();
        wire::apply_mask(&mut p, h.mask.unwrap(), 0);
        assert_eq!(p, b"hel");
        let (h2, _) = wire::decode_header(&out[n + 3..]).unwrap();
        assert!(h2.fin && h2.opcode == OpCode::Continue);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn violations_are_reported_and_forwarded_as_they_came() {
        let mut f = Forward::new(Role::Server, 1 << 20);
        // RSV2 set, a reserved opcode, a masked frame from the server.
        f.feed(&frame(true, [false, true, false], 1, None, b"x"));
        f.feed(&frame(true, [false; 3], 3, None, b"y"));
        f.feed(&frame(true, [false; 3], 2, Some([9, 9, 9, 9]), b"z"));
        let mut out = Vec::new();
        let mut rules = Vec::new();
        while let Some(p) = f.next(&mut out).unwrap() {
            assert!(p.out_key.is_none());
            rules.push(p.violation.map(|v| v.rule));
        }
        assert_eq!(
            rules,
            vec![Some("RFC 6455 5.2"); 2]
                .into_iter()
                .chain([Some("RFC 6455 5.1")])
                .collect::<Vec<_>>()
        );
        let mut want = frame(true, [false, true, false], 1, None, b"x");
        want.extend(frame(true, [false; 3], 3, None, b"y"));
        // Toward the client unmasked, payload unmasked.
        want.extend(frame(true, [false; 3], 2, None, b"z"));
        assert_eq!(out, want);
    }

    #[test]
    fn compressed_bit_is_allowed_once_agreed() {
        let mut f = Forward::new(Role::Server, 1 << 20);
        f.set_deflate(Some(false));
        f.feed(&frame(
            true,
            [true, false, false],
            1,
            None,
            &[0xf2, 0x48, 0x05, 0x00],
        ));
        let mut out = Vec::new();
        let p = f.next(&mut out).unwrap().unwrap();
        assert!(p.violation.is_none() && p.header.rsv[0]);
    }

    #[test]
    fn messages_are_put_together_and_inflated_for_display_only() {
        let mut f = Forward::new(Role::Client, 1 << 20);
        f.set_deflate(Some(false));
        let mut d = crate::deflate::Deflater::new(15, false);
        let mut z = Vec::new();
        d.message(b"hello hello hello", &mut z);
        // Compressed, in two fragments; then a plain fragmented binary message with a
        // ping between its frames.
        let (a, b) = z.split_at(z.len() / 2);
        f.feed(&frame(false, [true, false, false], 1, Some([1; 4]), a));
        f.feed(&frame(true, [false; 3], 0, Some([2; 4]), b));
        f.feed(&frame(false, [false; 3], 2, Some([3; 4]), b"\x01"));
        f.feed(&frame(true, [false; 3], 9, Some([4; 4]), b"p"));
        f.feed(&frame(true, [false; 3], 0, Some([5; 4]), b"\x02"));
        let mut out = Vec::new();
        let mut whole = Vec::new();
        while let Some(p) = f.next(&mut out).unwrap() {
            assert!(p.violation.is_none(), "{:?}", p.violation);
            if let Some(m) = p.message {
                whole.push((m.kind, m.payload.to_vec(), m.frames, m.wire));
            }
        }
        assert_eq!(
            whole,
            vec![
                (
                    MsgType::Text,
                    b"hello hello hello".to_vec(),
                    2,
                    Some(z.len() as u64)
                ),
                (MsgType::Binary, vec![1, 2], 2, None),
            ]
        );
        // What went on is the compressed bytes, not the inflated ones.
        let (h, n) = wire::decode_header(&out).unwrap();
        assert!(h.rsv[0] && h.len == a.len() as u64);
        let mut p = out[n..n + a.len()].to_vec();
        wire::apply_mask(&mut p, h.mask.unwrap(), 0);
        assert_eq!(p, a);
        assert_eq!(f.holding(), 0);
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_it_is_held() {
        let mut f = Forward::new(Role::Client, 100);
        let mut h = Vec::new();
        wire::encode_header(
            &Header {
                fin: true,
                rsv: [false; 3],
                opcode: OpCode::Binary,
                mask: Some([0; 4]),
                len: u64::MAX >> 1,
            },
            &mut h,
        );
        f.feed(&h);
        let v = f.next(&mut Vec::new()).unwrap_err();
        assert_eq!(v.close_code, 1009);
    }
}
