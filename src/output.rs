//! The `Sink` that turns session events into output: a `Printer` plus the clock that
//! stamps each event. Notices a closed stdout so the session can end quietly.

use std::io::{self, Write};
use std::time::Instant;

use crate::event::{Ctx, Event};
use crate::render::Printer;
use crate::session::Sink;

pub struct Output<W: Write, E: Write> {
    pub printer: Printer<W, E>,
    pub start: Instant,
    pub client: Option<u64>,
    /// The REPL's prompt state, when there is a REPL.
    pub prompt: Option<crate::repl::PromptState>,
    broken: bool,
}

impl<W: Write, E: Write> Output<W, E> {
    pub fn new(printer: Printer<W, E>, start: Instant) -> Self {
        Output {
            printer,
            start,
            client: None,
            prompt: None,
            broken: false,
        }
    }

    fn check(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.broken = true;
            }
        }
    }
}

impl<W: Write, E: Write> Sink for Output<W, E> {
    fn emit(&mut self, ev: &Event<'_>) {
        if self.broken {
            return;
        }
        let ctx = Ctx {
            t: self.start.elapsed(),
            client: self.client,
        };
        let r = self.printer.emit(&ctx, ev);
        self.check(r);
    }

    fn idle(&mut self) {
        if !self.broken {
            let r = self.printer.flush();
            self.check(r);
        }
    }

    fn broken(&self) -> bool {
        self.broken
    }

    fn state(&mut self, state: &str) {
        if let Some(p) = &self.prompt {
            if let Ok(mut s) = p.lock() {
                *s = state.to_string();
            }
        }
    }
}
