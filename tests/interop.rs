//! wsdbg against other implementations: the Python `websockets` server in
//! `tests/py/echo_server.py` (modes by path), `aiohttp` (`tests/py/aiohttp_server.py`) and
//! Node `ws` (`tests/peers/node/echo-server.js`), started by `common::peers`.
//!
//! Python is `WSDBG_PYTHON` (set by `scripts/test.sh` to the venv's python), else
//! `.venv/bin/python`; Node needs `npm ci` in `tests/peers/node` (scripts/test.sh runs it).
//! Without a peer the tests against it print a note and pass, except under `CI=true`,
//! where they fail.

mod common;

use std::time::Duration;

use common::peers::Peer;
use common::*;

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
