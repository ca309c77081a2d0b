//! A scripted server writes exactly the bytes of a protocol violation after the
//! handshake; wsdbg must fail the connection with the right close code, report the
//! RFC 6455 rule broken, and exit 3. Also: fragments with an interleaved ping, abrupt
//! disconnects, server-initiated closes, and refused or broken handshakes (exit 1).

mod common;

use common::*;

/// What the server saw of the client after sending its bytes.
struct Seen {
    close: Option<ClientFrame>,
    frames: Vec<ClientFrame>,
}

/// Sends `bytes` after the handshake, then reads until the client's close frame,
/// answers it, and reports what it saw.
fn violation_server(bytes: Vec<u8>) -> Server<Seen> {
    Server::scripted(move |c| {
        c.send(&bytes);
        let close = c.try_close();
        if let Some(f) = &close {
            c.reply_close(f);
        }
        Seen {
            close,
            frames: c.seen.clone(),
        }
    })
}

/// Runs `wsdbg --json` (plus `extra`) against a server that sends `bytes`, and checks:
/// exit 3, one protocol error with `rule`, and a close frame from the client with
/// one of `codes`.
#[track_caller]
fn check_violation(bytes: Vec<u8>, extra: &[&str], rule: &str, codes: &[u16]) -> Run {
    let server = violation_server(bytes);
    let out = run(wsdbg()
        .args(["--json", "--close-timeout", "2"])
        .args(extra)
        .arg(server.url("/"))
        .write_stdin(sleep_stdin(4000)));
    let seen = server.result();
    out.protocol_error(rule);
    let close = seen.close.unwrap_or_else(|| {
        panic!(
            "the client sent no close frame; frames seen: {:?}\n{out}",
            seen.frames
        )
    });
    assert!(
        close.close_code().is_some_and(|c| codes.contains(&c)),
        "client closed with {:?} ({:?}), expected one of {codes:?}\n{out}",
        close.close_code(),
        close
    );
    assert!(
        close.mask.is_some(),
        "the client's close frame was not masked\n{out}"
    );
    assert!(
        out.elapsed < std::time::Duration::from_millis(3900),
        "wsdbg did not end at the violation but ran on to the end of its input\n{out}"
    );
    out
}

// --- RFC 6455 5.1: a server must not mask ------------------------------------------------

#[test]
fn masked_server_frame() {
    check_violation(
        frame(true, 0, OP_TEXT, Some([1, 2, 3, 4]), b"hi"),
        &[],
        "RFC 6455 5.1",
        &[1002],
    );
}

// --- RFC 6455 5.2: RSV bits and reserved opcodes -----------------------------------------

#[test]
fn rsv1_set_without_extension() {
    check_violation(
        frame(true, RSV1, OP_TEXT, None, b"hi"),
        &[],
        "RFC 6455 5.2",
        &[1002],
    );
}

#[test]
fn rsv2_set() {
    check_violation(
        frame(true, RSV2, OP_TEXT, None, b"hi"),
        &[],
        "RFC 6455 5.2",
        &[1002],
    );
}

#[test]
fn rsv3_set_on_a_ping() {
    check_violation(
        frame(true, RSV3, OP_PING, None, b"hi"),
        &[],
        "RFC 6455 5.2",
        &[1002],
    );
}

#[test]
fn reserved_data_opcode_3() {
    check_violation(frame(true, 0, 3, None, b"x"), &[], "RFC 6455 5.2", &[1002]);
}

#[test]
fn reserved_control_opcode_11() {
    check_violation(frame(true, 0, 11, None, b"x"), &[], "RFC 6455 5.2", &[1002]);
}

// --- RFC 6455 5.5: control frames ----------------------------------------------------------

#[test]
fn ping_with_126_byte_payload() {
    check_violation(ping(&[b'p'; 126]), &[], "RFC 6455 5.5", &[1002]);
}

#[test]
fn fragmented_ping() {
    check_violation(
        frame(false, 0, OP_PING, None, b"hi"),
        &[],
        "RFC 6455 5.5",
        &[1002],
    );
}

// --- RFC 6455 5.4: fragmentation ------------------------------------------------------------

#[test]
fn continuation_with_no_message_started() {
    check_violation(
        frame(true, 0, OP_CONT, None, b"x"),
        &[],
        "RFC 6455 5.4",
        &[1002],
    );
}

#[test]
fn new_text_frame_inside_a_fragmented_message() {
    let mut b = frame(false, 0, OP_TEXT, None, b"a");
    b.extend(frame(true, 0, OP_TEXT, None, b"b"));
    check_violation(b, &[], "RFC 6455 5.4", &[1002]);
}

#[test]
fn new_binary_frame_inside_a_fragmented_message() {
    let mut b = frame(false, 0, OP_BINARY, None, b"a");
    b.extend(frame(true, 0, OP_BINARY, None, b"b"));
    check_violation(b, &[], "RFC 6455 5.4", &[1002]);
}

// --- RFC 6455 8.1: text must be UTF-8 -------------------------------------------------------

#[test]
fn invalid_utf8_text() {
    check_violation(
        frame(true, 0, OP_TEXT, None, &[b'a', 0xff, 0xfe]),
        &[],
        "RFC 6455 8.1",
        &[1007],
    );
}

#[test]
fn invalid_utf8_split_across_fragments() {
    // "a" then the lead byte of a 2-byte sequence, then a byte that cannot follow it.
    let mut b = frame(false, 0, OP_TEXT, None, &[b'a', 0xc3]);
    b.extend(frame(true, 0, OP_CONT, None, &[0x28, b'b']));
    check_violation(b, &[], "RFC 6455 8.1", &[1007]);
}

#[test]
fn text_ending_in_a_truncated_sequence() {
    check_violation(
        frame(true, 0, OP_TEXT, None, &[b'a', 0xe2, 0x82]),
        &[],
        "RFC 6455 8.1",
        &[1007],
    );
}

#[test]
fn valid_utf8_split_across_fragments_is_accepted() {
    // "é" is c3 a9: split between two frames it is still valid text.
    let server = Server::scripted(|c| {
        c.send(&frame(false, 0, OP_TEXT, None, &[b'x', 0xc3]));
        c.send(&frame(true, 0, OP_CONT, None, &[0xa9, b'y']));
        c.send(&close(1000, ""));
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    let reply = server.result();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["x\u{e9}y".to_string()], "{out}");
    assert_eq!(reply.close_code(), Some(1000), "{out}");
}

// --- RFC 6455 5.5.1 / 7.4.1: close frames ------------------------------------------------

#[test]
fn invalid_utf8_close_reason() {
    check_violation(
        close_raw(&[0x03, 0xe8, b'o', 0xff]),
        &[],
        "RFC 6455 5.5.1",
        &[1002, 1007],
    );
}

#[test]
fn one_byte_close_payload() {
    check_violation(close_raw(&[0x03]), &[], "RFC 6455 5.5.1", &[1002]);
}

#[test]
fn close_code_1005_on_the_wire() {
    check_violation(close(1005, ""), &[], "RFC 6455 7.4.1", &[1002]);
}

#[test]
fn close_code_1006_on_the_wire() {
    check_violation(close(1006, ""), &[], "RFC 6455 7.4.1", &[1002]);
}

#[test]
fn close_code_999_on_the_wire() {
    check_violation(close(999, ""), &[], "RFC 6455 7.4.1", &[1002]);
}

// --- RFC 6455 10.4: size limits -------------------------------------------------------------

#[test]
fn header_announcing_2_pow_63_minus_1_bytes() {
    // Only the header: a client that tried to allocate or read it all would crash or hang.
    let mut b = header(true, 0, OP_BINARY, None, (1u64 << 63) - 1);
    b.extend_from_slice(b"abc");
    check_violation(b, &["--max-size", "1000"], "RFC 6455 10.4", &[1009]);
}

#[test]
fn header_announcing_2_pow_63_minus_1_bytes_default_max_size() {
    let b = header(true, 0, OP_TEXT, None, (1u64 << 63) - 1);
    check_violation(b, &[], "RFC 6455 10.4", &[1009]);
}

#[test]
fn message_over_max_size() {
    check_violation(
        text(&"x".repeat(200)),
        &["--max-size", "100"],
        "RFC 6455 10.4",
        &[1009],
    );
}

#[test]
fn fragmented_message_over_max_size() {
    // Each fragment fits; together they do not.
    let mut b = frame(false, 0, OP_TEXT, None, "y".repeat(60).as_bytes());
    b.extend(frame(true, 0, OP_CONT, None, "y".repeat(60).as_bytes()));
    check_violation(b, &["--max-size", "100"], "RFC 6455 10.4", &[1009]);
}

#[test]
fn message_at_max_size_is_accepted() {
    let server = Server::scripted(|c| {
        c.send(&text(&"z".repeat(100)));
        c.send(&close(1000, ""));
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", "--max-size", "100", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    server.result();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["z".repeat(100)], "{out}");
}

// --- Well-formed but tricky ------------------------------------------------------------------

#[test]
fn fragmented_text_with_interleaved_ping() {
    let server = Server::scripted(|c| {
        c.send(&frame(false, 0, OP_TEXT, None, b"Hel"));
        c.send(&frame(false, 0, OP_CONT, None, b"lo "));
        c.send(&ping(b"p1"));
        c.send(&frame(true, 0, OP_CONT, None, b"world"));
        // The first thing the client sends must be the pong.
        let pong = c.read_frame().expect("a pong from the client");
        c.send(&close(1000, "done"));
        let close = c.expect_close();
        (pong, close)
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    let (pong, client_close) = server.result();
    out.clean_close();

    assert_eq!(pong.opcode, OP_PONG, "first client frame {pong:?}\n{out}");
    assert_eq!(pong.payload, b"p1", "pong payload\n{out}");
    assert!(pong.mask.is_some(), "pong not masked\n{out}");
    assert_eq!(client_close.close_code(), Some(1000), "{out}");

    let data_in: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| ["text", "continuation"].contains(&f["opcode"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(data_in.len(), 3, "three data frames in\n{out}");
    assert_eq!(data_in[0]["opcode"], "text", "{out}");
    assert_eq!(data_in[0]["fin"], false, "{out}");
    assert_eq!(data_in[1]["opcode"], "continuation", "{out}");
    assert_eq!(data_in[2]["fin"], true, "{out}");
    assert_eq!(data_in[2]["text"], "world", "{out}");

    let pings: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "ping")
        .collect();
    assert_eq!(pings.len(), 1, "{out}");
    assert_eq!(pings[0]["hex"], hex(b"p1"), "{out}");
    let pongs: Vec<_> = out
        .frames("out")
        .into_iter()
        .filter(|f| f["opcode"] == "pong")
        .collect();
    assert_eq!(pongs.len(), 1, "our pong is shown\n{out}");
    assert_eq!(pongs[0]["masked"], true, "{out}");

    let msgs = out.messages("in");
    assert_eq!(msgs.len(), 1, "{out}");
    assert_eq!(msgs[0]["type"], "text", "{out}");
    assert_eq!(msgs[0]["frames"], 3, "{out}");
    assert_eq!(msgs[0]["text"], "Hello world", "{out}");
    assert_eq!(msgs[0]["len"], 11, "{out}");

    // The message comes after its last fragment.
    let events = out.events();
    let pos = |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().position(pred).unwrap();
    let last_frag = pos(&|e| e["event"] == "frame" && e["dir"] == "in" && e["text"] == "world");
    let msg = pos(&|e| e["event"] == "message" && e["dir"] == "in");
    assert!(msg > last_frag, "message before its last fragment\n{out}");
}

#[test]
fn no_auto_pong_leaves_pings_unanswered() {
    let server = Server::scripted(|c| {
        c.send(&ping(b"are you there"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        c.send(&close(1000, ""));
        c.frames_until_close()
    });
    let out = run(wsdbg()
        .args(["--json", "--no-auto-pong", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    let frames = server.result();
    out.clean_close();
    assert!(
        frames.iter().all(|f| f.opcode != OP_PONG),
        "the client answered a ping with --no-auto-pong: {frames:?}\n{out}"
    );
    let pings: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "ping")
        .collect();
    assert_eq!(pings.len(), 1, "the ping is still shown\n{out}");
}

#[test]
fn abrupt_disconnect_is_1006_and_exit_3() {
    let server = Server::scripted(|c| {
        c.send(&text("bye, without a close frame"));
        c.hang_up();
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(4000)));
    server.finish();
    out.code(3);
    assert_eq!(out.texts("in"), vec!["bye, without a close frame"], "{out}");
    let d = out.first("disconnected");
    assert_eq!(d["code"], 1006, "{out}");
    assert!(
        out.elapsed < std::time::Duration::from_millis(3900),
        "{out}"
    );
    assert!(
        out.all("close").iter().all(|c| c["clean"] != true),
        "a clean close without a close frame\n{out}"
    );
}

#[test]
fn server_initiated_close_1001() {
    let server = Server::scripted(|c| {
        c.send(&text("last words"));
        c.send(&close(1001, "bye"));
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(4000)));
    let reply = server.result();
    let close_ev = out.clean_close();
    assert_eq!(close_ev["code"], 1001, "{out}");
    assert_eq!(close_ev["reason"], "bye", "{out}");
    assert_eq!(close_ev["initiator"], "remote", "{out}");
    assert_eq!(
        reply.close_code(),
        Some(1001),
        "the client echoes the code\n{out}"
    );
    assert!(reply.mask.is_some(), "{out}");
    assert_eq!(out.texts("in"), vec!["last words"], "{out}");
    let in_close: Vec<_> = out
        .frames("in")
        .into_iter()
        .filter(|f| f["opcode"] == "close")
        .collect();
    assert_eq!(in_close.len(), 1, "{out}");
    assert_eq!(in_close[0]["code"], 1001, "{out}");
    assert_eq!(in_close[0]["reason"], "bye", "{out}");
    assert!(
        out.elapsed < std::time::Duration::from_millis(3900),
        "the session ends\n{out}"
    );
}

#[test]
fn server_close_with_empty_payload() {
    let server = Server::scripted(|c| {
        c.send(&close_raw(&[]));
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(4000)));
    let reply = server.result();
    let close_ev = out.clean_close();
    assert_eq!(close_ev["code"], serde_json::Value::Null, "{out}");
    assert_eq!(close_ev["initiator"], "remote", "{out}");
    // An empty close is answered with an empty close (or 1000); never with 1005.
    assert_ne!(reply.close_code(), Some(1005), "{out}");
}

#[test]
fn unsolicited_pong_is_shown_and_ignored() {
    let server = Server::scripted(|c| {
        c.send(&pong(b"unasked"));
        c.send(&text("after"));
        c.send(&close(1000, ""));
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    server.result();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["after"], "{out}");
    assert!(
        out.all("pong").is_empty(),
        "a pong event (with rtt) for a ping never sent\n{out}"
    );
}

// --- Handshakes -------------------------------------------------------------------------------

#[test]
fn handshake_403_with_body() {
    let server = Server::builder()
        .reply(Reply::status(
            403,
            "Forbidden",
            &[("X-Why", "no token")],
            "go away, you have no token",
        ))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/secret").as_str()]));
    server.finish();
    let err = out.error_kind("handshake", 1);
    assert_eq!(err["status"], 403, "{out}");
    assert!(
        err["body"]
            .as_str()
            .is_some_and(|b| b.contains("go away, you have no token")),
        "body\n{out}"
    );
    let headers = err["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("headers\n{out}"));
    assert!(
        headers.iter().any(|h| h[0]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("x-why"))
            && h[1] == "no token"),
        "response headers\n{out}"
    );
}

#[test]
fn handshake_403_pretty_shows_status() {
    let server = Server::builder()
        .reply(Reply::status(403, "Forbidden", &[], "nope"))
        .run(|_| ());
    let out = run(wsdbg().arg(server.url("/")));
    server.finish();
    out.code(1);
    assert!(
        out.stderr.contains("403"),
        "the status is reported on stderr\n{out}"
    );
}

#[test]
fn handshake_wrong_accept_key() {
    let server = Server::builder().reply(Reply::WrongAccept).run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/").as_str()]));
    server.finish();
    let err = out.error_kind("handshake", 1);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Sec-WebSocket-Accept"),
        "the message names the header\n{out}"
    );
}

#[test]
fn handshake_302_names_the_location() {
    let server = Server::builder()
        .reply(Reply::status(
            302,
            "Found",
            &[("Location", "ws://127.0.0.1:1/elsewhere")],
            "",
        ))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/").as_str()]));
    server.finish();
    let err = out.error_kind("handshake", 1);
    assert_eq!(err["status"], 302, "{out}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("ws://127.0.0.1:1/elsewhere"),
        "the location is in the message\n{out}"
    );
}

#[test]
fn handshake_unoffered_subprotocol() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[("Sec-WebSocket-Protocol", "mqtt")]))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", "-p", "chat", server.url("/").as_str()]));
    server.finish();
    let err = out.error_kind("handshake", 1);
    assert!(err["message"].as_str().unwrap().contains("mqtt"), "{out}");
}

#[test]
fn handshake_subprotocol_when_none_offered() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[("Sec-WebSocket-Protocol", "chat")]))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/").as_str()]));
    server.finish();
    out.error_kind("handshake", 1);
}

#[test]
fn handshake_unrequested_extension() {
    let server = Server::builder()
        .reply(Reply::accept_with(&[(
            "Sec-WebSocket-Extensions",
            "permessage-deflate",
        )]))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/").as_str()]));
    server.finish();
    out.error_kind("handshake", 1);
}

#[test]
fn handshake_not_http() {
    let server = Server::builder()
        .reply(Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", "--connect-timeout", "3", server.url("/").as_str()]));
    server.finish();
    out.code(1);
    let err = out.error();
    assert!(
        ["handshake", "connect", "io"].contains(&err["kind"].as_str().unwrap_or("")),
        "{out}"
    );
}

#[test]
fn handshake_101_without_upgrade_header() {
    let server = Server::builder()
        .reply(Reply::Raw(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n".to_vec(),
        ))
        .run(|_| ());
    let out = run(wsdbg().args(["--json", server.url("/").as_str()]));
    server.finish();
    out.error_kind("handshake", 1);
}

#[test]
fn frames_right_after_the_101_are_not_lost() {
    // The 101 and the first frames arrive in one TCP segment.
    let server = Server::builder().reply(Reply::Nothing).run(|c| {
        let req = read_request(c).expect("request");
        let mut b = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            req.accept_key()
        )
        .into_bytes();
        b.extend(text("first"));
        b.extend(text("second"));
        b.extend(close(1000, "at once"));
        c.send(&b);
        c.expect_close()
    });
    let out = run(wsdbg()
        .args(["--json", server.url("/").as_str()])
        .write_stdin(sleep_stdin(3000)));
    server.result();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["first", "second"], "{out}");
}

/// Issue 16 item 7: a frame whose header breaks a rule is failed on the header, with
/// its payload announced but never sent: 1002 at once, with `--keep-open` too (the
/// server holds the socket), and the rule named.
#[test]
fn issue16_a_broken_header_fails_before_its_payload_arrives() {
    for (name, bytes, rule) in [
        (
            "reserved opcode",
            header(true, 0, 3, None, 1 << 20),
            "RFC 6455 5.2",
        ),
        (
            "rsv2",
            header(true, 0b010, 2, None, 1 << 20),
            "RFC 6455 5.2",
        ),
        (
            "masked server frame",
            header(true, 0, 2, Some([1, 2, 3, 4]), 1 << 20),
            "RFC 6455 5.1",
        ),
        (
            "control frame over 125",
            header(true, 0, 9, None, 1 << 20),
            "RFC 6455 5.5",
        ),
    ] {
        let server = violation_server(bytes);
        let out = run(wsdbg()
            .args(["--json", "--keep-open", "--close-timeout", "2"])
            .arg(server.url("/"))
            .write_stdin(""));
        let seen = server.result();
        out.protocol_error(rule);
        let close = seen
            .close
            .unwrap_or_else(|| panic!("{name}: no close frame\n{out}"));
        assert_eq!(close.close_code(), Some(1002), "{name}\n{out}");
        assert!(
            out.elapsed < std::time::Duration::from_millis(1500),
            "{name}: waited for the announced payload\n{out}"
        );
    }
}
