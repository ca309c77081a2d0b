//! The `Sink` that turns session events into output: a `Printer` plus the clock that
//! stamps each event. Notices a closed stdout so the session can end quietly.

use std::io::{self, Write};
use std::time::Instant;

use std::sync::{Arc, Mutex};

use crate::event::{ConnState, Ctx, Event, PromptView};
use crate::render::Printer;
use crate::session::Sink;

/// Standard output without std's line buffering, for the printers of script mode,
/// `listen`, `relay` and `probe` (each behind its own `BufWriter`). `Stdout` is a
/// `LineWriter` even on a pipe: every flush of 64 KiB was searched for its last newline
/// and split there, a second copy and a second write (memrchr alone was 2% of a 16 MiB
/// echo). Here the bytes go to a duplicate of fd 1 as they are; all of the session's
/// output goes through one printer, so nothing else is buffered in between. Without a
/// usable fd 1, std's `Stdout`.
pub enum RawStdout {
    Fd(std::fs::File),
    Std(io::Stdout),
}

impl RawStdout {
    pub fn new() -> RawStdout {
        use std::os::fd::AsFd;
        match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => RawStdout::Fd(std::fs::File::from(fd)),
            Err(_) => RawStdout::Std(io::stdout()),
        }
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            RawStdout::Fd(f) => f.write(buf),
            RawStdout::Std(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            RawStdout::Fd(f) => f.flush(),
            RawStdout::Std(s) => s.flush(),
        }
    }
}

/// Written through the REPL's printer to redraw the prompt in place.
const REDRAW: &[u8] = b"\x1b[1A\n";

pub struct Output<W: Write, E: Write> {
    pub printer: Printer<W, E>,
    pub start: Instant,
    pub client: Option<u64>,
    /// `relay`: the leg the events that follow are about.
    pub leg: Option<crate::event::Leg>,
    /// The REPL's prompt state, when there is a REPL.
    pub prompt: Option<Arc<Mutex<PromptView>>>,
    broken: bool,
    /// `--record FILE`: the same events as JSON lines to the file.
    record: Option<Printer<io::BufWriter<std::fs::File>, io::Sink>>,
    /// `--har FILE`: what the HAR holds, written when the output goes away.
    har: Option<(std::path::PathBuf, crate::har::Har)>,
    /// `--proto`, `--hide`, `--filter`: what is decoded and what is shown.
    view: Option<crate::proto::View>,
    /// The time the loop gave for the events that follow (`Sink::clock`).
    at: Option<Instant>,
}

impl<W: Write, E: Write> Drop for Output<W, E> {
    fn drop(&mut self) {
        if let Some((path, har)) = self.har.take() {
            if let Err(e) = std::fs::write(&path, har.to_json()) {
                eprintln!(
                    "wsdbg: warning: --har {}: could not write it: {e}",
                    path.display()
                );
            }
        }
    }
}

impl<W: Write, E: Write> Output<W, E> {
    pub fn new(printer: Printer<W, E>, start: Instant) -> Self {
        Output {
            printer,
            start,
            client: None,
            leg: None,
            prompt: None,
            broken: false,
            record: None,
            har: None,
            view: None,
            at: None,
        }
    }

    /// `--proto`, `--hide`, `--filter`: decode each connection's protocol for display,
    /// and leave out what is hidden (`--record` still gets every event). Nothing is
    /// done for raw with nothing hidden.
    pub fn view(mut self, pick: crate::proto::Pick, show: &'static crate::proto::Show) -> Self {
        let idle = pick == crate::proto::Pick::Is(crate::proto::Proto::Raw)
            && !show.heartbeat
            && !show.ping
            && !show.pong
            && show.filter.is_none();
        self.view = (!idle).then(|| crate::proto::View::new(pick, show));
        self
    }

    /// `--har FILE`: the session as HAR at the end; checked writable now.
    pub fn har(mut self, path: Option<&std::path::Path>) -> Result<Self, crate::error::Error> {
        if let Some(path) = path {
            std::fs::write(path, b"").map_err(|e| {
                crate::error::Error::usage(format!(
                    "--har: expected a file that can be written, {}: {e}",
                    path.display()
                ))
            })?;
            self.har = Some((path.to_path_buf(), crate::har::Har::default()));
        }
        Ok(self)
    }

    /// `--record FILE`: also write every event to FILE as JSON lines (created, or
    /// truncated).
    pub fn recording(
        mut self,
        path: Option<&std::path::Path>,
    ) -> Result<Self, crate::error::Error> {
        if let Some(path) = path {
            let f = std::fs::File::create(path).map_err(|e| {
                crate::error::Error::usage(format!(
                    "--record: expected a file that can be written, {}: {e}",
                    path.display()
                ))
            })?;
            self.record = Some(Printer::new(
                crate::render::Format::Json,
                crate::render::Opts::default(),
                io::BufWriter::with_capacity(64 * 1024, f),
                io::sink(),
            ));
        }
        Ok(self)
    }

    fn check(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.broken = true;
            }
        }
    }
}

impl<W: Write, E: Write> Output<W, E> {
    /// What nothing here records, decodes or prints (in `-o payload` every frame and
    /// every message sent): a few tests, inlined where the session emits (3.7% fewer
    /// instructions in a 20,000-line echo, callgrind).
    #[inline]
    fn ignores(&self, ev: &Event<'_>) -> bool {
        self.broken
            || (self.record.is_none()
                && self.har.is_none()
                && self.view.as_ref().is_none_or(|v| v.passes(ev))
                && self.printer.ignores(ev))
    }

    #[inline(never)]
    fn show(&mut self, ev: &Event<'_>) {
        // The clock is read only when something shows the time (`--record` does).
        let t = if self.record.is_some() || self.printer.shows_time(ev) {
            match self.at {
                Some(at) => at.saturating_duration_since(self.start),
                None => self.start.elapsed(),
            }
        } else {
            std::time::Duration::ZERO
        };
        let ctx = Ctx {
            t,
            client: self.client,
            leg: self.leg,
            stamp: self.printer.opts.timestamps.now(),
        };
        let seen = match &mut self.view {
            Some(v) => v.see(ctx.client, ctx.leg, ev),
            None => crate::proto::Seen::Plain,
        };
        let decoded = match &seen {
            crate::proto::Seen::Decoded(d, at_frame) => Some((d, *at_frame)),
            _ => None,
        };
        if let Some(rec) = &mut self.record {
            // The file's own trouble (a full disk) does not end the session. It holds
            // every event, hidden ones too.
            let _ = rec.emit_with(&ctx, ev, decoded);
        }
        if let Some((_, har)) = &mut self.har {
            har.take(&ctx, ev);
        }
        if matches!(seen, crate::proto::Seen::Hidden) {
            return;
        }
        let r = self.printer.emit_with(&ctx, ev, decoded);
        self.check(r);
    }
}

impl<W: Write, E: Write> Sink for Output<W, E> {
    #[inline]
    fn emit(&mut self, ev: &Event<'_>) {
        if !self.ignores(ev) {
            self.show(ev);
        }
    }

    fn idle(&mut self) {
        if let Some(rec) = &mut self.record {
            let _ = rec.flush();
        }
        if !self.broken {
            let r = self.printer.flush();
            self.check(r);
        }
    }

    fn broken(&self) -> bool {
        self.broken
    }

    fn client(&mut self, id: Option<u64>) {
        self.client = id;
    }

    fn leg(&mut self, leg: Option<crate::event::Leg>) {
        self.leg = leg;
    }

    fn clock(&mut self, at: Option<Instant>) {
        self.at = at;
    }

    fn state(&mut self, state: ConnState) {
        self.prompt(PromptView::Conn(state));
    }

    fn prompt(&mut self, view: PromptView) {
        let Some(p) = &self.prompt else {
            return;
        };
        let changed = match p.lock() {
            Ok(mut s) if *s != view => {
                *s = view;
                true
            }
            _ => false,
        };
        if changed && !self.broken {
            // Make the line editor redraw the prompt even when nothing else is printed
            // (-o payload): up one line, then a newline back down, so nothing moves.
            let r = self.printer.out.write_all(REDRAW);
            self.check(r);
        }
    }
}
