//! permessage-deflate (RFC 7692): the extension's parameters (offer, response,
//! agreement, for both roles) and the per-message compressor and decompressor. No I/O:
//! the protocol core calls `Inflater::message` and `Deflater::message`.
//!
//! Pitfalls handled here: the inflater always uses a 15-bit window (it reads whatever
//! window the peer deflates with); a deflater cannot make an 8-bit raw window, so 8 is
//! never used for our own compression (declined, or sent uncompressed, and said); the
//! `00 00 ff ff` tail is removed once at the end of a message and put back before
//! inflating; a final block (BFINAL=1) is accepted; inflating stops at the size limit.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const NAME: &str = "permessage-deflate";
/// The tail a sync flush leaves, removed from each message on the wire (RFC 7692 7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The parameters of one permessage-deflate offer or response (RFC 7692 7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// 8-15.
    pub server_max_window_bits: Option<u8>,
    /// In an offer, `Some(None)` is the parameter without a value ("I can take one").
    pub client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// What browsers offer: `permessage-deflate; client_max_window_bits`.
    pub fn browser_offer() -> Params {
        Params {
            client_max_window_bits: Some(None),
            ..Params::default()
        }
    }

    /// Parse the parameters of one extension element, as in the header (`a; b=10`),
    /// without the extension's name. Unknown names, duplicates and bad values are
    /// errors that say what was expected.
    pub fn parse(text: &str) -> Result<Params, String> {
        let mut p = Params::default();
        let mut seen: Vec<String> = Vec::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (item, None),
            };
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) {
                return Err(format!("{name} given twice (RFC 7692 7)"));
            }
            seen.push(name.clone());
            let bits = |v: Option<&str>| -> Result<u8, String> {
                v.and_then(|v| v.parse::<u8>().ok())
                    .filter(|b| (8..=15).contains(b))
                    .ok_or_else(|| {
                        format!(
                            "{name}: expected a number of bits from 8 to 15, got {}",
                            v.map_or("nothing".to_string(), |v| format!("{v:?}"))
                        )
                    })
            };
            let flag = |v: Option<&str>| -> Result<bool, String> {
                match v {
                    None => Ok(true),
                    Some(v) => Err(format!("{name}: expected no value, got {v:?}")),
                }
            };
            match name.as_str() {
                "server_no_context_takeover" => p.server_no_context_takeover = flag(value)?,
                "client_no_context_takeover" => p.client_no_context_takeover = flag(value)?,
                "server_max_window_bits" => p.server_max_window_bits = Some(bits(value)?),
                "client_max_window_bits" => {
                    p.client_max_window_bits = Some(match value {
                        None => None,
                        v => Some(bits(v)?),
                    })
                }
                _ => {
                    return Err(format!(
                        "unknown parameter {name:?} (expected server_no_context_takeover, \
                         client_no_context_takeover, server_max_window_bits or \
                         client_max_window_bits)"
                    ))
                }
            }
        }
        Ok(p)
    }

    /// As in the header: `permessage-deflate; server_no_context_takeover; ...`.
    pub fn header(&self) -> String {
        let mut s = NAME.to_string();
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(b) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={b}"));
        }
        match self.client_max_window_bits {
            Some(Some(b)) => s.push_str(&format!("; client_max_window_bits={b}")),
            Some(None) => s.push_str("; client_max_window_bits"),
            None => {}
        }
        s
    }
}

/// The extension elements of a `Sec-WebSocket-Extensions` value: (name, parameters
/// text). Commas inside quoted values are not expected here (no parameter of
/// permessage-deflate has one).
pub fn elements(header: &str) -> Vec<(String, String)> {
    header
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| match e.split_once(';') {
            Some((name, rest)) => (name.trim().to_ascii_lowercase(), rest.to_string()),
            None => (e.to_ascii_lowercase(), String::new()),
        })
        .collect()
}

/// What both sides agreed, from our side's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The parameters of the response, as the server sent them.
    pub params: Params,
    /// We compress our messages (false when the window we must use cannot be made).
    pub compress_out: bool,
    /// Window bits of our deflater (9-15).
    pub out_bits: u8,
    /// Reset our deflater after each message.
    pub out_reset: bool,
    /// Reset our inflater after each message (the peer does not keep its context).
    pub in_reset: bool,
}

impl Agreed {
    /// The client's view of a server's response to our offer (RFC 7692 7.1): every
    /// parameter must be one we allowed. Returns the agreement and, when a window size
    /// cannot be honoured, a note saying how it was handled.
    pub fn client(offer: &Params, response: &Params) -> Result<(Agreed, Option<String>), String> {
        if let (Some(asked), Some(got)) = (
            offer.server_max_window_bits,
            response.server_max_window_bits,
        ) {
            if got > asked {
                return Err(format!(
                    "server_max_window_bits={got} in the response, over the {asked} offered (RFC 7692 7.1.2.1)"
                ));
            }
        }
        // RFC 7692 7.1.1.1: a server accepts server_no_context_takeover by naming it.
        if offer.server_no_context_takeover && !response.server_no_context_takeover {
            return Err(
                "server_no_context_takeover was offered but the response has none (RFC 7692 7.1.1.1)"
                    .to_string(),
            );
        }
        if offer.server_max_window_bits.is_some() && response.server_max_window_bits.is_none() {
            // RFC 7692 7.1.2.1: a server accepts an offer with server_max_window_bits by
            // including it in its response (or declines the whole offer).
            return Err(
                "server_max_window_bits was offered but the response has none (RFC 7692 7.1.2.1)"
                    .to_string(),
            );
        }
        let out_bits = match (offer.client_max_window_bits, response.client_max_window_bits) {
            (None, Some(_)) => {
                return Err(
                    "client_max_window_bits in the response, but it was not offered (RFC 7692 7.1.2.2)"
                        .to_string(),
                )
            }
            (_, Some(None)) => {
                return Err(
                    "client_max_window_bits in the response without a value (RFC 7692 7.1.2.2)"
                        .to_string(),
                )
            }
            (Some(Some(asked)), Some(Some(got))) if got > asked => {
                return Err(format!(
                    "client_max_window_bits={got} in the response, over the {asked} offered (RFC 7692 7.1.2.2)"
                ))
            }
            (Some(Some(asked)), None) => asked,
            (_, Some(Some(got))) => got,
            (_, None) => 15,
        };
        let (compress_out, note) = if out_bits < 9 {
            (
                false,
                Some(
                    "the server asks for an 8-bit window, which a raw deflater cannot make: \
                     wsdbg sends its messages uncompressed (RSV1=0 is legal)"
                        .to_string(),
                ),
            )
        } else {
            (true, None)
        };
        Ok((
            Agreed {
                params: *response,
                compress_out,
                out_bits: out_bits.max(9),
                // Offered by us (a promise) or asked by the server: either way our
                // deflater keeps no context (RFC 7692 7.1.1.2).
                out_reset: offer.client_no_context_takeover || response.client_no_context_takeover,
                in_reset: response.server_no_context_takeover,
            },
            note,
        ))
    }

    /// The server's answer to a client's offers (the `Sec-WebSocket-Extensions` value):
    /// the first permessage-deflate offer it can honour. Returns the response
    /// parameters, the agreement, and notes on offers declined.
    pub fn server(header: &str) -> (Option<(Params, Agreed)>, Vec<String>) {
        let mut notes = Vec::new();
        for (name, params) in elements(header) {
            if name != NAME {
                continue;
            }
            let offer = match Params::parse(&params) {
                Ok(p) => p,
                Err(e) => {
                    notes.push(format!("declined a permessage-deflate offer: {e}"));
                    continue;
                }
            };
            if offer.server_max_window_bits == Some(8) {
                notes.push(
                    "declined a permessage-deflate offer with server_max_window_bits=8: a raw \
                     deflater cannot make an 8-bit window"
                        .to_string(),
                );
                continue;
            }
            // Agree to everything asked; our own window as asked (or 15).
            let response = Params {
                server_no_context_takeover: offer.server_no_context_takeover,
                client_no_context_takeover: offer.client_no_context_takeover,
                server_max_window_bits: offer.server_max_window_bits,
                client_max_window_bits: None,
            };
            let agreed = Agreed {
                params: response,
                compress_out: true,
                out_bits: offer.server_max_window_bits.unwrap_or(15),
                out_reset: offer.server_no_context_takeover,
                in_reset: offer.client_no_context_takeover,
            };
            return (Some((response, agreed)), notes);
        }
        (None, notes)
    }
}

/// Why a message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates past the size limit (1009); inflating stopped there.
    TooBig { limit: u64 },
    /// Not a valid deflate stream (1007).
    Corrupt(String),
}

/// Inflates messages one after another, keeping the window between them unless told
/// not to (the peer's `*_no_context_takeover`).
pub struct Inflater {
    z: Decompress,
    reset_each: bool,
}

impl Inflater {
    pub fn new(reset_each: bool) -> Inflater {
        Inflater {
            // 15 bits reads any window the peer deflates with.
            z: Decompress::new_with_window_bits(false, 15),
            reset_each,
        }
    }

    /// Inflate one whole message (its frames' payloads put together) into `out`, at
    /// most `limit` bytes.
    pub fn message(
        &mut self,
        data: &[u8],
        limit: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), InflateError> {
        let r = self.run(data, limit, out);
        if self.reset_each || r.is_err() {
            self.z.reset(false);
        }
        r
    }

    fn run(&mut self, data: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), InflateError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        for input in [data, &TAIL[..]] {
            let mut pos = 0;
            loop {
                if out.len() == out.capacity() {
                    if out.len() > limit {
                        return Err(InflateError::TooBig {
                            limit: limit as u64,
                        });
                    }
                    // Grow by what is likely, never past the limit (plus one byte to
                    // notice going over it): `reserve_exact`, since `reserve` may double
                    // the capacity whatever is asked, which at the limit is 2x it.
                    let room = (out.len().max(4096)).min(limit.saturating_add(1) - out.len());
                    out.reserve_exact(room.max(1));
                }
                let before_in = self.z.total_in();
                let status = self
                    .z
                    .decompress_vec(&input[pos..], out, FlushDecompress::Sync)
                    .map_err(|e| InflateError::Corrupt(e.to_string()))?;
                pos += (self.z.total_in() - before_in) as usize;
                if out.len() > limit {
                    return Err(InflateError::TooBig {
                        limit: limit as u64,
                    });
                }
                match status {
                    Status::StreamEnd => {
                        // A final block (BFINAL=1, RFC 7692 7.2.3.4): what follows is
                        // ignored, and the next message starts a new stream.
                        self.z.reset(false);
                        return Ok(());
                    }
                    _ if pos >= input.len() && out.len() < out.capacity() => break,
                    Status::BufError if pos >= input.len() => break,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Compresses our messages.
pub struct Deflater {
    z: Compress,
    reset_each: bool,
}

impl Deflater {
    /// `bits` must be 9-15 (the caller made sure: `Agreed::out_bits`).
    pub fn new(bits: u8, reset_each: bool) -> Deflater {
        Deflater {
            z: Compress::new_with_window_bits(Compression::default(), false, bits.clamp(9, 15)),
            reset_each,
        }
    }

    /// Deflate one message into `out`, without the `00 00 ff ff` tail.
    pub fn message(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            // RFC 7692 7.2.3.6: an empty message is one empty stored block, `0x00`. (A
            // sync flush with nothing new would give nothing at all after an earlier
            // message.)
            out.push(0x00);
            if self.reset_each {
                self.z.reset();
            }
            return;
        }
        out.reserve(data.len() / 2 + 64);
        let start_in = self.z.total_in();
        loop {
            let done = (self.z.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            // Sync flush: the message ends on a byte boundary with the empty stored
            // block `00 00 ff ff`.
            let (in0, out0) = (self.z.total_in(), out.len());
            let r = self.z.compress_vec(&data[done..], out, FlushCompress::Sync);
            let done = (self.z.total_in() - start_in) as usize;
            // No input taken and no output made though there was room: nothing more
            // will come (never loop on it).
            let stuck = self.z.total_in() == in0 && out.len() == out0 && out.len() < out.capacity();
            if r.is_err() || stuck {
                break;
            }
            if done >= data.len() && out.len() < out.capacity() && out.ends_with(&TAIL) {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset_each {
            self.z.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_all(inf: &mut Inflater, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        inf.message(data, 1 << 20, &mut out).unwrap();
        out
    }

    #[test]
    fn parse_and_header_round_trip() {
        let p = Params::parse(
            " server_no_context_takeover; client_max_window_bits ; server_max_window_bits=10",
        )
        .unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!(p.server_max_window_bits, Some(10));
        assert_eq!(p.client_max_window_bits, Some(None));
        assert_eq!(Params::parse(&p.header()[NAME.len()..]).unwrap(), p);
        assert_eq!(
            Params::browser_offer().header(),
            "permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn bad_params_say_what_was_expected() {
        for (text, want) in [
            ("server_max_window_bits=7", "8 to 15"),
            ("server_max_window_bits", "8 to 15"),
            ("client_max_window_bits=16", "8 to 15"),
            ("server_no_context_takeover=1", "no value"),
            (
                "server_no_context_takeover; server_no_context_takeover",
                "twice",
            ),
            ("x_foo", "unknown parameter"),
        ] {
            let e = Params::parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn client_checks_the_response_against_the_offer() {
        let offer = Params::browser_offer();
        let ok = |r: &str| Agreed::client(&offer, &Params::parse(r).unwrap());
        let (a, note) = ok("server_max_window_bits=12").unwrap();
        assert!(a.compress_out && note.is_none() && a.out_bits == 15 && !a.in_reset);
        let (a, _) = ok("server_no_context_takeover; client_max_window_bits=10").unwrap();
        assert!(a.in_reset && a.out_bits == 10);
        let (a, note) = ok("client_max_window_bits=8").unwrap();
        assert!(!a.compress_out && note.unwrap().contains("8-bit"));
        // Not offered: client_max_window_bits may not come back.
        let e = Agreed::client(
            &Params::default(),
            &Params::parse("client_max_window_bits=10").unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("not offered"), "{e}");
        // Over what was offered.
        let offer = Params::parse("server_max_window_bits=10").unwrap();
        let e = Agreed::client(&offer, &Params::parse("server_max_window_bits=12").unwrap())
            .unwrap_err();
        assert!(e.contains("over"), "{e}");
    }

    #[test]
    fn server_takes_the_first_offer_it_can_honour() {
        let (got, notes) = Agreed::server(
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, \
             permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
        );
        let (resp, agreed) = got.unwrap();
        assert_eq!(resp.server_max_window_bits, Some(10));
        assert!(resp.client_no_context_takeover && agreed.in_reset && !agreed.out_reset);
        assert_eq!(agreed.out_bits, 10);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(Agreed::server("x-foo").0.is_none());
    }

    #[test]
    fn empty_messages_round_trip_after_others() {
        for reset in [false, true] {
            let mut d = Deflater::new(15, reset);
            let mut i = Inflater::new(reset);
            for m in [
                &b"first message, long enough"[..],
                b"",
                b"",
                b"after the empty ones",
            ] {
                let mut wire = Vec::new();
                d.message(m, &mut wire);
                assert!(!wire.is_empty());
                assert_eq!(inflate_all(&mut i, &wire), m, "reset {reset}");
            }
        }
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        let msgs: Vec<Vec<u8>> = (0..20)
            .map(|i| {
                format!("{{\"id\":{i},\"name\":\"item {i}\",\"tags\":[\"a\",\"b\"]}}").into_bytes()
            })
            .collect();
        for bits in 9..=15u8 {
            for reset in [false, true] {
                let mut d = Deflater::new(bits, reset);
                let mut i = Inflater::new(reset);
                let mut total_wire = 0;
                for m in &msgs {
                    let mut wire = Vec::new();
                    d.message(m, &mut wire);
                    assert!(!wire.ends_with(&TAIL));
                    total_wire += wire.len();
                    assert_eq!(&inflate_all(&mut i, &wire), m, "bits {bits} reset {reset}");
                }
                if !reset {
                    // With the window kept, repeated structure compresses.
                    assert!(total_wire < msgs.iter().map(Vec::len).sum::<usize>() / 2);
                }
            }
        }
        // Context takeover: the same message again costs far less.
        let mut d = Deflater::new(15, false);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        d.message(&msgs[1], &mut a);
        d.message(&msgs[1], &mut b);
        assert!(b.len() < a.len() / 2, "{} then {}", a.len(), b.len());
    }

    #[test]
    fn a_final_block_is_accepted_and_the_next_message_starts_fresh() {
        // Deflate with BFINAL=1 (a whole stream, as some peers send).
        let mut z = Compress::new_with_window_bits(Compression::default(), false, 15);
        let mut wire = Vec::with_capacity(256);
        z.compress_vec(b"hello hello hello", &mut wire, FlushCompress::Finish)
            .unwrap();
        let mut i = Inflater::new(false);
        assert_eq!(inflate_all(&mut i, &wire), b"hello hello hello");
        let mut d = Deflater::new(15, false);
        let mut next = Vec::new();
        d.message(b"next", &mut next);
        assert_eq!(inflate_all(&mut i, &next), b"next");
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_garbage_is_corrupt() {
        let zeros = vec![0u8; 10 << 20];
        let mut d = Deflater::new(15, true);
        let mut wire = Vec::new();
        d.message(&zeros, &mut wire);
        assert!(wire.len() < 64 * 1024, "{}", wire.len());
        let mut i = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            i.message(&wire, 100_000, &mut out),
            Err(InflateError::TooBig { limit: 100_000 })
        );
        assert!(out.capacity() <= 100_001, "{}", out.capacity());
        let mut out = Vec::new();
        assert!(matches!(
            i.message(b"\xff\xff\xff\xff garbage", 1000, &mut out),
            Err(InflateError::Corrupt(_))
        ));
        // Still usable for the next message after an error.
        let mut ok = Vec::new();
        Deflater::new(15, true).message(b"fine", &mut ok);
        assert_eq!(inflate_all(&mut i, &ok), b"fine");
    }
}
