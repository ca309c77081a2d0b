//! How stdin lines become messages in script mode: line endings, a last line without a
//! newline, lines longer than one read, bytes that are not UTF-8.

mod common;

use common::*;

fn session(stdin: Vec<u8>) -> (Run, Vec<String>) {
    let server = Server::scripted(|c| {
        let mut texts = Vec::new();
        loop {
            let f = c.read_frame().expect("frame");
            match f.opcode {
                OP_TEXT => texts.push(f.text()),
                OP_CLOSE => {
                    c.reply_close(&f);
                    return texts;
                }
                _ => {}
            }
        }
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(stdin));
    (out, server.result())
}

#[test]
fn crlf_is_stripped_and_a_last_line_without_newline_is_sent() {
    let (out, texts) = session(b"one\r\ntwo\nthree".to_vec());
    out.clean_close();
    assert_eq!(texts, vec!["one", "two", "three"]);
}

#[test]
fn a_line_longer_than_one_read_is_one_message() {
    let long = "x".repeat(300_000);
    let (out, texts) = session(format!("a\n{long}\nb\n").into_bytes());
    out.clean_close();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[1].len(), 300_000);
    assert_eq!((texts[0].as_str(), texts[2].as_str()), ("a", "b"));
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_and_the_session_goes_on() {
    let (out, texts) = session(b"ok\n\xff\xfe bad\nafter\n".to_vec());
    out.clean_close_script_failed();
    assert_eq!(texts, vec!["ok", "after"]);
    let err = out.error();
    assert_eq!(err["kind"], "usage");
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("line 2") && msg.contains("UTF-8"), "{msg}");
}

#[test]
fn raw_mode_sends_commands_as_text() {
    let server = Server::echo();
    let out = run(wsdbg()
        .args(["--json", "-r", server.url("/").as_str()])
        .write_stdin("/quit\n//x\n"));
    server.finish();
    out.clean_close();
    assert_eq!(out.texts("out"), vec!["/quit", "//x"]);
}

/// Found by the benchmark (issue 5): the close timeout counted from our close even
/// while the peer was still delivering echoes, and the rest were lost.
#[test]
fn issue5_close_timeout_restarts_while_the_peer_still_sends() {
    let server = Server::scripted(|c| {
        let mut texts = Vec::new();
        let close = loop {
            let f = c.read_frame().expect("frame");
            if f.opcode == OP_CLOSE {
                break f;
            }
            texts.push(f.text());
        };
        // A slow but correct server: every echo, then the close reply, over ~1.2 s.
        for t in &texts {
            c.send(&text(t));
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        c.reply_close(&close);
        texts.len()
    });
    let input: String = (0..400).map(|i| format!("m{i}\n")).collect();
    let out = run(wsdbg()
        .args([
            "-o",
            "payload",
            "--close-timeout",
            "0.3",
            server.url("/").as_str(),
        ])
        .write_stdin(input.clone()));
    assert_eq!(server.result(), 400);
    out.code(0);
    assert_eq!(out.stdout, input, "every echo, in order");
}

/// Long lines and files are masked in place and queued without a copy (outq); what the
/// server unmasks must be exactly what was given.
#[test]
fn long_last_lines_and_files_arrive_intact() {
    let a: String = (0..300_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let b = format!("/{}", "y".repeat(280_000)); // `//` escapes the slash
    let (out, texts) = session(format!("{a}\r\n").into_bytes());
    out.clean_close();
    assert_eq!(texts, vec![a.clone()]);
    let (out, texts) = session(format!("/{b}\n").into_bytes());
    out.clean_close();
    assert_eq!(texts, vec![b]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob.bin");
    let blob: Vec<u8> = (0..400_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &blob).unwrap();
    let server = Server::scripted(|c| {
        let f = c.read_frame().expect("frame");
        let close = c.expect_close();
        c.reply_close(&close);
        (f.opcode, f.payload)
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(format!("/file {}\n", file.display())));
    let (op, payload) = server.result();
    out.clean_close();
    assert_eq!(op, OP_BINARY);
    assert!(payload == blob, "file payload differs");
    let sent = out.frames("out");
    assert_eq!(sent[0]["len"], 400_000, "{out}");
}

/// A peer that breaks the protocol and then reads nothing more must not keep wsdbg
/// waiting to send what it had queued: it gets --close-timeout, then wsdbg exits 3.
#[test]
fn a_peer_that_stops_reading_gets_close_timeout_to_take_the_rest() {
    let server = Server::scripted(|c| {
        // Long enough for the client to have queued the whole 32 MiB line, of which
        // the socket buffers take only a few.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        // A masked frame from a server: RFC 6455 5.1.
        c.send(&frame(true, 0, OP_TEXT, Some([1, 2, 3, 4]), b"x"));
        std::thread::sleep(std::time::Duration::from_millis(2500));
        c.hang_up();
    });
    let big = "z".repeat(32 << 20);
    // Pretty output: --json would print the 32 MiB payload twice as hex and text.
    let out = run(wsdbg()
        .args(["--close-timeout", "0.5", server.url("/").as_str()])
        .write_stdin(format!("{big}\n")));
    drop(server);
    out.code(3);
    assert!(out.stderr.contains("RFC 6455 5.1"), "{out}");
    assert!(
        out.stdout.contains("len=33554432"),
        "the big message was queued before the violation\n{}",
        out.stderr
    );
    assert!(
        out.elapsed < std::time::Duration::from_secs(3),
        "{:?}",
        out.elapsed
    );
}
