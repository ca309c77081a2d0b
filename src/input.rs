//! Input sources for script mode: stdin lines (commands or `--raw` text), stdin bytes
//! (`--binary`), or `-x` commands. Each runs on its own thread and sends batches, so
//! reading input never blocks reading the socket; a full channel makes it wait
//! (nothing is dropped).

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use mio::{Interest, Poll, Token, Waker};

use crate::error::Error;

use crate::command::{self, Command, CommandError};

/// One unit of input, in order.
#[derive(Debug)]
pub enum Input {
    Cmd(Command),
    Bad(CommandError),
    /// Whole lines read from stdin, each ending in `\n`, taken one at a time from
    /// `pos`. Parsed here rather than on the input thread, so a plain line is sent
    /// straight from this buffer with no allocation of its own. `raw`: every line is
    /// text (`--raw`).
    Lines {
        data: Vec<u8>,
        pos: usize,
        raw: bool,
    },
    /// End of input.
    Eof,
}

/// The input side: a bounded channel of batches and a waker for the event loop.
#[derive(Clone)]
pub struct InputTx {
    pub(crate) tx: SyncSender<Vec<Input>>,
    pub(crate) waker: Arc<Waker>,
    pub(crate) interrupted: Arc<AtomicBool>,
    /// True while a blocking connect runs.
    pub(crate) connecting: Arc<AtomicBool>,
    /// Batches sent and not yet taken by the event loop.
    pub(crate) queued: Arc<AtomicUsize>,
}

impl InputTx {
    /// Send a batch; false when the session is gone.
    pub fn send(&self, batch: Vec<Input>) -> bool {
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(batch).is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        let _ = self.waker.wake();
        true
    }

    /// A blocking connect is running (Ctrl-C then ends the process at once).
    pub fn connecting(&self) -> bool {
        self.connecting.load(Ordering::SeqCst)
    }

    /// Ctrl-C: close now (or stop waiting to reconnect) and exit; during a blocking
    /// connect, exit at once (130). That is what SIGINT does in script mode, so it is
    /// raised: one Ctrl-C path (the handler `channel` registers exits while connecting).
    pub fn interrupt(&self) {
        if self.connecting.load(Ordering::SeqCst) {
            // SAFETY: raise(3) has no preconditions; the handler is signal-hook's.
            unsafe {
                libc::raise(libc::SIGINT);
            }
        }
        self.interrupted.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// How stdin lines are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    Commands,
    Raw,
}

const CHUNK: usize = 64 * 1024;

/// Parse one line in the given mode.
pub fn line_input(line: &str, mode: LineMode) -> Input {
    match mode {
        LineMode::Raw => Input::Cmd(Command::Text(line.to_string())),
        LineMode::Commands => match command::parse(line) {
            Ok(c) => Input::Cmd(c),
            Err(e) => Input::Bad(e),
        },
    }
}

/// `replay` of `--record` JSON lines: read the file a line at a time, each step made into
/// its commands, sent in batches; the channel is bounded, so a recording of any size
/// replays in bounded memory. A line that is not a recording's ends the script there
/// (a malformed command: exit 4); `cli` checked that the file opens and starts as one.
pub fn replay(tx: InputTx, file: &std::path::Path, mut plan: crate::replay::Plan) {
    use std::io::BufRead;
    let name = file.display().to_string();
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    let mut steps = crate::replay::Lines::new(&name);
    let end = match std::fs::File::open(file) {
        Ok(f) => {
            let mut r = std::io::BufReader::with_capacity(CHUNK, f);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) => break None,
                    Ok(_) => match steps.line(&line) {
                        Ok(Some(step)) => {
                            bytes += step.payload.len();
                            batch.extend(plan.commands(&step).into_iter().map(Input::Cmd));
                        }
                        Ok(None) => {}
                        Err(e) => break Some(e.msg),
                    },
                    Err(e) => break Some(format!("replay {name}: {e}")),
                }
                if batch.len() >= 256 || bytes >= CHUNK {
                    if !tx.send(std::mem::take(&mut batch)) {
                        return;
                    }
                    bytes = 0;
                }
            }
        }
        Err(e) => Some(format!("replay {name}: {e}")),
    };
    if let Some(why) = end {
        batch.push(Input::Bad(crate::command::CommandError {
            command: "replay".into(),
            expected: "a --record file (JSON lines)".into(),
            found: why,
        }));
    }
    batch.push(Input::Eof);
    tx.send(batch);
}

/// `-x` commands (parsed before connecting), then end of input.
pub fn execute(tx: InputTx, cmds: Vec<Command>) {
    let mut batch: Vec<Input> = cmds.into_iter().map(Input::Cmd).collect();
    batch.push(Input::Eof);
    tx.send(batch);
}

/// Read stdin until EOF and send whole lines in chunks of about 64 KiB; the session
/// takes them apart. The channel holds a few chunks: when it is full this thread waits,
/// and so does whoever writes into the pipe; nothing is dropped. A line longer than
/// `max` bytes (`--max-size`, newline not counted) is not sent: a one-line error takes
/// its place (exit 4) and the rest of it is read and dropped, so a line with no newline
/// costs at most `max` bytes, not all of stdin.
pub fn lines<R: Read>(tx: InputTx, mut r: R, mode: LineMode, max: u64) {
    test_panic();
    let mut split = Splitter::new(mode == LineMode::Raw, max);
    let mut buf = vec![0u8; CHUNK];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let batch = split.feed(&buf[..n]);
                if !batch.is_empty() && !tx.send(batch) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    tx.send(split.end());
}

/// Debug builds only: `WSDBG_TEST_PANIC=input` makes the input thread panic, so that a
/// test can see a panic outside the session's thread end the process (src/main.rs)
/// rather than leave it waiting for input.
fn test_panic() {
    #[cfg(debug_assertions)]
    if std::env::var_os("WSDBG_TEST_PANIC").is_some_and(|v| v == "input") {
        panic!("WSDBG_TEST_PANIC=input");
    }
}

/// Cuts a byte stream into batches of whole lines, each at most `max` bytes.
struct Splitter {
    /// Whole lines not sent yet, then the line still arriving (its last `partial`
    /// bytes).
    pending: Vec<u8>,
    partial: usize,
    /// Inside a line that was refused: its bytes are dropped up to its newline.
    skipping: bool,
    raw: bool,
    max: u64,
}

impl Splitter {
    fn new(raw: bool, max: u64) -> Splitter {
        Splitter {
            pending: Vec::with_capacity(CHUNK),
            partial: 0,
            skipping: false,
            raw,
            max,
        }
    }

    /// The bytes of one read: the inputs they complete, in order (the whole lines, an
    /// error where a line was too long).
    fn feed(&mut self, buf: &[u8]) -> Vec<Input> {
        let mut batch = Vec::new();
        let mut buf = buf;
        if self.skipping {
            let Some(i) = memchr::memchr(b'\n', buf) else {
                return batch;
            };
            self.skipping = false;
            buf = &buf[i + 1..];
        }
        if (self.partial + buf.len()) as u64 <= self.max {
            // No line here can be too long (the usual case: one scan from the end).
            self.pending.extend_from_slice(buf);
            self.partial = match memchr::memrchr(b'\n', buf) {
                Some(i) => buf.len() - i - 1,
                None => self.partial + buf.len(),
            };
        } else {
            self.feed_checked(buf, &mut batch);
        }
        self.whole_lines(&mut batch);
        batch
    }

    /// `feed` for bytes that may hold a line over `max`: each line is measured.
    fn feed_checked(&mut self, buf: &[u8], batch: &mut Vec<Input>) {
        // `buf[..copied]` is in `pending` (or dropped); the current line starts at
        // `start`, and when that is 0 it goes on the `partial` bytes in `pending`.
        let (mut start, mut copied) = (0, 0);
        loop {
            let nl = memchr::memchr(b'\n', &buf[start..]).map(|i| start + i);
            let end = nl.unwrap_or(buf.len());
            let carried = if start == 0 { self.partial } else { 0 };
            if (carried + end - start) as u64 > self.max {
                let from = self.pending.len() - carried;
                let mut shown: Vec<u8> =
                    self.pending[from..(from + SHOWN).min(from + carried)].to_vec();
                shown.extend_from_slice(&buf[start..end.min(start + SHOWN)]);
                // The whole lines before it go first; it is dropped.
                self.pending.truncate(from);
                self.pending.extend_from_slice(&buf[copied..start]);
                self.partial = 0;
                self.whole_lines(batch);
                batch.push(Input::Bad(too_long(self.max, &shown)));
                match nl {
                    Some(e) => (start, copied) = (e + 1, e + 1),
                    None => {
                        self.skipping = true;
                        return;
                    }
                }
                continue;
            }
            match nl {
                Some(e) => start = e + 1,
                None => break,
            }
        }
        self.pending.extend_from_slice(&buf[copied..]);
        self.partial = if start == 0 {
            self.partial + buf.len()
        } else {
            buf.len() - start
        };
    }

    /// The whole lines in `pending` go into `batch`; the partial line stays.
    fn whole_lines(&mut self, batch: &mut Vec<Input>) {
        if self.pending.len() == self.partial {
            return;
        }
        let rest = self.pending.split_off(self.pending.len() - self.partial);
        let mut data = std::mem::replace(&mut self.pending, rest);
        if data.capacity() > 2 * CHUNK && data.len() < data.capacity() / 4 {
            data.shrink_to_fit();
        }
        self.pending.reserve(CHUNK);
        batch.push(Input::Lines {
            data,
            pos: 0,
            raw: self.raw,
        });
    }

    /// End of input: the last line (even with no newline), then `Eof`.
    fn end(mut self) -> Vec<Input> {
        let mut batch = Vec::with_capacity(2);
        if !self.pending.is_empty() && !self.skipping {
            // The last line had no newline.
            self.pending.push(b'\n');
            self.partial = 0;
            self.whole_lines(&mut batch);
        }
        batch.push(Input::Eof);
        batch
    }
}

/// How many bytes of a line that was too long its error shows.
const SHOWN: usize = 24;

/// The error in place of a line over `--max-size`, showing how it began.
fn too_long(max: u64, start: &[u8]) -> CommandError {
    let shown = &start[..start.len().min(SHOWN)];
    CommandError {
        command: "input".into(),
        expected: format!("a line of at most {max} bytes (--max-size; a longer one is not sent)"),
        found: format!("{}...", String::from_utf8_lossy(shown)),
    }
}

/// `--binary`: each read of at most `chunk` bytes becomes one binary message. The
/// buffer is asked of the allocator, never assumed: a size it cannot give is a one-line
/// error and the end of input, not an abort (`--chunk-size` is at most `--max-size`,
/// which may be anything).
pub fn bytes<R: Read>(tx: InputTx, mut r: R, chunk: usize) {
    test_panic();
    let chunk = chunk.max(1);
    if Vec::<u8>::new().try_reserve_exact(chunk).is_err() {
        tx.send(vec![
            Input::Bad(CommandError {
                command: "--chunk-size".into(),
                expected: "a size this machine can allocate".into(),
                found: format!("{chunk} bytes"),
            }),
            Input::Eof,
        ]);
        return;
    }
    // Zeroed memory from the allocator: the pages of a large buffer cost nothing until
    // a read fills them.
    let mut buf = vec![0u8; chunk];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !tx.send(vec![Input::Cmd(Command::Binary(buf[..n].to_vec()))]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    tx.send(vec![Input::Eof]);
}

/// The event loop's end of the input: the channel, the waker (held so it outlives the
/// input thread: closing its fd would drop a wake-up still pending; and used to wake
/// the loop again while batches wait), the interrupt
/// flag, and SIGINT as a readable pipe registered with the loop's poll.
pub struct InputRx {
    pub rx: std::sync::mpsc::Receiver<Vec<Input>>,
    waker: Arc<Waker>,
    queued: Arc<AtomicUsize>,
    pub interrupted: Arc<AtomicBool>,
    /// True while a blocking connect runs: Ctrl-C then exits at once (130).
    pub connecting: Arc<AtomicBool>,
    sigint: Option<mio::net::UnixStream>,
}

/// The input channel of an event loop whose poll is `poll`: input wakes `wake`,
/// SIGINT makes `signal` readable (then `InputRx::sigint` says which one it was).
pub fn channel(poll: &Poll, wake: Token, signal: Token) -> Result<(InputTx, InputRx), Error> {
    let waker =
        Arc::new(Waker::new(poll.registry(), wake).map_err(|e| Error::io(format!("waker: {e}")))?);
    // At most 16 chunks of input (about 1 MiB) wait here; then the reader waits.
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let interrupted = Arc::new(AtomicBool::new(false));
    let connecting = Arc::new(AtomicBool::new(false));
    let queued = Arc::new(AtomicUsize::new(0));
    let _ = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        crate::exit::INTERRUPTED.into(),
        connecting.clone(),
    );
    let sigint = match mio::net::UnixStream::pair() {
        Ok((mut r, w)) => {
            let ok = poll
                .registry()
                .register(&mut r, signal, Interest::READABLE)
                .is_ok()
                && signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, w).is_ok();
            ok.then_some(r)
        }
        Err(_) => None,
    };
    Ok((
        InputTx {
            tx,
            waker: waker.clone(),
            interrupted: interrupted.clone(),
            connecting: connecting.clone(),
            queued: queued.clone(),
        },
        InputRx {
            rx,
            waker,
            queued,
            interrupted,
            connecting,
            sigint,
        },
    ))
}

/// What a SIGINT means now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sigint {
    None,
    /// The first: close and finish.
    First,
    /// Another after that: exit at once.
    Again,
}

impl InputRx {
    /// The loop's waker (its `wake` token), for another thread of the driver to wake
    /// the loop with (a poll has one waker).
    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// The signal token was readable: was it Ctrl-C, and the first one?
    pub fn sigint(&mut self) -> Sigint {
        let mut got = false;
        if let Some(r) = &mut self.sigint {
            let mut buf = [0u8; 16];
            while let Ok(n) = std::io::Read::read(r, &mut buf) {
                if n == 0 {
                    break;
                }
                got = true;
            }
        }
        if !got {
            Sigint::None
        } else if self.interrupted.swap(true, Ordering::SeqCst) {
            Sigint::Again
        } else {
            Sigint::First
        }
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Hand `engine` what the channel holds now: one batch while it has nothing queued
    /// (memory stays bounded), or, `all`, everything there is (at the end, to report;
    /// the channel is bounded). A channel whose sender is gone is the end of input.
    pub fn hand_to(&self, engine: &mut crate::engine::Script, all: bool) {
        let mut pushed = false;
        while all || engine.wants_input() {
            match self.rx.try_recv() {
                Ok(batch) => {
                    self.queued.fetch_sub(1, Ordering::SeqCst);
                    engine.push(batch);
                    pushed = true;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => return,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    engine.input_gone();
                    if all {
                        return;
                    }
                }
            }
        }
        // More batches wait, and their wake-ups were one (a burst of REPL lines, each
        // sent alone): wake the loop again, so they are taken on its next turn rather
        // than at the next key or frame. Only after handing some over: an engine that
        // waits (`/sleep`) is not woken for nothing.
        if pushed && self.queued.load(Ordering::SeqCst) > 0 {
            let _ = self.waker.wake();
        }
    }
}

/// `/file PATH`: the file's bytes, at most `max` (`--max-size`). Only a regular file is
/// read, and its size is looked at first: a device (`/dev/zero`) or a FIFO would never
/// end, or block the event loop, and a file too big is refused before any of it is read.
pub fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, Error> {
    let cannot = |e: std::io::Error| {
        Error::usage(format!(
            "/file: expected a readable file, could not read {}: {e}",
            path.display()
        ))
    };
    // Looked at by path first: opening a FIFO would block until a writer came.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "/file: expected a regular file, {} is not one (a device, a FIFO or a directory); nothing sent",
            path.display()
        )));
    }
    if meta.len() > max {
        return Err(Error::usage(format!(
            "/file: {} is larger than --max-size ({max} bytes); nothing sent",
            path.display()
        )));
    }
    let f = std::fs::File::open(path).map_err(cannot)?;
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(cannot)?;
    if buf.len() as u64 > max {
        return Err(Error::usage(format!(
            "/file: {} is larger than --max-size ({max} bytes); nothing sent",
            path.display()
        )));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the session gets from these reads: each line as text, `!` and the start
    /// shown for a refused line, `EOF`.
    fn split(max: u64, reads: &[&str]) -> Vec<String> {
        let mut s = Splitter::new(false, max);
        let mut got = Vec::new();
        let mut take = |batch: Vec<Input>| {
            for input in batch {
                match input {
                    Input::Lines { data, pos, .. } => {
                        assert!(data.ends_with(b"\n"), "{data:?}");
                        let text = String::from_utf8(data[pos..data.len() - 1].to_vec());
                        got.extend(text.unwrap().split('\n').map(str::to_string));
                    }
                    Input::Bad(e) => got.push(format!("!{}", e.found)),
                    Input::Eof => got.push("EOF".into()),
                    Input::Cmd(c) => panic!("{c:?}"),
                }
            }
        };
        for r in reads {
            take(s.feed(r.as_bytes()));
        }
        take(s.end());
        got
    }

    #[test]
    fn issue16_lines_over_max_size_are_refused_in_their_place() {
        let cases: &[(u64, &[&str], &[&str])] = &[
            (5, &["ab\ncd\n"], &["ab", "cd", "EOF"]),
            (5, &["ab", "c\nde"], &["abc", "de", "EOF"]),
            // Exactly max is a line; one more byte is not.
            (
                5,
                &["abcde\nabcdef\nx\n"],
                &["abcde", "!abcdef...", "x", "EOF"],
            ),
            // Refused across reads: the start is shown, the rest dropped to its newline.
            (
                5,
                &["ok\nabc", "defgh", "ijk", "lm\nnext\n"],
                &["ok", "!abcdefgh...", "next", "EOF"],
            ),
            // Refused with no newline at all: nothing sent at the end.
            (3, &["abcd", "efgh"], &["!abcd...", "EOF"]),
            // Several in one read, whole lines between them kept in order.
            (
                2,
                &["aaa\nb\ncccc\nd"],
                &["!aaa...", "b", "!cccc...", "d", "EOF"],
            ),
            // Its newline arrives with the next read: the line after it is whole.
            (2, &["abc", "\nok\n"], &["!abc...", "ok", "EOF"]),
            (0, &["\n\nx\n"], &["", "", "!x...", "EOF"]),
            // The shown start is cut at 24 bytes.
            (
                1,
                &["0123456789012345678901234567890\n"],
                &["!012345678901234567890123...", "EOF"],
            ),
        ];
        for (max, reads, want) in cases {
            assert_eq!(split(*max, reads), *want, "max {max}, {reads:?}");
        }
    }

    #[test]
    fn the_refusal_says_what_was_expected() {
        let e = too_long(1000, b"/text \x1b[2J");
        assert_eq!(
            e.to_string(),
            "input: expected a line of at most 1000 bytes (--max-size; a longer one is not sent), got \"/text \\u{1b}[2J...\""
        );
    }

    /// A long line within the limit is still one line, whatever the reads.
    #[test]
    fn a_long_line_within_max_size_is_whole() {
        let line = "x".repeat(3 * CHUNK);
        let mut s = Splitter::new(true, line.len() as u64);
        let mut data = Vec::new();
        for piece in line.as_bytes().chunks(1000) {
            let early = s.feed(piece);
            assert!(early.is_empty(), "sent early: {early:?}");
        }
        for i in s.feed(b"\nnext\n") {
            if let Input::Lines { data: d, raw, .. } = i {
                assert!(raw);
                data.extend(d);
            }
        }
        assert_eq!(data.len(), line.len() + 6);
        assert!(data.starts_with(line.as_bytes()) && data.ends_with(b"\nnext\n"));
    }
}
