//! Issue 19: `wsdbg replay` at size, and of a real browser's HAR. Through real sockets:
//! `wsdbg listen` as the echo server for the memory test; a HAR that Debian's Chromium
//! wrote itself (driven by `playwright-core`) replayed against the Python `websockets`
//! server the page talked to.
//!
//! Without Python, Node or Chromium a test against them prints a note and passes,
//! except under `CI=true`, where it fails.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::rss::vm_hwm;
use common::*;

/// An 80 MiB recording (40 text messages of 1 MiB and their echoes) replays against
/// `wsdbg listen` with every reply compared, while the replay's peak RSS stays under 64
/// MiB: the file is read a line at a time as the replay goes (read whole, the file and
/// the script it makes would take more than twice its size).
#[test]
fn a_large_recording_replays_in_bounded_memory() {
    const N: usize = 40;
    const SIZE: usize = 1 << 20;
    const BOUND_KIB: u64 = 64 * 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("big.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&rec).expect("create"));
        writeln!(f, r#"{{"event":"handshake","t":0.0}}"#).unwrap();
        for i in 0..N {
            let text: String =
                std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), SIZE).collect();
            for dir in ["out", "in"] {
                writeln!(
                    f,
                    r#"{{"event":"message","dir":"{dir}","type":"text","len":{SIZE},"text":"{text}","t":{i}.5}}"#
                )
                .unwrap();
            }
        }
    }
    let size = std::fs::metadata(&rec).unwrap().len();
    assert!(size > 2 * (N * SIZE) as u64, "{size}");
    let mut l = Listen::json_with(&["--max-size", "2000000"]);
    l.close_stdin();
    let mut child = Command::new(bin())
        .args([
            "replay",
            "-o",
            "payload",
            "--close-timeout",
            "20000",
            "--max-size",
            "2000000",
        ])
        .arg(&rec)
        .arg(l.url("/"))
        .env("NO_COLOR", "1")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsdbg replay");
    let pid = child.id();
    let start = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(k) = vm_hwm(pid) {
            peak = peak.max(k);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("replay took over 120 s (peak so far {peak} KiB)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    use std::io::Read;
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    eprintln!(
        "measured: a {:.0} MiB recording replayed in {:.1} s, peak RSS {:.1} MiB",
        size as f64 / (1 << 20) as f64,
        start.elapsed().as_secs_f64(),
        peak as f64 / 1024.0
    );
    assert_eq!(status.code(), Some(0), "every reply as recorded: {err}");
    assert!(peak > 0, "no VmHWM was read");
    assert!(
        peak < BOUND_KIB,
        "peak RSS {peak} KiB, bound {BOUND_KIB} KiB"
    );
    drop(l.unused());
}

/// A real browser's HAR: Debian's Chromium (through playwright-core, `recordHar` with
/// `content: 'embed'`) talks to a Python `websockets` echo server: a text, a JSON text
/// and a binary message; the HAR it saved holds them in `_webSocketMessages`, and
/// `wsdbg replay` of it against the same server exits 0, every reply as recorded.
#[test]
fn a_chromium_har_replays_against_the_server_it_recorded() {
    let Some(py) = common::peers::Peer::websockets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("chromium.har");
    let Some(c) = common::peers::chromium_har(&py.url("/"), &har, Duration::from_secs(90)) else {
        return;
    };
    assert_eq!(c.code, Some(0), "{c}");
    let got: serde_json::Value =
        serde_json::from_str(c.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {c}"));
    assert_eq!(got["code"], 1000, "{c}");
    assert_eq!(got["received"][0], "hello from chromium", "{c}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&har).expect("the HAR")).expect("JSON");
    let entry = doc["log"]["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["_webSocketMessages"].is_array()))
        .unwrap_or_else(|| panic!("no entry with _webSocketMessages: {doc}"));
    let msgs = entry["_webSocketMessages"].as_array().unwrap();
    let types: Vec<&str> = msgs
        .iter()
        .map(|m| m["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        ["send", "receive", "send", "receive", "send", "receive"],
        "{entry}"
    );
    assert_eq!(msgs[4]["opcode"], 2, "binary: {entry}");
    let out = run(wsdbg()
        .args(["replay", "--json"])
        .arg(&har)
        .arg(py.url("/")));
    assert_eq!(out.code, Some(0), "{out}");
    let expects = out.all("expect");
    assert_eq!(expects.len(), 3, "{out}");
    assert!(expects.iter().all(|e| e["ok"] == true), "{out}");
    let sent = out.frames("out");
    assert_eq!(
        sent[2]["hex"], "000102ff",
        "the binary as Chromium sent it: {out}"
    );
    // --timing original reads Chromium's times (seconds, or Playwright's milliseconds)
    // as the pauses they were: the replay does not wait for hours.
    let t0 = Instant::now();
    let out = run(wsdbg()
        .args(["replay", "--timing", "original"])
        .arg(&har)
        .arg(py.url("/")));
    assert_eq!(out.code, Some(0), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}
