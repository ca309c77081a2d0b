//! Script mode and `-x` against `wsdbg listen` (and a scripted server where the timing
//! matters): every command of the input grammar, the closing handshake, output modes,
//! and that nothing received is lost on exit.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// `wsdbg --json URL` with this stdin.
fn script(listen: &Listen, stdin: &str, extra: &[&str]) -> Run {
    run(wsdbg()
        .arg("--json")
        .args(extra)
        .arg(listen.url("/"))
        .write_stdin(stdin.to_string()))
}

/// The close frames we sent.
fn out_closes(out: &Run) -> Vec<serde_json::Value> {
    out.frames("out")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect()
}

#[test]
fn plain_line_is_sent_and_echoed() {
    let l = Listen::json();
    let out = script(&l, "hello world\n", &[]);
    let close = out.clean_close();
    assert_eq!(out.texts("out"), vec!["hello world"], "{out}");
    assert_eq!(out.texts("in"), vec!["hello world"], "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    assert_eq!(close["code"], 1000, "end of input closes with 1000\n{out}");

    let hs = out.first("handshake");
    assert_eq!(hs["response"]["status"], 101, "{out}");
    assert_eq!(hs["request"]["method"], "GET", "{out}");
    assert!(hs["elapsed_ms"].is_number(), "{out}");

    let f = &out.frames("out")[0];
    assert_eq!(f["opcode"], "text", "{out}");
    assert_eq!(f["fin"], true, "{out}");
    assert_eq!(f["masked"], true, "{out}");
    assert_eq!(f["rsv"], serde_json::json!([false, false, false]), "{out}");
    assert!(
        f["mask_key"].as_str().is_some_and(|k| k.len() == 8
            && k.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())),
        "mask_key is 8 lowercase hex digits\n{out}"
    );
    assert_eq!(f["len"], 11, "{out}");
    assert_eq!(f["hex"], hex(b"hello world"), "{out}");
    let fin = &out.frames("in")[0];
    assert_eq!(fin["masked"], false, "{out}");
    assert_eq!(fin["mask_key"], serde_json::Value::Null, "{out}");
}

#[test]
fn end_of_input_closes_with_1000() {
    let l = Listen::json();
    let out = script(&l, "", &[]);
    let close = out.clean_close();
    assert_eq!(close["code"], 1000, "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    let sent = out_closes(&out);
    assert_eq!(sent.len(), 1, "{out}");
    assert_eq!(sent[0]["code"], 1000, "{out}");
    let got: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect();
    assert_eq!(got.len(), 1, "the peer's close reply is shown\n{out}");
}

#[test]
fn double_slash_sends_a_slash() {
    let l = Listen::json();
    let out = script(&l, "//x\n///y\n", &[]);
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["/x", "//y"], "{out}");
}

#[test]
fn text_command() {
    let l = Listen::json();
    let out = script(&l, "/text hi there\n/text /not a command\n", &[]);
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["hi there", "/not a command"], "{out}");
}

#[test]
fn binary_command() {
    let l = Listen::json();
    let out = script(&l, "/binary 00 ff\n/binary 0aFF10\n", &[]);
    out.clean_close();
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 2, "{out}");
    assert_eq!(msgs[0]["type"], "binary", "{out}");
    assert_eq!(msgs[0]["hex"], "00ff", "{out}");
    assert_eq!(msgs[0]["len"], 2, "{out}");
    assert_eq!(msgs[1]["hex"], "0aff10", "{out}");
    let f = &out.frames("out")[0];
    assert_eq!(f["opcode"], "binary", "{out}");
}

#[test]
fn file_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload.bin");
    let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let l = Listen::json();
    let out = script(&l, &format!("/file {}\n", path.display()), &[]);
    out.clean_close();
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 1, "{out}");
    assert_eq!(msgs[0]["type"], "binary", "{out}");
    assert_eq!(msgs[0]["len"], 512, "{out}");
    assert_eq!(msgs[0]["hex"], hex(&bytes), "{out}");
}

#[test]
fn file_command_missing_file_is_reported_and_session_goes_on() {
    let l = Listen::json();
    let out = script(&l, "/file /nonexistent/wsdbg-test-file\nafter\n", &[]);
    out.clean_close_script_failed();
    assert!(out.stderr.contains("/nonexistent/wsdbg-test-file"), "{out}");
    assert_eq!(out.texts("in"), vec!["after"], "{out}");
}

#[test]
fn ping_gets_pong_with_rtt() {
    let l = Listen::json();
    let out = script(&l, "/ping hi\n/sleep 300\n", &[]);
    out.clean_close();
    let pong = out.first("pong");
    assert!(
        pong["rtt_ms"]
            .as_f64()
            .is_some_and(|ms| (0.0..5000.0).contains(&ms)),
        "rtt_ms\n{out}"
    );
    let sent: Vec<_> = out
        .frames("out")
        .into_iter()
        .filter(|f| f["opcode"] == "ping")
        .collect();
    assert_eq!(sent.len(), 1, "{out}");
    assert_eq!(sent[0]["text"], "hi", "{out}");
    let got: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "pong")
        .collect();
    assert_eq!(got.len(), 1, "{out}");
    assert_eq!(got[0]["hex"], hex(b"hi"), "{out}");
}

#[test]
fn close_with_code_and_reason() {
    let l = Listen::json();
    let out = script(&l, "/close 4000 done\n", &[]);
    let close = out.clean_close();
    assert_eq!(close["code"], 4000, "{out}");
    assert_eq!(close["reason"], "done", "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    let sent = out_closes(&out);
    assert_eq!(
        sent.len(),
        1,
        "one close frame only, not another at end of input\n{out}"
    );
    assert_eq!(sent[0]["code"], 4000, "{out}");
    assert_eq!(sent[0]["reason"], "done", "{out}");
}

#[test]
fn close_ends_the_session_even_if_input_remains() {
    let l = Listen::json();
    let out = script(&l, "/close 4000\nnever sent\n/sleep 3000\n", &[]);
    out.clean_close();
    assert!(out.texts("out").is_empty(), "{out}");
    assert!(out.elapsed < Duration::from_millis(2500), "{out}");
}

#[test]
fn quit_closes_with_1000() {
    let l = Listen::json();
    let out = script(&l, "/quit\nnever sent\n", &[]);
    let close = out.clean_close();
    assert_eq!(close["code"], 1000, "{out}");
    assert!(out.texts("out").is_empty(), "{out}");
}

#[test]
fn close_1005_warns_but_is_sent() {
    let l = Listen::json();
    let out = script(&l, "/close 1005\n", &[]);
    let sent = out_closes(&out);
    assert_eq!(sent.len(), 1, "{out}");
    assert_eq!(sent[0]["code"], 1005, "sent as asked\n{out}");
    assert!(
        out.stderr.contains("1005"),
        "a warning naming 1005 on stderr\n{out}"
    );
    out.code(0);
}

#[test]
fn fragments_with_frame_are_reassembled_by_listen() {
    let l = Listen::json();
    let out = script(&l, "/frame text fin=0 a\n/frame cont fin=1 b\n", &[]);
    out.clean_close();
    let sent = out.frames("out");
    assert_eq!(sent[0]["opcode"], "text", "{out}");
    assert_eq!(sent[0]["fin"], false, "{out}");
    assert_eq!(sent[1]["opcode"], "continuation", "{out}");
    assert_eq!(sent[1]["fin"], true, "{out}");
    assert_eq!(out.texts("in"), vec!["ab"], "{out}");
}

#[test]
fn frame_with_fixed_key() {
    let l = Listen::json();
    let out = script(&l, "/frame text key=01020304 hi\n", &[]);
    out.clean_close();
    let f = &out.frames("out")[0];
    assert_eq!(f["mask_key"], "01020304", "{out}");
    assert_eq!(f["masked"], true, "{out}");
    assert_eq!(f["text"], "hi", "payload shown unmasked\n{out}");
    assert_eq!(out.texts("in"), vec!["hi"], "{out}");
}

#[test]
fn frame_with_hex_payload() {
    let l = Listen::json();
    let out = script(&l, "/frame binary hex=cafe\n", &[]);
    out.clean_close();
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 1, "{out}");
    assert_eq!(msgs[0]["hex"], "cafe", "{out}");
}

#[test]
fn unmasked_frame_is_refused_by_listen() {
    // A server must close with 1002 on an unmasked client frame; wsdbg shows it.
    let l = Listen::json();
    let out = script(&l, "/frame text mask=0 hi\n/sleep 3000\n", &[]);
    let f = &out.frames("out")[0];
    assert_eq!(f["masked"], false, "{out}");
    assert_eq!(f["mask_key"], serde_json::Value::Null, "{out}");
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
fn wait_for_two_messages() {
    let l = Listen::json();
    let out = script(&l, "/text a\n/text b\n/wait 2 3000\n", &[]);
    out.clean_close();
    assert!(out.all("error").is_empty(), "{out}");
    assert_eq!(out.texts("in"), vec!["a", "b"], "{out}");
    assert!(
        out.elapsed < Duration::from_millis(2500),
        "/wait returned at once\n{out}"
    );
}

#[test]
fn wait_timeout_prints_an_error_and_goes_on() {
    let l = Listen::json();
    let out = script(&l, "/wait 1 300\nafter\n", &[]);
    out.clean_close_script_failed();
    assert_eq!(out.all("error").len(), 1, "{out}");
    assert!(!out.stderr.is_empty(), "{out}");
    assert_eq!(out.texts("in"), vec!["after"], "{out}");
}

#[test]
fn sleep_waits() {
    let l = Listen::json();
    let out = script(&l, "/sleep 600\n", &[]);
    out.clean_close();
    assert!(out.elapsed >= Duration::from_millis(600), "{out}");
}

#[test]
fn bad_command_reports_and_session_goes_on() {
    let l = Listen::json();
    let out = run(wsdbg()
        .arg(l.url("/"))
        .write_stdin("/close abc\n/nosuch\nafter\n"));
    out.code(4);
    let first = out
        .stderr
        .lines()
        .find(|l| l.contains("/close"))
        .unwrap_or_else(|| {
            panic!("no error naming /close on stderr\n{out}");
        });
    assert!(
        first.contains("abc"),
        "the error shows what was found\n{out}"
    );
    assert!(out.stderr.contains("/nosuch"), "{out}");
    assert!(out.stdout.contains("after"), "{out}");
}

#[test]
fn bad_command_in_json_mode_is_an_error_event() {
    let l = Listen::json();
    let out = script(&l, "/close abc\nafter\n", &[]);
    out.clean_close_script_failed();
    let err = out.error();
    assert!(
        err["message"].as_str().unwrap_or("").contains("/close"),
        "{out}"
    );
    assert_eq!(out.texts("in"), vec!["after"], "{out}");
    assert_eq!(
        out_closes(&out)[0]["code"],
        1000,
        "nothing sent for the bad /close\n{out}"
    );
}

#[test]
fn execute_is_repeatable_and_closes_after_the_last() {
    let l = Listen::json();
    let out = run(wsdbg()
        .args([
            "--json",
            "-x",
            "/text one",
            "--execute",
            "two",
            "-x",
            "/binary 01",
        ])
        .arg(l.url("/"))
        .write_stdin("from stdin, never read\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["one", "two"], "{out}");
    assert_eq!(out.messages("in").len(), 3, "{out}");
}

#[test]
fn raw_mode_sends_commands_verbatim() {
    let l = Listen::json();
    let out = script(&l, "/quit\n/close 4000\n//x\n", &["-r"]);
    let close = out.clean_close();
    assert_eq!(close["code"], 1000, "{out}");
    assert_eq!(
        out.texts("in"),
        vec!["/quit", "/close 4000", "//x"],
        "{out}"
    );
}

#[test]
fn binary_stdin_is_sent_as_binary() {
    let l = Listen::json();
    let bytes: Vec<u8> = vec![0, 1, 2, 0xff, b'\n', b'/', b'q'];
    let out = run(wsdbg()
        .args(["--json", "-b", l.url("/").as_str()])
        .write_stdin(bytes.clone()));
    out.clean_close();
    let msgs = out.messages("in");
    assert!(!msgs.is_empty(), "{out}");
    assert!(msgs.iter().all(|m| m["type"] == "binary"), "{out}");
    let all: String = msgs
        .iter()
        .map(|m| m["hex"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(all, hex(&bytes), "{out}");
}

#[test]
fn binary_stdin_respects_chunk_size() {
    let l = Listen::json();
    let bytes: Vec<u8> = (0..100u8).collect();
    let out = run(wsdbg()
        .args(["--json", "-b", "--chunk-size", "16", l.url("/").as_str()])
        .write_stdin(bytes.clone()));
    out.clean_close();
    let msgs = out.messages("in");
    assert!(
        msgs.len() >= 7,
        "100 bytes in messages of 16 at most\n{out}"
    );
    assert!(
        msgs.iter().all(|m| m["len"].as_u64().unwrap_or(999) <= 16),
        "{out}"
    );
    let all: String = msgs
        .iter()
        .map(|m| m["hex"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(all, hex(&bytes), "{out}");
}

#[test]
fn max_messages_closes_after_n() {
    let l = Listen::json();
    let out = script(&l, "a\nb\n/sleep 4000\nc\n", &["--max-messages", "2"]);
    let close = out.clean_close();
    assert_eq!(close["code"], 1000, "{out}");
    assert_eq!(close["initiator"], "local", "{out}");
    assert_eq!(out.texts("in"), vec!["a", "b"], "{out}");
    assert!(
        out.elapsed < Duration::from_millis(3500),
        "did not wait for the input\n{out}"
    );
}

#[test]
fn payload_mode_prints_only_echoed_payloads() {
    let l = Listen::json();
    let out = run(wsdbg()
        .args(["-o", "payload", l.url("/").as_str()])
        .write_stdin("one\n/binary 0aff\n/ping x\ntwo\n"));
    out.code(0);
    assert_eq!(out.stdout, "one\n0aff\ntwo\n", "{out}");
}

#[test]
fn nothing_lost_2000_lines() {
    let l = Listen::json();
    let input: String = (0..2000).map(|i| format!("line-{i:04}\n")).collect();
    let out = run(wsdbg()
        .args(["-o", "payload", l.url("/").as_str()])
        .write_stdin(input.clone()));
    out.code(0);
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got.len(), 2000, "{}", out.stderr);
    assert_eq!(out.stdout, input, "echoes in order");
}

#[test]
fn large_message_round_trip() {
    let l = Listen::json();
    let big = "x".repeat(200_000);
    let out = run(wsdbg()
        .args(["-o", "payload", l.url("/").as_str()])
        .write_stdin(format!("{big}\n")));
    out.code(0);
    assert_eq!(out.stdout.trim_end(), big, "stderr: {}", out.stderr);
}

#[test]
fn keep_open_stays_until_the_peer_closes() {
    let server = Server::scripted(|c| {
        c.set_read_timeout(Duration::from_millis(1200));
        // Nothing may come from the client while the input is over but --keep-open holds.
        let early = c.read_frame().ok();
        c.set_read_timeout(Duration::from_secs(10));
        c.send(&text("still here"));
        c.send(&close(1000, "server done"));
        let reply = c.expect_close();
        (early, reply)
    });
    let out = run(wsdbg()
        .args(["--json", "--keep-open", server.url("/").as_str()])
        .write_stdin(""));
    let (early, reply) = server.result();
    assert!(
        early.is_none(),
        "the client sent {early:?} before the server closed\n{out}"
    );
    let close = out.clean_close();
    assert_eq!(close["initiator"], "remote", "{out}");
    assert_eq!(reply.close_code(), Some(1000), "{out}");
    assert_eq!(out.texts("in"), vec!["still here"], "{out}");
    assert!(out.elapsed >= Duration::from_millis(1200), "{out}");
}

#[test]
fn close_timeout_when_the_peer_never_answers() {
    let server = Server::scripted(|c| {
        let f = c.expect_close();
        // Never answer; keep the connection open past the client's close timeout.
        c.set_read_timeout(Duration::from_secs(4));
        let _ = c.read_frame();
        f
    });
    let out = run(wsdbg()
        .args(["--json", "--close-timeout", "1", server.url("/").as_str()])
        .write_stdin(""));
    let f = server.result();
    assert_eq!(f.close_code(), Some(1000), "{out}");
    // No closing handshake completed: not exit 0, and not a clean close.
    assert_eq!(out.code, Some(3), "{out}");
    assert!(out.all("close").iter().all(|c| c["clean"] != true), "{out}");
    assert!(out.elapsed < Duration::from_millis(3500), "{out}");
}

#[test]
fn messages_arriving_while_closing_are_printed() {
    let server = Server::scripted(|c| {
        let f = c.expect_close();
        c.send(&text("late one"));
        c.send(&binary(&[1, 2, 3]));
        c.reply_close(&f);
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(""));
    server.finish();
    out.clean_close();
    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 2, "{out}");
    assert_eq!(msgs[0]["text"], "late one", "{out}");
    assert_eq!(msgs[1]["hex"], "010203", "{out}");
}

#[test]
fn pretty_output_shows_frames_both_ways() {
    let l = Listen::json();
    let out = run(wsdbg().arg(l.url("/")).write_stdin("hello pretty\n"));
    out.code(0);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("hello pretty"))
        .collect();
    assert!(lines.len() >= 2, "the text out and its echo in\n{out}");
    assert!(
        out.stdout.contains("1000"),
        "the close code is shown\n{out}"
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "no colour with NO_COLOR\n{out}"
    );
}

#[test]
fn listen_pretty_first_line_names_the_address() {
    let l = Listen::pretty();
    assert!(
        l.first_line.starts_with("listening on ws://127.0.0.1:"),
        "{}",
        l.first_line
    );
    let out = run(wsdbg()
        .args(["--json", l.url("/").as_str()])
        .write_stdin("x\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["x"], "{out}");
}

#[test]
fn listen_serves_clients_at_once() {
    let l = Listen::json();
    let url = l.url("/");
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                run(wsdbg()
                    .args(["--json", url.as_str()])
                    .write_stdin(format!("client {i}\n/sleep 700\nagain {i}\n")))
            })
        })
        .collect();
    let start = std::time::Instant::now();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().unwrap();
        out.clean_close();
        assert_eq!(
            out.texts("in"),
            vec![format!("client {i}"), format!("again {i}")],
            "{out}"
        );
    }
    assert!(
        start.elapsed() < Duration::from_millis(1800),
        "clients were served one by one"
    );
    let lines = l.stop();
    let events = parse_jsonl(&lines.join("\n")).unwrap();
    assert!(
        events.iter().all(|e| e["event"].is_string()),
        "listen --json prints JSON lines"
    );
    assert!(
        events_named(&events, "message").len() >= 6,
        "listen shows the messages: {lines:#?}"
    );
}

#[test]
fn info_command_prints_something() {
    let l = Listen::json();
    let out = run(wsdbg().arg(l.url("/")).write_stdin("x\n/info\n"));
    out.code(0);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.to_lowercase().contains("sec-websocket-accept"),
        "{out}"
    );
}

// --- Reconnect and keepalive -----------------------------------------------------------

#[test]
fn reconnect_after_an_abrupt_disconnect() {
    let server = Server::builder().conns(2).run_each(|c| {
        if c.index == 0 {
            c.send(&text("one"));
            c.hang_up();
        } else {
            c.send(&text("two"));
            c.echo_until_close();
        }
    });
    let out = run(wsdbg()
        .args([
            "--json",
            "--reconnect",
            "--backoff-min",
            "50",
            "--backoff-max",
            "100",
            server.url("/").as_str(),
        ])
        .write_stdin(sleep_stdin(1500)));
    server.finish();
    let close = out.clean_close();
    assert_eq!(close["initiator"], "local", "{out}");
    assert_eq!(out.texts("in"), vec!["one", "two"], "{out}");
    assert_eq!(out.all("handshake").len(), 2, "{out}");
    assert_eq!(out.first("disconnected")["code"], 1006, "{out}");
    let r = out.first("reconnect");
    assert_eq!(r["attempt"], 1, "{out}");
    assert!(
        r["delay_ms"].as_u64().is_some_and(|d| d <= 200),
        "first delay near --backoff-min\n{out}"
    );
}

#[test]
fn reconnect_retries_a_failed_first_connection() {
    let port = closed_port();
    // The server appears only after the client has failed at least once.
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        Server::builder().port(port).run(|c| c.echo_until_close())
    });
    let out = run(wsdbg()
        .args([
            "--json",
            "--reconnect",
            "--backoff-min",
            "100",
            "--backoff-max",
            "200",
            format!("ws://127.0.0.1:{port}/").as_str(),
        ])
        .write_stdin("hello late server\n"));
    late.join().expect("late server").finish();
    out.code(0);
    assert!(!out.all("reconnect").is_empty(), "{out}");
    assert_eq!(out.texts("in"), vec!["hello late server"], "{out}");
}

#[test]
fn max_retries_gives_up() {
    let port = closed_port();
    let out = run(wsdbg()
        .args([
            "--json",
            "--reconnect",
            "--max-retries",
            "2",
            "--backoff-min",
            "20",
            "--backoff-max",
            "40",
            format!("ws://127.0.0.1:{port}/").as_str(),
        ])
        .write_stdin(""));
    out.code(1);
    let attempts: Vec<u64> = out
        .all("reconnect")
        .iter()
        .filter_map(|r| r["attempt"].as_u64())
        .collect();
    assert!(!attempts.is_empty() && attempts.len() <= 2, "{out}");
    assert!(
        out.all("error").iter().any(|e| e["kind"] == "connect"),
        "{out}"
    );
    assert!(out.elapsed < Duration::from_secs(3), "{out}");
}

#[test]
fn reconnect_command() {
    let l = Listen::json();
    let out = script(&l, "a\n/wait 1 2000\n/reconnect\nb\n", &[]);
    out.clean_close();
    assert_eq!(out.all("handshake").len(), 2, "{out}");
    assert_eq!(out.texts("in"), vec!["a", "b"], "{out}");
}

#[test]
fn ping_interval_reports_round_trips() {
    let l = Listen::json();
    let out = script(&l, "/sleep 1300\n", &["--ping-interval", "0.3"]);
    out.clean_close();
    let pongs = out.all("pong");
    assert!(pongs.len() >= 2, "a pong every 0.3 s\n{out}");
    assert!(pongs.iter().all(|p| p["rtt_ms"].is_number()), "{out}");
}

#[test]
fn ping_interval_detects_a_dead_peer() {
    // The server stops answering (no pong) but keeps the TCP connection open.
    let server = Server::scripted(|c| {
        c.set_read_timeout(Duration::from_secs(5));
        while let Ok(f) = c.read_frame() {
            if f.opcode == OP_CLOSE {
                break;
            }
        }
    });
    let out = run(wsdbg()
        .args(["--json", "--ping-interval", "0.3", server.url("/").as_str()])
        .write_stdin(sleep_stdin(4000)));
    server.finish();
    out.code(3);
    assert!(
        out.elapsed < Duration::from_millis(3500),
        "a missing pong ends the session\n{out}"
    );
}

/// A server that answers each text message after `delay`, and reports whether the
/// client's close came before the answer (a client that closes at once loses the
/// answer with servers that stop echoing once they have the close).
fn late_echo(delay: Duration) -> Server<bool> {
    Server::scripted(move |c| {
        let f = c.read_frame().expect("the text");
        c.set_read_timeout(delay);
        let early = c.read_frame();
        let closed_early = matches!(&early, Ok(x) if x.opcode == OP_CLOSE);
        c.set_read_timeout(Duration::from_secs(10));
        let _ = c.try_send(&text(&f.text()));
        if closed_early {
            let close = early.unwrap();
            c.reply_close(&close);
        } else {
            let close = c.expect_close();
            c.reply_close(&close);
        }
        closed_early
    })
}

#[test]
fn issue8_end_of_input_lingers_until_the_reply_is_in() {
    let server = late_echo(Duration::from_millis(300));
    let out = run(wsdbg()
        .args(["-o", "payload", server.url("/").as_str()])
        .write_stdin("hi\n"));
    let closed_early = server.result();
    out.code(0);
    assert!(!closed_early, "the close went before the reply\n{out}");
    assert_eq!(out.stdout, "hi\n", "{out}");
}

#[test]
fn issue8_linger_0_closes_at_once() {
    let server = late_echo(Duration::from_millis(300));
    let out = run(wsdbg()
        .args(["-o", "payload", "--linger", "0", server.url("/").as_str()])
        .write_stdin("hi\n"));
    let closed_early = server.result();
    assert!(closed_early, "--linger 0 waited\n{out}");
    out.code(0);
}

#[test]
fn issue8_linger_is_capped_for_a_server_that_never_answers() {
    let server = Server::scripted(|c| {
        c.read_frame().expect("the text");
        let t = Instant::now();
        let close = c.expect_close();
        c.reply_close(&close);
        t.elapsed()
    });
    let out = run(wsdbg()
        .args(["--json", "--linger", "400", server.url("/").as_str()])
        .write_stdin("hi\n"));
    let waited = server.result();
    out.clean_close();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_millis(2500),
        "closed after {waited:?}\n{out}"
    );
}

#[test]
fn issue8_wait_counts_from_the_last_message_sent() {
    // A greeting on connect: `/wait` alone catches it. A reply that is back before
    // `/wait` runs is caught too (it came after the last message sent).
    let server = Server::scripted(|c| {
        c.send(&text("welcome"));
        let f = c.read_frame().expect("the text");
        c.send(&text(&format!("re: {}", f.text())));
        let close = c.expect_close();
        c.reply_close(&close);
    });
    let out = run(wsdbg().args([
        "--json",
        "-x",
        "/wait 1 3000",
        "-x",
        "hello",
        "-x",
        "/sleep 300",
        "-x",
        "/wait 1 3000",
        server.url("/").as_str(),
    ]));
    server.finish();
    out.clean_close();
    assert!(out.all("error").is_empty(), "{out}");
    assert_eq!(out.texts("in"), vec!["welcome", "re: hello"], "{out}");
}

#[test]
fn issue8_max_messages_prints_exactly_n_and_waits_for_them() {
    // Five messages in one write, then more later: exactly 3 are printed, and the
    // end of input (at once) does not close before they came.
    let server = Server::scripted(|c| {
        std::thread::sleep(Duration::from_millis(300));
        let mut burst = Vec::new();
        for i in 1..=2 {
            burst.extend(text(&format!("m{i}")));
        }
        c.send(&burst);
        std::thread::sleep(Duration::from_millis(300));
        let mut burst = Vec::new();
        for i in 3..=6 {
            burst.extend(text(&format!("m{i}")));
        }
        let _ = c.try_send(&burst);
        let close = c.expect_close();
        c.reply_close(&close);
    });
    let out = run(wsdbg().args([
        "-o",
        "payload",
        "--max-messages",
        "3",
        server.url("/").as_str(),
    ]));
    server.finish();
    out.code(0);
    assert_eq!(out.stdout, "m1\nm2\nm3\n", "{out}");
}

#[test]
fn issue8_close_reason_over_123_bytes_warns() {
    let l = Listen::json();
    let reason = "r".repeat(124);
    let out = run(wsdbg().args([
        "--json",
        "-x",
        &format!("/close 4000 {reason}"),
        l.url("/").as_str(),
    ]));
    let warnings = out.all("warning");
    assert!(
        warnings
            .iter()
            .any(|w| w["message"].as_str().unwrap_or("").contains("RFC 6455 5.5")),
        "{out}"
    );
    let sent = out_closes(&out);
    assert_eq!(sent[0]["len"], 126, "sent as asked\n{out}");
}

#[test]
fn issue8_script_errors_make_exit_4_but_failures_keep_precedence() {
    let l = Listen::json();
    // A malformed command: the session goes on, the close is clean, the exit is 4.
    let out = script(&l, "hello\n/nosuch\n", &[]);
    out.clean_close_script_failed();
    assert_eq!(out.texts("in"), vec!["hello"], "{out}");
    // A malformed -x command is a usage error before connecting: exit 2, no session.
    let out = run(wsdbg().args(["--json", "-x", "hello", "-x", "/close abc", &l.url("/")]));
    out.code(2);
    assert!(out.all("handshake").is_empty(), "{out}");
    assert!(
        out.stderr.contains("/close") || out.stdout.contains("/close"),
        "{out}"
    );
    // A lost connection (3) wins over a script error.
    let server = Server::scripted(|c| {
        c.read_frame().expect("the text");
        c.hang_up();
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin("/nosuch\nhello\n/sleep 2000\n"));
    server.finish();
    out.code(3);
}

#[test]
fn echo_sends_every_data_message_back_as_it_came() {
    // Issue 9: --echo, a client-side mirror (what Autobahn's client tests need).
    let server = Server::scripted(|c| {
        c.send(&text("pushed"));
        c.send(&binary(&[0, 1, 0xff]));
        // A fragmented text message comes back as one message.
        c.send(&frame(false, 0, OP_TEXT, None, b"frag"));
        c.send(&frame(true, 0, OP_CONT, None, b"mented"));
        let got: Vec<(u8, Vec<u8>)> = (0..3)
            .map(|_| {
                let f = c.read_frame().expect("an echo");
                (f.opcode, f.payload)
            })
            .collect();
        c.send(&close(1000, "done"));
        let _ = c.try_close();
        got
    });
    let out = run(wsdbg().args(["--json", "--echo", "--keep-open", server.url("/").as_str()]));
    let got = server.result();
    out.clean_close();
    assert_eq!(
        got,
        vec![
            (OP_TEXT, b"pushed".to_vec()),
            (OP_BINARY, vec![0, 1, 0xff]),
            (OP_TEXT, b"fragmented".to_vec()),
        ],
        "{out}"
    );
}

/// The `expect` events of a run: (what, ok, got).
fn expects(out: &Run) -> Vec<(String, bool, String)> {
    out.all("expect")
        .iter()
        .map(|e| {
            (
                e["what"].as_str().unwrap_or("").to_string(),
                e["ok"].as_bool().unwrap_or(false),
                e["got"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn issue12_expect_checks_messages_pongs_and_the_close() {
    let l = Listen::json();
    let out = script(
        &l,
        "hello world\n/expect text ^hello w.rld$\n{\"user\":{\"name\":\"bob\",\"ids\":[4,5]}}\n/expect json user.ids.1 5\n/binary 00 ff\n/expect binary 00ff within 2000\n/ping p\n/expect pong\n",
        &[],
    );
    out.clean_close();
    let got = expects(&out);
    assert_eq!(got.len(), 4, "{out}");
    assert!(got.iter().all(|(_, ok, _)| *ok), "{got:?}\n{out}");
    assert_eq!(got[0].0, "text /^hello w.rld$/");
}

#[test]
fn issue12_a_failed_expectation_says_what_came_and_exits_4() {
    let l = Listen::json();
    let out = script(
        &l,
        "hello\n/expect text ^bye$ within 300\n/expect json a.b 1 within 200\nafter\n",
        &[],
    );
    out.clean_close_script_failed();
    let got = expects(&out);
    // It waited for a match, skipping the echo, and says what came instead.
    assert_eq!(
        got[0],
        (
            "text /^bye$/".into(),
            false,
            "text \"hello\" (nothing matched before the timeout)".into()
        ),
        "{out}"
    );
    assert_eq!(got[1].2, "nothing before the timeout", "{out}");
    // The session went on: `after` was sent and echoed.
    assert_eq!(out.texts("in"), vec!["hello", "after"], "{out}");
    assert!(out.stderr.contains("expect text /^bye$/: failed"), "{out}");
}

#[test]
fn issue12_fail_fast_closes_at_the_first_failure() {
    let l = Listen::json();
    let out = script(&l, "a\n/expect text b\nc\n", &["--fail-fast"]);
    out.code(4);
    assert_eq!(
        out.texts("out"),
        vec!["a"],
        "nothing after the failure\n{out}"
    );
    let close = out.first("close");
    assert_eq!(close["sent"]["code"], 1000, "{out}");
}

#[test]
fn issue12_expect_close_sees_the_peers_code_even_after_it_closed() {
    let server = Server::scripted(|c| {
        let f = c.read_frame().expect("a message");
        c.send(&text(&f.text()));
        c.send(&close(4001, "custom"));
        let _ = c.try_close();
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin("hi\n/expect text hi\n/expect close 4001\n"));
    server.finish();
    out.clean_close();
    let got = expects(&out);
    assert_eq!(got.len(), 2, "{out}");
    assert!(got[1].1 && got[1].2.contains("4001"), "{got:?}");
    // An expectation the session never reached counts as failed.
    let server = Server::scripted(|c| {
        c.send(&close(1000, ""));
        let _ = c.try_close();
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin("/sleep 300\n/expect text never\n"));
    server.finish();
    out.clean_close_script_failed();
    assert!(
        expects(&out)
            .iter()
            .any(|(w, ok, got)| w == "text /never/" && !ok && got.contains("ended first")),
        "{out}"
    );
}

#[test]
fn issue12_a_malformed_expect_is_a_usage_error() {
    let l = Listen::json().unused();
    let out = run(wsdbg().args(["-x", "/expect text (", &l.url("/")]));
    out.code(2);
    assert!(out.stderr.contains("/expect"), "{out}");
}
