//! The pipeline format: the payload of each received data message and nothing else on
//! `out` (text as it came, binary as lowercase hex, a newline after each). A text
//! message's own newlines are written too, so a line is a message only when messages
//! have none (`--json` keeps each message whole, `-o raw` keeps the bytes). When `out`
//! is a terminal, text is escaped as pretty escapes it (ESC, C1, CR and the other
//! controls but newline and tab), so a peer cannot send escape sequences to it. Errors
//! and warnings go to `err` as in pretty; `/help`, `/info` and `listening` go to `err`
//! too, so stdout stays clean. This is the hot path of a throughput run: no allocation
//! per message, text is written straight from the event's buffer.

use std::io::{self, Write};

use super::esc::{self, Esc, Paint};
use super::{pretty, Printer};
use crate::event::{Ctx, Dir, Event, MsgType};

pub(super) fn emit<W: Write, E: Write>(
    p: &mut Printer<W, E>,
    ctx: &Ctx,
    ev: &Event<'_>,
) -> io::Result<()> {
    let buf = &mut p.line;
    match *ev {
        Event::Message {
            dir: Dir::In,
            kind,
            payload,
            ..
        } => match kind {
            MsgType::Text if p.opts.terminal => {
                buf.clear();
                match std::str::from_utf8(payload) {
                    Ok(text) => esc::escape(buf, text, Esc::Lines),
                    Err(_) => esc::escape(buf, &String::from_utf8_lossy(payload), Esc::Lines),
                }
                buf.push(b'\n');
                p.out.write_all(buf)
            }
            MsgType::Text => {
                // Straight from the event's buffer into the output's (a `BufWriter`).
                p.out.write_all(payload)?;
                p.out.write_all(b"\n")
            }
            MsgType::Binary => {
                buf.clear();
                esc::hex(buf, payload);
                buf.push(b'\n');
                p.out.write_all(buf)
            }
        },
        Event::Error(e) => {
            buf.clear();
            pretty::error(buf, Paint(p.opts.color), ctx, e, true, p.opts.verbose);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Warning(msg) => {
            buf.clear();
            pretty::warning(buf, Paint(p.opts.color), ctx, msg);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Expect {
            what,
            ok,
            got,
            diff,
        } => {
            buf.clear();
            pretty::expect(buf, Paint(p.opts.color), ctx, what, ok, got, diff);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Check(r) => {
            buf.clear();
            pretty::check(buf, Paint(p.opts.color), r);
            p.out.write_all(buf)
        }
        Event::Notice(text) => {
            buf.clear();
            pretty::notice(buf, text);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Clients(rows) => {
            buf.clear();
            pretty::clients(buf, rows);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Summary(t) => {
            buf.clear();
            pretty::summary(buf, t);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Redirect { hop, to, refusal } => {
            buf.clear();
            pretty::redirect(
                buf,
                Paint(p.opts.color),
                ctx,
                hop,
                to,
                refusal,
                p.opts.verbose,
            );
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Info(info) => {
            buf.clear();
            pretty::info(buf, info);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        Event::Listening { addr, tls } => {
            buf.clear();
            pretty::listening(buf, addr, tls);
            super::to_err(&mut p.out, &mut p.err, buf)
        }
        _ => Ok(()),
    }
}
