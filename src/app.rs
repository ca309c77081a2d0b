//! `run(cli)`: turn checked options into a session (or `listen`, or `completions`),
//! wire input and output to it, and return the exit code.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::cli::{self, Cli, Sub};
use crate::connect::{self, TlsOpts};
use crate::error::Error;
use crate::event::ConnState;
use crate::handshake::Ask;
use crate::input::{self, LineMode};
use crate::output::Output;
use crate::render::{Format, Opts, Printer};
use crate::repl::{self, PromptState, ReplWriter};
use crate::session::{Options, Session};
use crate::target;

pub fn run(cli: Cli, start: Instant) -> Result<u8, Error> {
    match cli.cmd {
        Some(Sub::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "wsdbg", &mut io::stdout());
            return Ok(0);
        }
        Some(Sub::Listen(args)) => return crate::listen::run(args, start),
        None => {}
    }
    let url = cli.url.as_deref().unwrap_or_default();
    let target = target::parse(url)?;
    let c = &cli.conn;
    let headers = c
        .headers
        .iter()
        .map(|h| cli::parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = if target.tls || c.follow_redirects {
        Some(connect::tls_config(&TlsOpts {
            cacert: c.cacert.clone(),
            insecure: c.insecure,
            cert: c.cert.clone(),
            key: c.key.clone(),
        })?)
    } else {
        None
    };
    if c.chunk_size == 0 {
        return Err(Error::usage(
            "--chunk-size: expected at least 1 byte, got 0",
        ));
    }
    let opts = Options {
        target,
        ask: Ask {
            headers,
            protocols: c.protocols.clone(),
            origin: c.origin.clone(),
        },
        tls,
        insecure: c.insecure,
        connect_timeout: cli::secs("--connect-timeout", c.connect_timeout)?,
        close_timeout: cli::secs("--close-timeout", c.close_timeout)?,
        max_size: c.max_size,
        max_messages: c.max_messages,
        keep_open: c.keep_open,
        linger: Duration::from_millis(c.linger),
        script: false,
        auto_pong: !c.no_auto_pong,
        echo: c.echo,
        reconnect: c.reconnect,
        max_retries: c.max_retries,
        backoff_min: Duration::from_millis(c.backoff_min),
        backoff_max: Duration::from_millis(c.backoff_max),
        follow_redirects: c.follow_redirects,
        proxy: match (&c.proxy, c.no_proxy) {
            (Some(url), _) => crate::connect::ProxyMode::Flag(crate::proxy::parse(url)?),
            (None, true) => crate::connect::ProxyMode::Off,
            (None, false) => crate::connect::ProxyMode::Env,
        },
        ping_interval: match c.ping_interval {
            Some(s) if s > 0.0 => Some(cli::secs("--ping-interval", s)?),
            Some(s) => {
                return Err(Error::usage(format!(
                    "--ping-interval: expected a number of seconds above 0, got {s}"
                )))
            }
            None => None,
        },
    };
    opts.ask.check()?;
    // -x commands are checked before connecting: a malformed one sends nothing.
    let execute = c
        .execute
        .iter()
        .map(|x| crate::command::parse(x).map_err(|e| Error::usage(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let stdout = io::stdout();
    let format = cli.out.format();
    let verbose = cli.out.verbose;
    let (binary, chunk, raw) = (c.binary, c.chunk_size, c.raw);
    let mode = if raw {
        LineMode::Raw
    } else {
        LineMode::Commands
    };
    if execute.is_empty() && !binary && io::stdin().is_terminal() {
        let color = cli.out.color(true);
        return repl(opts, format, Opts { verbose, color }, start);
    }
    let printer = Printer::new(
        format,
        Opts {
            verbose,
            color: cli.out.color(stdout.is_terminal()),
        },
        io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        io::stderr(),
    );
    let opts = Options {
        script: true,
        ..opts
    };
    let (session, tx) = Session::new(opts, Output::new(printer, start))?;
    spawn_input(move || {
        if !execute.is_empty() {
            input::execute(tx, execute)
        } else if binary {
            input::bytes(tx, io::stdin().lock(), chunk)
        } else {
            input::lines(tx, io::stdin().lock(), mode)
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

/// stdin is a terminal: rustyline on the input thread, output above the prompt.
fn repl(opts: Options, format: Format, ropts: Opts, start: Instant) -> Result<u8, Error> {
    let saved = crate::term::save();
    let state: PromptState = Arc::new(Mutex::new(ConnState::Connecting));
    let repl::Made {
        editor: ed,
        printer,
        history,
        warning,
    } = repl::editor(state.clone(), ropts.color)
        .map_err(|e| Error::io(format!("cannot start the line editor: {e}")))?;
    let printer = Arc::new(Mutex::new(printer));
    // Both streams end up above the prompt; with --json the JSON `error` event already
    // says what the human line on stderr would, so that line is not printed twice.
    let err: Box<dyn Write> = if format == Format::Json {
        Box::new(io::sink())
    } else {
        Box::new(ReplWriter::new(printer.clone()))
    };
    let p = Printer::new(format, ropts, ReplWriter::new(printer), err);
    let mut out = Output::new(p, start);
    out.prompt = Some(state.clone());
    let (session, tx) = Session::new(opts, out)?;
    if let Some(w) = warning {
        eprintln!("wsdbg: warning: {w}");
    }
    spawn_input(move || repl::run(ed, history, tx, state))?;
    let code = session.run();
    // Let the line editor print what it was handed last (the closing handshake).
    std::thread::sleep(Duration::from_millis(150));
    crate::term::restore(saved);
    println!();
    Ok(code)
}
