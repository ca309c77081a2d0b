//! The interactive REPL: rustyline line editing with history, completion of command
//! names, `/frame` opcodes and `/close` codes, a hint with the expected form, and a
//! prompt that shows the connection state. Incoming frames are printed above the
//! prompt through rustyline's external printer. Yields `Input`s, like script mode.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter, Helper};

use crate::command::{self, commands_for, CtrlD};
use crate::event::{close_code_name, ConnState, PromptView};
use crate::input::{line_input, LineMode};
use crate::input::{Input, InputTx};

/// What the prompt shows; the session (or listen) sets it.
pub type PromptState = Arc<Mutex<PromptView>>;

/// The state word's width: the prompt never changes width (rustyline measures it once
/// per line), so every word is padded to the longest.
const STATE_WIDTH: usize = 9;

/// The short word for a state: `open`, `retry 8s`, ...
pub fn state_word(state: ConnState) -> String {
    match state {
        ConnState::Connecting => "connect".into(),
        ConnState::Open => "open".into(),
        ConnState::Closing => "closing".into(),
        ConnState::Closed => "closed".into(),
        ConnState::Reconnecting(d) => {
            let secs = d.as_secs_f64().ceil() as u64;
            if secs > 99 {
                "retry".into()
            } else {
                format!("retry {secs}s")
            }
        }
    }
}

/// The prompt for a state: `[open     ] `.
pub fn prompt_for(state: Option<ConnState>) -> String {
    let word = state.map(state_word).unwrap_or_default();
    format!("[{word:<STATE_WIDTH$.STATE_WIDTH$}] ")
}

/// `listen`'s prompt: how many clients and where commands go, fixed width:
/// `[  2 clients → all ] `, `[  1 client  → #7  ] `.
pub fn listen_prompt(view: Option<(usize, Option<u64>)>) -> String {
    let Some((n, to)) = view else {
        return format!("[{:18}] ", "");
    };
    let n = n.min(999);
    let noun = if n == 1 { "client " } else { "clients" };
    let to = match to {
        None => "all".to_string(),
        Some(id) if id < 1000 => format!("#{id}"),
        Some(_) => "#...".to_string(),
    };
    format!("[{n:>3} {noun} → {to:<4}] ")
}

/// The prompt for what the prompt shows.
pub fn prompt_of(view: PromptView) -> String {
    match view {
        PromptView::Conn(state) => prompt_for(Some(state)),
        PromptView::Listen { clients, to } => listen_prompt(Some((clients, to))),
    }
}

const OPCODES: &[&str] = &["text", "binary", "cont", "ping", "pong", "close"];
const CLOSE_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 3000,
    4000,
];

pub struct ReplHelper {
    state: PromptState,
    color: bool,
}

impl ReplHelper {
    pub fn new(state: PromptState, color: bool) -> ReplHelper {
        ReplHelper { state, color }
    }

    /// The REPL of `wsdbg listen` (its commands differ a little).
    fn listen(&self) -> bool {
        matches!(self.state.lock().map(|s| *s), Ok(PromptView::Listen { .. }))
    }
}

/// Completion candidates for `line` up to the cursor: (start, candidates); `listen`:
/// the commands of `wsdbg listen`.
pub fn complete(line: &str, listen: bool) -> (usize, Vec<Pair>) {
    if !line.starts_with('/') {
        return (0, Vec::new());
    }
    match line.split_once(' ') {
        None => {
            let c = commands_for(listen)
                .filter(|(name, _, _)| name.starts_with(line))
                .map(|(name, usage, _)| Pair {
                    display: usage.to_string(),
                    replacement: format!("{name} "),
                })
                .collect();
            (0, c)
        }
        Some(("/frame", rest)) if !rest.contains(' ') => {
            let c = OPCODES
                .iter()
                .filter(|o| o.starts_with(rest))
                .map(|o| Pair {
                    display: o.to_string(),
                    replacement: format!("{o} "),
                })
                .collect();
            (7, c)
        }
        Some(("/close", rest)) if !rest.contains(' ') => {
            let c = CLOSE_CODES
                .iter()
                .filter(|code| code.to_string().starts_with(rest))
                .map(|code| Pair {
                    display: format!("{code} {}", close_code_name(*code)),
                    replacement: format!("{code} "),
                })
                .collect();
            (7, c)
        }
        _ => (0, Vec::new()),
    }
}

/// The rest of the expected form of the command being typed.
pub fn hint(line: &str, listen: bool) -> Option<String> {
    if !line.starts_with('/') || line.starts_with("//") {
        return None;
    }
    let name = line.split(' ').next().unwrap_or(line);
    if line.len() == name.len() {
        // Still typing the name: complete it when only one command fits.
        let mut fits = commands_for(listen).filter(|(n, _, _)| n.starts_with(name));
        let (_, usage, _) = fits.next()?;
        if fits.next().is_some() {
            return None;
        }
        return Some(usage[line.len()..].to_string());
    }
    let (_, usage, _) = commands_for(listen).find(|(n, _, _)| *n == name)?;
    if line.len() == name.len() + 1 {
        return Some(usage.get(name.len() + 1..)?.to_string());
    }
    None
}

impl Completer for ReplHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(complete(&line[..pos], self.listen()))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        hint(line, self.listen())
    }
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        _prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        let view = self.state.lock().map(|s| *s).unwrap_or_default();
        let p = prompt_of(view);
        if !self.color {
            return Cow::Owned(p);
        }
        use colored::Colorize;
        let colored = match view {
            PromptView::Conn(ConnState::Open) => p.green().to_string(),
            PromptView::Conn(ConnState::Closed) => p.red().to_string(),
            PromptView::Listen { clients: 0, .. } => p.yellow().to_string(),
            PromptView::Listen { .. } => p.green().to_string(),
            _ => p.yellow().to_string(),
        };
        Cow::Owned(colored)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        false
    }
}

impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

/// Output waiting for the line editor. The session's thread (or listen's) appends to
/// it and never waits; the printer thread ([`spawn_printer`]) hands it to rustyline's
/// external printer, which blocks whenever rustyline is not looking at its pipe (a Tab
/// list, `--More--`, Ctrl-R, an escape sequence): then output waits here, and the
/// network goes on. Bounded: past [`PENDING_MAX`] bytes, output is dropped and counted
/// (said once it can be shown), never waited for.
#[derive(Default)]
pub struct Pending {
    state: Mutex<PendingState>,
    ready: Condvar,
}

#[derive(Default)]
struct PendingState {
    text: String,
    dropped: u64,
    /// The printer thread is handing text over.
    busy: bool,
    closed: bool,
}

/// How much output may wait for the line editor.
const PENDING_MAX: usize = 8 << 20;

impl Pending {
    /// Queue whole lines (each ending in `\n`).
    pub fn push(&self, text: &str) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.text.len() + text.len() > PENDING_MAX {
            st.dropped += text.len() as u64;
        } else {
            st.text.push_str(text);
        }
        drop(st);
        self.ready.notify_all();
    }

    /// One line of the REPL's own (a hint, a notice): `wsdbg: LINE`.
    pub fn say(&self, line: &str) {
        self.push(&format!("wsdbg: {line}\n"));
    }

    /// Wait (at most `limit`) until everything queued was handed to the line editor.
    pub fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        while (!st.text.is_empty() || st.busy) && !st.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.ready.wait_timeout(st, left) {
                Ok((g, _)) => st = g,
                Err(_) => return,
            }
        }
    }

    /// The next text to print, waiting for some; `None` once closed and empty.
    fn take(&self) -> Option<String> {
        let mut st = self.state.lock().ok()?;
        st.busy = false;
        self.ready.notify_all();
        while st.text.is_empty() && st.dropped == 0 {
            if st.closed {
                return None;
            }
            st = self.ready.wait(st).ok()?;
        }
        let mut text = std::mem::take(&mut st.text);
        if st.dropped > 0 {
            text.push_str(&format!(
                "wsdbg: warning: {} bytes of output were not shown: the line editor was busy (--record keeps everything)\n",
                std::mem::take(&mut st.dropped)
            ));
        }
        st.busy = true;
        Some(text)
    }

    fn close(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.closed = true;
        }
        self.ready.notify_all();
    }
}

/// The printer thread: hands what is pending to the line editor, in order, as one
/// print per batch (one redraw of the prompt, however many lines).
pub fn spawn_printer(
    pending: Arc<Pending>,
    mut printer: Box<dyn ExternalPrinter + Send>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("printer".into())
        .spawn(move || {
            while let Some(text) = pending.take() {
                if printer.print(text).is_err() {
                    pending.close();
                    return;
                }
            }
        })
        .map(|_| ())
}

/// Output for the REPL: collects bytes and queues them on flush (see [`Pending`]), so
/// they appear above the line being typed and writing never waits for the terminal.
pub struct ReplWriter {
    buf: Vec<u8>,
    pending: Arc<Pending>,
}

impl ReplWriter {
    pub fn new(pending: Arc<Pending>) -> ReplWriter {
        ReplWriter {
            buf: Vec::new(),
            pending,
        }
    }
}

impl Write for ReplWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // Ends with a newline, so rustyline adds none (also when it prints directly).
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        self.pending.push(&text);
        Ok(())
    }
}

/// Where history lives: `$XDG_STATE_HOME/wsdbg/history`, else
/// `~/.local/state/wsdbg/history`.
pub fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("wsdbg").join("history"))
}

pub type ReplEditor = Editor<ReplHelper, DefaultHistory>;

/// Make the editor and its external printer. A history directory that cannot be made is
/// said once, and history is then not written.
pub struct Made {
    pub editor: ReplEditor,
    pub printer: Box<dyn ExternalPrinter + Send>,
    /// Where history is saved; `None` when it cannot be.
    pub history: Option<PathBuf>,
    /// Said once when history cannot be saved.
    pub warning: Option<String>,
}

pub fn editor(state: PromptState, color: bool) -> Result<Made, String> {
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(10_000)
        .map_err(|e| e.to_string())?
        .completion_type(rustyline::CompletionType::List)
        // One Tab with several candidates lists them at once: waiting inside rustyline
        // for a second Tab is a read that does not look at the printer's pipe.
        .completion_show_all_if_ambiguous(true)
        // Our highlighter adds colour only when asked; it also draws the state prompt.
        .color_mode(rustyline::ColorMode::Forced)
        .build();
    let mut ed: ReplEditor = Editor::with_config(config).map_err(|e| e.to_string())?;
    ed.set_helper(Some(ReplHelper::new(state, color)));
    let printer = ed.create_external_printer().map_err(|e| e.to_string())?;
    let mut warning = None;
    let history = match history_path() {
        Some(path) => match path.parent().map(std::fs::create_dir_all) {
            Some(Ok(())) | None => {
                let _ = ed.load_history(&path);
                Some(path)
            }
            Some(Err(e)) => {
                warning = Some(format!(
                    "history is not saved: cannot make {}: {e}",
                    path.parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ));
                None
            }
        },
        None => {
            warning = Some("history is not saved: neither XDG_STATE_HOME nor HOME is set".into());
            None
        }
    };
    Ok(Made {
        editor: ed,
        printer: Box::new(printer),
        history,
        warning,
    })
}

/// Read lines until Ctrl-D (the client; `listen` says how to leave and goes on), two
/// Ctrl-C in a row (one while connecting or waiting to reconnect), or the session ends.
/// Each entry is handed over whole, one command per line (a paste of several lines is
/// several commands). Greets with how to get help and leave; says what a first Ctrl-C
/// did. `out` is where the REPL's own lines go, in order with the session's;
/// `terminal` is the mode to put back if the process must end at once.
pub fn run(
    mut ed: ReplEditor,
    history: Option<PathBuf>,
    tx: InputTx,
    state: PromptState,
    out: Arc<Pending>,
    terminal: crate::term::Saved,
) {
    let view = || state.lock().map(|s| *s).unwrap_or_default();
    let listen = matches!(view(), PromptView::Listen { .. });
    out.say(command::repl_greeting(listen));
    let mut interrupts = 0;
    // Commands handed over while no connection was open: not sent yet.
    let mut unsent = 0usize;
    // rustyline measures the prompt it is given; the highlighter draws the real one at
    // the same width.
    let blank = if listen {
        listen_prompt(None)
    } else {
        prompt_for(None)
    };
    loop {
        match ed.readline(&blank) {
            Ok(entry) => {
                interrupts = 0;
                if let Some(path) = &history {
                    let _ = ed.append_history(path);
                }
                let lines = command::entry_lines(&entry);
                if matches!(view(), PromptView::Conn(ConnState::Open)) {
                    unsent = 0;
                } else {
                    unsent += lines
                        .iter()
                        .filter(|l| crate::engine::line_sends(l))
                        .count();
                }
                let batch = lines
                    .into_iter()
                    .map(|l| line_input(l, LineMode::Commands))
                    .collect();
                if !tx.send(batch) {
                    return;
                }
            }
            Err(ReadlineError::Interrupted) => {
                interrupts += 1;
                let waiting = matches!(
                    view(),
                    PromptView::Conn(ConnState::Reconnecting(_) | ConnState::Connecting)
                );
                if interrupts >= 2 || waiting {
                    // A blocking connect ends the process at once: what it never got
                    // to send is said here (otherwise the session says it).
                    if tx.connecting() && unsent > 0 {
                        out.say(&format!(
                            "warning: {unsent} queued command(s) were not sent: interrupted"
                        ));
                        out.drain(Duration::from_millis(500));
                    }
                    if tx.connecting() {
                        // The process ends at once: the terminal as it was first.
                        crate::term::restore(terminal);
                    }
                    tx.interrupt();
                    return;
                }
                out.say(command::ctrl_c_hint(listen));
            }
            Err(ReadlineError::Eof) => match command::ctrl_d(listen) {
                CtrlD::EndOfInput => {
                    tx.send(vec![Input::Eof]);
                    return;
                }
                CtrlD::Notice(n) => out.say(n),
            },
            Err(e) => {
                // A terminal error: end of input, which closes with 1000.
                out.say(&format!("error: the terminal: {e}; closing"));
                tx.send(vec![Input::Eof]);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_command_names() {
        let (start, c) = complete("/cl", false);
        assert_eq!(start, 0);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].replacement, "/close ");
        let (_, c) = complete("/", false);
        assert_eq!(c.len(), commands_for(false).count());
        // listen has /clients, and no /reconnect.
        assert_eq!(complete("/cli", true).1.len(), 1);
        assert!(complete("/rec", true).1.is_empty());
        assert!(complete("/cli", false).1.is_empty());
    }

    #[test]
    fn completes_opcodes_and_close_codes() {
        let (start, c) = complete("/frame pi", false);
        assert_eq!(start, 7);
        assert_eq!(c[0].replacement, "ping ");
        let (_, c) = complete("/close 100", false);
        assert!(c.iter().any(|p| p.display == "1000 Normal Closure"));
        assert!(c.iter().all(|p| p.replacement.starts_with("100")));
        assert!(complete("hello", false).1.is_empty());
    }

    #[test]
    fn hints_the_expected_form() {
        assert_eq!(hint("/clo", false).as_deref(), Some("se [CODE [REASON]]"));
        assert_eq!(hint("/close ", false).as_deref(), Some("[CODE [REASON]]"));
        assert_eq!(hint("/close 1000", false), None);
        assert_eq!(hint("/p", false), None); // /ping and /pong both fit
        assert_eq!(hint("plain", false), None);
    }

    #[test]
    fn prompt_width_is_fixed_and_short() {
        use std::time::Duration;
        let states = [
            ConnState::Connecting,
            ConnState::Open,
            ConnState::Closing,
            ConnState::Closed,
            ConnState::Reconnecting(Duration::from_millis(8500)),
            ConnState::Reconnecting(Duration::from_secs(999)),
            ConnState::Reconnecting(Duration::from_secs(100_000)),
        ];
        let blank = prompt_for(None);
        for st in states {
            let p = prompt_for(Some(st));
            assert_eq!(p.chars().count(), blank.chars().count(), "{p:?}");
            assert!(p[1..].starts_with(state_word(st).as_str()), "{p:?}");
        }
        assert!(blank.len() <= 12, "{blank:?}");
        assert_eq!(
            prompt_for(Some(ConnState::Reconnecting(Duration::from_millis(8500)))),
            "[retry 9s ] "
        );
    }
}
