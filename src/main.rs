//! Parse the command line, run, print the error if any, exit with the contract's code.
//! A panic in any thread ends the process at once with one error line and exit 70
//! (`exit::INTERNAL`): a thread that dies must not leave the others waiting for it.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use wsdbg::cli::Cli;
use wsdbg::event::{Ctx, Event};
use wsdbg::render::{Opts, Printer};

/// The panic hook: one line on stderr, then exit 70, whichever thread panicked (the
/// default hook prints several lines, and the process would go on without that thread:
/// the input thread dying left the session waiting for input forever). stdout is not
/// touched: another thread may hold its lock.
fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    let mut line = String::from("wsdbg: error: internal error: ");
    for c in msg.chars() {
        if c.is_control() {
            line.extend(c.escape_debug());
        } else {
            line.push(c);
        }
    }
    let thread = std::thread::current();
    line.push_str(&format!(" (a bug: {} thread", thread.name().unwrap_or("a")));
    if let Some(at) = info.location() {
        line.push_str(&format!(", {}:{}", at.file(), at.line()));
    }
    line.push_str(")\n");
    let _ = io::stderr().write_all(line.as_bytes());
    std::process::exit(wsdbg::exit::INTERNAL.into());
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(on_panic));
    let start = Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let first = std::env::args_os().nth(1);
            let first = first.as_deref().and_then(|a| a.to_str());
            eprint!("{}", wsdbg::cli::usage_error(&e, first));
            return ExitCode::from(wsdbg::exit::USAGE);
        }
    };
    let format = cli.format();
    match cli
        .into_config()
        .and_then(|cfg| wsdbg::app::run(cfg, start))
    {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut p = Printer::new(format, Opts::default(), io::stdout(), io::stderr());
            let ctx = Ctx {
                t: start.elapsed(),
                client: None,
                ..Ctx::default()
            };
            let _ = p.emit(&ctx, &Event::Error(&e)).and_then(|_| p.flush());
            ExitCode::from(e.exit_code())
        }
    }
}
