//! Options, URL forms, usage errors and exit codes, against scripted servers.

mod common;

use std::time::Duration;

use common::*;

/// A server that answers 101, then echoes until the client closes.
fn echo() -> Server<Option<ClientFrame>> {
    Server::echo()
}

/// The first non-empty line of stderr.
fn first_err_line(out: &Run) -> String {
    out.stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("nothing on stderr\n{out}"))
        .to_string()
}

// --- Usage errors: exit 2 ---------------------------------------------------------------

/// Issue 17: values that could never work are usage errors that say what is expected
/// (`--max-messages 0` never ended; a timeout of 0 always failed).
#[test]
fn issue17_zero_counts_and_timeouts_are_usage_errors() {
    for (args, says) in [
        (
            &["--max-messages", "0"][..],
            "--max-messages: expected at least 1",
        ),
        (
            &["--connect-timeout", "0"][..],
            "--connect-timeout: expected a number of seconds above 0",
        ),
        (
            &["--close-timeout", "0"][..],
            "--close-timeout: expected a number of seconds above 0",
        ),
    ] {
        let out = run(wsdbg().args(args).arg("ws://127.0.0.1:1/"));
        out.code(2);
        assert!(first_err_line(&out).contains(says), "{args:?}\n{out}");
    }
    let out = run(wsdbg().args(["probe", "--wait", "0", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(first_err_line(&out).contains("--wait: expected"), "{out}");
}

#[test]
fn no_url_is_a_usage_error() {
    let out = run(&mut wsdbg());
    out.code(2);
    assert!(
        first_err_line(&out).contains("URL"),
        "names the missing URL\n{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn ftp_url_is_a_usage_error() {
    let out = run(wsdbg().arg("ftp://127.0.0.1/x"));
    out.code(2);
    let line = first_err_line(&out);
    assert!(line.contains("ftp"), "names what was found\n{out}");
    assert!(line.contains("ws://"), "names what was expected\n{out}");
}

#[test]
fn ftp_url_in_json_mode_is_a_usage_error_event() {
    let out = run(wsdbg().args(["--json", "ftp://127.0.0.1/x"]));
    let err = out.error_kind("usage", 2);
    assert!(err["message"].as_str().unwrap().contains("ftp"), "{out}");
}

/// Issue 8: a scheme with one slash (or none) and a mistyped subcommand are usage
/// errors with a hint, not host names to resolve.
#[test]
fn url_and_subcommand_typos_are_usage_errors_with_a_hint() {
    for (args, hint) in [
        (
            &["ws:/127.0.0.1:9001"][..],
            "did you mean ws://127.0.0.1:9001?",
        ),
        (&["ws:127.0.0.1"], "did you mean ws://127.0.0.1?"),
        (&["http:/x"], "did you mean http://x?"),
        (
            &["--json", "ws:/127.0.0.1:9001"],
            "did you mean ws://127.0.0.1:9001?",
        ),
        (&["lsten"], "did you mean listen?"),
        (&["lsten", "--port", "0"], "did you mean listen?"),
        (&["completion", "bash"], "did you mean completions?"),
        (&["-v", "prob"], "did you mean probe?"),
    ] {
        let out = run(wsdbg().args(args));
        out.code(2);
        assert!(out.stderr.contains(hint), "{args:?}: want {hint:?}\n{out}");
        assert_eq!(out.stderr.lines().count(), 1, "one line\n{out}");
        assert!(!out.stderr.contains("resolve"), "{out}");
    }
}

#[test]
fn a_bare_word_far_from_any_subcommand_is_still_a_host() {
    // Taken as ws://localhost:PORT/: a closed port gives a connect error (exit 1).
    let url = format!("localhost:{}", closed_port());
    let out = run(wsdbg().args(["--json", url.as_str()]));
    out.error_kind("connect", 1);
}

#[test]
fn bad_output_value_is_a_usage_error() {
    let out = run(wsdbg().args(["-o", "xml", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(first_err_line(&out).contains("xml"), "{out}");
}

#[test]
fn unknown_option_is_a_usage_error() {
    let out = run(wsdbg().args(["--bogus-option", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(first_err_line(&out).contains("--bogus-option"), "{out}");
}

#[test]
fn bad_header_is_a_usage_error() {
    let out = run(wsdbg().args(["-H", "no colon here", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(first_err_line(&out).contains("-H"), "{out}");
}

/// Issue 8: the usage shown is the subcommand's, an extra argument is called that, and
/// `--json` with `-o` is a conflict; every line is `wsdbg: error: ...`, tips after it.
#[test]
fn usage_errors_say_what_was_wrong_and_whose_usage() {
    for (args, what, usage) in [
        (
            &["completions", "foo"][..],
            "invalid value 'foo' for '<SHELL>'",
            "wsdbg completions <SHELL>",
        ),
        (
            &["listen", "--bogus"],
            "unexpected argument '--bogus'",
            "wsdbg listen [OPTIONS] [ADDR]",
        ),
        (
            &["ws://127.0.0.1:1/", "extra"],
            "unexpected extra argument \"extra\"",
            "wsdbg [OPTIONS] <URL>",
        ),
        (
            &["--json", "-o", "pretty", "ws://127.0.0.1:1/"],
            "'--json' cannot be used with '--output <OUTPUT>'",
            "wsdbg [OPTIONS] <URL>",
        ),
        (
            &["-o", "payload", "--json", "ws://127.0.0.1:1/"],
            "cannot be used with",
            "wsdbg [OPTIONS] <URL>",
        ),
        (
            &["listen", "--json", "-o", "pretty"],
            "'--json' cannot be used with '--output <OUTPUT>'",
            "wsdbg listen [OPTIONS] [ADDR]",
        ),
    ] {
        let out = run(wsdbg().args(args));
        out.code(2);
        assert!(out.stdout.is_empty(), "{out}");
        let line = first_err_line(&out);
        assert!(line.starts_with("wsdbg: error: "), "{args:?}\n{out}");
        assert!(line.contains(what), "{args:?}: want {what:?}\n{out}");
        let expected = format!("(expected: {usage}; see --help)");
        assert!(
            line.ends_with(&expected),
            "{args:?}: want {expected}\n{out}"
        );
        assert!(!line.contains("subcommand"), "{out}");
    }
}

#[test]
fn clap_tips_go_on_their_own_line() {
    let out = run(wsdbg().args(["--bogus-option", "ws://127.0.0.1:1/"]));
    out.code(2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("wsdbg: error: unexpected argument"),
        "{out}"
    );
    assert!(!lines[0].contains("tip:"), "{out}");
    assert!(lines[1].starts_with("  tip: "), "{out}");
}

/// Issue 8: every diagnostic on stderr starts `wsdbg: error: ` or `wsdbg: warning: `,
/// whether it comes from clap, from the checks after it, or from the session.
#[test]
fn one_prefix_for_every_diagnostic() {
    let closed = format!("ws://127.0.0.1:{}/", closed_port());
    for (args, want) in [
        (vec!["--bogus-option", "ws://h/"], "wsdbg: error: "),
        (vec!["ftp://127.0.0.1/"], "wsdbg: error: "),
        (vec!["-H", "nocolon", "ws://h/"], "wsdbg: error: "),
        (vec![closed.as_str()], "wsdbg: error: "),
        (vec!["-o", "payload", closed.as_str()], "wsdbg: error: "),
        (vec!["--json", closed.as_str()], "wsdbg: error: "),
    ] {
        let out = run(wsdbg().args(&args));
        assert!(out.code.is_some_and(|c| c != 0), "{out}");
        assert!(first_err_line(&out).starts_with(want), "{args:?}\n{out}");
    }
    for output in ["pretty", "payload", "json"] {
        let server = echo();
        let out = run(wsdbg().args(["-o", output, "-x", "/close 1005", server.url("/").as_str()]));
        server.finish();
        let warning = out
            .stderr
            .lines()
            .find(|l| l.contains("1005"))
            .unwrap_or_else(|| panic!("no warning about 1005\n{out}"));
        assert!(warning.starts_with("wsdbg: warning: "), "{output}\n{out}");
    }
}

/// Issue 8: a busy port is a one-line error that says so (exit 1), not `error: connect:`.
#[test]
fn listen_on_a_busy_port() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = run(wsdbg().args(["listen", "--port", port.to_string().as_str()]));
    out.code(1);
    assert_eq!(
        out.stderr,
        format!("wsdbg: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"),
        "{out}"
    );
    let out = run(wsdbg().args(["listen", "--json", "--port", port.to_string().as_str()]));
    let err = out.error_kind("connect", 1);
    assert_eq!(
        err["message"],
        format!("cannot listen on 127.0.0.1:{port}: Address already in use"),
        "{out}"
    );
    drop(busy);
}

#[test]
fn help_and_version_exit_0() {
    let out = run(wsdbg().arg("--help"));
    out.code(0);
    assert!(out.stdout.contains("--header"), "{out}");
    let out = run(wsdbg().arg("--version"));
    out.code(0);
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")), "{out}");
    assert!(
        out.stdout.contains("rustls") && out.stdout.contains("ring"),
        "TLS backend named: {out}"
    );
}

#[test]
fn short_help_fits_one_screen_and_long_help_has_examples() {
    let short = run(wsdbg().arg("-h"));
    short.code(0);
    let lines = short.stdout.lines().count();
    assert!(lines <= 45, "-h is {lines} lines\n{short}");
    // Issue 8: options a first session needs are in -h, not only in --help.
    for opt in ["--keep-open", "--close-timeout", "--key"] {
        assert!(short.stdout.contains(opt), "-h lacks {opt}\n{short}");
    }
    let long = run(wsdbg().arg("--help"));
    for job in [
        "listen",
        "-H '",
        "< session.txt",
        "jq",
        "/close 4000",
        "--reconnect",
    ] {
        assert!(
            long.stdout.contains(job),
            "--help lacks an example with {job:?}\n{long}"
        );
    }
}

#[test]
fn completions_bash() {
    let out = run(wsdbg().args(["completions", "bash"]));
    out.code(0);
    assert!(out.stdout.contains("wsdbg"), "{out}");
    assert!(out.stdout.contains("--header"), "{out}");
}

#[test]
fn completions_unknown_shell_is_a_usage_error() {
    let out = run(wsdbg().args(["completions", "tcsh"]));
    out.code(2);
}

// --- URL forms ----------------------------------------------------------------------------

#[test]
fn bare_host_port_path() {
    let server = echo();
    let url = format!("127.0.0.1:{}/some/path?q=1", server.port());
    let out = run(wsdbg().args(["--json", url.as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.method, "GET", "{out}");
    assert_eq!(req.path, "/some/path?q=1", "{out}");
    assert_eq!(req.version, "HTTP/1.1", "{out}");
    let hs = out.first("handshake");
    assert!(
        hs["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("ws://127.0.0.1:")),
        "the url is shown as ws://\n{out}"
    );
    assert_eq!(hs["request"]["path"], "/some/path?q=1", "{out}");
}

/// Issue 17: a bare port number is a port on 127.0.0.1 (the contract), never an IPv4
/// address (`wsdbg 8801` went to 0.0.34.97), for the client and for `listen`.
#[test]
fn issue17_a_bare_port_is_127_0_0_1() {
    let server = echo();
    let port = server.port().to_string();
    let out = run(wsdbg().args(["--json", port.as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.path, "/", "{out}");
    assert_eq!(
        out.first("handshake")["url"],
        format!("ws://127.0.0.1:{port}/"),
        "{out}"
    );
    // `listen 0`: port 0 on 127.0.0.1 (the helper checks the address it printed).
    let l = Listen::json_args(&["listen", "0", "--json"]);
    assert!(l.addr.starts_with("127.0.0.1:"), "{}", l.addr);
    let out = run(wsdbg().args([
        "--json",
        "-x",
        "hi",
        l.addr.trim_start_matches("127.0.0.1:"),
    ]));
    out.clean_close();
    drop(l.unused());
    // Past 65535 it is an error that says what a bare number means.
    let out = run(wsdbg().arg("70000"));
    out.code(2);
    assert!(
        first_err_line(&out).contains("a bare number is a port on 127.0.0.1"),
        "{out}"
    );
}

#[test]
fn http_url_maps_to_ws() {
    let server = echo();
    let url = format!("http://127.0.0.1:{}/", server.port());
    let out = run(wsdbg().args(["--json", url.as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.path, "/", "{out}");
}

#[test]
fn url_without_path_requests_slash() {
    let server = echo();
    let url = format!("ws://127.0.0.1:{}", server.port());
    let out = run(wsdbg().args(["--json", url.as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.path, "/", "{out}");
}

#[test]
fn request_has_the_required_headers() {
    let server = echo();
    let port = server.port();
    let out = run(wsdbg().args(["--json", server.url("/chat").as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(
        req.header("Host"),
        Some(format!("127.0.0.1:{port}").as_str()),
        "{req:?}"
    );
    assert!(
        req.header("Upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
        "{req:?}"
    );
    assert!(
        req.header("Connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")),
        "{req:?}"
    );
    assert_eq!(req.header("Sec-WebSocket-Version"), Some("13"), "{req:?}");
    let key = req.header("Sec-WebSocket-Key").expect("Sec-WebSocket-Key");
    assert_eq!(key.len(), 24, "a base64 16-byte nonce: {key:?}");
    assert!(
        req.header("Sec-WebSocket-Extensions").is_none(),
        "no extension offered: {req:?}"
    );
    let hs = out.first("handshake");
    let sent: Vec<(String, String)> = hs["request"]["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("request.headers\n{out}"))
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_string(),
                h[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        sent.iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("Sec-WebSocket-Key") && v == key),
        "the handshake event shows the key sent\n{out}"
    );
    let got = hs["response"]["headers"].as_array().unwrap();
    assert!(
        got.iter().any(|h| h[0]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("Sec-WebSocket-Accept"))),
        "{out}"
    );
    assert_eq!(hs["protocol"], serde_json::Value::Null, "{out}");
}

#[test]
fn userinfo_becomes_basic_authorization() {
    let server = echo();
    let url = format!("ws://user:pass@127.0.0.1:{}/", server.port());
    let out = run(wsdbg().args(["--json", url.as_str()]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(
        req.header("Authorization"),
        Some("Basic dXNlcjpwYXNz"),
        "{req:?}"
    );
    assert!(
        !out.first("handshake")["url"]
            .as_str()
            .unwrap_or("")
            .contains("pass"),
        "{out}"
    );
}

#[test]
fn header_protocols_and_origin() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[(
            "Sec-WebSocket-Protocol",
            "superchat",
        )]))
        .run(|c| c.echo_until_close());
    let out = run(wsdbg().args([
        "--json",
        "-H",
        "X-A: b",
        "--header",
        "X-Token: t 1",
        "-p",
        "chat",
        "-p",
        "superchat",
        "--origin",
        "http://example.test",
        server.url("/").as_str(),
    ]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.header("X-A"), Some("b"), "{req:?}");
    assert_eq!(req.header("X-Token"), Some("t 1"), "{req:?}");
    let protos: Vec<String> = req
        .headers_named("Sec-WebSocket-Protocol")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .collect();
    assert_eq!(protos, vec!["chat", "superchat"], "{req:?}");
    assert_eq!(req.header("Origin"), Some("http://example.test"), "{req:?}");
    assert_eq!(out.first("handshake")["protocol"], "superchat", "{out}");
}

/// Issue 17: a header given twice is sent twice, in order (two `Cookie` lines, two
/// `X-A`), and one that replaces ours (`User-Agent`) does so once, the second added.
#[test]
fn issue17_repeated_headers_are_all_sent() {
    let server = echo();
    let out = run(wsdbg().args([
        "--json",
        "-H",
        "X-A: 1",
        "-H",
        "Cookie: a=1",
        "-H",
        "X-A: 2",
        "-H",
        "Cookie: b=2",
        "-H",
        "User-Agent: one",
        "-H",
        "User-Agent: two",
        server.url("/").as_str(),
    ]));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.headers_named("X-A"), vec!["1", "2"], "{req:?}");
    assert_eq!(req.headers_named("Cookie"), vec!["a=1", "b=2"], "{req:?}");
    assert_eq!(
        req.headers_named("User-Agent"),
        vec!["one", "two"],
        "{req:?}"
    );
}

#[test]
fn verbose_pretty_shows_request_and_response_headers() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[("X-Server-Says", "hello-verbose")]))
        .run(|c| c.echo_until_close());
    let out = run(wsdbg().args([
        "-v",
        "-H",
        "X-Client-Says: hi-verbose",
        server.url("/").as_str(),
    ]));
    let req = server.request();
    server.finish();
    out.code(0);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("X-Client-Says"),
        "request headers shown\n{out}"
    );
    assert!(
        all.contains("hello-verbose"),
        "response headers shown\n{out}"
    );
    assert!(
        all.contains(&req.accept_key()),
        "the accept key is shown\n{out}"
    );
}

#[test]
fn pretty_without_verbose_hides_headers() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[("X-Server-Says", "hello-verbose")]))
        .run(|c| c.echo_until_close());
    let out = run(wsdbg().arg(server.url("/")));
    server.finish();
    out.code(0);
    assert!(!out.stdout.contains("hello-verbose"), "{out}");
}

// --- Pretty payloads: --full, --max-payload, one line per frame ------------------------------

/// A text with line breaks and a terminal escape.
const LINES: &str = "one\ntwo\r\nthree\tfour\u{1b}[2J";

/// A server that sends a 1000-byte text, a 200-byte binary and a text with line
/// breaks, then echoes until the client closes.
fn long_payload_server() -> Server<Option<ClientFrame>> {
    Server::scripted(|c| {
        c.send(&text(&"0123456789".repeat(100)));
        c.send(&binary(&[0xab; 200]));
        c.send(&text(LINES));
        c.echo_until_close()
    })
}

/// The `<<` line of the received frame with this length.
fn received_line(out: &Run, len: usize) -> String {
    let want = format!(" len={len} ");
    out.stdout
        .lines()
        .find(|l| l.starts_with("<<") && l.contains(&want))
        .unwrap_or_else(|| panic!("no << line with len={len}\n{out}"))
        .to_string()
}

/// Issue 8: `--full` never cuts, `--max-payload N` cuts at N bytes, the default cuts
/// text at 256 and binary at 64; the full length is always shown.
#[test]
fn full_and_max_payload_in_pretty_output() {
    let long_text = "0123456789".repeat(100);
    let hex = |n: usize| vec!["ab"; n].join(" ");
    let cases: Vec<(&[&str], String, String)> = vec![
        (
            &[],
            format!("\"{}\"… (1000 bytes)", &long_text[..256]),
            format!("{} … (200 bytes)", hex(64)),
        ),
        (&["--full"], format!("\"{long_text}\""), hex(200)),
        (
            &["--max-payload", "10"],
            "\"0123456789\"… (1000 bytes)".to_string(),
            format!("{} … (200 bytes)", hex(10)),
        ),
        (
            &["--max-payload", "5000"],
            format!("\"{long_text}\""),
            hex(200),
        ),
    ];
    for (args, text_end, binary_end) in cases {
        let server = long_payload_server();
        let out = run(wsdbg().args(args).arg(server.url("/")));
        server.finish();
        out.code(0);
        let line = received_line(&out, 1000);
        assert!(line.ends_with(&text_end), "{args:?}: {line}\n{out}");
        let line = received_line(&out, 200);
        assert!(line.ends_with(&binary_end), "{args:?}: {line}\n{out}");
    }
    let out = run(wsdbg().args(["--full", "--max-payload", "3", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(first_err_line(&out).contains("--full"), "{out}");
}

/// Issue 8: a text payload with line breaks is one line per frame, escaped.
#[test]
fn text_with_newlines_stays_one_line_per_frame() {
    let server = long_payload_server();
    let out = run(wsdbg().args(["--full"]).arg(server.url("/")));
    server.finish();
    out.code(0);
    let line = received_line(&out, LINES.len());
    assert!(
        line.ends_with(r#""one\ntwo\r\nthree\tfour\u{1b}[2J""#),
        "{line}\n{out}"
    );
    // Every line of stdout is a whole frame or event line: none starts mid-payload.
    for l in out.stdout.lines() {
        assert!(
            ["<< ", ">> ", "-- ", "== "]
                .iter()
                .any(|m| l.starts_with(m)),
            "{l:?}\n{out}"
        );
    }
}

/// `wsdbg listen 127.0.0.1:0` with these options, once it printed its address.
/// (`common::Listen` has no way to pass options in pretty or raw mode.)
struct ListenProc {
    child: std::process::Child,
    addr: String,
    /// All of stdout, when the process has ended.
    out: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl ListenProc {
    /// `addr_on_stderr`: the `listening on` line goes to stderr (payload and raw modes).
    fn start(extra: &[&str], addr_on_stderr: bool) -> ListenProc {
        use std::io::{BufRead, Read};
        use std::process::Stdio;
        let mut child = std::process::Command::new(bin())
            .args(["listen", "127.0.0.1:0"])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wsdbg listen");
        let mut stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (first_tx, first) = std::sync::mpsc::channel();
        let (out_tx, out) = std::sync::mpsc::channel();
        let first_tx2 = first_tx.clone();
        std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(stderr);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            if addr_on_stderr {
                let _ = first_tx2.send(line);
            }
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        });
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if addr_on_stderr {
                let _ = stdout.read_to_end(&mut bytes);
            } else {
                let mut r = std::io::BufReader::new(stdout);
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                let _ = first_tx.send(line);
                let _ = r.read_to_end(&mut bytes);
            }
            let _ = out_tx.send(bytes);
        });
        let line = first
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        let addr = line
            .trim()
            .strip_prefix("listening on ws://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("wsdbg listen {extra:?}: first line {line:?}")
            })
            .to_string();
        ListenProc { child, addr, out }
    }

    /// Kills the server and returns what it wrote to stdout after its address.
    fn stop(mut self) -> Vec<u8> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.out
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default()
    }
}

impl Drop for ListenProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn listen_takes_full_and_max_payload() {
    let long_text = "0123456789".repeat(100);
    for (args, want) in [
        (&["--full"][..], format!("\"{long_text}\"")),
        (
            &["--max-payload", "4"],
            "\"0123\"… (1000 bytes)".to_string(),
        ),
    ] {
        let listen = ListenProc::start(args, false);
        let url = format!("ws://{}/", listen.addr);
        let out = run(wsdbg().args(["--json", "-x", &long_text, "-x", "/wait", &url]));
        let stdout = String::from_utf8(listen.stop()).unwrap();
        out.clean_close();
        let lines: Vec<&str> = stdout.lines().collect();
        let line = lines
            .iter()
            .find(|l| l.starts_with("<<") && l.contains("len=1000"))
            .unwrap_or_else(|| panic!("{args:?}: no << line\n{lines:#?}"));
        assert!(line.ends_with(&want), "{args:?}: {line}");
    }
}

// --- -o raw -----------------------------------------------------------------------------------

/// Issue 8: `-o raw` writes received payloads as bytes, nothing added: a text "00ff"
/// and a binary 00 ff come out different (in `-o payload` they are the same line).
#[test]
fn raw_output_is_the_received_bytes_exactly() {
    let sent: Vec<(bool, Vec<u8>)> = vec![
        (true, b"00ff".to_vec()),
        (false, vec![0x00, 0xff]),
        (true, b"line\nbreak".to_vec()),
        (false, vec![0x0a, 0x0d, 0x1b, 0x80]),
        (true, Vec::new()),
        (true, "é✓".as_bytes().to_vec()),
    ];
    let expected: Vec<u8> = sent.iter().flat_map(|(_, b)| b.clone()).collect();
    let script = sent.clone();
    let server = Server::scripted(move |c| {
        for (is_text, bytes) in &script {
            let op = if *is_text { OP_TEXT } else { OP_BINARY };
            c.send(&frame(true, 0, op, None, bytes));
        }
        // Then a protocol error, which must reach stderr, not stdout.
        c.send(&frame(true, RSV1, OP_TEXT, None, b"x"));
        c.drain(Duration::from_secs(2));
    });
    let out = wsdbg()
        .args(["-o", "raw", "--keep-open", server.url("/").as_str()])
        .output()
        .expect("wsdbg");
    server.finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        out.stdout == expected,
        "stdout {:?}\nstderr {stderr}",
        out.stdout
    );
    assert!(stderr.starts_with("wsdbg: error: protocol: "), "{stderr}");

    // The same data in payload mode: the text "00ff" and the binary 00 ff look alike.
    let server = Server::scripted(|c| {
        c.send(&text("00ff"));
        c.send(&binary(&[0x00, 0xff]));
        c.echo_until_close()
    });
    let out = run(wsdbg().args(["-o", "payload", server.url("/").as_str()]));
    server.finish();
    out.code(0);
    assert_eq!(out.stdout, "00ff\n00ff\n", "{out}");
}

#[test]
fn listen_takes_raw_output() {
    let listen = ListenProc::start(&["-o", "raw"], true);
    let url = format!("ws://{}/", listen.addr);
    let out = run(wsdbg().args(["-x", "/binary 00 ff 0a", "-x", "hi", "-x", "/wait 2", &url]));
    let stdout = listen.stop();
    out.code(0);
    assert_eq!(stdout, b"\x00\xff\x0ahi", "{out}");
}

// --- Order of stdout and stderr -------------------------------------------------------------

/// `wsdbg ARGS 2>&1`: stdout and stderr into one pipe, as on a terminal.
fn run_merged(args: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(bin())
        .args(args);
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NO_COLOR", "1")
        .timeout(RUN_TIMEOUT)
        .write_stdin("");
    run(&mut cmd)
}

/// Issue 8: in script mode stdout is buffered and stderr is not; an error must still
/// come after the frames printed before it (here: `connected`, a text frame, then the
/// RSV1 protocol error), in every format that prints both.
#[test]
fn errors_come_after_the_frames_before_them() {
    for output in ["pretty", "payload", "raw", "json"] {
        for _ in 0..5 {
            let server = Server::scripted(|c| {
                c.send(&text("before"));
                c.send(&frame(true, RSV1, OP_TEXT, None, b"x"));
                c.drain(Duration::from_secs(2));
            });
            let out = run_merged(&["-o", output, "--keep-open", server.url("/").as_str()]);
            server.finish();
            out.code(3);
            let all = &out.stdout;
            let before = all.find("before");
            let error = all.find("wsdbg: error: protocol: ");
            assert!(
                before.is_some() && error.is_some() && before < error,
                "-o {output}: the error came first\n{out}"
            );
            if output == "pretty" {
                let connected = all.find("connected to ").expect("connected line");
                assert!(connected < before.unwrap_or(0), "{out}");
            }
        }
    }
}

// --- Connection failures: exit 1 ------------------------------------------------------------

/// Issue 8: handshake errors show header values, not Rust's `Some("...")` / `None`.
#[test]
fn handshake_errors_show_values_not_debug_syntax() {
    let raw = |lines: &str| {
        Reply::Raw(format!("HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n").into_bytes())
    };
    let cases: Vec<(Reply, &[&str], &str)> = vec![
        (
            Reply::WrongAccept,
            &[],
            "wrong Sec-WebSocket-Accept: expected \"",
        ),
        (
            Reply::WrongAccept,
            &[],
            "got \"dGhlIHNhbXBsZSBub25jZQ==\" (RFC 6455 4.1)",
        ),
        (
            raw("Upgrade: websocket\r\nConnection: Upgrade\r\n"),
            &[],
            "got none (RFC 6455 4.1)",
        ),
        (
            raw("Connection: Upgrade\r\n"),
            &[],
            "\"Upgrade: websocket\" in the 101 response, got none",
        ),
        (
            Reply::accept_with(&[("Sec-WebSocket-Protocol", "mqtt")]),
            &["-p", "chat", "-p", "v2"],
            "(offered: \"chat\", \"v2\")",
        ),
    ];
    for (reply, args, want) in cases {
        let server = Server::builder().reply(reply).run(|_| ());
        let out = run(wsdbg().arg("--json").args(args).arg(server.url("/")));
        server.finish();
        let err = out.error_kind("handshake", 1);
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "want {want:?}\n{out}");
        for leak in ["Some(", "None", "[\""] {
            assert!(!msg.contains(leak), "{leak} in the message\n{out}");
            assert!(!out.stderr.contains(leak), "{leak} on stderr\n{out}");
        }
    }
}

#[test]
fn connection_refused() {
    let port = closed_port();
    let out = run(wsdbg().args(["--json", format!("ws://127.0.0.1:{port}/").as_str()]));
    let err = out.error_kind("connect", 1);
    assert!(
        err["message"].as_str().unwrap().contains(&port.to_string()),
        "names the address\n{out}"
    );
}

#[test]
fn connection_refused_pretty_goes_to_stderr() {
    let port = closed_port();
    let out = run(wsdbg().arg(format!("ws://127.0.0.1:{port}/")));
    out.code(1);
    assert!(!out.stderr.is_empty(), "{out}");
}

#[test]
fn connect_timeout_when_the_server_never_answers() {
    let server = Server::builder().reply(Reply::Nothing).run(|c| {
        // Accept the TCP connection, say nothing; wait for the client to give up.
        c.set_read_timeout(Duration::from_secs(6));
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(c, &mut buf);
    });
    let out = run(wsdbg().args(["--json", "--connect-timeout", "1", server.url("/").as_str()]));
    server.finish();
    out.error_kind("timeout", 1);
    assert!(out.elapsed < Duration::from_millis(4000), "{out}");
    assert!(out.elapsed >= Duration::from_millis(900), "{out}");
}

#[test]
fn bad_connect_timeout_value() {
    let out = run(wsdbg().args(["--connect-timeout", "-3", "ws://127.0.0.1:1/"]));
    out.code(2);
}

#[test]
fn follow_redirects_with_l() {
    let server = redirecting();
    let out = run(wsdbg().args(["--json", "-L", server.url("/here").as_str()]));
    let paths = server.finish();
    out.clean_close();
    assert_eq!(paths, vec!["/here", "/there"], "{out}");
}

/// A server whose first connection answers 302 to /there and whose second accepts.
fn redirecting() -> Server<String> {
    Server::builder()
        .conns(2)
        .reply(Reply::Nothing)
        .run_each(|c| {
            let req = read_request(c).expect("request");
            let port = req
                .header("Host")
                .and_then(|h| h.rsplit_once(':'))
                .map(|(_, p)| p.to_string())
                .unwrap_or_default();
            if c.index == 0 {
                let r = Reply::status(
                    302,
                    "Found",
                    &[("Location", &format!("ws://127.0.0.1:{port}/there"))],
                    "",
                );
                c.send(&r.bytes_for(&req));
            } else {
                c.send(&Reply::Accept.bytes_for(&req));
                c.echo_until_close();
            }
            req.path
        })
}

/// Issue 17: with `-L -v` each hop's request and response is shown, then its one-line
/// `redirect` event (stamped like every event line); the JSON `redirect` event carries
/// the status, the location, the response headers and the request.
#[test]
fn issue17_each_redirect_hop_shows_its_request_and_response() {
    let server = redirecting();
    let out = run(wsdbg().args(["-L", "-v", "-x", "hi", server.url("/here").as_str()]));
    server.finish();
    out.code(0);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("> GET /here HTTP/1.1"), "{out}");
    assert!(all.contains("< HTTP/1.1 302 Found"), "{out}");
    assert!(all.contains("> GET /there HTTP/1.1"), "{out}");
    let hop = all
        .lines()
        .find(|l| l.contains("redirect 1: 302 Found -> ws://127.0.0.1:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(hop.starts_with("-- "), "{hop}");
    let connecting = all
        .lines()
        .find(|l| l.contains("connecting to "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(connecting.starts_with("-- "), "{connecting}");
    let server = redirecting();
    let out = run(wsdbg().args(["--json", "-L", "-x", "hi", server.url("/here").as_str()]));
    server.finish();
    out.clean_close();
    let r = out.first("redirect");
    assert_eq!(r["hop"], 1, "{out}");
    assert_eq!(r["status"], 302, "{out}");
    assert!(r["location"].as_str().unwrap().ends_with("/there"), "{out}");
    assert_eq!(r["request"]["path"], "/here", "{out}");
}

/// Issue 17: `-v` shows the request of a refused handshake, the case where it matters
/// most, and the JSON `error` event carries it as `request`.
#[test]
fn issue17_a_refused_handshake_shows_its_request() {
    let refuse = || {
        Server::builder()
            .reply(Reply::status(403, "Forbidden", &[], "go away"))
            .run(|_| ())
    };
    let server = refuse();
    let out = run(wsdbg().args(["-v", "-H", "X-Token: abc", server.url("/secret").as_str()]));
    server.finish();
    out.code(1);
    assert!(out.stderr.contains("> GET /secret HTTP/1.1"), "{out}");
    assert!(out.stderr.contains("> X-Token: abc"), "{out}");
    assert!(out.stderr.contains("< HTTP/1.1 403 Forbidden"), "{out}");
    let server = refuse();
    let out = run(wsdbg().args(["--json", server.url("/secret").as_str()]));
    server.finish();
    let e = out.first("error");
    assert_eq!(e["status"], 403, "{out}");
    assert_eq!(e["request"]["path"], "/secret", "{out}");
    assert_eq!(e["request"]["method"], "GET", "{out}");
}

// --- JSON output shape ---------------------------------------------------------------------

#[test]
fn every_json_line_starts_with_event() {
    let server = Server::scripted(|c| {
        c.send(&text("a"));
        c.send(&binary(&[1]));
        c.send(&ping(b""));
        c.echo_until_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin("/sleep 200\nx\n"));
    server.finish();
    out.clean_close();
    for line in out.stdout.lines() {
        assert!(line.starts_with("{\"event\":\""), "line {line:?}\n{out}");
    }
    let names: Vec<String> = out
        .events()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    for want in ["handshake", "frame", "message", "close"] {
        assert!(names.iter().any(|n| n == want), "no {want} event\n{out}");
    }
}

// --- Proxies -----------------------------------------------------------------------------
// The scripted "proxy" is also the endpoint: it answers CONNECT (or SOCKS5), then the
// WebSocket upgrade, then echoes. The target host does not resolve, so a client that
// bypassed the proxy could not connect at all.

/// Answers an HTTP CONNECT, then the upgrade; returns (CONNECT request, upgrade request).
fn connect_proxy() -> Server<(Request, Request)> {
    Server::builder().reply(Reply::Nothing).run(|c| {
        let connect = read_request(c).expect("CONNECT request");
        c.send(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let upgrade = c.handshake(&Reply::Accept);
        c.echo_until_close();
        (connect, upgrade)
    })
}

#[test]
fn proxy_option_http_connect() {
    let proxy = connect_proxy();
    let out = run(wsdbg()
        .args([
            "--json",
            "--proxy",
            format!("http://127.0.0.1:{}", proxy.port()).as_str(),
            "ws://wsdbg-target.invalid:8765/via-proxy",
        ])
        .write_stdin("through the proxy\n"));
    let (connect, upgrade) = proxy.result();
    out.clean_close();
    assert_eq!(connect.method, "CONNECT", "{out}");
    assert_eq!(connect.path, "wsdbg-target.invalid:8765", "{out}");
    assert_eq!(upgrade.path, "/via-proxy", "{out}");
    assert_eq!(
        upgrade.header("Host"),
        Some("wsdbg-target.invalid:8765"),
        "{out}"
    );
    assert_eq!(out.texts("in"), vec!["through the proxy"], "{out}");
}

#[test]
fn proxy_credentials_become_proxy_authorization() {
    let proxy = connect_proxy();
    let out = run(wsdbg().args([
        "--json",
        "--proxy",
        format!("http://user:pass@127.0.0.1:{}", proxy.port()).as_str(),
        "ws://wsdbg-target.invalid/",
    ]));
    let (connect, upgrade) = proxy.result();
    out.clean_close();
    assert_eq!(
        connect.header("Proxy-Authorization"),
        Some("Basic dXNlcjpwYXNz"),
        "{out}"
    );
    assert!(
        upgrade.header("Proxy-Authorization").is_none(),
        "not sent to the server\n{out}"
    );
}

#[test]
fn http_proxy_env_applies_to_loopback_too() {
    let proxy = connect_proxy();
    let target_port = closed_port();
    let out = run(wsdbg()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port()))
        .args(["--json", format!("ws://127.0.0.1:{target_port}/").as_str()]));
    let (connect, _) = proxy.result();
    out.clean_close();
    assert_eq!(connect.path, format!("127.0.0.1:{target_port}"), "{out}");
}

#[test]
fn lowercase_all_proxy_env_applies() {
    let proxy = connect_proxy();
    let out = run(wsdbg()
        .env("all_proxy", format!("http://127.0.0.1:{}", proxy.port()))
        .args(["--json", "ws://wsdbg-target.invalid/"]));
    proxy.finish();
    out.clean_close();
}

#[test]
fn no_proxy_option_ignores_the_environment() {
    let server = echo();
    let dead_proxy = closed_port();
    let out = run(wsdbg()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{dead_proxy}"))
        .env("ALL_PROXY", format!("http://127.0.0.1:{dead_proxy}"))
        .args(["--json", "--no-proxy", server.url("/").as_str()]));
    server.finish();
    out.clean_close();
}

#[test]
fn no_proxy_env_matches_the_host() {
    let server = echo();
    let dead_proxy = closed_port();
    let out = run(wsdbg()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{dead_proxy}"))
        .env("NO_PROXY", "example.test,127.0.0.1")
        .args(["--json", server.url("/").as_str()]));
    server.finish();
    out.clean_close();
}

#[test]
fn proxy_refusing_connect_is_a_connect_error() {
    let proxy = Server::builder().reply(Reply::Nothing).run(|c| {
        let _ = read_request(c);
        c.send(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    });
    let out = run(wsdbg().args([
        "--json",
        "--proxy",
        format!("http://127.0.0.1:{}", proxy.port()).as_str(),
        "ws://wsdbg-target.invalid/",
    ]));
    proxy.finish();
    out.code(1);
    let err = out.error();
    assert!(
        err["message"].as_str().unwrap_or("").contains("407"),
        "{out}"
    );
}

/// A SOCKS5 proxy (no authentication) that is also the endpoint. Returns the address
/// type and the address bytes the client asked for, and the upgrade request.
fn socks5_proxy() -> Server<(u8, Vec<u8>, u16, Request)> {
    use std::io::Read;
    Server::builder().reply(Reply::Nothing).run(|c| {
        let mut head = [0u8; 2];
        c.read_exact(&mut head).expect("socks greeting");
        assert_eq!(head[0], 5, "SOCKS version");
        let mut methods = vec![0u8; head[1] as usize];
        c.read_exact(&mut methods).expect("methods");
        assert!(methods.contains(&0), "no-auth offered: {methods:?}");
        c.send(&[5, 0]);
        let mut req = [0u8; 4];
        c.read_exact(&mut req).expect("socks request");
        assert_eq!(&req[..3], &[5, 1, 0], "CONNECT");
        let atyp = req[3];
        let addr = match atyp {
            1 => {
                let mut a = vec![0u8; 4];
                c.read_exact(&mut a).unwrap();
                a
            }
            3 => {
                let mut n = [0u8; 1];
                c.read_exact(&mut n).unwrap();
                let mut a = vec![0u8; n[0] as usize];
                c.read_exact(&mut a).unwrap();
                a
            }
            4 => {
                let mut a = vec![0u8; 16];
                c.read_exact(&mut a).unwrap();
                a
            }
            other => panic!("address type {other}"),
        };
        let mut port = [0u8; 2];
        c.read_exact(&mut port).unwrap();
        c.send(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80]);
        let upgrade = c.handshake(&Reply::Accept);
        c.echo_until_close();
        (atyp, addr, u16::from_be_bytes(port), upgrade)
    })
}

#[test]
fn socks5h_proxy_resolves_names_remotely() {
    let proxy = socks5_proxy();
    let out = run(wsdbg()
        .args([
            "--json",
            "--proxy",
            format!("socks5h://127.0.0.1:{}", proxy.port()).as_str(),
            "ws://wsdbg-target.invalid:8765/socks",
        ])
        .write_stdin("via socks\n"));
    let (atyp, addr, port, upgrade) = proxy.result();
    out.clean_close();
    assert_eq!(atyp, 3, "a domain name, not resolved locally\n{out}");
    assert_eq!(addr, b"wsdbg-target.invalid", "{out}");
    assert_eq!(port, 8765, "{out}");
    assert_eq!(upgrade.path, "/socks", "{out}");
    assert_eq!(out.texts("in"), vec!["via socks"], "{out}");
}

#[test]
fn socks5_proxy_with_an_ip_target() {
    let proxy = socks5_proxy();
    let out = run(wsdbg().args([
        "--json",
        "--proxy",
        format!("socks5://127.0.0.1:{}", proxy.port()).as_str(),
        "ws://127.0.0.2:8766/",
    ]));
    let (atyp, addr, port, _) = proxy.result();
    out.clean_close();
    assert_eq!((atyp, addr, port), (1, vec![127, 0, 0, 2], 8766), "{out}");
}

#[test]
fn ipv6_literal_url() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let listen = Listen::json_with(&["[::1]"]);
    assert!(listen.addr.starts_with("[::1]:"), "{}", listen.addr);
    let out = run(wsdbg()
        .args(["--json", listen.url("/v6").as_str()])
        .write_stdin("over v6\n/wait 1 3000\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["over v6"], "{out}");
    let hs = out.first("handshake");
    let host = hs["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "Host")
        .map(|h| h[1].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        host.starts_with("[::1]:"),
        "Host header keeps the brackets: {host}"
    );
}

/// Issue 15: `probe --help` lists the connection options (each check uses them) and none
/// of the client's script options, which probe would ignore.
#[test]
fn probe_help_lists_only_what_probe_reads() {
    let out = run(wsdbg().args(["probe", "--help"]));
    out.code(0);
    for opt in [
        "--header",
        "--protocol",
        "--insecure",
        "--proxy",
        "--compress",
    ] {
        assert!(out.stdout.contains(opt), "probe --help lacks {opt}\n{out}");
    }
    for opt in [
        "--execute",
        "--keep-open",
        "--linger",
        "--echo ",
        "--reconnect",
        "--binary",
        "--max-messages",
        "--ping-interval",
    ] {
        assert!(
            !out.stdout.contains(opt),
            "probe --help lists the client option {opt}\n{out}"
        );
    }
    // And probe refuses them as options it does not know.
    let out = run(wsdbg().args(["probe", "--keep-open", "ws://127.0.0.1:1/"]));
    out.code(2);
}

/// Issue 17: `--timestamps wall` (the contract) puts the wall clock, RFC 3339 UTC with
/// milliseconds, in the time column and a `time` field in every JSON event; `none`
/// drops the column; the default stays seconds since start.
#[test]
fn issue17_timestamps_wall_and_none() {
    let is_wall = |w: &str| {
        w.len() == 24 && w.ends_with('Z') && w.as_bytes()[10] == b'T' && w.starts_with("20")
    };
    let server = echo();
    let out = run(wsdbg().args(["--timestamps", "wall", "-x", "hi", server.url("/").as_str()]));
    server.finish();
    out.code(0);
    let sent = out
        .stdout
        .lines()
        .find(|l| l.starts_with(">>") && l.contains("TEXT"))
        .unwrap_or_else(|| panic!("{out}"));
    let word = sent.split_whitespace().nth(1).unwrap_or_default();
    assert!(is_wall(word), "{sent}");
    let server = echo();
    let out = run(wsdbg().args([
        "--json",
        "--timestamps",
        "wall",
        "-x",
        "hi",
        server.url("/").as_str(),
    ]));
    server.finish();
    out.clean_close();
    for ev in out.events() {
        assert!(ev["t"].is_number(), "{ev}");
        assert!(ev["time"].as_str().is_some_and(is_wall), "{ev}");
    }
    let server = echo();
    let out = run(wsdbg().args(["--timestamps", "none", "-x", "hi", server.url("/").as_str()]));
    server.finish();
    let sent = out
        .stdout
        .lines()
        .find(|l| l.starts_with(">>") && l.contains("TEXT"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(sent.starts_with(">> TEXT"), "{sent}");
}

/// Issue 17: `/info` says which extension was agreed (pretty `extensions:` line, JSON
/// `extensions`).
#[test]
fn issue17_info_names_the_agreed_extension() {
    let l = Listen::json_with(&["--compress"]);
    let out = run(wsdbg().args(["--json", "--compress", "-x", "/info", l.url("/").as_str()]));
    out.clean_close();
    let info = out.first("info");
    assert!(
        info["extensions"]
            .as_str()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "{out}"
    );
    let out = run(wsdbg().args(["-x", "/info", l.url("/").as_str()]));
    out.code(0);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("extensions: (none)"), "{out}");
    drop(l.unused());
}

/// Issue 17: `listen --reject 401` refusing a client is what was asked: a notice, not
/// an `error` event (it logged `wsdbg: error: ... refused as asked`).
#[test]
fn issue17_listen_reject_is_a_notice_not_an_error() {
    let l = Listen::json_with(&["--reject", "401", "no"]);
    let out = run(wsdbg().args(["--json", l.url("/").as_str()]));
    out.code(1);
    assert_eq!(out.first("error")["status"], 401, "{out}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let noticed = loop {
        let lines = l.lines();
        if let Some(n) = lines.iter().find(|x| x.contains("refused as asked")) {
            break n.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{lines:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(noticed.contains("\"event\":\"notice\""), "{noticed}");
    assert!(
        !l.lines().iter().any(|x| x.contains("\"event\":\"error\"")),
        "{:?}",
        l.lines()
    );
    drop(l.unused());
}

/// Issue 21: `--cookie-jar` keeps what the 101 set, `--cookie FILE` sends it on the next
/// connection (curl's Netscape format), and a cookie set by a redirect hop goes with the
/// next hop.
#[test]
fn issue21_cookies_round_trip_through_a_jar_and_a_redirect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jar = dir.path().join("jar.txt");
    let server = Server::builder()
        .reply(Reply::accept_with(&[("Set-Cookie", "sid=42; Path=/")]))
        .run(|c| c.echo_until_close());
    let out = run(wsdbg()
        .args(["-x", "hi", "--cookie-jar"])
        .arg(&jar)
        .arg(server.url("/login")));
    server.finish();
    out.code(0);
    let text = std::fs::read_to_string(&jar).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(text.contains("\tsid\t42"), "{text}");
    let server = echo();
    let out = run(wsdbg()
        .args(["-x", "hi", "--cookie"])
        .arg(&jar)
        .arg(server.url("/again")));
    let req = server.request();
    server.finish();
    out.code(0);
    assert_eq!(req.header("Cookie"), Some("sid=42"), "{req:?}");
    // A literal value is sent as it is.
    let server = echo();
    let out = run(wsdbg().args(["-x", "hi", "--cookie", "a=1; b=2", server.url("/").as_str()]));
    let req = server.request();
    server.finish();
    out.code(0);
    assert_eq!(req.header("Cookie"), Some("a=1; b=2"), "{req:?}");
    // Set by a redirect hop, sent to the next.
    let server = Server::builder()
        .conns(2)
        .reply(Reply::Nothing)
        .run_each(|c| {
            let req = read_request(c).expect("request");
            let port = req
                .header("Host")
                .and_then(|h| h.rsplit_once(':'))
                .map(|(_, p)| p.to_string())
                .unwrap_or_default();
            if c.index == 0 {
                let r = Reply::status(
                    302,
                    "Found",
                    &[
                        ("Location", &format!("ws://127.0.0.1:{port}/there")),
                        ("Set-Cookie", "hop=1; Path=/"),
                    ],
                    "",
                );
                c.send(&r.bytes_for(&req));
            } else {
                c.send(&Reply::Accept.bytes_for(&req));
                c.echo_until_close();
            }
            req.header("Cookie").map(String::from)
        });
    let out = run(wsdbg()
        .args(["-L", "-x", "hi", "--cookie-jar"])
        .arg(dir.path().join("hops.txt"))
        .arg(server.url("/here")));
    let cookies = server.finish();
    out.code(0);
    assert_eq!(cookies, vec![None, Some("hop=1".to_string())], "{out}");
    // Neither a file nor name=value: a usage error.
    let out = run(wsdbg().args(["--cookie", "no-such-file", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(out.stderr.contains("--cookie: expected"), "{out}");
}

/// Issue 21: `/info` names the address the connection went to, which is what
/// `--resolve` chose (JSON `peer`, pretty `address:`).
#[test]
fn issue21_info_names_the_address_used() {
    let server = echo();
    let port = server.port();
    let out = run(wsdbg().args([
        "--json",
        "--resolve",
        &format!("ws.example.invalid:{port}:127.0.0.1"),
        "-x",
        "/info",
        &format!("ws://ws.example.invalid:{port}/"),
    ]));
    server.finish();
    out.clean_close();
    assert_eq!(
        out.first("info")["peer"],
        format!("127.0.0.1:{port}"),
        "{out}"
    );
}

/// Issue 19: `replay --ignore REGEX` leaves out of the comparison what changes from run
/// to run: a server that stamps each reply with a time differs on every replay (exit
/// 4) unless the stamp is ignored (exit 0); the rest of the reply is still compared.
#[test]
fn issue19_replay_ignores_what_changes_per_run() {
    let stamping = |n: u32| {
        Server::scripted(move |c| {
            let f = c.read_frame().expect("a message");
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            c.send(&text(&format!(
                "{{\"n\":{n},\"echo\":\"{}\",\"t\":{t}}}",
                f.text()
            )));
            c.echo_until_close()
        })
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("r.jsonl");
    let server = stamping(1);
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&rec)
        .args(["-x", "hi", "-x", "/wait 1"])
        .arg(server.url("/")));
    server.finish();
    out.code(0);
    let replay = |n: u32, extra: &[&str]| {
        let server = stamping(n);
        let out = run(wsdbg()
            .arg("replay")
            .args(extra)
            .arg(&rec)
            .arg(server.url("/")));
        server.finish();
        out
    };
    replay(1, &[]).code(4);
    let out = replay(1, &["--ignore", r#""t":\d+"#]);
    assert_eq!(out.code, Some(0), "{out}");
    // What is not ignored is still compared.
    replay(2, &["--ignore", r#""t":\d+"#]).code(4);
    let out = run(wsdbg()
        .args(["replay", "--ignore", "("])
        .arg(&rec)
        .arg("ws://127.0.0.1:1/"));
    out.code(2);
    assert!(out.stderr.contains("--ignore: expected a regex"), "{out}");
}

/// Issue 19: `replay --headers-from-recording` sends the handshake headers the
/// recording's client sent (its cookie, Origin, a token), not those of the connection
/// itself (Host, the key); `-H` wins over a recorded one; without the flag none is sent.
#[test]
fn issue19_replay_headers_from_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("r.jsonl");
    let server = echo();
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&rec)
        .args([
            "-H",
            "X-Token: abc",
            "-H",
            "Cookie: a=1",
            "--origin",
            "http://o.example",
        ])
        .args(["-x", "hi", "-x", "/wait 1"])
        .arg(server.url("/")));
    server.finish();
    out.code(0);
    let replay = |extra: &[&str]| {
        let server = echo();
        let out = run(wsdbg()
            .arg("replay")
            .args(extra)
            .arg(&rec)
            .arg(server.url("/")));
        let req = server.request();
        server.finish();
        out.code(0);
        req
    };
    let req = replay(&["--headers-from-recording"]);
    assert_eq!(req.header("X-Token"), Some("abc"), "{req:?}");
    assert_eq!(req.header("Cookie"), Some("a=1"), "{req:?}");
    assert_eq!(req.header("Origin"), Some("http://o.example"), "{req:?}");
    assert_eq!(
        req.headers_named("Sec-WebSocket-Key").len(),
        1,
        "a key of its own"
    );
    assert_eq!(req.headers_named("Host").len(), 1);
    let req = replay(&["--headers-from-recording", "-H", "X-Token: fresh"]);
    assert_eq!(req.headers_named("X-Token"), ["fresh"], "{req:?}");
    let req = replay(&[]);
    assert_eq!(req.header("X-Token"), None, "{req:?}");
    assert_eq!(req.header("Cookie"), None, "{req:?}");
}

/// Issue 20: `--full` shows a JSON text message that does not fit a line again under its
/// frame, indented, its keys in the order they came; without `--full` it is one line.
#[test]
fn issue20_full_indents_long_json_in_key_order() {
    let json = r#"{"zeta":1,"alpha":{"name":"customer 1","country":"NL"},"items":[{"sku":"sku-0037","qty":2}],"note":"the quick brown fox jumps"}"#;
    let server = echo();
    let out = run(wsdbg()
        .args(["--full", "-x", json, "-x", "/wait 1"])
        .arg(server.url("/")));
    server.finish();
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == r#"      "zeta": 1,"#)
        .unwrap_or_else(|| panic!("no indented JSON:\n{out}"));
    assert_eq!(lines[at - 1], "    {", "{out}");
    assert_eq!(
        lines[at + 1],
        r#"      "alpha": {"#,
        "the order it came in: {out}"
    );
    let server = echo();
    let out = run(wsdbg()
        .args(["-x", json, "-x", "/wait 1"])
        .arg(server.url("/")));
    server.finish();
    out.code(0);
    assert!(!out.stdout.contains(r#"      "zeta": 1,"#), "{out}");
}
