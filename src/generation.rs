//! Man page and completion scripts from the one clap definition (`Cli::command()`),
//! plus the sections clap does not know: REPL commands, JSON events, exit status.
//! The committed `man/` and `completions/` are checked against this by a test.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::command::COMMANDS;

pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "wsdbg.bash"),
    (Shell::Zsh, "_wsdbg"),
    (Shell::Fish, "wsdbg.fish"),
    (Shell::Elvish, "wsdbg.elv"),
    (Shell::PowerShell, "_wsdbg.ps1"),
];

pub fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wsdbg", &mut out);
    out
}

const EVENTS: &[(&str, &str)] = &[
    ("handshake", "url, request {method, path, headers}, response {status, headers}, protocol, elapsed_ms"),
    ("frame", "dir, opcode, fin, rsv, masked, mask_key, len, hex, text (when UTF-8); close frames add code and reason"),
    ("message", "one per complete data message: dir, type, len, frames, text or hex"),
    ("pong", "rtt_ms, when it answers a ping we sent"),
    ("close", "code, reason, initiator (local/remote), clean"),
    ("disconnected", "code (1006 when no close frame was received), reason"),
    ("reconnect", "attempt, delay_ms"),
    ("error", "kind (usage, connect, tls, handshake, protocol, io, timeout), message; rule for protocol errors; status, headers, body for a refused handshake"),
];

const EXIT: &[(&str, &str)] = &[
    (
        "0",
        "the session ended with a completed closing handshake (whatever the close code)",
    ),
    (
        "1",
        "could not connect: DNS, TCP, TLS, timeout, or the server refused the handshake",
    ),
    ("2", "usage error: bad option or URL"),
    (
        "3",
        "the connection was lost without a closing handshake, or the peer broke the protocol",
    ),
];

fn roff_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, ch) in s.chars().enumerate() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '-' => out.push_str("\\-"),
            '.' | '\'' if i == 0 => {
                out.push_str("\\&");
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

fn section(out: &mut String, title: &str, intro: &str, rows: &[(&str, &str)]) {
    out.push_str(&format!(".SH {title}\n"));
    if !intro.is_empty() {
        out.push_str(&roff_escape(intro));
        out.push('\n');
    }
    for (k, v) in rows {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_escape(k),
            roff_escape(v)
        ));
    }
}

/// The command for the man pages: options kept out of `-h` would otherwise have no
/// text there (clap_mangen shows a hidden short help only as long help).
fn man_command() -> clap::Command {
    fn fix(a: clap::Arg) -> clap::Arg {
        match a.get_help().cloned() {
            Some(help) if a.is_hide_short_help_set() && a.get_long_help().is_none() => {
                a.long_help(help)
            }
            _ => a,
        }
    }
    Cli::command()
        .mut_args(fix)
        .mut_subcommands(|s| s.mut_args(fix))
}

/// `man/wsdbg-listen.1` and `man/wsdbg-completions.1`, which `wsdbg.1` points to.
pub fn sub_man_pages() -> Vec<(String, Vec<u8>)> {
    let cmd = man_command();
    cmd.get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| {
            let name = format!("wsdbg-{}", s.get_name());
            let sub = s.clone().name(name.clone()).display_name(name.clone());
            let mut out = Vec::new();
            let _ = clap_mangen::Man::new(sub).date("").render(&mut out);
            (format!("{name}.1"), out)
        })
        .collect()
}

/// The whole man page, `man/wsdbg.1`.
pub fn man_page() -> Vec<u8> {
    let man = clap_mangen::Man::new(man_command()).date("");
    let mut out = Vec::new();
    // The parts clap knows, in man order; ours go before VERSION.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let _ = man.render_subcommands_section(&mut out);
    let mut extra = String::new();
    let cmds: Vec<(&str, &str)> = COMMANDS.iter().map(|(_, u, s)| (*u, *s)).collect();
    section(
        &mut extra,
        "COMMANDS",
        "The same grammar in the REPL, in script mode (stdin) and with -x. A line that does not start with / is sent as one text message; a line starting with // sends a text message that starts with /.",
        &cmds,
    );
    section(
        &mut extra,
        "JSON EVENTS",
        "With --json, one object per line on stdout; the first key is event.",
        EVENTS,
    );
    section(&mut extra, "EXIT STATUS", "", EXIT);
    section(
        &mut extra,
        "ENVIRONMENT",
        "",
        &[
            ("NO_COLOR", "when set, no colour (as --color never)"),
            ("SSLKEYLOGFILE", "TLS secrets are appended there, so wss traffic can be read in Wireshark"),
            ("XDG_STATE_HOME", "the REPL history is kept in $XDG_STATE_HOME/wsdbg/history (else ~/.local/state/wsdbg/history)"),
        ],
    );
    out.extend_from_slice(extra.as_bytes());
    let _ = man.render_version_section(&mut out);
    out
}
