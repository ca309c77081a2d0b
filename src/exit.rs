//! The exit codes, named, with the text the README, the man page and `--help` use.
//! Constants, text, and `code`: how a session's end and its script's outcome become
//! one code; this file is what the drivers and the documentation agree on.

/// The session ended with a completed closing handshake (whatever the close code).
pub const OK: u8 = 0;
/// Could not connect: DNS, TCP, TLS, timeout, or the server refused the handshake.
pub const CONNECT: u8 = 1;
/// Usage error: bad option or URL.
pub const USAGE: u8 = 2;
/// The connection was lost without a closing handshake, or the peer broke the protocol.
pub const LOST: u8 = 3;
/// Script mode: the script did not run as written.
pub const SCRIPT: u8 = 4;
/// A second Ctrl-C, or one during a connect still under way: exit at once (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// wsdbg itself failed: a panic in any thread (a bug), said as `wsdbg: error: internal
/// error: ...` on stderr. Not part of the contract's table (`CODES`): it is the
/// README's note under it. 70 is `EX_SOFTWARE` of sysexits.h.
pub const INTERNAL: u8 = 70;

/// Every exit code with its meaning (backticks mark literal text), in order.
pub const CODES: &[(u8, &str)] = &[
    (
        OK,
        "the session ended with a completed closing handshake (whatever the close code)",
    ),
    (
        CONNECT,
        "could not connect: DNS, TCP, TLS, timeout, or the server refused the handshake",
    ),
    (USAGE, "usage error: bad option or URL"),
    (
        LOST,
        "the connection was lost without a closing handshake, or the peer broke the protocol",
    ),
    (
        SCRIPT,
        "the script (a pipe or `-x`) did not run as written: a malformed command, a `/wait` \
         that timed out, a failed `/expect`, a command that could not run; for `probe`, a \
         check failed (1 and 3 take precedence)",
    ),
    (
        INTERRUPTED,
        "interrupted: a second Ctrl-C, or one while a connect is still under way",
    ),
];

/// The few words `--help` gives each code, in the order of [`CODES`].
pub const SHORT: &[(u8, &str)] = &[
    (OK, "clean close"),
    (CONNECT, "could not connect"),
    (USAGE, "usage error"),
    (LOST, "connection lost or protocol broken by the peer"),
    (
        SCRIPT,
        "a script command failed (a /wait, an /expect) or a probe check failed",
    ),
    (INTERRUPTED, "interrupted"),
];

/// The exit code of a session that ended with `code` (how its last connection went, or
/// why it could not connect) and whose script `failed` or not: the one place the two
/// meet. 1-3 take precedence over 4.
pub fn code(code: u8, failed: bool) -> u8 {
    if code == OK && failed {
        SCRIPT
    } else {
        code
    }
}

/// The meaning of `code`, if it is one of ours.
pub fn meaning(code: u8) -> Option<&'static str> {
    CODES.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
}

/// The README's exit status table (between its `<!-- exit:begin -->` markers).
pub fn markdown() -> String {
    let mut out = String::from("| code | meaning |\n| --- | --- |\n");
    for (code, text) in CODES {
        out.push_str(&format!("| {code} | {text} |\n"));
    }
    out
}

/// The `Exit status:` paragraph of `--help`, wrapped at 80 columns.
pub fn help_text() -> String {
    let words: Vec<String> = SHORT
        .iter()
        .map(|(code, text)| format!("{code} {text}"))
        .collect();
    let mut lines = vec![String::from("Exit status:")];
    for (i, w) in words.iter().enumerate() {
        let sep = if i + 1 < words.len() { "," } else { "." };
        let piece = format!("{w}{sep}");
        let last = lines.last_mut().expect("lines starts non-empty");
        if last.len() + 1 + piece.len() <= 80 {
            last.push(' ');
            last.push_str(&piece);
        } else {
            lines.push(piece);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_once_in_order_with_short_text() {
        let codes: Vec<u8> = CODES.iter().map(|(c, _)| *c).collect();
        let short: Vec<u8> = SHORT.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [OK, CONNECT, USAGE, LOST, SCRIPT, INTERRUPTED]);
        assert_eq!(codes, short);
        assert_eq!(meaning(4).map(|m| m.starts_with("the script")), Some(true));
        assert_eq!(meaning(5), None);
    }

    #[test]
    fn help_text_names_every_code_within_80_columns() {
        let text = help_text();
        assert!(text.starts_with("Exit status: 0 clean close,"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 80), "{text}");
        for (code, words) in SHORT {
            assert!(text.contains(&format!("{code} {words}")), "{code}: {text}");
        }
    }
}
