//! Byte-level helpers shared by the printers: lowercase hex, escaped text, durations and
//! ANSI styles, all appended to a reused `Vec<u8>`. No allocation beyond the buffer's
//! growth, no `format!`. Nothing here writes to a stream.

use std::io::Write;
use std::time::Duration;

use colored::Color;

/// The hex digit of a nibble, by arithmetic rather than a table so the loops below
/// vectorize (about 5x faster than a lookup per nibble).
#[inline(always)]
fn nib(n: u8) -> u8 {
    n + b'0' + ((n > 9) as u8) * (b'a' - b'0' - 10)
}

/// Appends `bytes` as lowercase hex, no separators (`00ff10`).
pub fn hex(buf: &mut Vec<u8>, bytes: &[u8]) {
    let start = buf.len();
    buf.resize(start + bytes.len() * 2, 0);
    for (dst, &b) in buf[start..].chunks_exact_mut(2).zip(bytes) {
        dst[0] = nib(b >> 4);
        dst[1] = nib(b & 0x0f);
    }
}

/// Appends `bytes` as lowercase hex with a space between bytes (`00 ff 10`).
pub fn hex_spaced(buf: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let start = buf.len();
    buf.resize(start + bytes.len() * 3 - 1, b' ');
    for (dst, &b) in buf[start..].chunks_mut(3).zip(bytes) {
        dst[0] = nib(b >> 4);
        dst[1] = nib(b & 0x0f);
    }
}

/// The 4 bytes of a masking key as 8 hex digits.
pub fn key_hex(key: [u8; 4]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, b) in key.into_iter().enumerate() {
        out[2 * i] = nib(b >> 4);
        out[2 * i + 1] = nib(b & 0x0f);
    }
    out
}

/// How `escape` treats characters other than control characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Esc {
    /// Inside `"..."`: `"` and `\` are escaped as well.
    Quoted,
    /// Bare text on one line: only control characters are escaped.
    Bare,
    /// Bare text that may span lines: `\n` and `\t` are kept as they are.
    Lines,
}

/// Appends `s` with control characters escaped Rust-style: `\n`, `\r`, `\t`, `\0`, and
/// `\u{1b}` for the other C0 and C1 controls and DEL, so that nothing a peer sends can
/// move the cursor or change the terminal's colours.
pub fn escape(buf: &mut Vec<u8>, s: &str, mode: Esc) {
    // A byte that may need an escape: ASCII controls, DEL, `"`, `\`, and 0xC2, the lead
    // byte of the C1 controls U+0080-U+009F. It is never a continuation byte, so where
    // it is found a char starts. Runs of 32 bytes without one are skipped at once.
    fn suspect(c: u8) -> bool {
        c < 0x20 || c == 0x7f || c == b'"' || c == b'\\' || c == 0xc2
    }
    let b = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 32) {
            // Min-reductions vectorize: a C0 control makes `lo` small, any other
            // suspect byte makes `eq` zero.
            let (mut lo, mut eq) = (u8::MAX, u8::MAX);
            for &c in chunk {
                lo = lo.min(c);
                eq = eq.min((c ^ b'"').min(c ^ b'\\').min((c ^ 0x7f).min(c ^ 0xc2)));
            }
            if lo >= 0x20 && eq != 0 {
                i += 32;
                continue;
            }
        }
        let c = b[i];
        if !suspect(c) {
            i += 1;
            continue;
        }
        let (ch, len) = match c {
            0xc2 => match s[i..].chars().next() {
                Some(ch) => (ch, ch.len_utf8()),
                None => break,
            },
            c => (c as char, 1),
        };
        let plain = match ch {
            '"' | '\\' => mode != Esc::Quoted,
            '\n' | '\t' => mode == Esc::Lines,
            ch => !ch.is_control(),
        };
        if !plain {
            buf.extend_from_slice(&b[run..i]);
            run = i + len;
            match ch {
                '"' => buf.extend_from_slice(b"\\\""),
                '\\' => buf.extend_from_slice(b"\\\\"),
                '\n' => buf.extend_from_slice(b"\\n"),
                '\r' => buf.extend_from_slice(b"\\r"),
                '\t' => buf.extend_from_slice(b"\\t"),
                '\0' => buf.extend_from_slice(b"\\0"),
                ch => {
                    let _ = write!(buf, "\\u{{{:x}}}", ch as u32);
                }
            }
        }
        i += len;
    }
    buf.extend_from_slice(&b[run..]);
}

/// The largest char boundary of `s` at or below `max`.
pub fn cut(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Appends a decimal number (itoa, two digits at a time: a --json line writes
/// several, and this loop of one division per digit was 7% of a --json run).
pub fn num(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends seconds with milliseconds, right-aligned to 8 columns: `  0.004s`.
pub fn secs(buf: &mut Vec<u8>, d: Duration) {
    let s = d.as_secs();
    let ms = d.subsec_millis();
    let _ = write!(buf, "{s:>3}.{ms:03}s");
}

/// Appends a time since the Unix epoch as RFC 3339 in UTC with milliseconds:
/// `2026-12-02T17:40:01.123Z`.
pub fn rfc3339(buf: &mut Vec<u8>, since_epoch: Duration) {
    let secs = since_epoch.as_secs();
    let ms = since_epoch.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        buf,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

/// Appends a duration in milliseconds: three decimals under 10 ms (`1.234ms`), whole
/// milliseconds from there (`12ms`).
pub fn ms(buf: &mut Vec<u8>, d: Duration) {
    let us = d.as_micros();
    if us < 10_000 {
        let _ = write!(buf, "{}.{:03}ms", us / 1000, us % 1000);
    } else {
        let _ = write!(buf, "{}ms", (us + 500) / 1000);
    }
}

/// Milliseconds as a float with microsecond precision, for JSON (`1.234`).
pub fn ms_f64(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// Seconds as a float with microsecond precision, for JSON (`0.004`).
pub fn secs_f64(d: Duration) -> f64 {
    d.as_micros() as u64 as f64 / 1e6
}

/// Writes `us` microseconds as seconds, the bytes serde_json writes for their
/// `secs_f64`, faster: in decimal (`12.0456`, `3.0`). From 1 ms up to 10^9 s the two
/// are the same (the decimal has at most 15 digits, so it is the shortest that reads
/// back as that float; a test compares them); outside that, serde_json writes it.
pub fn secs_json(buf: &mut Vec<u8>, us: u64) {
    if !(1_000..1_000_000_000_000_000).contains(&us) {
        let _ = serde_json::to_writer(&mut *buf, &(us as f64 / 1e6));
        return;
    }
    num(buf, us / 1_000_000);
    buf.push(b'.');
    let frac = (us % 1_000_000) as u32;
    if frac == 0 {
        buf.push(b'0');
        return;
    }
    // Six digits, zero-padded (1_000_000 + frac has seven; the first is dropped), then
    // the trailing zeros cut.
    let mut b = itoa::Buffer::new();
    let digits = &b.format(1_000_000 + frac).as_bytes()[1..];
    let keep = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
    buf.extend_from_slice(&digits[..keep]);
}

/// An ANSI style. Codes come from `colored`'s `Color`, but are written here, so that
/// `Opts::color` alone decides: `colored`'s global switch (tty, `NO_COLOR`,
/// `CLICOLOR_FORCE`) is never consulted.
#[derive(Clone, Copy)]
pub enum Style {
    Dim,
    Bold,
    Fg(Color),
    BoldFg(Color),
}

/// Writes styles when colour is on, nothing when it is off.
#[derive(Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    pub fn on(self, buf: &mut Vec<u8>, style: Style) {
        if !self.0 {
            return;
        }
        buf.extend_from_slice(b"\x1b[");
        match style {
            Style::Dim => buf.push(b'2'),
            Style::Bold => buf.push(b'1'),
            Style::Fg(c) => buf.extend_from_slice(c.to_fg_str().as_bytes()),
            Style::BoldFg(c) => {
                buf.extend_from_slice(b"1;");
                buf.extend_from_slice(c.to_fg_str().as_bytes());
            }
        }
        buf.push(b'm');
    }

    pub fn off(self, buf: &mut Vec<u8>) {
        if self.0 {
            buf.extend_from_slice(b"\x1b[0m");
        }
    }

    /// `text` in `style`.
    pub fn put(self, buf: &mut Vec<u8>, style: Style, text: &[u8]) {
        self.on(buf, style);
        buf.extend_from_slice(text);
        self.off(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn hex_forms() {
        assert_eq!(s(|b| hex(b, &[0x00, 0xff, 0x10, 0xab])), "00ff10ab");
        assert_eq!(s(|b| hex(b, &[])), "");
        assert_eq!(s(|b| hex_spaced(b, &[0x00, 0xff, 0x10])), "00 ff 10");
        assert_eq!(s(|b| hex_spaced(b, &[0x0a])), "0a");
        assert_eq!(s(|b| hex_spaced(b, &[])), "");
        assert_eq!(&key_hex([0x1a, 0x2b, 0x3c, 0x4d]), b"1a2b3c4d");
        let all: Vec<u8> = (0..=255).collect();
        let expect: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s(|b| hex(b, &all)), expect);
    }

    #[test]
    fn escapes_controls() {
        let text = "a\"b\\c\nd\te\r\0\x1b[31m\u{7f}\u{85}é✓";
        assert_eq!(
            s(|b| escape(b, text, Esc::Quoted)),
            r#"a\"b\\c\nd\te\r\0\u{1b}[31m\u{7f}\u{85}é✓"#
        );
        assert_eq!(
            s(|b| escape(b, text, Esc::Bare)),
            r#"a"b\c\nd\te\r\0\u{1b}[31m\u{7f}\u{85}é✓"#
        );
        assert_eq!(
            s(|b| escape(b, text, Esc::Lines)),
            "a\"b\\c\nd\te\\r\\0\\u{1b}[31m\\u{7f}\\u{85}é✓"
        );
    }

    /// The chunked scan against a char-by-char reference, at every offset.
    #[test]
    fn escape_matches_char_by_char() {
        fn reference(s: &str, mode: Esc) -> String {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '"' if mode == Esc::Quoted => out.push_str("\\\""),
                    '\\' if mode == Esc::Quoted => out.push_str("\\\\"),
                    '"' | '\\' => out.push(c),
                    '\n' | '\t' if mode == Esc::Lines => out.push(c),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\0' => out.push_str("\\0"),
                    c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                    c => out.push(c),
                }
            }
            out
        }
        let specials = [
            '"', '\\', '\n', '\t', '\r', '\0', '\x1b', '\u{7f}', '\u{80}', '\u{9f}', '\u{a0}', 'é',
            'Â', '✓', '😀',
        ];
        for mode in [Esc::Quoted, Esc::Bare, Esc::Lines] {
            for &sp in &specials {
                for at in 0..40 {
                    let mut t: String = "abcdefghijklmnopqrstuvwxyz0123456789ABCD".into();
                    t.insert(at, sp);
                    t.push('é');
                    assert_eq!(s(|b| escape(b, &t, mode)), reference(&t, mode), "{t:?}");
                }
            }
        }
    }

    #[test]
    fn cut_keeps_char_boundaries() {
        assert_eq!(cut("abc", 10), 3);
        assert_eq!(cut("abc", 2), 2);
        assert_eq!(cut("aé", 2), 1);
        assert_eq!(cut("", 0), 0);
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(s(|b| num(b, 0)), "0");
        assert_eq!(s(|b| num(b, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|b| secs(b, Duration::from_millis(4))), "  0.004s");
        assert_eq!(s(|b| secs(b, Duration::from_millis(12_345))), " 12.345s");
        assert_eq!(s(|b| ms(b, Duration::from_micros(1234))), "1.234ms");
        assert_eq!(s(|b| ms(b, Duration::from_micros(12_499))), "12ms");
        assert_eq!(s(|b| ms(b, Duration::from_micros(12_500))), "13ms");
        assert_eq!(ms_f64(Duration::from_micros(1234)), 1.234);
        assert_eq!(secs_f64(Duration::from_millis(4)), 0.004);
    }

    #[test]
    fn secs_json_writes_what_serde_json_writes() {
        let check = |us: u64| {
            let t = secs_f64(Duration::from_micros(us));
            let mut fast = Vec::new();
            secs_json(&mut fast, us);
            let slow = serde_json::to_vec(&t).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&slow),
                "{us} us"
            );
        };
        // Every microsecond of the first 3 s, then a spread up to 10^16 us.
        (0..3_000_000).for_each(check);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x % 10u64.pow(1 + (x >> 60) as u32 % 16));
        }
        for us in [999, 1_000, 1_000_000, 10u64.pow(15) - 1, 10u64.pow(15)] {
            check(us);
        }
        let at = |ms: u64| {
            let mut b = Vec::new();
            rfc3339(&mut b, Duration::from_millis(ms));
            String::from_utf8(b).unwrap()
        };
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        // 2026-12-02T17:40:01.123Z, and a leap day.
        assert_eq!(at(1_796_233_201_123), "2026-12-02T17:40:01.123Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn paint_off_writes_no_escapes() {
        let plain = s(|b| Paint(false).put(b, Style::BoldFg(Color::Red), b"x"));
        assert_eq!(plain, "x");
        let red = s(|b| Paint(true).put(b, Style::BoldFg(Color::Red), b"x"));
        assert_eq!(red, "\x1b[1;31mx\x1b[0m");
    }
}
