//! Third-party WebSocket servers as test peers: Python `websockets`
//! (`tests/py/echo_server.py`, modes by path), `aiohttp` (`tests/py/aiohttp_server.py`)
//! and Node `ws` (`tests/peers/node/echo-server.js`); the Python `websockets` and Node
//! `ws` servers also with permessage-deflate ([`Peer::start_with`]); other server
//! scripts of the same conventions (`tests/py/engine_server.py`, ...) with
//! [`Peer::script`]. Third-party clients: for the compression tests ([`run_client`]),
//! Python `websockets` (`tests/py/echo_client.py`) and Node `ws`
//! (`tests/peers/node/echo-client.js`), which send messages to an echo server and check
//! the echoes; for the tests of `wsdbg listen` ([`Client`]), Python `websockets`
//! (`tests/py/ws_client.py`) and Node `ws` (`tests/peers/node/ws-client.js`), which
//! print JSON lines and take commands on stdin, driven through a [`Proc`].
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

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use serde_json::Value;
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
fn unavailable<T>(name: &str, why: &str) -> Option<T> {
    assert!(
        !ci(),
        "CI=true but the {name} peer is not available: {why}; run scripts/test.sh"
    );
    eprintln!("note: skipping a test against {name}: {why} (scripts/test.sh installs it)");
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
        let script = match kind {
            Kind::Websockets => "tests/py/echo_server.py",
            Kind::Aiohttp => "tests/py/aiohttp_server.py",
            Kind::NodeWs => "tests/peers/node/echo-server.js",
        };
        Peer::script(kind, script, extra)
    }

    /// Starts another server script of the same conventions (its port alone on its
    /// first stdout line, exit at end of stdin): `script` is a path from the repository
    /// root, run by the Python that has `websockets` (or `aiohttp`) for
    /// `Kind::Websockets` (`Kind::Aiohttp`), by `node` with `ws` for `Kind::NodeWs`.
    pub fn script(kind: Kind, script: &str, extra: &[&str]) -> Option<Peer> {
        let found = match kind {
            Kind::Websockets => python_for("websockets.asyncio.server"),
            Kind::Aiohttp => python_for("aiohttp.web"),
            Kind::NodeWs => node(),
        };
        let program = match found {
            Ok(f) => f,
            Err(why) => return unavailable(kind.name(), &why),
        };
        let mut child = Command::new(&program)
            .arg(root().join(script))
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
        Err(why) => return unavailable(kind.name(), &why),
    };
    let child = Command::new(&program)
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
    Some(finish(child, limit))
}

/// Waits for a started peer client (stdout and stderr piped) to end, killing it after
/// `limit`, and returns how it ended with all it printed.
fn finish(mut child: std::process::Child, limit: Duration) -> ClientRun {
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
    ClientRun {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Debian's Chromium, driven by `playwright-core` (`tests/peers/node/chromium-har.js`),
/// talks to `url` and saves the HAR it records at `har`; what the page received is on
/// its stdout. `None` after a note when Node, playwright-core or Chromium is missing (a
/// failure under `CI=true`).
pub fn chromium_har(url: &str, har: &Path, limit: Duration) -> Option<ClientRun> {
    let node = match node() {
        Ok(n) => n,
        Err(why) => return unavailable("chromium (playwright-core)", &why),
    };
    if !root()
        .join("tests/peers/node/node_modules/playwright-core/package.json")
        .exists()
    {
        return unavailable(
            "chromium (playwright-core)",
            "tests/peers/node/node_modules has no playwright-core (run npm ci there)",
        );
    }
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return unavailable(
            "chromium",
            &format!(
                "{} is missing (Debian's package chromium)",
                chromium.display()
            ),
        );
    }
    let child = Command::new(node)
        .arg(root().join("tests/peers/node/chromium-har.js"))
        .arg(url)
        .arg(har)
        .env("CHROMIUM", &chromium)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium-har.js: {e}"));
    Some(finish(child, limit))
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

// ---------------------------------------------------------------------------------------
// Processes driven line by line, and third-party clients
// ---------------------------------------------------------------------------------------

/// A child process driven from a test: stdin piped (written with [`Proc::send`]), stdout
/// collected line by line as it comes, stderr collected; killed on drop, so nothing
/// outlives its test.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<Option<i32>>,
}

impl Proc {
    /// Starts `cmd` with its three streams piped. `name` is for messages.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (l2, e2) = (lines.clone(), stderr.clone());
        let out = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                l2.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let err = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stderr_pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => e2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        let stdin = child.stdin.take();
        Proc {
            name: name.to_string(),
            child,
            stdin,
            lines,
            stderr,
            readers: vec![out, err],
            status: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `line` and a newline to its stdin.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name}: stdin already closed"));
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{name}: cannot write {line:?} to its stdin: {e}"));
    }

    /// Ends its stdin.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stdout lines so far that are JSON objects (others are skipped: a test that cares
    /// looks at `lines`).
    pub fn events(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// Events named `name`.
    pub fn named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// Waits until `pred` holds for the events so far (at most `limit`); fails the test
    /// with everything it printed otherwise. Returns the events.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let ev = self.events();
            if pred(&ev) {
                return ev;
            }
            if Instant::now() >= deadline {
                panic!("{}: no {what} within {limit:?}\n{}", self.name, self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until its stdout has a line for which `pred` holds (at most `limit`).
    #[track_caller]
    pub fn wait_line(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| pred(l)) {
                return l;
            }
            if Instant::now() >= deadline {
                panic!("{}: no {what} within {limit:?}\n{}", self.name, self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for it to exit (at most `limit`; then it is killed and the test fails) and
    /// returns its exit code (`None`: killed by a signal). Its output is then complete.
    #[track_caller]
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    self.join();
                    panic!(
                        "{}: still running after {limit:?}\n{}",
                        self.name,
                        self.dump()
                    );
                }
            }
        };
        self.join();
        self.status = Some(status.code());
        status.code()
    }

    /// Its exit code if it has exited (`Some(None)`: killed by a signal), without waiting.
    pub fn wait_exit_now(&mut self) -> Option<Option<i32>> {
        if let Some(s) = self.status {
            return Some(s);
        }
        match self.child.try_wait() {
            Ok(Some(s)) => {
                self.join();
                self.status = Some(s.code());
                Some(s.code())
            }
            _ => None,
        }
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        if let Ok(s) = self.child.wait() {
            self.status.get_or_insert(s.code());
        }
        self.join();
    }

    fn join(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// Everything it printed, for assertion messages.
    pub fn dump(&self) -> String {
        let status = match self.status {
            None => "still running or killed on drop".to_string(),
            Some(None) => "killed by a signal".to_string(),
            Some(Some(c)) => format!("exit code {c}"),
        };
        format!(
            "--- {}: {status} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.lines().join("\n"),
            self.stderr()
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Which third-party client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// `tests/py/ws_client.py` (Python `websockets`, asyncio client).
    Websockets,
    /// `tests/peers/node/ws-client.js` (Node `ws`).
    NodeWs,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Websockets => "python websockets client",
            ClientKind::NodeWs => "node ws client",
        }
    }
}

/// A third-party client: JSON lines on stdout (`open`, `message`, `sent`, `pong`,
/// `rejected`, `error`, and last `close` with `received`, `sent`, `clean`), commands on
/// stdin (a text line, `/binary HEX`, `/ping [TEXT]`, `/close CODE [REASON]`, `/drop`,
/// `/wait N`, `/sleep MS`); exit 0 after a completed closing handshake, 3 without one,
/// 1 when refused, 4 after its `--timeout`. See the scripts' headers.
pub struct Client;

impl Client {
    /// Starts the client against `url` with `args` before the URL (`--subprotocol NAME`),
    /// or returns `None` after a note when it is not installed (a failure under CI).
    pub fn start(kind: ClientKind, url: &str, args: &[&str]) -> Option<Proc> {
        let found = match kind {
            ClientKind::Websockets => python_for("websockets.asyncio.client")
                .map(|p| (p, root().join("tests/py/ws_client.py"))),
            ClientKind::NodeWs => node().map(|n| (n, root().join("tests/peers/node/ws-client.js"))),
        };
        let (program, script) = match found {
            Ok(f) => f,
            Err(why) => return unavailable(kind.name(), &why),
        };
        let mut cmd = Command::new(program);
        cmd.arg(script).args(args).arg(url);
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env_remove(v);
        }
        Some(Proc::spawn(kind.name(), cmd))
    }

    /// The text of each text message it received, in order.
    pub fn texts(p: &Proc) -> Vec<String> {
        p.named("message")
            .iter()
            .filter(|m| m["type"] == "text")
            .map(|m| m["text"].as_str().unwrap_or("<no text>").to_string())
            .collect()
    }
}
