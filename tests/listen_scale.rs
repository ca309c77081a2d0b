//! Issue 9: `wsdbg listen` serves its clients from one event loop. Many idle clients
//! cost no threads; an active client is still answered at once; a client that sends
//! and never reads cannot make the server's memory grow.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::many::{more_fds, upgraded_client};
use common::*;

/// A field of /proc/PID/status, in kB (VmRSS, VmHWM) or as a count (Threads).
fn status(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, 0, opcode, Some([7, 1, 2, 3]), payload)
}

#[test]
fn issue9_many_idle_clients_one_thread_and_an_active_one_is_answered() {
    let fds = more_fds();
    let n = if fds >= 2200 { 1000 } else { 400 };
    let l = Listen::json();
    let pid = l.pid();
    let idle: Vec<TcpStream> = (0..n).map(|_| upgraded_client(&l.addr)).collect();
    let threads = status(pid, "Threads");
    assert!(threads < 16, "{threads} threads with {n} clients");
    let mut active = upgraded_client(&l.addr);
    let asked = Instant::now();
    active.write_all(&masked(OP_TEXT, b"still there?")).unwrap();
    let f = read_frame(&mut active).expect("the echo");
    assert_eq!(f.text(), "still there?");
    // Not a benchmark: a server stuck behind its idle clients would take seconds.
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let rss_mb = status(pid, "VmHWM") / 1024;
    eprintln!("listen with {n} idle clients: {threads} thread(s), peak RSS {rss_mb} MB");
    assert!(rss_mb < 64, "peak RSS {rss_mb} MB with {n} idle clients");
    drop(idle);
    drop(active);
    l.stop();
}

#[test]
fn issue9_a_client_that_never_reads_cannot_grow_the_server() {
    let l = Listen::json_with(&["--max-size", "1048576"]);
    let pid = l.pid();
    let mut s = upgraded_client(&l.addr);
    s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let msg = masked(OP_BINARY, &vec![0x5a; 512 * 1024]);
    // The server echoes each message; we read nothing. Once its send queue holds
    // 1 MiB it stops reading us, and our writes block (then time out).
    let mut sent = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        match s.write_all(&msg) {
            Ok(()) => sent += msg.len(),
            Err(_) => break,
        }
    }
    let rss_mb = status(pid, "VmHWM") / 1024;
    eprintln!(
        "sent {} MB unread echoes; server peak RSS {rss_mb} MB",
        sent >> 20
    );
    assert!(
        sent < 256 << 20,
        "the server kept reading ({} MB) while its echoes were not read",
        sent >> 20
    );
    assert!(rss_mb < 48, "server peak RSS {rss_mb} MB");
    // Another client is still served meanwhile.
    let mut other = upgraded_client(&l.addr);
    other.write_all(&masked(OP_TEXT, b"hi")).unwrap();
    assert_eq!(read_frame(&mut other).expect("echo").text(), "hi");
    drop(s);
    l.stop();
}
