//! Issue 12: `wsdbg probe`, RFC 6455 conformance from the command line. Every check
//! passes against `wsdbg listen`, Python `websockets` and Node `ws`; against servers
//! that are broken or lenient on purpose, the right checks fail or are lenient.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::peers::Peer;
use common::*;
use serde_json::Value;

/// `wsdbg probe --json` against `url`: the check events and the run.
fn probe(url: &str, extra: &[&str]) -> (Vec<Value>, Run) {
    let out = run(wsdbg().args(["probe", "--json"]).args(extra).arg(url));
    (out.all("check"), out)
}

fn verdicts(checks: &[Value], verdict: &str) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c["verdict"] == verdict)
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn issue12_every_check_passes_against_listen() {
    let l = Listen::json();
    let (checks, out) = probe(&l.url("/"), &[]);
    out.code(0);
    assert!(checks.len() >= 40, "{} checks\n{out}", checks.len());
    for c in &checks {
        for key in [
            "name",
            "rfc",
            "expected",
            "observed",
            "verdict",
            "elapsed_ms",
        ] {
            assert!(!c[key].is_null(), "{key} missing in {c}");
        }
    }
    // listen echoes (so the echo checks run) and does not compress unless asked.
    let not_pass: Vec<String> = checks
        .iter()
        .filter(|c| c["verdict"] != "pass")
        .map(|c| format!("{}: {}", c["name"], c["observed"]))
        .collect();
    assert_eq!(
        not_pass,
        vec!["\"permessage-deflate offered\": \"not taken\"".to_string()],
        "{out}"
    );
    // With --compress, listen takes the offer.
    let lz = Listen::json_with(&["--compress"]);
    let (checks, out) = probe(&lz.url("/"), &[]);
    out.code(0);
    let z = checks
        .iter()
        .find(|c| c["name"] == "permessage-deflate offered")
        .expect("the deflate check");
    assert_eq!(z["verdict"], "pass", "{out}");
}

#[test]
fn issue12_every_check_passes_against_python_websockets_and_node_ws() {
    for peer in [Peer::websockets(), Peer::node_ws()] {
        let Some(peer) = peer else { continue };
        let (checks, out) = probe(&peer.url("/"), &[]);
        out.code(0);
        assert!(verdicts(&checks, "fail").is_empty(), "{out}");
        // Python websockets refuses another version with 400 but without the
        // Sec-WebSocket-Version header RFC 6455 4.2.2 asks for: lenient, and only that.
        let lenient = verdicts(&checks, "lenient");
        assert!(
            lenient.is_empty() || lenient == ["handshake: unknown version refused"],
            "{lenient:?}\n{out}"
        );
        // The summary line, as a notice.
        let summary = out.first("notice");
        assert!(
            summary["message"].as_str().unwrap_or("").contains("0 fail"),
            "{out}"
        );
    }
}

/// How a test server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Bad {
    /// Answers pings with another payload, never answers a close, never fails the
    /// connection: broken.
    Broken,
    /// Answers pings and closes properly, but tolerates every violation.
    Lenient,
}

/// A server that upgrades every connection and then misbehaves as asked, until the
/// test ends.
fn bad_server(how: Bad) -> (String, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    l.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        while !stop2.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((s, _)) => {
                    thread::spawn(move || serve_bad(s, how));
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (url, stop)
}

fn serve_bad(mut s: TcpStream, how: Bad) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(req) = read_request(&mut s) else {
        return;
    };
    if how == Bad::Lenient && req.header("Sec-WebSocket-Version") != Some("13") {
        let _ = write!(
            s,
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
        );
        return;
    }
    let _ = write!(
        s,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        req.accept_key()
    );
    while let Ok(f) = read_frame(&mut s) {
        let reply = match (f.opcode, how) {
            (OP_PING, Bad::Broken) => Some(pong(b"wrong")),
            (OP_PING, Bad::Lenient) => Some(pong(&f.payload)),
            (OP_CLOSE, Bad::Lenient) => Some(frame(true, 0, OP_CLOSE, None, &f.payload)),
            (OP_CLOSE, Bad::Broken) => None,
            // Echo data frames as they came, fragments too.
            (OP_TEXT | OP_BINARY | OP_CONT, _) => Some(frame(f.fin, 0, f.opcode, None, &f.payload)),
            _ => None,
        };
        if let Some(r) = reply {
            if s.write_all(&r).is_err() {
                return;
            }
        }
        if f.opcode == OP_CLOSE && how == Bad::Lenient {
            return;
        }
    }
}

#[test]
fn issue12_a_broken_server_fails_the_right_checks() {
    let (url, stop) = bad_server(Bad::Broken);
    let (checks, out) = probe(&url, &["--wait", "0.15"]);
    stop.store(true, Ordering::SeqCst);
    out.code(4);
    let failed = verdicts(&checks, "fail");
    for want in [
        "ping with an empty payload",
        "ping with 125 bytes",
        "close 1000 answered, then the TCP connection closed",
        "reserved opcode 3",
        "unmasked client frame",
    ] {
        assert!(
            failed.iter().any(|f| f == want),
            "{want} not failed: {failed:?}\n{out}"
        );
    }
    // The handshake itself was fine.
    assert!(
        verdicts(&checks, "pass")
            .iter()
            .any(|n| n.starts_with("handshake: Accept")),
        "{out}"
    );
}

#[test]
fn issue12_a_lenient_server_is_lenient_not_failed() {
    let (url, stop) = bad_server(Bad::Lenient);
    let (checks, out) = probe(&url, &["--wait", "0.15"]);
    stop.store(true, Ordering::SeqCst);
    // Nothing broke: exit 0, but every violation was tolerated.
    out.code(0);
    let lenient = verdicts(&checks, "lenient");
    for want in [
        "reserved opcode 3",
        "RSV1 without an extension",
        "invalid UTF-8 in a text message",
        "unmasked client frame",
    ] {
        assert!(
            lenient.iter().any(|f| f == want),
            "{want} not lenient: {lenient:?}\n{out}"
        );
    }
    assert!(verdicts(&checks, "fail").is_empty(), "{out}");
    let passed = verdicts(&checks, "pass");
    assert!(passed.iter().any(|n| n == "ping with 125 bytes"), "{out}");
}

#[test]
fn issue12_an_unreachable_server_is_exit_1() {
    let (_, out) = probe(&format!("ws://127.0.0.1:{}/", closed_port()), &[]);
    out.code(1);
}
