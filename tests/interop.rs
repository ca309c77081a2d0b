//! wsdbg against other implementations: the Python `websockets` server in
//! `tests/py/echo_server.py` (modes by path), `aiohttp` (`tests/py/aiohttp_server.py`) and
//! Node `ws` (`tests/peers/node/echo-server.js`), started by `common::peers`.
//!
//! Python is `WSDBG_PYTHON` (set by `scripts/test.sh` to the venv's python), else
//! `.venv/bin/python`; Node needs `npm ci` in `tests/peers/node` (scripts/test.sh runs it).
//! Without a peer the tests against it print a note and pass, except under `CI=true`,
//! where they fail.
//!
//! The `issue8_*` tests are issue 8's: replies not lost to an early close (20 runs of 20
//! against each server), `/wait` and `--max-messages` against real servers, the close
//! report of both sides, and exit status 4.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::peers::{assert_all_passed, repeat_concurrently, Kind, Peer};
use common::*;
use serde_json::{json, Value};

fn script(py: &Peer, path: &str, stdin: &str) -> Run {
    run(wsdbg()
        .args(["--json", py.url(path).as_str()])
        .write_stdin(stdin.to_string()))
}

#[test]
fn text_and_binary_echo() {
    let Some(py) = Peer::websockets() else { return };
    // websockets answers a close at once and drops what it had not echoed yet, so the
    // script waits for the echoes before its end of input closes.
    let out = script(&py, "/", "hello python\n/binary 00 ff 10\n/wait 2 5000\n");
    let close = out.clean_close();
    assert_eq!(close["code"], 1000, "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 2, "{out}");
    assert_eq!(msgs[0]["type"], "text", "{out}");
    assert_eq!(msgs[0]["text"], "hello python", "{out}");
    assert_eq!(msgs[1]["type"], "binary", "{out}");
    assert_eq!(msgs[1]["hex"], "00ff10", "{out}");
}

#[test]
fn ping_pong() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(&py, "/", "/ping marco\n/sleep 300\n");
    out.clean_close();
    let pong = out.first("pong");
    assert!(pong["rtt_ms"].is_number(), "{out}");
    let got: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "pong")
        .collect();
    assert_eq!(got.len(), 1, "{out}");
    assert_eq!(got[0]["hex"], hex(b"marco"), "{out}");
}

#[test]
fn server_ping_is_answered() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(&py, "/ping-me", "/wait 1 3000\n");
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["pong received"], "{out}");
    let pongs: Vec<_> = out
        .frames("out")
        .into_iter()
        .filter(|f| f["opcode"] == "pong")
        .collect();
    assert_eq!(pongs.len(), 1, "{out}");
    assert_eq!(pongs[0]["hex"], hex(b"from python"), "{out}");
}

#[test]
fn close_handshake_is_clean() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(&py, "/", "/close 4000 see you\n");
    let close = out.clean_close();
    assert_eq!(close["code"], 4000, "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    let replies: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect();
    assert_eq!(replies.len(), 1, "{out}");
    assert_eq!(
        replies[0]["code"], 4000,
        "websockets echoes the code\n{out}"
    );
}

#[test]
fn fragmented_message_is_reassembled_by_websockets() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(
        &py,
        "/",
        "/frame text fin=0 hel\n/frame cont fin=0 lo-\n/frame cont fin=1 world\n/wait 1 3000\n",
    );
    out.clean_close();
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 1, "{out}");
    assert_eq!(msgs[0]["text"], "hello-world", "{out}");
    let sent = out.frames("out");
    assert!(sent.len() >= 3, "{out}");
    assert_eq!(sent[0]["fin"], false, "{out}");
    assert_eq!(sent[1]["opcode"], "continuation", "{out}");
}

#[test]
fn server_initiated_close_4001() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(&py, "/close-me", "/sleep 3000\n");
    let close = out.clean_close();
    assert_eq!(close["code"], 4001, "{out}");
    assert_eq!(close["reason"], "closing as asked", "{out}");
    assert_eq!(close["initiator"], "remote", "{out}");
    let sent: Vec<_> = out
        .frames("out")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect();
    assert_eq!(sent.len(), 1, "{out}");
    assert_eq!(sent[0]["code"], 4001, "we echo the code\n{out}");
    assert!(out.elapsed < Duration::from_millis(2500), "{out}");
}

#[test]
fn unmasked_frame_is_refused_by_websockets() {
    let Some(py) = Peer::websockets() else { return };
    let out = script(&py, "/", "/frame text mask=0 naked\n/sleep 3000\n");
    let closes: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect();
    assert_eq!(closes.len(), 1, "{out}");
    assert_eq!(closes[0]["code"], 1002, "{out}");
    assert!(out.elapsed < Duration::from_millis(2500), "{out}");
}

#[test]
fn one_megabyte_round_trip() {
    let Some(py) = Peer::websockets() else { return };
    let big = "w".repeat(1 << 20);
    let out = run(wsdbg()
        .args(["-o", "payload", py.url("/").as_str()])
        .write_stdin(format!("{big}\n/wait 1 10000\n")));
    out.code(0);
    assert_eq!(out.stdout.len(), big.len() + 1, "stderr: {}", out.stderr);
    assert_eq!(out.stdout.trim_end(), big);
}

// ---------------------------------------------------------------------------------------
// Issue 8 against real servers
// ---------------------------------------------------------------------------------------

/// How many times a timing-sensitive check runs, and on how many threads at once.
const RUNS: usize = 20;
const THREADS: usize = 4;

/// A run for an assertion message: exit code, time, stdout (shortened when long), stderr.
fn brief(out: &Run) -> String {
    let lines: Vec<&str> = out.stdout.lines().collect();
    let stdout = if lines.len() > 12 {
        format!(
            "{}\n... ({} lines in all) ...\n{}",
            lines[..5].join("\n"),
            lines.len(),
            lines[lines.len() - 5..].join("\n")
        )
    } else {
        out.stdout.clone()
    };
    format!(
        "exit code {:?} after {:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.code, out.elapsed, out.stderr
    )
}

/// `Ok` when the run exited with `code` and printed exactly `stdout`.
fn exactly(out: &Run, code: i32, stdout: &str) -> Result<(), String> {
    if out.code == Some(code) && out.stdout == stdout {
        Ok(())
    } else {
        Err(brief(out))
    }
}

/// Like [`exactly`], and stderr says nothing of a timeout (a `/wait` that ran out).
fn exactly_no_timeout(out: &Run, code: i32, stdout: &str) -> Result<(), String> {
    exactly(out, code, stdout)?;
    let err = out.stderr.to_lowercase();
    if err.contains("timeout") || err.contains("timed out") {
        return Err(format!("a timeout on stderr\n{}", brief(out)));
    }
    Ok(())
}

/// `wsdbg -o payload [args] URL` with `stdin`.
fn payload(url: &str, args: &[&str], stdin: &str) -> Run {
    run(wsdbg()
        .args(["-o", "payload"])
        .args(args)
        .arg(url)
        .write_stdin(stdin.to_string()))
}

/// The three pipelines of issue 8 part 1.
#[derive(Clone, Copy)]
enum Pipe {
    /// `echo hi | wsdbg -o payload URL` prints `hi`.
    EchoHi,
    /// `seq 1 1000 | wsdbg -o payload URL` prints 1..1000 in order.
    Seq1000,
    /// `wsdbg -o payload -x hello URL` prints `hello`.
    ExecuteHello,
}

/// Issue 8: the replies come home before the session closes, 20 runs of 20, against `kind`
/// serving `path`.
fn twenty_of_twenty(kind: Kind, path: &str, pipe: Pipe) {
    let Some(peer) = Peer::start(kind) else {
        return;
    };
    let url = peer.url(path);
    let seq: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    let (what, args, stdin, want): (&str, &[&str], &str, &str) = match pipe {
        Pipe::EchoHi => ("echo hi | wsdbg -o payload", &[], "hi\n", "hi\n"),
        Pipe::Seq1000 => ("seq 1 1000 | wsdbg -o payload", &[], &seq, &seq),
        Pipe::ExecuteHello => ("wsdbg -o payload -x hello", &["-x", "hello"], "", "hello\n"),
    };
    let failures = repeat_concurrently(RUNS, THREADS, |_| {
        exactly(&payload(&url, args, stdin), 0, want)
    });
    assert_all_passed(
        &format!("`{what} {url}` against {}", peer.name()),
        RUNS,
        &failures,
    );
}

macro_rules! twenty_of_twenty_table {
    ($($name:ident: $kind:expr, $path:expr, $pipe:expr;)*) => {
        $(
            #[test]
            fn $name() {
                twenty_of_twenty($kind, $path, $pipe);
            }
        )*
    };
}

twenty_of_twenty_table! {
    issue8_echo_hi_websockets: Kind::Websockets, "/", Pipe::EchoHi;
    issue8_echo_hi_websockets_delayed: Kind::Websockets, "/delay", Pipe::EchoHi;
    issue8_echo_hi_aiohttp: Kind::Aiohttp, "/", Pipe::EchoHi;
    issue8_echo_hi_node_ws: Kind::NodeWs, "/", Pipe::EchoHi;
    issue8_seq_1000_websockets: Kind::Websockets, "/", Pipe::Seq1000;
    issue8_seq_1000_websockets_delayed: Kind::Websockets, "/delay", Pipe::Seq1000;
    issue8_seq_1000_aiohttp: Kind::Aiohttp, "/", Pipe::Seq1000;
    issue8_seq_1000_node_ws: Kind::NodeWs, "/", Pipe::Seq1000;
    issue8_execute_hello_websockets: Kind::Websockets, "/", Pipe::ExecuteHello;
    issue8_execute_hello_websockets_delayed: Kind::Websockets, "/delay", Pipe::ExecuteHello;
    issue8_execute_hello_aiohttp: Kind::Aiohttp, "/", Pipe::ExecuteHello;
    issue8_execute_hello_node_ws: Kind::NodeWs, "/", Pipe::ExecuteHello;
}

/// Issue 8: `/wait` counts the messages received since the last one sent (or since the
/// connection opened), so `-x /wait` catches a greeting sent on connect.
#[test]
fn issue8_wait_catches_greeting() {
    let Some(py) = Peer::websockets() else { return };
    let url = py.url("/greet");
    let failures = repeat_concurrently(10, 5, |_| {
        exactly_no_timeout(&payload(&url, &["-x", "/wait"], ""), 0, "welcome\n")
    });
    assert_all_passed("`wsdbg -o payload -x /wait` against /greet", 10, &failures);
}

/// Issue 8: `-x hello -x /wait` catches a reply that came back before `/wait` ran.
#[test]
fn issue8_wait_catches_reply_already_in() {
    let Some(py) = Peer::websockets() else { return };
    let url = py.url("/");
    let failures = repeat_concurrently(10, 5, |_| {
        exactly_no_timeout(
            &payload(&url, &["-x", "hello", "-x", "/wait"], ""),
            0,
            "hello\n",
        )
    });
    assert_all_passed("`wsdbg -o payload -x hello -x /wait` (echo)", 10, &failures);
    // The echo is surely in before `/wait` runs when a sleep comes between.
    let failures = repeat_concurrently(3, 3, |_| {
        exactly_no_timeout(
            &payload(
                &url,
                &["-x", "hello", "-x", "/sleep 300", "-x", "/wait"],
                "",
            ),
            0,
            "hello\n",
        )
    });
    assert_all_passed(
        "`wsdbg -o payload -x hello -x '/sleep 300' -x /wait` (echo)",
        3,
        &failures,
    );
}

/// Issue 8: `--max-messages 3` prints exactly 3 messages when the server sends 20.
#[test]
fn issue8_max_messages_prints_exactly_n() {
    let Some(py) = Peer::websockets() else { return };
    let url = py.url("/twenty");
    let failures = repeat_concurrently(10, 5, |_| {
        exactly(
            &payload(&url, &["--max-messages", "3"], ""),
            0,
            "m1\nm2\nm3\n",
        )
    });
    assert_all_passed(
        "`wsdbg -o payload --max-messages 3` against /twenty",
        10,
        &failures,
    );
}

/// Issue 8: `--max-messages 3` waits for its 3 messages though the input ended at once.
#[test]
fn issue8_max_messages_waits_after_input_ends() {
    let Some(py) = Peer::websockets() else { return };
    let url = py.url("/tick");
    let failures = repeat_concurrently(6, 3, |_| {
        exactly(
            &payload(&url, &["--max-messages", "3"], ""),
            0,
            "tick 1\ntick 2\ntick 3\n",
        )
    });
    assert_all_passed(
        "`wsdbg -o payload --max-messages 3 < /dev/null` against /tick",
        6,
        &failures,
    );
}

/// The one `close` event of a `--json` run.
#[track_caller]
fn close_event(out: &Run) -> Value {
    let closes = out.all("close");
    assert_eq!(closes.len(), 1, "expected one close event\n{out}");
    closes.into_iter().next().unwrap_or_default()
}

/// The pretty closing-handshake summary line: the one stdout line that is not a frame.
#[track_caller]
fn summary_line(out: &Run) -> String {
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("closing handshake"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one closing handshake line\n{out}");
    lines[0].to_string()
}

/// Issue 8: `/close 1005` against websockets, which answers 1002: the close report shows
/// both frames, and the top-level code stays the initiator's (ours).
#[test]
fn issue8_close_report_shows_both_sides_json() {
    let Some(py) = Peer::websockets() else { return };
    let out = run(wsdbg().args(["--json", "-x", "/close 1005", py.url("/").as_str()]));
    out.code(0);
    let close = close_event(&out);
    assert_eq!(close["sent"], json!({"code": 1005, "reason": ""}), "{out}");
    assert_eq!(close["received"]["code"], 1002, "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    assert_eq!(close["clean"], true, "{out}");
    assert_eq!(close["code"], 1005, "{out}");
}

#[test]
fn issue8_close_report_shows_both_sides_pretty() {
    let Some(py) = Peer::websockets() else { return };
    let out = run(wsdbg().args(["-x", "/close 1005", py.url("/").as_str()]));
    out.code(0);
    let line = summary_line(&out);
    assert!(
        line.contains("sent 1005 (No Status Received)"),
        "summary line: {line}\n{out}"
    );
    assert!(
        line.contains("received 1002 (Protocol Error)"),
        "summary line: {line}\n{out}"
    );
}

/// Issue 8: after `/frame 3 x` websockets fails the connection with 1002; that answer is
/// the headline, and the peer started the close.
#[test]
fn issue8_close_report_after_reserved_opcode() {
    let Some(py) = Peer::websockets() else { return };
    let url = py.url("/");
    // The peer's close races wsdbg's own end of script: repeat.
    let failures = repeat_concurrently(5, 5, |_| {
        let out = run(wsdbg().args(["--json", "-x", "/frame 3 x", url.as_str()]));
        let close = out.all("close");
        let ok = matches!(out.code, Some(0 | 3))
            && close.len() == 1
            && close[0]["received"]["code"] == 1002
            && close[0]["initiator"] == "remote";
        if ok {
            Ok(())
        } else {
            Err(format!("want exit 0 or 3, one close event with received.code 1002 and initiator remote\n{out}"))
        }
    });
    assert_all_passed("`wsdbg --json -x '/frame 3 x'`", 5, &failures);

    let out = run(wsdbg().args(["-x", "/frame 3 x", url.as_str()]));
    assert!(matches!(out.code, Some(0 | 3)), "exit 0 or 3\n{out}");
    let line = summary_line(&out);
    assert!(
        line.contains("received 1002"),
        "summary line: {line}\n{out}"
    );
}

/// Issue 8: `/close 4000 bye` against each server: `received` is what it answered
/// (websockets and ws echo the code and reason; aiohttp's autoclose answers 1000).
#[test]
fn issue8_close_report_received_is_the_answer() {
    let table = [
        (Kind::Websockets, json!({"code": 4000, "reason": "bye"})),
        (Kind::Aiohttp, json!({"code": 1000, "reason": ""})),
        (Kind::NodeWs, json!({"code": 4000, "reason": "bye"})),
    ];
    for (kind, answer) in table {
        let Some(peer) = Peer::start(kind) else {
            continue;
        };
        let out = run(wsdbg().args(["--json", "-x", "/close 4000 bye", peer.url("/").as_str()]));
        let who = peer.name();
        out.code(0);
        let close = close_event(&out);
        assert_eq!(
            close["sent"],
            json!({"code": 4000, "reason": "bye"}),
            "{who}\n{out}"
        );
        assert_eq!(close["received"], answer, "{who}\n{out}");
        assert_eq!(close["initiator"], "local", "{who}\n{out}");
        assert_eq!(close["clean"], true, "{who}\n{out}");
        assert_eq!(close["code"], 4000, "{who}\n{out}");
    }
}

/// Issue 8: a malformed command in a pipe makes the exit status 4; the session goes on,
/// and the echo of the line before it still comes home.
#[test]
fn issue8_malformed_command_in_pipe_exits_4() {
    let Some(py) = Peer::websockets() else { return };
    let out = run(wsdbg().arg(py.url("/")).write_stdin("hello\n/bogus\n"));
    out.code(4);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("<<") && l.contains("\"hello\"")),
        "no echo of hello on stdout\n{out}"
    );
    assert!(out.stderr.contains("/bogus"), "{out}");
}

/// Issue 8: a `/wait` that timed out makes the exit status 4.
#[test]
fn issue8_wait_timeout_exits_4() {
    let Some(py) = Peer::websockets() else { return };
    let out = run(wsdbg().args(["-x", "/wait 1 200", py.url("/").as_str()]));
    out.code(4);
    assert!(out.stdout.contains("closing handshake"), "{out}");
}

/// Issue 8: `-x` commands are parsed before connecting: a malformed one is a usage error
/// (exit 2, one line naming it), and wsdbg never connects.
#[test]
fn issue8_malformed_execute_is_usage_error_before_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let url = format!("ws://127.0.0.1:{port}/");
    // A short connect timeout only bounds how long a failing run takes.
    let out = run(wsdbg().args([
        "--connect-timeout",
        "2",
        "-x",
        "hello",
        "-x",
        "/bogus",
        url.as_str(),
    ]));
    out.code(2);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "a one-line usage error\n{out}");
    assert!(lines[0].contains("/bogus"), "the error names /bogus\n{out}");
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((_, from)) => panic!("wsdbg connected (from {from}) despite the usage error\n{out}"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn issue12_expect_against_python_websockets() {
    let Some(py) = Peer::websockets() else { return };
    // A greeting, an echo, and the server's reaction to a reserved opcode, checked by
    // a script: exit 0 when every expectation holds.
    let out = run(wsdbg().args([
        "--json",
        "-x",
        "/expect text ^welcome$",
        "-x",
        "{\"op\":\"hi\",\"n\":[1,2,3]}",
        "-x",
        "/expect json n.2 3",
        "-x",
        "/frame 3 x",
        "-x",
        "/expect close 1002",
        py.url("/greet").as_str(),
    ]));
    let expects = out.all("expect");
    assert_eq!(expects.len(), 3, "{out}");
    assert!(expects.iter().all(|e| e["ok"] == true), "{out}");
    assert_eq!(out.code, Some(0), "{out}");
    // And a failing one: exit 4, with what came instead.
    let out = run(wsdbg().args([
        "--json",
        "-x",
        "hello",
        "-x",
        "/expect text ^goodbye$ within 500",
        py.url("/").as_str(),
    ]));
    assert_eq!(out.code, Some(4), "{out}");
    // It waited for a match (skipping the echo), then said what came instead.
    assert_eq!(
        out.first("expect")["got"],
        "text \"hello\" (nothing matched before the timeout)",
        "{out}"
    );
    assert_eq!(
        out.first("notice")["message"],
        "/expect text /^goodbye$/: skipped text \"hello\"",
        "{out}"
    );
}

/// Issue 21: `ws+unix:///path.sock:/request/path`, as Node `ws` and wscat write it,
/// against a Python `websockets` `unix_serve` server; and `listen --unix PATH`, so the
/// two sides of wsdbg meet without a port. A missing socket is a one-line error.
#[test]
fn issue21_unix_sockets_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("py.sock");
    let sock_s = sock.to_str().unwrap().to_string();
    let Some(_py) = Peer::script(Kind::Websockets, "tests/py/unix_echo_server.py", &[&sock_s])
    else {
        return;
    };
    let out = run(wsdbg()
        .args(["--json", &format!("ws+unix://{sock_s}:/chat")])
        .write_stdin("hello\n/wait 1 3000\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["/chat hello"], "{out}");
    // listen --unix, reached by wsdbg's client.
    let lsock = dir.path().join("listen.sock");
    let l = Listen::json_args(&["listen", "--json", "--unix", lsock.to_str().unwrap()]);
    let out = run(wsdbg()
        .args(["--json", &format!("ws+unix://{}", lsock.display())])
        .write_stdin("over unix\n/wait 1 3000\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["over unix"], "{out}");
    drop(l.unused());
    // Nobody there.
    let out = run(wsdbg().arg(format!("ws+unix://{}/none.sock", dir.path().display())));
    out.code(1);
    assert!(out.stderr.contains("connect to the Unix socket"), "{out}");
}

/// Issue 19 (first part): `--record FILE` writes every event as the `--json` lines to
/// FILE while the terminal shows the chosen output, for the client (against a Python
/// `websockets` server) and for `listen`.
#[test]
fn issue19_record_writes_the_json_events_beside_any_output() {
    let Some(py) = Peer::websockets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("client.jsonl");
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&file)
        .arg(py.url("/"))
        .write_stdin("hello\n/wait 1 3000\n"));
    out.code(0);
    assert_eq!(out.stdout, "hello\n", "payload on stdout\n{out}");
    let text = std::fs::read_to_string(&file).expect("the record");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for want in ["handshake", "frame", "message", "close"] {
        assert!(names.contains(&want), "no {want} in the record: {names:?}");
    }
    let texts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| &e["text"])
        .collect();
    assert_eq!(texts, vec!["hello", "hello"], "sent and echoed\n{text}");
    // listen --record: the client's frames as listen saw them.
    let lfile = dir.path().join("listen.jsonl");
    let l = Listen::json_args(&[
        "listen",
        "--port",
        "0",
        "--json",
        "--record",
        lfile.to_str().unwrap(),
    ]);
    let out = run(wsdbg().args(["-x", "over", l.url("/").as_str()]));
    out.code(0);
    drop(l.unused());
    let ltext = std::fs::read_to_string(&lfile).expect("listen's record");
    assert!(
        ltext
            .lines()
            .any(|l| l.contains("\"event\":\"message\"") && l.contains("\"over\"")),
        "{ltext}"
    );
    // A file that cannot be written: a usage error before connecting.
    let out = run(wsdbg().args(["--record", "/nonexistent-dir/x.jsonl", "ws://127.0.0.1:1/"]));
    out.code(2);
    assert!(out.stderr.contains("--record: expected"), "{out}");
}

/// Issue 19: a session recorded with `--record` against a Python `websockets` echo
/// server replays against the same server (exit 0), and against one that answers
/// differently (a greeting first) the difference is shown and the exit status is 4;
/// `--to-script` prints a script of the grammar that runs as well.
#[test]
fn issue19_replay_a_recording_against_the_same_and_a_different_server() {
    let Some(py) = Peer::websockets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("session.jsonl");
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&rec)
        .args([
            "-x",
            "hello",
            "-x",
            "/wait 1",
            "-x",
            "/binary 00ff",
            "-x",
            "/wait 1",
        ])
        .arg(py.url("/")));
    out.code(0);
    let out = run(wsdbg()
        .args(["replay", "--json"])
        .arg(&rec)
        .arg(py.url("/")));
    assert_eq!(out.code, Some(0), "{out}");
    let expects = out.all("expect");
    assert_eq!(expects.len(), 2, "{out}");
    assert!(expects.iter().all(|e| e["ok"] == true), "{out}");
    // A server that greets first: the first reply differs.
    let out = run(wsdbg()
        .args(["replay", "--json"])
        .arg(&rec)
        .arg(py.url("/greet")));
    assert_eq!(out.code, Some(4), "{out}");
    let bad = out
        .all("expect")
        .into_iter()
        .find(|e| e["ok"] == false)
        .unwrap_or_else(|| panic!("no failed expect\n{out}"));
    assert!(
        bad["got"].as_str().is_some_and(|g| g.contains("welcome")),
        "{bad}"
    );
    // --to-script: lines of the grammar; run as a script, they pass too.
    let script = run(wsdbg().args(["replay", "--to-script"]).arg(&rec));
    script.code(0);
    assert!(script.stdout.contains("/text hello"), "{script}");
    let out = run(wsdbg().arg(py.url("/")).write_stdin(script.stdout.clone()));
    assert_eq!(out.code, Some(0), "{out}");
}

/// Issue 19: `--har FILE` writes HAR 1.2 with the handshake and `_webSocketMessages` as
/// browsers save them, and `wsdbg replay` reads it back against the same server.
#[test]
fn issue19_har_written_and_replayed() {
    let Some(py) = Peer::websockets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("s.har");
    let out = run(wsdbg()
        .args(["-o", "payload", "--har"])
        .arg(&har)
        .args([
            "-x",
            "hi there",
            "-x",
            "/wait 1",
            "-x",
            "/binary 0102",
            "-x",
            "/wait 1",
        ])
        .arg(py.url("/room")));
    out.code(0);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("the HAR"))
        .expect("HAR is JSON");
    assert_eq!(doc["log"]["version"], "1.2");
    let entry = &doc["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 101, "{entry}");
    assert!(
        entry["request"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/room")),
        "{entry}"
    );
    let msgs = entry["_webSocketMessages"].as_array().expect("messages");
    let kinds: Vec<(&str, u64, &str)> = msgs
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or(""),
                m["opcode"].as_u64().unwrap_or(0),
                m["data"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("send", 1, "hi there"),
            ("receive", 1, "hi there"),
            ("send", 2, "AQI="),
            ("receive", 2, "AQI=")
        ]
    );
    let out = run(wsdbg().arg("replay").arg(&har).arg(py.url("/room")));
    assert_eq!(out.code, Some(0), "{out}");
}

/// Issue 19: recorded against a Python `websockets` and a Node `ws` server whose JSON
/// answers carry a fresh id and a time on every run: the replay against the same server
/// differs (exit 4, the differing paths shown) unless `--ignore-json` leaves those two
/// fields out (exit 0); against a variant that answers one message differently, exit 4
/// with that path, recorded and got; `--timing original` keeps the recorded pause.
#[test]
fn issue19_replay_with_ignore_json_and_the_paths_that_differ() {
    for server in [Peer::websockets(), Peer::node_ws()] {
        let Some(server) = server else { continue };
        let dir = tempfile::tempdir().expect("tempdir");
        let rec = dir.path().join("orders.jsonl");
        let out = run(wsdbg()
            .args(["-o", "payload", "--record"])
            .arg(&rec)
            .args([
                "-x",
                r#"{"q":"tea"}"#,
                "-x",
                "/wait 1",
                "-x",
                "/sleep 400",
                "-x",
                r#"{"q":"cake"}"#,
                "-x",
                "/wait 1",
            ])
            .arg(server.url("/orders")));
        out.code(0);
        let replay = |path: &str, extra: &[&str]| {
            run(wsdbg()
                .args(["replay", "--json"])
                .args(extra)
                .arg(&rec)
                .arg(server.url(path)))
        };
        let who = server.name();
        // The same server: id and ts differ, and are shown as paths.
        let out = replay("/orders", &[]);
        assert_eq!(out.code, Some(4), "{who}: {out}");
        let bad = out
            .all("expect")
            .into_iter()
            .find(|e| e["ok"] == false)
            .unwrap();
        let diff = bad["diff"]
            .as_str()
            .unwrap_or_else(|| panic!("{who}: no diff: {bad}"));
        assert!(
            diff.contains("$.id: recorded ") && diff.contains("$.ts: recorded "),
            "{who}: {diff}"
        );
        assert!(!diff.contains("$.answer"), "{who}: {diff}");
        // Left out: equal.
        let ignore = ["--ignore-json", "id", "--ignore-json", "$.ts"];
        let out = replay("/orders", &ignore);
        assert_eq!(out.code, Some(0), "{who}: {out}");
        assert_eq!(out.all("expect").len(), 2, "{who}: {out}");
        // A server that answers the second differently: that path, both sides.
        let out = replay("/orders-differ", &ignore);
        assert_eq!(out.code, Some(4), "{who}: {out}");
        let e = out.all("expect");
        assert_eq!(e[0]["ok"], true, "{who}: {out}");
        assert_eq!(
            e[1]["diff"], r#"$.answer: recorded "cake", got "something else""#,
            "{who}: {out}"
        );
        // --timing original: the recorded 400 ms pause before the second message.
        let t0 = Instant::now();
        let out = replay(
            "/orders",
            &[&ignore[..], &["--timing", "original"]].concat(),
        );
        assert_eq!(out.code, Some(0), "{who}: {out}");
        let sent: Vec<f64> = out
            .frames("out")
            .iter()
            .filter(|f| f["opcode"] == "text")
            .map(|f| f["t"].as_f64().unwrap())
            .collect();
        assert!(sent[1] - sent[0] >= 0.39, "{who}: sent at {sent:?}");
        assert!(t0.elapsed() >= Duration::from_millis(400));
        let fast = replay("/orders", &ignore);
        let sent: Vec<f64> = fast
            .frames("out")
            .iter()
            .filter(|f| f["opcode"] == "text")
            .map(|f| f["t"].as_f64().unwrap())
            .collect();
        assert!(sent[1] - sent[0] < 0.39, "{who}: fast sent at {sent:?}");
    }
}

/// Issue 19: `listen --replay FILE` is a mock of the recorded server: a session recorded
/// against a Python `websockets` server (a greeting, then JSON answers) is played to a
/// Python `websockets` client (the echo client sends other messages: it deviates, exit
/// 4 with `--once`) and to `wsdbg replay` of the same recording (it follows: exit 0,
/// every reply as recorded).
#[test]
fn issue19_listen_replay_mocks_the_recorded_server() {
    let Some(py) = Peer::websockets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("greet.jsonl");
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&rec)
        .args([
            "-x", "/wait 1", "-x", "one", "-x", "/wait 1", "-x", "two", "-x", "/wait 1",
        ])
        .arg(py.url("/greet")));
    out.code(0);
    assert_eq!(out.stdout, "welcome\none\ntwo\n", "{out}");
    let rec_arg = rec.to_str().expect("utf-8 path");
    // wsdbg replay follows the recording: the mock's replies are the recorded ones.
    let mock = Listen::json_args(&[
        "listen", "--port", "0", "--json", "--once", "--replay", rec_arg,
    ]);
    let out = run(wsdbg()
        .args(["replay", "--json"])
        .arg(&rec)
        .arg(mock.url("/")));
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.all("expect").len(), 3, "{out}");
    let lines = mock.stop();
    let passed = lines
        .iter()
        .filter(|l| l.contains(r#""event":"expect""#) && l.contains(r#""ok":true"#))
        .count();
    assert_eq!(passed, 2, "the mock saw both client messages: {lines:?}");
    // A Python websockets client that sends other messages: caught.
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "listen", "--port", "0", "--json", "--once", "--timing", "fast", "--replay", rec_arg,
    ]);
    let mut mock = common::peers::Proc::spawn("wsdbg listen --replay", cmd);
    let ev = mock.wait_for("listening", Duration::from_secs(10), |ev| {
        ev.iter().any(|e| e["event"] == "listening")
    });
    let addr = ev[0]["addr"].as_str().unwrap().to_string();
    let Some(c) = common::peers::run_client(
        Kind::Websockets,
        &[&format!("ws://{addr}/"), "--no-compress", "--count", "2"],
        Duration::from_secs(10),
    ) else {
        return;
    };
    let _ = c;
    assert_eq!(
        mock.wait_exit(Duration::from_secs(10)),
        Some(4),
        "{}",
        mock.dump()
    );
    let failed: Vec<Value> = mock
        .events()
        .into_iter()
        .filter(|e| e["event"] == "expect" && e["ok"] == false)
        .collect();
    assert!(!failed.is_empty(), "{}", mock.dump());
    assert!(
        failed[0]["what"]
            .as_str()
            .is_some_and(|w| w.contains("equal text \"one\"")),
        "{failed:?}"
    );
    assert!(failed[0]["diff"].is_string(), "{failed:?}");
}
