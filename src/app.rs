//! `run(config)`: start what the checked command line asks for (a session, `listen`,
//! or `completions`), wire input and output to it (the printers are made here, and
//! nowhere below), and return the exit code.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::cli::Cli;
use crate::config::Options;
use crate::config::{Config, ConnectConfig, ListenConfig, Mode, OutConfig, Stdin};
use crate::error::Error;
use crate::event::{ConnState, PromptView};
use crate::exit;
use crate::input::{self, LineMode};
use crate::output::{Output, RawStdout};
use crate::render::{Format, Opts, Printer};
use crate::repl::{self, PromptState, ReplWriter};
use crate::session::Session;

pub fn run(cfg: Config, start: Instant) -> Result<u8, Error> {
    let out = cfg.out;
    match cfg.mode {
        Mode::Print(text) => {
            let mut o = io::stdout().lock();
            let _ = o.write_all(text.as_bytes()).and_then(|_| o.flush());
            Ok(exit::OK)
        }
        Mode::Completions(shell) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "wsdbg", &mut io::stdout());
            Ok(exit::OK)
        }
        Mode::Listen(mut l) => {
            // `--proto`: a client's keep-alives are answered as its protocol wants.
            l.how.reflex.proto = Some(out.proto);
            serve(*l, out, start)
        }
        Mode::Probe(p) => {
            let printer = Printer::new(
                out.format,
                out.opts(io::stdout().is_terminal()),
                io::BufWriter::new(RawStdout::new()),
                io::stderr(),
            );
            let mut o = Output::new(printer, start)
                .recording(out.record)?
                .har(out.har)?
                .view(out.proto, out.show);
            Ok(crate::probe::run(&p, &mut o, out.pipe.verbose))
        }
        Mode::Relay(r) => serve(*r, out, start),
        Mode::Connect(mut c) => {
            c.session.keepalive = Some(out.proto);
            connect(*c, out, start)
        }
    }
}

/// A server started: the sender its input goes to, and its loop.
type Started = (crate::input::InputTx, Box<dyn FnOnce() -> u8>);

/// `listen` and `relay`, the two servers: how each starts on an output.
trait Serve: Sized {
    /// `-x CMD`: taken out, to run instead of stdin.
    fn execute(&mut self) -> Vec<crate::command::Command>;
    fn max_size(&self) -> u64;
    /// Start it on `out`; the sender its input goes to, and its loop.
    fn start<S: crate::session::Sink + 'static>(
        self,
        out: S,
        script: bool,
    ) -> Result<Started, Error>;
}

impl Serve for ListenConfig {
    fn execute(&mut self) -> Vec<crate::command::Command> {
        std::mem::take(&mut self.execute)
    }
    fn max_size(&self) -> u64 {
        self.max_size
    }
    fn start<S: crate::session::Sink + 'static>(
        self,
        out: S,
        script: bool,
    ) -> Result<Started, Error> {
        let (s, tx) = crate::listen::start(self, out, script)?;
        Ok((tx, Box::new(move || s.run())))
    }
}

impl Serve for crate::config::RelayConfig {
    fn execute(&mut self) -> Vec<crate::command::Command> {
        std::mem::take(&mut self.execute)
    }
    fn max_size(&self) -> u64 {
        self.upstream.max_size
    }
    fn start<S: crate::session::Sink + 'static>(
        self,
        out: S,
        script: bool,
    ) -> Result<Started, Error> {
        let (s, tx) = crate::relay::start(self, out, script)?;
        Ok((tx, Box::new(move || s.run())))
    }
}

/// `listen` and `relay`: commands from the REPL when stdin is a terminal, else from
/// `-x` or stdin.
fn serve(mut server: impl Serve, out: OutConfig, start: Instant) -> Result<u8, Error> {
    let execute = server.execute();
    if execute.is_empty() && io::stdin().is_terminal() {
        let state: PromptState = Arc::new(Mutex::new(PromptView::Listen {
            clients: 0,
            to: None,
        }));
        return with_repl(out.format, out.opts(true), out, start, state, |o| {
            server.start(o, false)
        });
    }
    let printer = Printer::new(
        out.format,
        out.opts(io::stdout().is_terminal()),
        io::BufWriter::with_capacity(64 * 1024, RawStdout::new()),
        io::stderr(),
    );
    let max = server.max_size();
    let o = Output::new(printer, start)
        .recording(out.record)?
        .har(out.har)?
        .view(out.proto, out.show);
    let (tx, run) = server.start(o, true)?;
    spawn_input(move || {
        if execute.is_empty() {
            input::lines(tx, io::stdin().lock(), LineMode::Commands, max)
        } else {
            input::execute(tx, execute)
        }
    })?;
    let code = run();
    let _ = io::stdout().flush();
    Ok(code)
}

/// The client: the REPL when stdin is a terminal, else script mode.
fn connect(c: ConnectConfig, out: OutConfig, start: Instant) -> Result<u8, Error> {
    let ConnectConfig {
        session: opts,
        execute,
        stdin,
    } = c;
    if execute.is_empty()
        && matches!(stdin, Stdin::Lines(LineMode::Commands))
        && io::stdin().is_terminal()
    {
        return repl(opts, out.format, out.opts(true), out, start);
    }
    let printer = Printer::new(
        out.format,
        out.opts(io::stdout().is_terminal()),
        io::BufWriter::with_capacity(64 * 1024, RawStdout::new()),
        io::stderr(),
    );
    let opts = Options {
        script: true,
        ..opts
    };
    let max = opts.max_size;
    let o = Output::new(printer, start)
        .recording(out.record)?
        .har(out.har)?
        .view(out.proto, out.show);
    let (session, tx) = Session::new(opts, o)?;
    spawn_input(move || {
        if !execute.is_empty() {
            input::execute(tx, execute)
        } else {
            match stdin {
                Stdin::Binary { chunk } => input::bytes(tx, io::stdin().lock(), chunk),
                Stdin::Lines(mode) => input::lines(tx, io::stdin().lock(), mode, max),
                Stdin::Replay { file, plan } => input::replay(tx, &file, plan),
            }
        }
    })?;
    let code = session.run();
    let _ = io::stdout().flush();
    Ok(code)
}

fn spawn_input(f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| Error::io(format!("cannot start the input thread: {e}")))
}

/// The client's REPL.
fn repl(
    opts: Options,
    format: Format,
    ropts: Opts,
    files: OutConfig,
    start: Instant,
) -> Result<u8, Error> {
    let state: PromptState = Arc::new(Mutex::new(PromptView::Conn(ConnState::Connecting)));
    with_repl(format, ropts, files, start, state, |out| {
        Session::new(opts, out).map(|(session, tx)| (tx, move || session.run()))
    })
}

/// The printer for a REPL: both streams end up above the prompt.
type ReplOut = Output<ReplWriter, Box<dyn Write>>;

/// stdin is a terminal: rustyline on the input thread, output above the prompt.
/// `make` builds what runs (the session or listen) on that output and returns its
/// input's sender and the run itself.
fn with_repl<R: FnOnce() -> u8>(
    format: Format,
    ropts: Opts,
    files: OutConfig,
    start: Instant,
    state: PromptState,
    make: impl FnOnce(ReplOut) -> Result<(crate::input::InputTx, R), Error>,
) -> Result<u8, Error> {
    let saved = crate::term::save();
    let repl::Made {
        editor: ed,
        printer,
        history,
        warning,
    } = repl::editor(state.clone(), ropts.color)
        .map_err(|e| Error::io(format!("cannot start the line editor: {e}")))?;
    let pending = Arc::new(repl::Pending::default());
    repl::spawn_printer(pending.clone(), printer)
        .map_err(|e| Error::io(format!("cannot start the printer thread: {e}")))?;
    // With --json the JSON `error` event already says what the human line on stderr
    // would, so that line is not printed twice.
    let err: Box<dyn Write> = if format == Format::Json {
        Box::new(io::sink())
    } else {
        Box::new(ReplWriter::new(pending.clone()))
    };
    let p = Printer::new(format, ropts, ReplWriter::new(pending.clone()), err);
    let mut out = Output::new(p, start)
        .recording(files.record)?
        .har(files.har)?
        .view(files.proto, files.show);
    out.prompt = Some(state.clone());
    let (tx, run) = make(out)?;
    if let Some(w) = warning {
        pending.say(&format!("warning: {w}"));
    }
    crate::term::raw_for_repl(&saved);
    let said = pending.clone();
    if let Err(e) = spawn_input(move || repl::run(ed, history, tx, state, said, saved)) {
        crate::term::restore(saved);
        return Err(e);
    }
    let code = run();
    // Let the line editor print what it was handed last (the closing handshake).
    pending.drain(Duration::from_millis(1000));
    std::thread::sleep(Duration::from_millis(150));
    crate::term::restore(saved);
    println!();
    Ok(code)
}
