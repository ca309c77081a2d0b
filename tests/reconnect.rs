//! Issue 3: reconnect with backoff (`--reconnect`, `--max-retries`), nothing piped lost
//! across an outage, `/reconnect`, and keepalive pings (`--ping-interval`).

mod common;

use std::time::Duration;

use common::*;

fn fast_backoff(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.args(["--reconnect", "--backoff-min", "50", "--backoff-max", "200"])
}

#[test]
fn refused_first_attempts_then_accepted() {
    let port = closed_port();
    // The server appears only after the client has failed a few times.
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        Server::builder().port(port).run(|c| c.echo_until_close())
    });
    let url = format!("ws://127.0.0.1:{port}/");
    let out =
        run(fast_backoff(&mut wsdbg()).args(["--json", "-x", "hello", "-x", "/wait 1 3000", &url]));
    let server = starter.join().unwrap();
    server.finish();
    out.clean_close();
    let attempts: Vec<u64> = out
        .all("reconnect")
        .iter()
        .map(|r| r["attempt"].as_u64().unwrap())
        .collect();
    assert!(attempts.len() >= 2, "expected failed attempts first\n{out}");
    assert_eq!(attempts[0], 1, "{out}");
    assert!(attempts.windows(2).all(|w| w[1] == w[0] + 1), "{out}");
    // Delays double (with jitter between half and all of the base) up to the cap.
    for r in out.all("reconnect") {
        let d = r["delay_ms"].as_u64().unwrap();
        assert!(
            (25..=200).contains(&d),
            "delay {d} outside [25, 200]\n{out}"
        );
    }
    assert!(
        out.all("error").iter().all(|e| e["kind"] == "connect"),
        "{out}"
    );
    assert_eq!(out.texts("in"), vec!["hello"], "{out}");
}

#[test]
fn lines_piped_during_an_outage_arrive_after_it_in_order() {
    let server = Server::builder().conns(2).run_each(|c| {
        if c.index == 0 {
            // Take the first message, then drop the connection without a close frame.
            let first = c.read_frame().expect("first message").text();
            c.hang_up();
            vec![first]
        } else {
            let mut texts = Vec::new();
            loop {
                let f = c.read_frame().expect("frame");
                if f.opcode == OP_CLOSE {
                    c.reply_close(&f);
                    break;
                }
                if f.opcode == OP_TEXT {
                    texts.push(f.text());
                    c.send(&text(&f.text()));
                }
            }
            texts
        }
    });
    let out = run(fast_backoff(&mut wsdbg())
        .args(["--json", server.url("/").as_str()])
        .write_stdin("a\n/sleep 600\nb\nc\nd\n/wait 3 3000\n"));
    let got = server.finish();
    out.clean_close();
    assert_eq!(
        got,
        vec![
            vec!["a".to_string()],
            vec!["b".into(), "c".into(), "d".into()]
        ]
    );
    let disc = out.first("disconnected");
    assert_eq!(disc["code"], 1006, "{out}");
    assert_eq!(out.first("reconnect")["attempt"], 1, "{out}");
    assert_eq!(out.all("handshake").len(), 2, "{out}");
}

#[test]
fn max_retries_without_ever_connecting_exits_1() {
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let out = run(fast_backoff(&mut wsdbg()).args(["--json", "--max-retries", "2", &url]));
    out.code(1);
    assert_eq!(out.all("reconnect").len(), 2, "{out}");
    let last = out.all("error").pop().unwrap();
    assert!(
        last["message"].as_str().unwrap().contains("--max-retries"),
        "{out}"
    );
}

#[test]
fn max_retries_after_a_lost_connection_exits_3() {
    let server = Server::scripted(|c| {
        c.hang_up();
    });
    let url = server.url("/");
    let out = run(fast_backoff(&mut wsdbg())
        .args(["--json", "--max-retries", "1", &url])
        .write_stdin("/sleep 3000\n"));
    drop(server);
    out.code(3);
    assert_eq!(out.first("disconnected")["code"], 1006, "{out}");
    assert_eq!(out.all("reconnect").len(), 1, "{out}");
}

#[test]
fn a_server_close_is_followed_by_a_reconnect() {
    let server = Server::builder().conns(2).run_each(|c| {
        if c.index == 0 {
            c.send(&close(1012, "restart"));
            let _ = c.try_close();
        } else {
            c.echo_until_close();
        }
    });
    let out = run(fast_backoff(&mut wsdbg())
        .args(["--json", server.url("/").as_str()])
        .write_stdin("/sleep 800\nafter\n/wait 1 3000\n"));
    server.finish();
    out.clean_close();
    let closes = out.all("close");
    assert_eq!(closes[0]["initiator"], "remote", "{out}");
    assert_eq!(closes[0]["code"], 1012, "{out}");
    assert_eq!(out.texts("in"), vec!["after"], "{out}");
}

#[test]
fn reconnect_command_connects_again() {
    let server = Server::builder()
        .conns(2)
        .run_each(|c| c.echo_until_close());
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin("one\n/wait 1 2000\n/reconnect\ntwo\n/wait 1 2000\n"));
    let closes = server.finish();
    out.clean_close();
    assert!(
        closes.iter().all(|c| c.is_some()),
        "both connections closed cleanly"
    );
    assert_eq!(out.all("handshake").len(), 2, "{out}");
    assert_eq!(out.texts("in"), vec!["one", "two"], "{out}");
}

#[test]
fn keepalive_reports_rtt_of_each_pong() {
    let server = Server::echo();
    let out = run(wsdbg()
        .args(["--json", "--ping-interval", "0.2", server.url("/").as_str()])
        .write_stdin("/sleep 700\n"));
    server.finish();
    out.clean_close();
    let pongs = out.all("pong");
    assert!(pongs.len() >= 2, "expected a pong per interval\n{out}");
    assert!(
        pongs.iter().all(|p| p["rtt_ms"].as_f64().is_some()),
        "{out}"
    );
    // Each keepalive ping has its own payload.
    let payloads: Vec<String> = out
        .frames("out")
        .iter()
        .filter(|f| f["opcode"] == "ping")
        .map(|f| f["hex"].as_str().unwrap().to_string())
        .collect();
    let mut uniq = payloads.clone();
    uniq.dedup();
    assert_eq!(uniq.len(), payloads.len(), "{out}");
}

#[test]
fn keepalive_marks_a_silent_server_dead() {
    let server = Server::scripted(|c| {
        // Read everything, answer nothing.
        c.drain(Duration::from_secs(4));
    });
    let out = run(wsdbg()
        .args(["--json", "--ping-interval", "0.3", server.url("/").as_str()])
        .write_stdin("/sleep 5000\n"));
    drop(server);
    out.code(3);
    let err = out.all("error");
    assert!(
        err.iter()
            .any(|e| e["kind"] == "timeout" && e["message"].as_str().unwrap().contains("no pong")),
        "{out}"
    );
    assert_eq!(out.first("disconnected")["code"], 1006, "{out}");
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
}

#[test]
fn no_auto_pong_shows_pings_and_does_not_answer() {
    let server = Server::scripted(|c| {
        c.send(&ping(b"are you there"));
        let frames = c.frames_until_close();
        if let Some(cl) = frames.last() {
            c.reply_close(cl);
        }
        frames
    });
    let out = run(wsdbg()
        .args(["--json", "--no-auto-pong", server.url("/").as_str()])
        .write_stdin("/sleep 300\n/pong by hand\n"));
    let frames = server.result();
    out.clean_close();
    let pongs: Vec<_> = frames.iter().filter(|f| f.opcode == OP_PONG).collect();
    assert_eq!(pongs.len(), 1, "only the hand-made pong: {frames:?}");
    assert_eq!(pongs[0].text(), "by hand");
    assert_eq!(
        out.frames("in")
            .iter()
            .filter(|f| f["opcode"] == "ping")
            .count(),
        1,
        "{out}"
    );
}

#[test]
fn issue8_accept_then_close_counts_as_a_failed_attempt() {
    // A server that accepts and closes at once: before issue 8 the backoff reset at
    // every connection, so wsdbg reconnected ~6 times a second forever and
    // --max-retries never tripped.
    let server = Server::builder().conns(4).run_each(|c| {
        c.send(&close(1001, "going away"));
        let _ = c.try_close();
    });
    let out = run(fast_backoff(&mut wsdbg())
        .args(["--json", "--max-retries", "3", server.url("/").as_str()])
        .write_stdin("/sleep 5000\n"));
    server.finish();
    out.code(3);
    let delays: Vec<u64> = out
        .all("reconnect")
        .iter()
        .map(|r| r["delay_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(delays.len(), 3, "{out}");
    // The delay doubles (bases 50, 100, 200; jitter keeps at least half of each).
    assert!(delays[1] >= 50 && delays[2] >= 100, "{delays:?}\n{out}");
    let last = out.all("error").pop().unwrap();
    assert!(
        last["message"].as_str().unwrap().contains("--max-retries"),
        "{out}"
    );
}

/// Issue 21: `--header-cmd` runs before every connection attempt, so a token that
/// must be fresh is: the server drops the first connection, and the reconnect carries
/// the command's new line. A failing command or a line that is not a header is an
/// error naming the command, and no connection is tried.
#[test]
fn issue21_header_cmd_gives_each_reconnect_a_fresh_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let counter = dir.path().join("n");
    let cmd = format!(
        "n=$(cat {p} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {p}; echo \"X-Token: t$n\"",
        p = counter.display()
    );
    let server = Server::builder().conns(2).run_each(|c| {
        if c.index == 0 {
            c.hang_up();
        } else {
            c.echo_until_close();
        }
    });
    let out = run(fast_backoff(&mut wsdbg())
        .args(["--json", "--header-cmd", &cmd, server.url("/").as_str()])
        .write_stdin("/sleep 800\nhi\n/wait 1 3000\n"));
    let reqs = server.requests();
    server.finish();
    out.clean_close();
    let tokens: Vec<Option<&str>> = reqs.iter().map(|r| r.header("X-Token")).collect();
    assert_eq!(tokens, vec![Some("t1"), Some("t2")], "{out}");
    // A failing command: exit 1, the command named, nothing connected.
    let server = Server::builder().conns(0).run_each(|_| ());
    for (cmd, says) in [
        ("echo oops >&2; exit 3", "exited with status 3: oops"),
        ("echo 'not a header'", "printed a line that is not a header"),
    ] {
        let out = run(wsdbg()
            .args(["--header-cmd", cmd, server.url("/").as_str()])
            .write_stdin("x\n"));
        out.code(1);
        assert!(
            out.stderr.contains("--header-cmd") && out.stderr.contains(says),
            "{out}"
        );
    }
    assert!(
        server.requests().is_empty(),
        "no connection with stale headers"
    );
}
