//! Parse the command line, run, print the error if any, exit with the contract's code.

use std::io;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use wsdbg::cli::Cli;
use wsdbg::event::{Ctx, Event};
use wsdbg::render::{Opts, Printer};

fn main() -> ExitCode {
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
            };
            let _ = p.emit(&ctx, &Event::Error(&e)).and_then(|_| p.flush());
            ExitCode::from(e.exit_code())
        }
    }
}
