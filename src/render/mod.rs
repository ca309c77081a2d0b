//! `Event` → bytes. The format is chosen once; each printer writes to any `W: Write`.
//! Nothing here knows of sockets or protocol state, and nothing here decides colour:
//! `Opts::color` is the only input (the global state of the `colored` crate is ignored).
//!
//! - `pretty`: one human line per frame and per session event; data to `out`,
//!   diagnostics (errors, warnings, `connecting` with `-v`) to `err`.
//! - `json`: one object per line on `out`, first key `event`; errors and warnings are
//!   also written to `err` as the human line.
//! - `payload`: only the payload of each received data message on `out`; diagnostics
//!   to `err`; everything else is dropped. On a terminal, text is escaped as in pretty.
//! - `raw`: as `payload`, but the payload's bytes exactly, with nothing added.
//!
//! Each event is built in a reused scratch buffer and written with one `write_all`, so
//! a line is never split between two writes. `emit` does not flush data: the caller
//! flushes (`flush`) when it goes idle, so a burst of frames costs one system call per
//! buffer. Only a line for `err` flushes `out` first (`to_err`), so that when both
//! streams reach one terminal or pipe they come out in the order things happened.

use std::io::{self, Write};

use crate::event::{Ctx, Event};

pub(crate) mod esc;
mod json;
mod payload;
mod pretty;
mod raw;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pretty,
    Json,
    Payload,
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opts {
    /// Pretty: also print handshake request/response headers.
    pub verbose: bool,
    /// Pretty: ANSI colours.
    pub color: bool,
    /// Pretty: text payloads longer than this many bytes are cut (at a char boundary),
    /// with the full length shown. `usize::MAX` never cuts (`--full`).
    pub text_max: usize,
    /// Pretty: binary payloads longer than this many bytes are cut.
    pub hex_max: usize,
    /// `out` is a terminal: payload mode escapes control characters in text (ESC, C1,
    /// CR, ...; newlines and tabs stay) as pretty does, so a peer cannot drive the
    /// terminal. Not a terminal: the bytes as they came.
    pub terminal: bool,
    /// `--timestamps`: relative (default), wall or none.
    pub timestamps: Timestamps,
}

/// `--timestamps`, as chosen (the wall clock is read per event, into `Ctx::stamp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Timestamps {
    #[default]
    Relative,
    Wall,
    None,
}

impl Timestamps {
    /// The stamp of an event happening now.
    pub fn now(self) -> crate::event::Stamp {
        use crate::event::Stamp;
        match self {
            Timestamps::Relative => Stamp::Relative,
            Timestamps::None => Stamp::None,
            Timestamps::Wall => Stamp::Wall(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
        }
    }
}

impl Default for Opts {
    /// No headers, no colour, payloads cut at `pretty::TEXT_MAX` / `pretty::HEX_MAX`,
    /// not a terminal.
    fn default() -> Self {
        Opts {
            verbose: false,
            color: false,
            text_max: pretty::TEXT_MAX,
            hex_max: pretty::HEX_MAX,
            terminal: false,
            timestamps: Timestamps::Relative,
        }
    }
}

/// Scratch buffers above this capacity are shrunk after use, so one huge message does
/// not pin its size in memory for the rest of the session.
const SCRATCH_KEEP: usize = 1 << 20;

/// Writes events: data to `out` (stdout), diagnostics to `err` (stderr).
pub struct Printer<W: Write, E: Write> {
    pub format: Format,
    pub opts: Opts,
    pub out: W,
    pub err: E,
    /// The line being built.
    line: Vec<u8>,
    /// Second scratch buffer (hex for JSON), so `line` can borrow from it.
    aux: Vec<u8>,
    /// Pretty: the data messages being fragmented, so a continuation frame is shown as
    /// text or hex like its first frame.
    frag: pretty::Fragments,
}

impl<W: Write, E: Write> Printer<W, E> {
    /// Does this event's rendering show its time? Not a payload-mode frame or message
    /// (the hot path of a pipeline), so the time need not be read for those.
    /// Events this printer writes nothing for, known without rendering them: in
    /// payload mode every frame and every message sent (the hot path of a pipeline).
    #[inline]
    pub fn ignores(&self, ev: &Event<'_>) -> bool {
        self.format == Format::Payload
            && matches!(
                ev,
                Event::Frame(_)
                    | Event::Message {
                        dir: crate::event::Dir::Out,
                        ..
                    }
            )
    }

    pub fn shows_time(&self, ev: &Event<'_>) -> bool {
        !(self.format == Format::Payload && matches!(ev, Event::Frame(_) | Event::Message { .. }))
    }

    pub fn new(format: Format, opts: Opts, out: W, err: E) -> Self {
        Printer {
            format,
            opts,
            out,
            err,
            line: Vec::with_capacity(4096),
            aux: Vec::with_capacity(4096),
            frag: pretty::Fragments::default(),
        }
    }

    /// Renders one event. Never flushes.
    pub fn emit(&mut self, ctx: &Ctx, ev: &Event<'_>) -> io::Result<()> {
        self.emit_with(ctx, ev, None)
    }

    /// Renders one event with what `--proto` decoded of it: the packets under a frame
    /// or a message in pretty (`shown`: already under the message's frame, so not
    /// again under the message), the `proto` field of a JSON `message` event.
    pub fn emit_with(
        &mut self,
        ctx: &Ctx,
        ev: &Event<'_>,
        decoded: Option<(&crate::proto::Decoded, bool)>,
    ) -> io::Result<()> {
        let res = match self.format {
            Format::Pretty => pretty::emit(self, ctx, ev, decoded),
            Format::Json => json::emit(self, ctx, ev, decoded.map(|(d, _)| d)),
            Format::Payload => payload::emit(self, ctx, ev),
            Format::Raw => raw::emit(self, ctx, ev),
        };
        if self.line.capacity() > SCRATCH_KEEP {
            self.line = Vec::with_capacity(4096);
        }
        if self.aux.capacity() > SCRATCH_KEEP {
            self.aux = Vec::with_capacity(4096);
        }
        res
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.err.flush()
    }
}

/// Writes a line for `err` (a diagnostic, or text kept off stdout) after flushing `out`,
/// so the frames printed before it come out before it, and flushes `err` too (a no-op
/// for stderr; the REPL's writer buffers), so the frames after it come out after it.
/// The line is written even when flushing `out` fails (a closed stdout); that error is
/// returned after.
fn to_err<W: Write, E: Write>(out: &mut W, err: &mut E, line: &[u8]) -> io::Result<()> {
    let flushed = out.flush();
    err.write_all(line)?;
    err.flush()?;
    flushed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Dir, FrameEv, MsgType};

    struct CountFlush {
        buf: Vec<u8>,
        flushes: usize,
    }

    impl Write for CountFlush {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.buf.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn counter() -> CountFlush {
        CountFlush {
            buf: Vec::new(),
            flushes: 0,
        }
    }

    #[test]
    fn data_never_flushes_and_flush_flushes_both() {
        for format in [Format::Pretty, Format::Json, Format::Payload, Format::Raw] {
            let opts = Opts {
                verbose: true,
                ..Opts::default()
            };
            let mut p = Printer::new(format, opts, counter(), counter());
            let ctx = Ctx::default();
            let frame = Event::Frame(FrameEv {
                dir: Dir::In,
                fin: true,
                rsv: [false; 3],
                opcode: crate::event::OpCode::Text,
                mask: None,
                payload: b"hi",
            });
            let msg = Event::Message {
                dir: Dir::In,
                kind: MsgType::Text,
                payload: b"hi",
                frames: 1,
                wire: None,
            };
            p.emit(&ctx, &frame).unwrap();
            p.emit(&ctx, &msg).unwrap();
            assert_eq!((p.out.flushes, p.err.flushes), (0, 0), "{format:?}");
            p.flush().unwrap();
            assert_eq!((p.out.flushes, p.err.flushes), (1, 1), "{format:?}");
        }
    }

    /// One log shared by `out` and `err`, each behind a `BufWriter` (stdout is; the
    /// REPL's stderr writer buffers too): what a terminal showing both would show.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn diagnostics_come_after_the_data_printed_before_them() {
        for format in [Format::Pretty, Format::Json, Format::Payload, Format::Raw] {
            let log = Shared::default();
            let out = io::BufWriter::with_capacity(1 << 16, log.clone());
            let err = io::BufWriter::with_capacity(1 << 16, log.clone());
            let mut p = Printer::new(format, Opts::default(), out, err);
            let ctx = Ctx::default();
            let f = FrameEv {
                dir: Dir::In,
                fin: true,
                rsv: [false; 3],
                opcode: crate::event::OpCode::Text,
                mask: None,
                payload: b"first",
            };
            let frame = Event::Frame(f);
            let msg = Event::Message {
                dir: Dir::In,
                kind: MsgType::Text,
                payload: b"first",
                frames: 1,
                wire: None,
            };
            let e = crate::error::Error::protocol("RSV1 set", "RFC 6455 5.2");
            p.emit(&ctx, &frame).unwrap();
            p.emit(&ctx, &msg).unwrap();
            p.emit(&ctx, &Event::Error(&e)).unwrap();
            p.emit(&ctx, &Event::Warning("w")).unwrap();
            let second = FrameEv {
                payload: b"second",
                ..f
            };
            p.emit(&ctx, &Event::Frame(second)).unwrap();
            let second = Event::Message {
                dir: Dir::In,
                kind: MsgType::Text,
                payload: b"second",
                frames: 1,
                wire: None,
            };
            p.emit(&ctx, &second).unwrap();
            p.flush().unwrap();
            let all = String::from_utf8_lossy(&log.0.borrow()).into_owned();
            let at = |s: &str| {
                all.find(s)
                    .unwrap_or_else(|| panic!("{format:?}: {s}\n{all}"))
            };
            let order = [
                at("first"),
                at("wsdbg: error:"),
                at("wsdbg: warning:"),
                at("second"),
            ];
            assert!(order.is_sorted(), "{format:?}:\n{all}");
        }
    }

    #[test]
    fn huge_scratch_is_released() {
        let opts = Opts::default();
        let mut p = Printer::new(Format::Json, opts, io::sink(), io::sink());
        let big = vec![7u8; 2 * SCRATCH_KEEP];
        let ev = Event::Message {
            dir: Dir::In,
            kind: MsgType::Binary,
            payload: &big,
            frames: 1,
            wire: None,
        };
        p.emit(&Ctx::default(), &ev).unwrap();
        assert!(p.line.capacity() <= SCRATCH_KEEP);
        assert!(p.aux.capacity() <= SCRATCH_KEEP);
    }
}
