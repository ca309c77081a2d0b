//! Ctrl-C (SIGINT) in script mode closes with 1000, waits for the reply and exits 0;
//! nothing received before it is lost.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn sigint_closes_cleanly_in_script_mode() {
    let server = Server::scripted(|c| {
        c.send(&text("before ctrl-c"));
        let f = c.expect_close();
        c.reply_close(&f);
        f
    });
    let mut child = Command::new(bin())
        .args(["--json", "--keep-open", server.url("/").as_str()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("\"event\":\"message\"");
        seen.push(line);
        if done {
            break;
        }
    }
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let close = server.result();
    let out = seen.join("\n");
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(close.close_code(), Some(1000), "{out}");
    assert!(out.contains("before ctrl-c"), "{out}");
    assert!(out.contains("\"event\":\"close\""), "{out}");
    drop(child.stdin.take());
    std::thread::sleep(Duration::from_millis(10));
}

/// Issue 3: Ctrl-C while waiting to reconnect ends the wait and exits.
#[test]
fn sigint_during_a_backoff_wait_exits_at_once() {
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let mut child = Command::new(bin())
        .args(["--json", "--reconnect", "--backoff-min", "20000", &url])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait until it is in the backoff wait.
    for line in lines.by_ref() {
        if line.unwrap().contains("\"event\":\"reconnect\"") {
            break;
        }
    }
    let start = std::time::Instant::now();
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the 10-20 s wait was not cut short"
    );
    assert_eq!(status.code(), Some(1), "never connected: exit 1");
}
