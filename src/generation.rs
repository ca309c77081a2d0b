//! Man page and completion scripts from the one clap definition (`Cli::command()`),
//! plus the sections clap does not know: REPL commands (`command::COMMANDS`), JSON
//! events (`events_doc`), exit status (`exit`) and the environment.
//! The committed `man/` and `completions/` are checked against this by a test.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::command::COMMANDS;
use crate::events_doc::{common_line, fields_line, prose, Markup, EVENTS};
use crate::exit;

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

/// Text inside a roff line: `\` and `-` escaped (`\-` is a hyphen-minus, not a hyphen).
fn roff_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-")
}

fn roff_code(s: &str) -> String {
    format!("\\fB{}\\fR", roff_text(s))
}

/// Backtick spans in bold, the rest escaped.
const ROFF: Markup = Markup {
    code: roff_code,
    text: roff_text,
};

/// A line of already escaped text, guarded so a leading `.` or `'` is not a request.
fn roff_line(s: String) -> String {
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}

/// Plain text as one roff line.
fn roff_escape(s: &str) -> String {
    roff_line(roff_text(s))
}

/// A section of tagged paragraphs; `intro` and `rows` are roff already.
fn section(out: &mut String, title: &str, intro: &str, rows: &[(String, String)]) {
    out.push_str(&format!(".SH {title}\n"));
    if !intro.is_empty() {
        out.push_str(intro);
        out.push('\n');
    }
    for (k, v) in rows {
        out.push_str(&format!(".TP\n\\fB{k}\\fR\n{v}\n"));
    }
}

/// Plain-text rows, escaped.
fn plain(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(k, v)| (roff_text(k), roff_escape(v)))
        .collect()
}

/// The JSON EVENTS entries: the meaning, then the fields, from `events_doc`.
fn event_rows() -> Vec<(String, String)> {
    EVENTS
        .iter()
        .map(|ev| {
            let mut body = roff_line(prose(&ROFF, ev.meaning));
            body.push_str("\n.br\n");
            body.push_str(&roff_line(fields_line(&ROFF, ev)));
            (roff_text(ev.name), body)
        })
        .collect()
}

/// The EXIT STATUS entries, from `exit::CODES`.
fn exit_rows() -> Vec<(String, String)> {
    exit::CODES
        .iter()
        .map(|(code, text)| (code.to_string(), roff_line(prose(&ROFF, text))))
        .collect()
}

const ENVIRONMENT: &[(&str, &str)] = &[
    ("NO_COLOR", "when set, no colour (as --color never)"),
    (
        "SSLKEYLOGFILE",
        "TLS secrets are appended there, so wss traffic can be read in Wireshark",
    ),
    (
        "XDG_STATE_HOME",
        "the REPL history is kept in $XDG_STATE_HOME/wsdbg/history (else ~/.local/state/wsdbg/history)",
    ),
    (
        "https_proxy, HTTPS_PROXY",
        "the proxy for wss:// URLs: http://[user:pass@]host:port (HTTP CONNECT), socks5:// (names resolved here) or socks5h:// (names resolved by the proxy). The lowercase name wins; an empty value counts as unset. --proxy overrides these variables and --no-proxy ignores them all",
    ),
    ("http_proxy, HTTP_PROXY", "the proxy for ws:// URLs, in the same forms"),
    (
        "all_proxy, ALL_PROXY",
        "the proxy for both, when the variable for the scheme is unset",
    ),
    (
        "no_proxy, NO_PROXY",
        "hosts reached without a proxy, comma-separated: a name matches itself and its subdomains (example.com, .example.com), an IP literal only that address, HOST:PORT only that port, * every host. Loopback is not special: it goes through the proxy unless listed here",
    ),
];

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
    // No `wsdbg-help(1)` is shipped, so the SUBCOMMANDS section must not list one.
    Cli::command()
        .disable_help_subcommand(true)
        .mut_args(fix)
        .mut_subcommands(|s| s.mut_args(fix))
}

/// What `wsdbg-listen(1)` adds to clap's sections: that listen takes commands (its own
/// list, from `command::COMMANDS`), and its exit codes.
fn listen_sections() -> String {
    let mut out = String::new();
    let cmds: Vec<(String, String)> = crate::command::commands_for(true)
        .map(|(name, usage, summary)| {
            (
                roff_text(usage),
                roff_escape(crate::command::summary_for(true, name, summary)),
            )
        })
        .collect();
    section(
        &mut out,
        "COMMANDS",
        &roff_escape("listen takes the client's command grammar, in its REPL (on a terminal), from a pipe (script mode) or with -x, and sends to the selected clients (all by default; /to picks, /clients lists, /kick closes one). A plain line is one text message to them; a line starting with # is a comment. /expect checks what the selected clients sent."),
        &cmds,
    );
    section(
        &mut out,
        "EXIT STATUS",
        "",
        &plain(&[
            ("0", "stopped (Ctrl-C, /quit, end of a script) with every command run as written; with --once, the first client's close was a completed closing handshake"),
            ("1", "could not listen: the address is in use, or not one of this machine's"),
            ("2", "usage error: bad option or address"),
            ("3", "with --once, the first client left without a completed closing handshake"),
            ("4", "a command did not run as written or an /expect failed (with --fail-fast, at the first one)"),
        ]),
    );
    out
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
            let man = clap_mangen::Man::new(sub).date("");
            if s.get_name() == "listen" {
                let _ = man.render_title(&mut out);
                let _ = man.render_name_section(&mut out);
                let _ = man.render_synopsis_section(&mut out);
                let _ = man.render_description_section(&mut out);
                let _ = man.render_options_section(&mut out);
                out.extend_from_slice(listen_sections().as_bytes());
            } else {
                let _ = man.render(&mut out);
            }
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
        &roff_escape("The same grammar in the REPL, in script mode (stdin) and with -x. A line that does not start with / is sent as one text message; a line starting with // sends a text message that starts with /."),
        &plain(&cmds),
    );
    let intro = format!(
        "{}\n{}",
        roff_escape(
            "With --json, one object per line on stdout, flushed per line; the first key is event."
        ),
        roff_line(common_line(&ROFF)),
    );
    extra.push_str(".SH REPL\n");
    extra.push_str(&roff_escape(&crate::cli::REPL.replace('\n', " ")));
    extra.push('\n');
    section(&mut extra, "JSON EVENTS", &intro, &event_rows());
    section(&mut extra, "EXIT STATUS", "", &exit_rows());
    section(&mut extra, "ENVIRONMENT", "", &plain(ENVIRONMENT));
    extra.push_str(".SH EXAMPLES\n");
    for line in crate::cli::EXAMPLES.lines().skip(1) {
        match line.strip_prefix("    ") {
            Some(cmd) => extra.push_str(&format!(".RS\n.nf\n{}\n.fi\n.RE\n", roff_escape(cmd))),
            None => extra.push_str(&format!(".PP\n{}\n", roff_escape(line.trim()))),
        }
    }
    out.extend_from_slice(extra.as_bytes());
    let _ = man.render_version_section(&mut out);
    out
}
