//! wsdbg against another implementation: the Python `websockets` echo server in
//! `tests/py/echo_server.py`.
//!
//! The interpreter comes from `WSDBG_PYTHON` (set by `scripts/test.sh` to the venv's
//! python), else `.venv/bin/python` when it can import `websockets`. Without one the
//! tests print a note and pass, except under `CI=true`, where they fail.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

fn can_import_websockets(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import websockets.asyncio.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python to use, or `None` (after a note on stderr) to skip.
fn python() -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if let Some(p) = std::env::var_os("WSDBG_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            can_import_websockets(&p),
            "WSDBG_PYTHON={} cannot import websockets.asyncio.server",
            p.display()
        );
        return Some(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() && can_import_websockets(&venv) {
        return Some(venv);
    }
    assert!(
        !ci,
        "CI=true but WSDBG_PYTHON is not set and .venv has no websockets: run scripts/test.sh"
    );
    eprintln!(
        "note: skipping interop test: set WSDBG_PYTHON to a python with `websockets` (scripts/test.sh does)"
    );
    None
}

/// The Python echo server, stopped on drop (its stdin closes, and it is killed if it lingers).
struct PyServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl PyServer {
    fn start() -> Option<PyServer> {
        let python = python()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/echo_server.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port: u16 = match line.trim().parse() {
            Ok(p) if p != 0 => p,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("echo_server.py printed {line:?} instead of its port");
            }
        };
        let stdin = child.stdin.take();
        Some(PyServer { child, stdin, port })
    }

    fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script(py: &PyServer, path: &str, stdin: &str) -> Run {
    run(wsdbg()
        .args(["--json", py.url(path).as_str()])
        .write_stdin(stdin.to_string()))
}

#[test]
fn text_and_binary_echo() {
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
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
    let Some(py) = PyServer::start() else { return };
    let big = "w".repeat(1 << 20);
    let out = run(wsdbg()
        .args(["-o", "payload", py.url("/").as_str()])
        .write_stdin(format!("{big}\n/wait 1 10000\n")));
    out.code(0);
    assert_eq!(out.stdout.len(), big.len() + 1, "stderr: {}", out.stderr);
    assert_eq!(out.stdout.trim_end(), big);
}
