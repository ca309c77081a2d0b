//! Renderers against golden files: a fixed list of events with fixed times, rendered in
//! each format, compared byte for byte with `tests/golden/`. `UPDATE_GOLDEN=1` rewrites
//! the files; review the diff before committing it. The JSON output is also checked
//! structurally against the contract (first key, required fields, types).

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use wsdbg::error::{Error, Refusal};
use wsdbg::event::{
    CloseFrame, Ctx, Dir, Event, FrameEv, Handshake, HttpHead, Info, Initiator, MsgType,
};
use wsdbg::render::{Format, Opts, Printer};

/// What the events borrow.
struct Fixture {
    handshake: Handshake,
    info: Info,
    info_idle: Info,
    protocol_error: Error,
    refusal_text: Error,
    refusal_binary: Error,
    timeout: Error,
    long_text: Vec<u8>,
    long_binary: Vec<u8>,
    huge_text: Vec<u8>,
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn fixture() -> Fixture {
    let handshake = Handshake {
        url: "ws://127.0.0.1:9001/chat".into(),
        request: HttpHead {
            method: "GET".into(),
            path: "/chat".into(),
            headers: h(&[
                ("Host", "127.0.0.1:9001"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Protocol", "chat, superchat"),
            ]),
            ..HttpHead::default()
        },
        response: HttpHead {
            status: 101,
            reason: "Switching Protocols".into(),
            headers: h(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                ("Sec-WebSocket-Protocol", "chat"),
                (
                    "Sec-WebSocket-Extensions",
                    "permessage-deflate; server_max_window_bits=12",
                ),
                ("X-Evil", "a\x1b[31mred"),
            ]),
            ..HttpHead::default()
        },
        protocol: Some("chat".into()),
        deflate: Some(
            wsdbg::deflate::Agreed::client(
                &wsdbg::deflate::Params::browser_offer(),
                &wsdbg::deflate::Params::parse("server_max_window_bits=12").unwrap(),
            )
            .unwrap()
            .0,
        ),
        elapsed: Duration::from_micros(12_345),
    };
    let info = Info {
        handshake: Some(handshake.clone()),
        frames_in: 12,
        frames_out: 9,
        bytes_in: 1234,
        bytes_out: 567,
        messages_in: 7,
        messages_out: 5,
        uptime: Duration::from_millis(1500),
        last_rtt: Some(Duration::from_micros(1234)),
        state: "open",
        peer: None,
    };
    let info_idle = Info {
        state: "closed",
        peer: None,
        ..Info::default()
    };
    let refusal_text = Error {
        refusal: Some(Box::new(Refusal {
            status: 403,
            reason: "Forbidden".into(),
            headers: h(&[("Content-Type", "text/plain"), ("Content-Length", "21")]),
            body: b"no entry\r\nfor you\x1b[0m\n".to_vec(),
            request: None,
        })),
        ..Error::handshake("server refused the upgrade: 403 Forbidden")
    };
    let refusal_binary = Error {
        refusal: Some(Box::new(Refusal {
            status: 500,
            reason: String::new(),
            headers: vec![],
            body: vec![0xff, 0x00, 0x10, 0x80],
            request: None,
        })),
        ..Error::handshake("server refused the upgrade: 500")
    };
    Fixture {
        handshake,
        info,
        info_idle,
        protocol_error: Error::protocol("RSV1 set but no extension negotiated", "RFC 6455 5.2"),
        refusal_text,
        refusal_binary,
        timeout: Error::timeout("/wait: 1 message did not arrive within 5000ms"),
        long_text: "0123456789αβγδε".repeat(20).into_bytes(),
        long_binary: (0..=255u8).cycle().take(100).collect(),
        huge_text: vec![b'x'; 70_000],
    }
}

fn at(ms: u64) -> Ctx {
    Ctx {
        t: Duration::from_millis(ms),
        client: None,
        leg: None,
        stamp: wsdbg::event::Stamp::Relative,
    }
}

fn at_client(ms: u64, n: u64) -> Ctx {
    Ctx {
        t: Duration::from_millis(ms),
        client: Some(n),
        leg: None,
        stamp: wsdbg::event::Stamp::Relative,
    }
}

fn frame(dir: Dir, opcode: u8, fin: bool, payload: &[u8]) -> FrameEv<'_> {
    FrameEv {
        dir,
        fin,
        rsv: [false; 3],
        opcode: wsdbg::event::OpCode::from(opcode),
        mask: match dir {
            Dir::Out => Some([0x1a, 0x2b, 0x3c, 0x4d]),
            Dir::In => None,
        },
        payload,
    }
}

fn script(f: &Fixture) -> Vec<(Ctx, Event<'_>)> {
    use Dir::{In, Out};
    let text_in = |p| Event::Message {
        dir: In,
        kind: MsgType::Text,
        payload: p,
        frames: 1,
        wire: None,
    };
    vec![
        (
            at(0),
            Event::Connecting {
                url: "ws://127.0.0.1:9001/chat",
            },
        ),
        (at(12), Event::Handshake(&f.handshake)),
        (
            at(12),
            Event::Warning("certificate verification is off (-k)"),
        ),
        // A text round trip.
        (at(13), Event::Frame(frame(Out, 1, true, b"hello"))),
        (
            at(13),
            Event::Message {
                dir: Out,
                kind: MsgType::Text,
                payload: b"hello",
                frames: 1,
                wire: None,
            },
        ),
        (at(14), Event::Frame(frame(In, 1, true, b"hello"))),
        (at(14), text_in(b"hello")),
        // Escaping: quotes, backslash, newline, tab, ESC, DEL, non-ASCII.
        (
            at(15),
            Event::Frame(frame(
                In,
                1,
                true,
                "say \"hi\"\\\n\t\x1b[2J\u{7f} é ✓".as_bytes(),
            )),
        ),
        (
            at(15),
            text_in("say \"hi\"\\\n\t\x1b[2J\u{7f} é ✓".as_bytes()),
        ),
        // Issue 16: C1 controls (CSI U+009B, NEL U+0085), a CR, a BEL; U+00A0 is text.
        (
            at(15),
            Event::Frame(frame(
                In,
                1,
                true,
                "csi \u{9b}31m nel \u{85} cr \r bel \x07 nbsp \u{a0}".as_bytes(),
            )),
        ),
        (
            at(15),
            text_in("csi \u{9b}31m nel \u{85} cr \r bel \x07 nbsp \u{a0}".as_bytes()),
        ),
        // Binary, short and long.
        (
            at(16),
            Event::Frame(frame(In, 2, true, &[0x00, 0xff, 0x10, 0x80])),
        ),
        (
            at(16),
            Event::Message {
                dir: In,
                kind: MsgType::Binary,
                payload: &[0x00, 0xff, 0x10, 0x80],
                frames: 1,
                wire: None,
            },
        ),
        (at(17), Event::Frame(frame(In, 2, true, &f.long_binary))),
        (
            at(17),
            Event::Message {
                dir: In,
                kind: MsgType::Binary,
                payload: &f.long_binary,
                frames: 1,
                wire: None,
            },
        ),
        // A long text, cut at a char boundary in pretty.
        (at(18), Event::Frame(frame(In, 1, true, &f.long_text))),
        (at(18), text_in(&f.long_text)),
        // Binary that happens to be valid UTF-8 stays hex in pretty.
        (at(19), Event::Frame(frame(In, 2, true, b"AB"))),
        // Invalid UTF-8 in a text frame (the session rejects it; the renderer must cope).
        (at(19), Event::Frame(frame(In, 1, true, &[0x68, 0xc3]))),
        // A fragmented message: three frames, then the reassembled message.
        (at(20), Event::Frame(frame(In, 1, false, b"hel"))),
        (at(21), Event::Frame(frame(In, 0, false, b"lo "))),
        (at(22), Event::Frame(frame(In, 0, true, b"world"))),
        (
            at(22),
            Event::Message {
                dir: In,
                kind: MsgType::Text,
                payload: b"hello world",
                frames: 3,
                wire: None,
            },
        ),
        // A compressed message (permessage-deflate): the frame shows the wire bytes
        // with RSV1, the message what they inflate to.
        (
            at(23),
            Event::Frame(FrameEv {
                rsv: [true, false, false],
                ..frame(In, 1, true, b"\xf2\x48\xcd\xc9\xc9\x07\x00")
            }),
        ),
        (
            at(23),
            Event::Message {
                dir: In,
                kind: MsgType::Text,
                payload: b"Hello",
                frames: 1,
                wire: Some(7),
            },
        ),
        // A fragmented binary message we sent.
        (at(23), Event::Frame(frame(Out, 2, false, &[1, 2]))),
        (at(23), Event::Frame(frame(Out, 0, true, &[3]))),
        (
            at(23),
            Event::Message {
                dir: Out,
                kind: MsgType::Binary,
                payload: &[1, 2, 3],
                frames: 2,
                wire: None,
            },
        ),
        // A big message: pretty cuts it, json and payload keep all of it.
        (at(24), Event::Frame(frame(In, 1, true, &f.huge_text))),
        (at(24), text_in(&f.huge_text)),
        // Empty text message.
        (at(25), Event::Frame(frame(In, 1, true, b""))),
        (at(25), text_in(b"")),
        // Reserved opcode with RSV bits, unmasked, on purpose.
        (
            at(26),
            Event::Frame(FrameEv {
                dir: Out,
                fin: true,
                rsv: [true, false, true],
                opcode: wsdbg::event::OpCode::from(3),
                mask: None,
                payload: &[0xde, 0xad],
            }),
        ),
        (at(27), Event::Error(&f.protocol_error)),
        // Ping / pong.
        (at(30), Event::Frame(frame(Out, 9, true, b"p1"))),
        (at(31), Event::Frame(frame(In, 10, true, b"p1"))),
        (
            at(31),
            Event::Pong {
                rtt: Duration::from_micros(1234),
                payload: b"p1",
            },
        ),
        (at(32), Event::Frame(frame(In, 9, true, b""))),
        (at(32), Event::Frame(frame(Out, 10, true, b""))),
        (at(33), Event::Info(&f.info)),
        (at(33), Event::Notice("commands:\n  /text TEXT\n  /quit")),
        (at(34), Event::Error(&f.timeout)),
        // Closing handshake.
        (at(40), Event::Frame(frame(Out, 8, true, b"\x03\xe8bye"))),
        (
            at(43),
            Event::Frame(frame(In, 8, true, b"\x03\xeainvalid status code")),
        ),
        (
            at(43),
            Event::Close {
                sent: Some(CloseFrame {
                    code: Some(1000),
                    reason: "bye",
                }),
                received: Some(CloseFrame {
                    code: Some(1002),
                    reason: "invalid status code",
                }),
                initiator: Initiator::Local,
                clean: true,
                reply_after: Some(Duration::from_millis(3)),
            },
        ),
        (
            at(44),
            Event::Disconnected {
                code: 1000,
                reason: "",
            },
        ),
        // A close without a code, a stray byte, a private code.
        (at(50), Event::Frame(frame(In, 8, true, b""))),
        (at(50), Event::Frame(frame(In, 8, true, b"\x03"))),
        (at(50), Event::Frame(frame(In, 8, true, b"\x0f\xa1going"))),
        (
            at(51),
            Event::Close {
                sent: None,
                received: Some(CloseFrame {
                    code: None,
                    reason: "",
                }),
                initiator: Initiator::Remote,
                clean: false,
                reply_after: None,
            },
        ),
        (
            at(52),
            Event::Disconnected {
                code: 1006,
                reason: "connection reset by peer",
            },
        ),
        (
            at(52),
            Event::Reconnect {
                attempt: 1,
                delay_ms: 250,
            },
        ),
        (
            at(302),
            Event::Connecting {
                url: "ws://127.0.0.1:9001/chat",
            },
        ),
        (at(303), Event::Error(&f.refusal_text)),
        (at(303), Event::Error(&f.refusal_binary)),
        (at(304), Event::Info(&f.info_idle)),
        // listen: a server with a client.
        (
            at(400),
            Event::Listening {
                addr: "127.0.0.1:9001",
                tls: false,
            },
        ),
        (
            at_client(401, 1),
            Event::Client {
                peer: "127.0.0.1:50000",
                connected: true,
                request: Some(&f.handshake.request),
                protocol: Some("chat"),
            },
        ),
        (
            at_client(402, 1),
            Event::Frame(frame(In, 1, true, b"echo me")),
        ),
        (
            at_client(402, 1),
            Event::Message {
                dir: In,
                kind: MsgType::Text,
                payload: b"echo me",
                frames: 1,
                wire: None,
            },
        ),
        (
            at_client(402, 1),
            Event::Frame(frame(Out, 1, true, b"echo me")),
        ),
        (
            at_client(403, 1),
            Event::Warning("client sent close code 1005"),
        ),
        (at_client(404, 1), Event::Error(&f.protocol_error)),
        (
            at_client(405, 1),
            Event::Client {
                peer: "127.0.0.1:50000",
                connected: false,
                request: None,
                protocol: None,
            },
        ),
    ]
}

fn render(format: Format, verbose: bool, color: bool) -> (String, String) {
    let opts = Opts {
        verbose,
        color,
        ..Opts::default()
    };
    render_with(format, opts)
}

fn render_with(format: Format, opts: Opts) -> (String, String) {
    let f = fixture();
    let mut p = Printer::new(format, opts, Vec::new(), Vec::new());
    for (ctx, ev) in script(&f) {
        p.emit(&ctx, &ev).unwrap();
    }
    p.flush().unwrap();
    (
        String::from_utf8(p.out).expect("out is UTF-8"),
        String::from_utf8(p.err).expect("err is UTF-8"),
    )
}

fn golden(name: &str, actual: &str) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", name]
        .iter()
        .collect();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output, first at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (UPDATE_GOLDEN=1 rewrites it)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}

#[test]
fn pretty_golden() {
    let (out, err) = render(Format::Pretty, false, false);
    golden("pretty.txt", &out);
    golden("pretty.err.txt", &err);
}

#[test]
fn pretty_verbose_golden() {
    let (out, err) = render(Format::Pretty, true, false);
    golden("pretty_verbose.txt", &out);
    golden("pretty_verbose.err.txt", &err);
}

#[test]
fn json_golden() {
    let (out, err) = render(Format::Json, false, false);
    golden("json.jsonl", &out);
    golden("json.err.txt", &err);
}

#[test]
fn payload_golden() {
    let (out, err) = render(Format::Payload, false, false);
    golden("payload.txt", &out);
    golden("payload.err.txt", &err);
}

/// Issue 16: `-o payload` to a terminal escapes text as pretty does (ESC, C1, CR and the
/// other controls; newline and tab stay), so a peer cannot drive the terminal; to a
/// pipe it writes the bytes as they came (`payload_mode_is_only_received_messages`).
#[test]
fn payload_terminal_golden() {
    let terminal = Opts {
        terminal: true,
        ..Opts::default()
    };
    let (out, err) = render_with(Format::Payload, terminal);
    golden("payload_terminal.txt", &out);
    let (_, pipe_err) = render(Format::Payload, false, false);
    assert_eq!(err, pipe_err, "diagnostics are the same");
    if let Some(c) = out
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        panic!("control {c:?} written to the terminal:\n{out}");
    }
    assert!(out.contains("csi \\u{9b}31m nel \\u{85} cr \\r bel \\u{7} nbsp \u{a0}\n"));
    assert!(out.contains("say \"hi\"\\\n\t\\u{1b}[2J\\u{7f} é ✓\n"));
}

/// Issue 16: `--json` escapes the C1 controls (`\u009b`) and DEL, which serde_json alone
/// leaves raw, in every string: message and frame text, close reasons, headers, errors.
#[test]
fn json_escapes_c1_controls() {
    let (out, _) = render(Format::Json, true, false);
    if let Some(c) = out.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("raw {c:?} in JSON output");
    }
    assert!(out.contains(
        r#""text":"csi \u009b31m nel \u0085 cr \r bel \u0007 nbsp \u{a0}""#
            .replace("\\u{a0}", "\u{a0}")
            .as_str()
    ));
    // And it is still the same JSON.
    let msg = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| {
            v["event"] == "message" && v["text"].as_str().is_some_and(|t| t.starts_with("csi"))
        })
        .expect("the C1 message");
    assert_eq!(
        msg["text"],
        "csi \u{9b}31m nel \u{85} cr \r bel \x07 nbsp \u{a0}"
    );
}

#[test]
fn no_color_means_no_escapes() {
    // `colored`'s global switch must not matter either way.
    colored::control::set_override(true);
    for format in [Format::Pretty, Format::Json, Format::Payload] {
        for verbose in [false, true] {
            let (out, err) = render(format, verbose, false);
            // Payload mode writes received text as it came: that is its job.
            if format != Format::Payload {
                assert!(!out.contains('\x1b'), "{format:?} out has ESC");
            }
            assert!(!err.contains('\x1b'), "{format:?} err has ESC");
        }
    }
    colored::control::unset_override();
}

/// Drops `ESC [ ... m` sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\x1b' {
            assert_eq!(it.next(), Some('['), "ESC not starting an SGR sequence");
            for c in it.by_ref() {
                if c == 'm' {
                    break;
                }
                assert!(c.is_ascii_digit() || c == ';', "bad SGR byte {c:?}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn color_only_adds_sgr_sequences() {
    // `colored`'s global switch must not turn colour off either.
    colored::control::set_override(false);
    let (plain_out, plain_err) = render(Format::Pretty, true, false);
    let (out, err) = render(Format::Pretty, true, true);
    colored::control::unset_override();
    assert!(out.contains("\x1b["));
    assert!(err.contains("\x1b["));
    assert_eq!(strip_ansi(&out), plain_out);
    assert_eq!(strip_ansi(&err), plain_err);
    // Nothing a peer sent reaches the terminal unescaped: only our SGR sequences remain.
    assert!(!strip_ansi(&out).contains('\x1b'));
}

#[test]
fn payload_mode_is_only_received_messages() {
    let f = fixture();
    let expected: String = script(&f)
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::Message {
                dir: Dir::In,
                kind,
                payload,
                ..
            } => Some(match kind {
                MsgType::Text => format!("{}\n", std::str::from_utf8(payload).unwrap()),
                MsgType::Binary => {
                    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{hex}\n")
                }
            }),
            _ => None,
        })
        .collect();
    let (out, err) = render(Format::Payload, true, false);
    assert_eq!(out, expected);
    assert!(err.contains("error: protocol: RSV1 set"));
}

/// Issue 8: `--full` shows every payload whole; `--max-payload N` cuts at N bytes. The
/// other formats never cut, whatever the options.
#[test]
fn pretty_payload_limits() {
    let f = fixture();
    let full = Opts {
        text_max: usize::MAX,
        hex_max: usize::MAX,
        ..Opts::default()
    };
    let (out, _) = render_with(Format::Pretty, full);
    assert!(!out.contains('…'), "nothing is cut");
    let huge = format!("len=70000 \"{}\"\n", "x".repeat(70_000));
    assert!(out.contains(&huge));
    let hex: Vec<String> = f.long_binary.iter().map(|b| format!("{b:02x}")).collect();
    assert!(out.contains(&format!("len=100 {}\n", hex.join(" "))));
    let long = std::str::from_utf8(&f.long_text).unwrap();
    assert!(out.contains(&format!("\"{long}\"\n")));

    let at8 = Opts {
        text_max: 8,
        hex_max: 8,
        ..Opts::default()
    };
    let (out, _) = render_with(Format::Pretty, at8);
    assert!(out.contains("len=70000 \"xxxxxxxx\"… (70000 bytes)\n"));
    assert!(out.contains(&format!("len=100 {} … (100 bytes)\n", hex[..8].join(" "))));
    // 8 bytes of "0123456789αβ…" end inside no char: "01234567".
    assert!(out.contains("\"01234567\"… (400 bytes)\n"));
    // Short payloads are whole.
    assert!(out.contains("len=5 \"hello\"\n"));

    for format in [Format::Json, Format::Payload] {
        assert_eq!(
            render_with(format, at8),
            render(format, false, false),
            "{format:?}"
        );
    }
}

/// Issue 8: `-o raw` writes each received data message's bytes exactly, nothing added
/// (binary stays binary), and its diagnostics are payload mode's.
#[test]
fn raw_mode_is_received_payloads_byte_for_byte() {
    let f = fixture();
    let mut expected = Vec::new();
    for (_, ev) in script(&f) {
        if let Event::Message {
            dir: Dir::In,
            payload,
            ..
        } = ev
        {
            expected.extend_from_slice(payload);
        }
    }
    let mut p = Printer::new(Format::Raw, Opts::default(), Vec::new(), Vec::new());
    for (ctx, ev) in script(&f) {
        p.emit(&ctx, &ev).unwrap();
    }
    p.flush().unwrap();
    assert!(
        p.out == expected,
        "raw out is the received payloads, concatenated"
    );
    assert!(
        p.out.windows(2).any(|w| w == [0x00, 0xff]),
        "binary as bytes"
    );
    let (_, payload_err) = render(Format::Payload, false, false);
    assert_eq!(String::from_utf8(p.err).unwrap(), payload_err);
}

/// The keys of a JSON object, in the order they appear.
fn key_order(line: &str) -> Vec<String> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                keys.push(k);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_str(line);
    (&mut de).deserialize_map(Keys).unwrap()
}

/// Required fields per event: the contract's, and ours for the events it does not name.
fn required(event: &str) -> &'static [&'static str] {
    match event {
        "handshake" => &["url", "request", "response", "protocol", "elapsed_ms"],
        "frame" => &[
            "dir", "opcode", "fin", "rsv", "masked", "mask_key", "len", "hex",
        ],
        "message" => &["dir", "type", "len", "frames"],
        "pong" => &["rtt_ms"],
        "close" => &["code", "reason", "initiator", "clean"],
        "disconnected" => &["code", "reason"],
        "reconnect" => &["attempt", "delay_ms"],
        "error" => &["kind", "message"],
        "warning" | "notice" => &["message"],
        "info" => &["state"],
        "listening" => &["addr"],
        "client" => &["peer", "connected"],
        "connecting" => &["url"],
        other => panic!("unknown event {other:?}"),
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn headers_ok(v: &Value) -> bool {
    v.as_array().is_some_and(|a| {
        a.iter().all(|p| {
            p.as_array()
                .is_some_and(|p| p.len() == 2 && p.iter().all(Value::is_string))
        })
    })
}

#[test]
fn json_follows_the_contract() {
    let f = fixture();
    let events = script(&f);
    let (out, err) = render(Format::Json, false, false);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), events.len(), "one line per event");
    let mut seen = HashSet::new();
    for (line, (ctx, _)) in lines.iter().zip(&events) {
        assert!(line.starts_with("{\"event\":\""), "first key: {line}");
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let o = v.as_object().unwrap();
        let event = o["event"].as_str().unwrap();
        seen.insert(event.to_string());
        let keys = key_order(line);
        assert_eq!(keys[0], "event");
        let req = required(event);
        for k in req {
            assert!(o.contains_key(*k), "{event} lacks {k}: {line}");
        }
        // `t` and `client` come after every required field.
        let t_at = keys.iter().position(|k| k == "t").expect("t");
        for k in req {
            assert!(keys.iter().position(|x| x == k).unwrap() < t_at, "{line}");
        }
        assert_eq!(o["t"].as_f64().unwrap(), ctx.t.as_secs_f64(), "{line}");
        match ctx.client {
            Some(n) if event != "listening" => {
                assert_eq!(o["client"].as_u64(), Some(n), "{line}");
                assert!(keys.iter().position(|k| k == "client").unwrap() > t_at);
            }
            _ => assert!(!o.contains_key("client"), "{line}"),
        }

        match event {
            "handshake" => {
                assert!(o["url"].is_string());
                let q = &o["request"];
                assert!(q["method"].is_string() && q["path"].is_string());
                assert!(headers_ok(&q["headers"]));
                let r = &o["response"];
                assert!(r["status"].is_u64());
                assert!(headers_ok(&r["headers"]));
                assert!(o["protocol"].is_string() || o["protocol"].is_null());
                assert!(o["elapsed_ms"].is_number());
            }
            "frame" => {
                let dir = o["dir"].as_str().unwrap();
                assert!(dir == "in" || dir == "out");
                let op = &o["opcode"];
                let named = ["text", "binary", "continuation", "close", "ping", "pong"];
                assert!(
                    op.as_str().is_some_and(|s| named.contains(&s))
                        || op
                            .as_u64()
                            .is_some_and(|n| [3, 4, 5, 6, 7, 11, 12, 13, 14, 15].contains(&n)),
                    "{line}"
                );
                assert!(o["fin"].is_boolean());
                let rsv = o["rsv"].as_array().unwrap();
                assert!(rsv.len() == 3 && rsv.iter().all(Value::is_boolean));
                let masked = o["masked"].as_bool().unwrap();
                match &o["mask_key"] {
                    Value::Null => assert!(!masked),
                    Value::String(k) => assert!(masked && k.len() == 8 && is_lower_hex(k)),
                    other => panic!("mask_key {other}"),
                }
                let hex = o["hex"].as_str().unwrap();
                assert!(is_lower_hex(hex));
                let len = o["len"].as_u64().unwrap() as usize;
                assert_eq!(hex.len(), 2 * len);
                let bytes = unhex(hex);
                match std::str::from_utf8(&bytes) {
                    Ok(s) => assert_eq!(o["text"].as_str(), Some(s), "{line}"),
                    Err(_) => assert!(!o.contains_key("text"), "{line}"),
                }
                if op == "close" {
                    assert!(o["code"].is_u64() || o["code"].is_null(), "{line}");
                    assert!(o["reason"].is_string(), "{line}");
                } else {
                    assert!(!o.contains_key("code") && !o.contains_key("reason"));
                }
            }
            "message" => {
                let ty = o["type"].as_str().unwrap();
                assert!(ty == "text" || ty == "binary");
                assert!(o["frames"].as_u64().unwrap() >= 1);
                let len = o["len"].as_u64().unwrap() as usize;
                match (o.get("text"), o.get("hex")) {
                    (Some(Value::String(t)), None) => {
                        assert_eq!(ty, "text");
                        assert_eq!(t.len(), len);
                    }
                    (None, Some(Value::String(h))) => {
                        assert!(is_lower_hex(h));
                        assert_eq!(h.len(), 2 * len);
                    }
                    _ => panic!("message needs text or hex: {line}"),
                }
            }
            "pong" => assert!(o["rtt_ms"].is_number()),
            "close" => {
                assert!(o["code"].is_u64() || o["code"].is_null());
                assert!(o["reason"].is_string());
                let i = o["initiator"].as_str().unwrap();
                assert!(i == "local" || i == "remote");
                assert!(o["clean"].is_boolean());
            }
            "disconnected" => {
                assert!(o["code"].is_u64());
                assert!(o["reason"].is_string());
            }
            "reconnect" => {
                assert!(o["attempt"].as_u64().unwrap() >= 1);
                assert!(o["delay_ms"].is_u64());
            }
            "error" => {
                let kinds = [
                    "usage",
                    "connect",
                    "tls",
                    "handshake",
                    "protocol",
                    "io",
                    "timeout",
                ];
                let kind = o["kind"].as_str().unwrap();
                assert!(kinds.contains(&kind));
                assert!(o["message"].is_string());
                if kind == "protocol" {
                    assert!(o["rule"].as_str().unwrap().starts_with("RFC 6455 "));
                }
                if o.contains_key("status") {
                    assert!(o["status"].is_u64());
                    assert!(headers_ok(&o["headers"]));
                    assert!(o["body"].is_string());
                }
            }
            _ => {}
        }
    }
    for e in [
        "handshake",
        "frame",
        "message",
        "pong",
        "close",
        "disconnected",
        "reconnect",
        "error",
        "warning",
        "notice",
        "info",
        "listening",
        "client",
        "connecting",
    ] {
        assert!(seen.contains(e), "the fixture has no {e} event");
    }
    // Diagnostics reach stderr as well, one human line each.
    let errors = lines
        .iter()
        .filter(|l| {
            l.starts_with("{\"event\":\"error\"") || l.starts_with("{\"event\":\"warning\"")
        })
        .count();
    assert_eq!(err.lines().count(), errors);
    assert!(err
        .lines()
        .all(|l| l.starts_with("wsdbg: error: ") || l.starts_with("wsdbg: warning: ")));
}

/// Issue 8: one prefix for every diagnostic, in every format: `wsdbg: error: ` and
/// `wsdbg: warning: ` (the lines after an error that show a refused handshake aside).
#[test]
fn diagnostics_have_one_prefix_in_every_format() {
    for format in [Format::Pretty, Format::Json, Format::Payload] {
        let (_, err) = render(format, false, false);
        let mut n = 0;
        for line in err.lines() {
            if line.contains("error:") || line.contains("warning:") {
                n += 1;
                assert!(
                    line.starts_with("wsdbg: error: ") || line.starts_with("wsdbg: warning: "),
                    "{format:?}: {line}"
                );
            }
        }
        assert_eq!(n, 7, "{format:?}\n{err}");
    }
}

#[test]
fn refusal_body_in_json() {
    let (out, _) = render(Format::Json, false, false);
    let refusals: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("status").is_some())
        .collect();
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0]["status"], 403);
    assert_eq!(refusals[0]["body"], "no entry\r\nfor you\x1b[0m\n");
    assert!(refusals[0].get("body_hex").is_none());
    assert_eq!(refusals[1]["status"], 500);
    assert_eq!(refusals[1]["body_hex"], "ff001080");
}

#[test]
fn pretty_lines_have_the_contract_parts() {
    let (out, _) = render(Format::Pretty, false, false);
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}"))
            .to_string()
    };
    assert_eq!(
        line("\"hello\"").trim_end(),
        ">>   0.013s TEXT   fin=1 rsv=000 mask=1 key=1a2b3c4d len=5 \"hello\""
    );
    assert!(line("code=1000").ends_with("code=1000 (Normal Closure) reason=\"bye\""));
    assert!(line("len=70000").ends_with("… (70000 bytes)"));
    assert!(line("len=100").ends_with("… (100 bytes)"));
    assert!(line("OP3").contains("rsv=101 mask=0 len=2 de ad"));
    assert!(line("message text 3").ends_with("len=11 \"hello world\""));
    assert!(!out.contains("message text 1 frames"));
}
