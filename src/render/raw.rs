//! The byte-exact format (`-o raw`): the payload of each received data message written
//! to `out` as it came, with nothing added (no newline, no hex: binary stays binary, so
//! a text "00ff" and a binary 00 ff come out different). Diagnostics go to `err` as in
//! payload mode. Hot path: no allocation and no copy into the scratch buffer; the
//! payload is written straight from the event.

use std::io::{self, Write};

use super::{payload, Printer};
use crate::event::{Ctx, Dir, Event};

pub(super) fn emit<W: Write, E: Write>(
    p: &mut Printer<W, E>,
    ctx: &Ctx,
    ev: &Event<'_>,
) -> io::Result<()> {
    match *ev {
        Event::Message {
            dir: Dir::In,
            payload,
            ..
        } => p.out.write_all(payload),
        // Received messages are the only data; the rest is payload mode's (diagnostics
        // to `err`, everything else dropped).
        Event::Message { .. } => Ok(()),
        _ => payload::emit(p, ctx, ev),
    }
}
