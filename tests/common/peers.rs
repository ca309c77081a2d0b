//! Third-party WebSocket servers as test peers: Python `websockets`
//! (`tests/py/echo_server.py`, modes by path), `aiohttp` (`tests/py/aiohttp_server.py`)
//! and Node `ws` (`tests/peers/node/echo-server.js`); the Python `websockets` and Node
//! `ws` servers also with permessage-deflate ([`Peer::start_with`]). And third-party
//! clients ([`run_client`]): Python `websockets` (`tests/py/echo_client.py`) and Node
//! `ws` (`tests/peers/node/echo-client.js`), which send messages to an echo server and
//! check the echoes.
//!
//! Each peer binds 127.0.0.1 port 0, prints its port alone on its first stdout line, and
//! exits when its stdin reaches end of file; a [`Peer`] closes that stdin on drop (and
//! kills the process if it lingers), so no peer outlives its test.
//!
//! Where they come from: Python is `WSDBG_PYTHON` (set by `scripts/test.sh` to the venv's
//! python), else `.venv/bin/python`; Node is `WSDBG_NODE`, else `node` on `PATH`, with
//! `ws` installed by `npm ci` in `tests/peers/node`. A peer that cannot be had makes
//! [`Peer::start`] print a note and return `None` (the test then passes without running),
//! except under `CI=true`, where it fails the test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a peer may take to print its port.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Python `websockets` (`tests/py/echo_server.py`): `/` echo, `/delay`, `/greet`,
    /// `/twenty`, `/tick`, `/close-me`, `/ping-me`.
    Websockets,
    /// `aiohttp.web` WebSocket echo on every path; answers a close with 1000 whatever its code.
    Aiohttp,
    /// Node `ws` echo on every path; answers a close with the same code and reason.
    NodeWs,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Websockets => "python websockets",
            Kind::Aiohttp => "aiohttp",
            Kind::NodeWs => "node ws",
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A peer that cannot be had: fail under CI, else a note and `None`.
fn unavailable<T>(kind: Kind, why: &str) -> Option<T> {
    assert!(
        !ci(),
        "CI=true but the {} peer is not available: {why}; run scripts/test.sh",
        kind.name()
    );
    eprintln!(
        "note: skipping a test against {}: {why} (scripts/test.sh installs it)",
        kind.name()
    );
    None
}

fn can_import(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A module name and the Python that can import it (or why there is none).
type Found = (&'static str, Result<PathBuf, String>);

/// The Python that can import `module`, or why there is none. Looked up once per module.
fn python_for(module: &'static str) -> Result<PathBuf, String> {
    static FOUND: OnceLock<Mutex<Vec<Found>>> = OnceLock::new();
    let cache = FOUND.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = cache.iter().find(|(m, _)| *m == module) {
        return r.clone();
    }
    let r = if let Some(p) = std::env::var_os("WSDBG_PYTHON") {
        let p = PathBuf::from(p);
        if can_import(&p, module) {
            Ok(p)
        } else {
            Err(format!(
                "WSDBG_PYTHON={} cannot import {module}",
                p.display()
            ))
        }
    } else {
        let venv = root().join(".venv/bin/python");
        if venv.exists() && can_import(&venv, module) {
            Ok(venv)
        } else {
            Err(format!(
                "WSDBG_PYTHON is not set and .venv has no python that can import {module}"
            ))
        }
    };
    cache.push((module, r.clone()));
    r
}

/// `node`, or why it cannot run the `ws` server.
fn node() -> Result<PathBuf, String> {
    let modules = root().join("tests/peers/node/node_modules/ws/package.json");
    if !modules.exists() {
        return Err("tests/peers/node/node_modules has no ws (run npm ci there)".into());
    }
    let node = std::env::var_os("WSDBG_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let works = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if works {
        Ok(node)
    } else {
        Err(format!("cannot run {}", node.display()))
    }
}

/// A running third-party server; stopped on drop.
pub struct Peer {
    kind: Kind,
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl Peer {
    /// Starts the peer, or returns `None` after a note when it is not installed (a test
    /// failure under `CI=true`).
    pub fn start(kind: Kind) -> Option<Peer> {
        Peer::start_with(kind, &[])
    }

    /// Starts the peer with these arguments after its script: `--deflate` (Python
    /// `websockets` as it ships with compression on, or Node `ws` with
    /// `perMessageDeflate` and threshold 0) or `--deflate-any` (Python `websockets`
    /// taking any window bits the client asks for).
    pub fn start_with(kind: Kind, extra: &[&str]) -> Option<Peer> {
        let found = match kind {
            Kind::Websockets => python_for("websockets.asyncio.server")
                .map(|p| (p, vec![root().join("tests/py/echo_server.py")])),
            Kind::Aiohttp => python_for("aiohttp.web")
                .map(|p| (p, vec![root().join("tests/py/aiohttp_server.py")])),
            Kind::NodeWs => {
                node().map(|n| (n, vec![root().join("tests/peers/node/echo-server.js")]))
            }
        };
        let (program, args) = match found {
            Ok(f) => f,
            Err(why) => return unavailable(kind, &why),
        };
        let mut child = Command::new(&program)
            .args(&args)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {} ({}): {e}", kind.name(), program.display())
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading so a chatty peer never blocks on a full pipe.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = rx.recv_timeout(START_DEADLINE).unwrap_or_default();
        let port = match line.trim().parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the {} peer printed {line:?} instead of its port",
                    kind.name()
                );
            }
        };
        let stdin = child.stdin.take();
        Some(Peer {
            kind,
            child,
            stdin,
            port,
        })
    }

    pub fn websockets() -> Option<Peer> {
        Peer::start(Kind::Websockets)
    }

    pub fn aiohttp() -> Option<Peer> {
        Peer::start(Kind::Aiohttp)
    }

    pub fn node_ws() -> Option<Peer> {
        Peer::start(Kind::NodeWs)
    }

    /// Python `websockets` with its default compression (`compression="deflate"`): it
    /// answers `server_max_window_bits=12` (and `client_max_window_bits=12` when offered).
    pub fn websockets_deflate() -> Option<Peer> {
        Peer::start_with(Kind::Websockets, &["--deflate"])
    }

    /// Python `websockets` accepting permessage-deflate with any window bits (9-15) and
    /// context takeover the client asks for.
    pub fn websockets_deflate_any() -> Option<Peer> {
        Peer::start_with(Kind::Websockets, &["--deflate-any"])
    }

    /// Node `ws` with `perMessageDeflate` on, threshold 0 (every message compressed).
    pub fn node_ws_deflate() -> Option<Peer> {
        Peer::start_with(Kind::NodeWs, &["--deflate"])
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ws://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Peer {
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

/// How one run of a third-party client ended.
pub struct ClientRun {
    /// `None` when it was killed (past its time limit) or died of a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for ClientRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "client exit code: {:?}", self.code)?;
        writeln!(f, "--- client stdout ---\n{}", self.stdout)?;
        write!(f, "--- client stderr ---\n{}", self.stderr)
    }
}

impl ClientRun {
    /// The JSON object the client printed (its last stdout line); fails the test when
    /// there is none.
    #[track_caller]
    pub fn summary(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("the client printed no JSON summary ({e})\n{self}"))
    }
}

/// Runs a third-party client to its end (killed after `limit`): `Kind::Websockets` is
/// `tests/py/echo_client.py ARGS`, `Kind::NodeWs` is `tests/peers/node/echo-client.js
/// ARGS`. `None` after a note when it is not installed (a test failure under `CI=true`).
pub fn run_client(kind: Kind, args: &[&str], limit: Duration) -> Option<ClientRun> {
    let found = match kind {
        Kind::Websockets => python_for("websockets.sync.client")
            .map(|p| (p, root().join("tests/py/echo_client.py"))),
        Kind::NodeWs => node().map(|n| (n, root().join("tests/peers/node/echo-client.js"))),
        Kind::Aiohttp => panic!("there is no aiohttp client peer"),
    };
    let (program, script) = match found {
        Ok(f) => f,
        Err(why) => return unavailable(kind, &why),
    };
    let mut child = Command::new(&program)
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start the {} client ({}): {e}",
                kind.name(),
                program.display()
            )
        });
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Some(ClientRun {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs `check(i)` for `i` in `0..runs` on `threads` threads and returns the failures as
/// `(i, message)`, sorted by `i`. For timing-sensitive checks that must hold every time:
/// assert on the result with [`assert_all_passed`].
pub fn repeat_concurrently<F>(runs: usize, threads: usize, check: F) -> Vec<(usize, String)>
where
    F: Fn(usize) -> Result<(), String> + Send + Sync,
{
    let next = Arc::new(Mutex::new(0usize));
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    if *n >= runs {
                        break;
                    }
                    *n += 1;
                    *n - 1
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(i)))
                    .unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into());
                        Err(format!("panicked: {msg}"))
                    });
                if let Err(e) = result {
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, e));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by_key(|(i, _)| *i);
    failures
}

/// Fails the test unless `failures` (from [`repeat_concurrently`]) is empty, listing
/// every failing run.
#[track_caller]
pub fn assert_all_passed(what: &str, runs: usize, failures: &[(usize, String)]) {
    if failures.is_empty() {
        return;
    }
    let mut msg = format!(
        "{what}: {} of {runs} runs passed; failing runs:\n",
        runs - failures.len()
    );
    for (i, e) in failures {
        msg.push_str(&format!("=== run {} ===\n{e}\n", i + 1));
    }
    panic!("{msg}");
}
