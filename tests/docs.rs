//! The JSON events as documented (`src/events_doc.rs`, from which the README and the man
//! page are made) against what the JSON printer emits: one or more samples of every
//! `Event` variant go through `Printer` with `Format::Json`, each line is parsed, and
//! every event name and every key (nested objects too) must be documented; every
//! documented event and key must be emitted by some sample.
//!
//! Adding an `Event` variant: `tag` below stops compiling until the variant has a `Tag`,
//! and `samples` stops compiling until that tag has samples. A sample that leaves out an
//! optional key needs a sibling that includes it, or the reverse check fails.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use wsdbg::error::{Error, Refusal};
use wsdbg::event::{
    CloseFrame, Ctx, Dir, Event, FrameEv, Handshake, HttpHead, Info, Initiator, MsgType,
};
use wsdbg::events_doc::{documents, COMMON, EVENTS};
use wsdbg::render::{Format, Opts, Printer};

/// Declares `Tag` and `Tag::ALL` from one list, so a tag cannot be left out of `ALL`.
macro_rules! tags {
    ($($t:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Tag { $($t),* }
        impl Tag {
            const ALL: &'static [Tag] = &[$(Tag::$t),*];
        }
    };
}

tags!(
    Connecting,
    Handshake,
    Redirect,
    Frame,
    Message,
    Pong,
    Close,
    Disconnected,
    Reconnect,
    Error,
    Warning,
    Notice,
    Info,
    Listening,
    Client,
    Expect,
    Check,
    Clients,
    Summary,
);

/// Exhaustive: a new `Event` variant does not compile until it has a tag here.
fn tag(ev: &Event<'_>) -> Tag {
    match ev {
        Event::Connecting { .. } => Tag::Connecting,
        Event::Handshake(_) => Tag::Handshake,
        Event::Redirect { .. } => Tag::Redirect,
        Event::Frame(_) => Tag::Frame,
        Event::Message { .. } => Tag::Message,
        Event::Pong { .. } => Tag::Pong,
        Event::Close { .. } => Tag::Close,
        Event::Disconnected { .. } => Tag::Disconnected,
        Event::Reconnect { .. } => Tag::Reconnect,
        Event::Error(_) => Tag::Error,
        Event::Warning(_) => Tag::Warning,
        Event::Notice(_) => Tag::Notice,
        Event::Info(_) => Tag::Info,
        Event::Listening { .. } => Tag::Listening,
        Event::Client { .. } => Tag::Client,
        Event::Expect { .. } => Tag::Expect,
        Event::Check(_) => Tag::Check,
        Event::Clients(_) => Tag::Clients,
        Event::Summary(_) => Tag::Summary,
    }
}

/// What the samples borrow.
struct Data {
    handshake: Handshake,
    info: Info,
    info_idle: Info,
    protocol_error: Error,
    refusal_text: Error,
    refusal_binary: Error,
    timeout: Error,
    check: wsdbg::event::CheckResult,
    clients: Vec<wsdbg::event::ClientRow>,
    tally: wsdbg::event::Tally,
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn data() -> Data {
    let handshake = Handshake {
        url: "ws://127.0.0.1:9001/chat".into(),
        request: HttpHead {
            method: "GET".into(),
            path: "/chat".into(),
            headers: headers(&[("Host", "127.0.0.1:9001"), ("Upgrade", "websocket")]),
            ..HttpHead::default()
        },
        response: HttpHead {
            status: 101,
            reason: "Switching Protocols".into(),
            headers: headers(&[("Upgrade", "websocket"), ("Sec-WebSocket-Protocol", "chat")]),
            ..HttpHead::default()
        },
        deflate: Some(
            wsdbg::deflate::Agreed::client(
                &wsdbg::deflate::Params::browser_offer(),
                &wsdbg::deflate::Params::parse("server_max_window_bits=12").unwrap(),
            )
            .unwrap()
            .0,
        ),
        protocol: Some("chat".into()),
        elapsed: Duration::from_micros(12_345),
    };
    let info = Info {
        peer: Some("127.0.0.1:9001".into()),
        handshake: Some(handshake.clone()),
        frames_in: 3,
        frames_out: 2,
        bytes_in: 40,
        bytes_out: 30,
        messages_in: 1,
        messages_out: 1,
        uptime: Duration::from_millis(1500),
        last_rtt: Some(Duration::from_micros(1234)),
        state: "open",
    };
    let refusal = |status, body: &[u8]| {
        Some(Box::new(Refusal {
            status,
            reason: "Forbidden".into(),
            headers: headers(&[("Content-Type", "text/plain")]),
            body: body.to_vec(),
            request: Some(wsdbg::event::HttpHead {
                method: "GET".into(),
                path: "/chat".into(),
                headers: headers(&[("Host", "127.0.0.1:9001")]),
                ..wsdbg::event::HttpHead::default()
            }),
        }))
    };
    Data {
        clients: vec![wsdbg::event::ClientRow {
            id: 1,
            peer: "127.0.0.1:50000".into(),
            path: "/chat".into(),
            protocol: Some("chat".into()),
            uptime: Duration::from_millis(2500),
            frames_in: 3,
            frames_out: 2,
            selected: true,
        }],
        tally: wsdbg::event::Tally {
            checks: 44,
            pass: 40,
            fail: 1,
            lenient: 2,
            not_applicable: 1,
            elapsed: Duration::from_millis(3200),
        },
        check: wsdbg::event::CheckResult {
            name: "reserved opcode 3".into(),
            rfc: "RFC 6455 5.2",
            expected: "close 1002".into(),
            observed: "close 1002 (Protocol Error)".into(),
            verdict: wsdbg::event::Verdict::Pass,
            elapsed: Duration::from_millis(2),
        },
        handshake,
        info,
        info_idle: Info {
            state: "closed",
            peer: None,
            ..Info::default()
        },
        protocol_error: Error::protocol("RSV1 set but no extension negotiated", "RFC 6455 5.2"),
        refusal_text: Error {
            refusal: refusal(403, b"no entry"),
            ..Error::handshake("server refused the upgrade: 403 Forbidden")
        },
        refusal_binary: Error {
            refusal: refusal(500, &[0xff, 0x00]),
            ..Error::handshake("server refused the upgrade: 500")
        },
        timeout: Error::timeout("/wait: 1 message did not arrive within 5000ms"),
    }
}

const CTX: Ctx = Ctx {
    t: Duration::from_millis(1250),
    client: None,
    leg: None,
    stamp: wsdbg::event::Stamp::Relative,
};

/// As `listen` prints it: about client 1 (and with `--timestamps wall`, so `time` is
/// sampled too).
const CLIENT: Ctx = Ctx {
    t: Duration::from_millis(1250),
    client: Some(1),
    leg: None,
    stamp: wsdbg::event::Stamp::Wall(Duration::from_millis(1_796_233_201_123)),
};

/// As `relay` prints a frame: about pair 1, on its server leg.
const RELAY: Ctx = Ctx {
    t: Duration::from_millis(1250),
    client: Some(1),
    leg: Some(wsdbg::event::Leg::Server),
    stamp: wsdbg::event::Stamp::Relative,
};

fn frame(dir: Dir, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Event<'_> {
    Event::Frame(FrameEv {
        dir,
        fin: true,
        rsv: [false; 3],
        opcode: wsdbg::event::OpCode::from(opcode),
        mask,
        payload,
    })
}

/// Exhaustive: a new tag does not compile until it has samples here.
fn samples(t: Tag, d: &Data) -> Vec<(Ctx, Event<'_>)> {
    let key = Some([1, 2, 3, 4]);
    match t {
        Tag::Connecting => vec![(
            CTX,
            Event::Connecting {
                url: "ws://127.0.0.1:9001/",
            },
        )],
        Tag::Handshake => vec![(CTX, Event::Handshake(&d.handshake))],
        Tag::Frame => vec![
            (CTX, frame(Dir::In, 1, None, b"hello")),
            (CLIENT, frame(Dir::Out, 2, key, &[0xff, 0x00])),
            (CTX, frame(Dir::Out, 8, key, b"\x03\xe8bye")),
            (CTX, frame(Dir::In, 8, None, b"")),
            (CTX, frame(Dir::In, 3, None, b"x")),
            (RELAY, frame(Dir::Out, 1, key, b"hi")),
        ],
        Tag::Message => vec![
            (
                CTX,
                Event::Message {
                    dir: Dir::In,
                    kind: MsgType::Text,
                    payload: b"hello",
                    frames: 2,
                    wire: None,
                },
            ),
            (
                CTX,
                Event::Message {
                    dir: Dir::Out,
                    kind: MsgType::Binary,
                    payload: &[0, 1],
                    frames: 1,
                    wire: None,
                },
            ),
        ],
        Tag::Pong => vec![
            (
                CTX,
                Event::Pong {
                    rtt: Duration::from_micros(870),
                    payload: b"hi",
                },
            ),
            (
                CTX,
                Event::Pong {
                    rtt: Duration::from_micros(870),
                    payload: b"",
                },
            ),
        ],
        Tag::Close => vec![
            (
                CTX,
                Event::Close {
                    sent: Some(CloseFrame {
                        code: Some(1000),
                        reason: "done",
                    }),
                    received: Some(CloseFrame {
                        code: Some(1000),
                        reason: "",
                    }),
                    initiator: Initiator::Local,
                    clean: true,
                    reply_after: Some(Duration::from_millis(3)),
                },
            ),
            (
                CLIENT,
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
        ],
        Tag::Disconnected => vec![(
            CTX,
            Event::Disconnected {
                code: 1006,
                reason: "connection reset",
            },
        )],
        Tag::Reconnect => vec![(
            CTX,
            Event::Reconnect {
                attempt: 1,
                delay_ms: 250,
            },
        )],
        Tag::Error => vec![
            (CTX, Event::Error(&d.protocol_error)),
            (CTX, Event::Error(&d.refusal_text)),
            (CTX, Event::Error(&d.refusal_binary)),
            (CLIENT, Event::Error(&d.timeout)),
        ],
        Tag::Warning => vec![(CTX, Event::Warning("certificate not verified (-k)"))],
        Tag::Notice => vec![(CTX, Event::Notice("/help text"))],
        Tag::Redirect => vec![(
            CTX,
            Event::Redirect {
                hop: 1,
                to: "ws://127.0.0.1:9001/new",
                refusal: d.refusal_text.refusal.as_deref().expect("a refusal"),
            },
        )],
        Tag::Info => vec![
            (CTX, Event::Info(&d.info)),
            (CTX, Event::Info(&d.info_idle)),
        ],
        Tag::Check => vec![(CTX, Event::Check(&d.check))],
        Tag::Clients => vec![
            (CTX, Event::Clients(&d.clients)),
            (CTX, Event::Clients(&[])),
        ],
        Tag::Summary => vec![(CTX, Event::Summary(&d.tally))],
        Tag::Expect => vec![
            (
                CTX,
                Event::Expect {
                    what: "text /^hello/",
                    ok: true,
                    got: "text \"hello\"",
                    diff: None,
                },
            ),
            (
                CTX,
                Event::Expect {
                    what: "close 1000",
                    ok: false,
                    got: "close 1002 \"protocol error\"",
                    diff: None,
                },
            ),
            (
                CTX,
                Event::Expect {
                    what: "equal text \"{\\\"a\\\":1}\"",
                    ok: false,
                    got: "text \"{\\\"a\\\":2}\"",
                    diff: Some("$.a: recorded 1, got 2"),
                },
            ),
        ],
        Tag::Listening => vec![(
            CTX,
            Event::Listening {
                addr: "127.0.0.1:9001",
                tls: false,
            },
        )],
        Tag::Client => vec![
            (
                CLIENT,
                Event::Client {
                    peer: "127.0.0.1:50000",
                    connected: true,
                    request: Some(&d.handshake.request),
                    protocol: Some("chat"),
                },
            ),
            (
                CLIENT,
                Event::Client {
                    peer: "127.0.0.1:50000",
                    connected: false,
                    request: None,
                    protocol: None,
                },
            ),
        ],
    }
}

/// The dotted paths of every key in `v`, objects nested to any depth (arrays are values).
fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            let path = format!("{prefix}{k}");
            keys(child, &format!("{path}."), out);
            out.push(path);
        }
    }
}

/// Every sample rendered: (tag, parsed line, the line).
fn rendered() -> Vec<(Tag, Value, String)> {
    let d = data();
    let mut all = Vec::new();
    for &t in Tag::ALL {
        let list = samples(t, &d);
        assert!(!list.is_empty(), "{t:?} has no sample");
        for (i, (ctx, ev)) in list.into_iter().enumerate() {
            assert_eq!(tag(&ev), t, "a sample of {t:?} is another variant");
            let mut p = Printer::new(Format::Json, Opts::default(), Vec::new(), Vec::new());
            // The first message sample also as `--proto` shows it: a Socket.IO event.
            let decoded = (t == Tag::Message && i == 0).then(|| {
                let mut dec = wsdbg::proto::Proto::SocketIo.decoder();
                wsdbg::proto::Decoded {
                    proto: wsdbg::proto::Proto::SocketIo,
                    packets: dec.decode(
                        wsdbg::event::Dir::In,
                        wsdbg::event::MsgType::Text,
                        br#"42["chat",{"text":"hi"}]"#,
                        0.0,
                    ),
                }
            });
            p.emit_with(&ctx, &ev, decoded.as_ref().map(|d| (d, false)))
                .expect("writing to a Vec");
            let out = String::from_utf8(p.out).expect("JSON is UTF-8");
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 1, "{t:?}: one line per event: {out:?}");
            let v: Value = serde_json::from_str(lines[0])
                .unwrap_or_else(|e| panic!("{t:?}: not JSON ({e}): {out}"));
            all.push((t, v, lines[0].to_string()));
        }
    }
    all
}

/// event name -> every key path its samples emitted.
fn emitted() -> BTreeMap<String, BTreeSet<String>> {
    let mut by_event: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (t, v, line) in rendered() {
        let name = v["event"]
            .as_str()
            .unwrap_or_else(|| panic!("{t:?}: no event name: {line}"))
            .to_string();
        assert!(
            line.starts_with(&format!("{{\"event\":\"{name}\"")),
            "{t:?}: event is not the first key: {line}"
        );
        assert!(v["t"].is_number(), "{t:?}: no t: {line}");
        let mut ks = Vec::new();
        keys(&v, "", &mut ks);
        by_event
            .entry(name)
            .or_default()
            .extend(ks.into_iter().filter(|k| k != "event"));
    }
    by_event
}

#[test]
fn every_emitted_event_and_key_is_documented() {
    let mut missing = Vec::new();
    for (name, keys) in emitted() {
        if !EVENTS.iter().any(|e| e.name == name) {
            missing.push(format!("event {name}"));
            continue;
        }
        for k in keys {
            if !documents(&name, &k) {
                missing.push(format!("{name}.{k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "emitted but not documented in src/events_doc.rs: {}",
        missing.join(", ")
    );
}

#[test]
fn every_documented_event_and_key_is_emitted() {
    let emitted = emitted();
    let mut unseen = Vec::new();
    for ev in EVENTS {
        let Some(keys) = emitted.get(ev.name) else {
            unseen.push(format!("event {}", ev.name));
            continue;
        };
        for fl in ev.fields {
            let path = format!("{}.{}", ev.name, fl.key);
            if !keys.contains(fl.key) {
                unseen.push(path);
            }
        }
    }
    for c in COMMON {
        if !emitted.values().any(|keys| keys.contains(c.key)) {
            unseen.push(format!("(every event).{}", c.key));
        }
    }
    assert!(
        unseen.is_empty(),
        "documented but no sample emits it (add a sample, or fix the docs): {}",
        unseen.join(", ")
    );
}

/// `--help` gives every exit code as `exit::help_text` words it and points to the event
/// documentation.
#[test]
fn long_help_lists_the_exit_codes_and_points_to_the_events() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdbg"))
        .arg("--help")
        .output()
        .expect("run wsdbg --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let exit = wsdbg::exit::help_text();
    assert!(help.contains(&exit), "--help lacks:\n{exit}\n---\n{help}");
    assert!(help.contains("JSON EVENTS in man wsdbg"), "{help}");
}

/// Issue 17: `--help` lists every command (with `/expect` and `/help`) and says a failed
/// `/expect` or probe check is exit 4; `man wsdbg` has EXAMPLES; `wsdbg-listen(1)` says
/// listen takes commands (its own list) and what its exit codes are.
#[test]
fn issue17_help_and_man_pages_say_what_each_side_takes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdbg"))
        .arg("--help")
        .output()
        .expect("run wsdbg --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let cmds = help
        .split("Commands (REPL, script, -x)")
        .nth(1)
        .unwrap_or_else(|| panic!("no command list in --help\n{help}"));
    for name in ["/expect", "/help", "/wait", "/reconnect"] {
        assert!(cmds.contains(name), "--help lacks {name}\n{help}");
    }
    assert!(
        !cmds.split("JSON events").next().unwrap().contains("/kick"),
        "{help}"
    );
    assert!(
        help.contains("an /expect) or a probe check failed"),
        "{help}"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let man = std::fs::read_to_string(root.join("man/wsdbg.1")).unwrap();
    assert!(man.contains(".SH EXAMPLES"), "man wsdbg has no EXAMPLES");
    assert!(
        man.contains("failed \\fB/expect\\fR"),
        "EXIT STATUS lacks /expect"
    );
    let listen = std::fs::read_to_string(root.join("man/wsdbg-listen.1")).unwrap();
    for part in [
        ".SH COMMANDS",
        ".SH EXIT STATUS",
        "/clients",
        "/kick",
        "close every client (1001)",
    ] {
        assert!(listen.contains(part), "wsdbg-listen.1 lacks {part}");
    }
    assert!(!listen.contains("/reconnect"), "listen has no /reconnect");
}
