//! Input sources for script mode: stdin lines (commands or `--raw` text), stdin bytes
//! (`--binary`), or `-x` commands. Each runs on its own thread and sends batches, so
//! reading input never blocks reading the socket; a full channel makes it wait
//! (nothing is dropped).

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
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
}

impl InputTx {
    /// Send a batch; false when the session is gone.
    pub fn send(&self, batch: Vec<Input>) -> bool {
        if self.tx.send(batch).is_err() {
            return false;
        }
        let _ = self.waker.wake();
        true
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

/// `-x` commands (parsed before connecting), then end of input.
pub fn execute(tx: InputTx, cmds: Vec<Command>) {
    let mut batch: Vec<Input> = cmds.into_iter().map(Input::Cmd).collect();
    batch.push(Input::Eof);
    tx.send(batch);
}

/// Read stdin until EOF and send whole lines in chunks of about 64 KiB; the session
/// takes them apart. The channel holds a few chunks: when it is full this thread waits,
/// and so does whoever writes into the pipe; nothing is dropped.
pub fn lines<R: Read>(tx: InputTx, mut r: R, mode: LineMode) {
    let raw = mode == LineMode::Raw;
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut buf = vec![0u8; CHUNK];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let start = pending.len();
                pending.extend_from_slice(&buf[..n]);
                // Send up to the last newline; keep a partial line for later.
                if let Some(i) = pending[start..].iter().rposition(|&b| b == b'\n') {
                    let rest = pending.split_off(start + i + 1);
                    let data = std::mem::replace(&mut pending, rest);
                    if !tx.send(vec![Input::Lines { data, pos: 0, raw }]) {
                        return;
                    }
                    pending.reserve(CHUNK);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let mut batch = Vec::with_capacity(2);
    if !pending.is_empty() {
        // The last line had no newline.
        pending.push(b'\n');
        batch.push(Input::Lines {
            data: pending,
            pos: 0,
            raw,
        });
    }
    batch.push(Input::Eof);
    tx.send(batch);
}

/// `--binary`: each read of at most `chunk` bytes becomes one binary message.
pub fn bytes<R: Read>(tx: InputTx, mut r: R, chunk: usize) {
    let mut buf = vec![0u8; chunk.max(1)];
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
/// input thread: closing its fd would drop a wake-up still pending), the interrupt
/// flag, and SIGINT as a readable pipe registered with the loop's poll.
pub struct InputRx {
    pub rx: std::sync::mpsc::Receiver<Vec<Input>>,
    pub waker: Arc<Waker>,
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
        },
        InputRx {
            rx,
            waker,
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
