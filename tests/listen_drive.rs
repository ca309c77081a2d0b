//! Issue 11: `wsdbg listen` as a test server you drive, against real clients: Python
//! `websockets` (`tests/py/ws_client.py`), Node `ws` (`tests/peers/node/ws-client.js`)
//! and wsdbg's own client, each through a real socket on 127.0.0.1, each test asserting
//! on what both sides saw (listen's JSON events and the client's).
//!
//! Every listen either runs with `--once` or is killed when its test ends (a [`Proc`] is
//! killed on drop), and every wait is bounded. Without Python or Node a test against
//! them prints a note and passes, except under `CI=true`, where it fails.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::many::{more_fds, upgraded_client};
use common::peers::{Client, ClientKind, Proc};
use common::tmux::Tmux;
use common::*;
use serde_json::Value;

/// How long any one thing may take to show up.
const SOON: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A `wsdbg` command with the environment the other tests use (no colour, no proxy).
fn wsdbg_cmd() -> Command {
    let mut cmd = Command::new(bin());
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "SSLKEYLOGFILE",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NO_COLOR", "1").env("TERM", "dumb");
    cmd
}

/// `wsdbg listen --port 0 --json ARGS`, its stdin a pipe the test writes to; returns it
/// and its address once it said where it listens.
#[track_caller]
fn listen(args: &[&str]) -> (Proc, String) {
    let mut cmd = wsdbg_cmd();
    cmd.args(["listen", "--port", "0", "--json"]).args(args);
    let p = Proc::spawn("wsdbg listen", cmd);
    let ev = p.wait_for("listening event", SOON, |ev| {
        ev.iter().any(|e| e["event"] == "listening")
    });
    let addr = ev[0]["addr"]
        .as_str()
        .unwrap_or_else(|| panic!("no addr\n{}", p.dump()))
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    (p, addr)
}

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Python,
    Node,
    Wsdbg,
}

const EVERY: [Who; 3] = [Who::Python, Who::Node, Who::Wsdbg];

/// Starts a client against `url`, offering `protocols`, stdin a pipe: the third-party
/// ones stay until the connection ends; wsdbg runs `--json --keep-open` (script mode,
/// stays until the server closes). `None` when Python or Node is not installed.
fn client(who: Who, url: &str, protocols: &[&str]) -> Option<Proc> {
    match who {
        Who::Python | Who::Node => {
            let kind = if who == Who::Python {
                ClientKind::Websockets
            } else {
                ClientKind::NodeWs
            };
            let args: Vec<&str> = protocols
                .iter()
                .flat_map(|p| ["--subprotocol", p])
                .collect();
            Client::start(kind, url, &args)
        }
        Who::Wsdbg => {
            let mut cmd = wsdbg_cmd();
            cmd.args(["--json", "--keep-open"]);
            for p in protocols {
                cmd.args(["-p", p]);
            }
            cmd.arg(url);
            Some(Proc::spawn("wsdbg client", cmd))
        }
    }
}

/// The texts of the text messages a client received, in order.
fn got(who: Who, p: &Proc) -> Vec<String> {
    match who {
        Who::Wsdbg => p
            .named("message")
            .iter()
            .filter(|m| m["dir"] == "in" && m["type"] == "text")
            .map(|m| m["text"].as_str().unwrap_or("<no text>").to_string())
            .collect(),
        _ => Client::texts(p),
    }
}

/// When a client sent the text message `text` and when it got it back (seconds on its
/// own clock).
fn sent_and_got_at(who: Who, p: &Proc, text: &str) -> (f64, f64) {
    let ev = p.events();
    let t = |pred: &dyn Fn(&Value) -> bool| {
        ev.iter()
            .find(|e| pred(e))
            .and_then(|e| e["t"].as_f64())
            .unwrap_or_else(|| panic!("{who:?}: no event for {text:?}\n{}", p.dump()))
    };
    match who {
        Who::Wsdbg => (
            t(&|e| e["event"] == "message" && e["dir"] == "out" && e["text"] == text),
            t(&|e| e["event"] == "message" && e["dir"] == "in" && e["text"] == text),
        ),
        _ => (
            t(&|e| e["event"] == "sent" && e["text"] == text),
            t(&|e| e["event"] == "message" && e["text"] == text),
        ),
    }
}

/// The last `close` event (both wsdbg and the client scripts print one with `received`,
/// `sent` and `clean`).
#[track_caller]
fn close_of(p: &Proc) -> Value {
    p.named("close")
        .pop()
        .unwrap_or_else(|| panic!("{}: no close event\n{}", p.name(), p.dump()))
}

/// listen's events about client `id` named `name`.
fn about(l: &Proc, id: u64, name: &str) -> Vec<Value> {
    l.named(name)
        .into_iter()
        .filter(|e| e["client"] == id)
        .collect()
}

/// The texts listen sent to client `id` as data messages.
fn sent_to(l: &Proc, id: u64) -> Vec<String> {
    about(l, id, "message")
        .iter()
        .filter(|m| m["dir"] == "out")
        .map(|m| m["text"].as_str().unwrap_or("<no text>").to_string())
        .collect()
}

/// Waits until listen says client `id` connected.
#[track_caller]
fn connected(l: &Proc, id: u64) -> Value {
    let ev = l.wait_for(&format!("client #{id} connected"), SOON, |ev| {
        ev.iter()
            .any(|e| e["event"] == "client" && e["client"] == id && e["connected"] == true)
    });
    ev.into_iter()
        .find(|e| e["event"] == "client" && e["client"] == id && e["connected"] == true)
        .unwrap()
}

/// Both processes' output, for assertion messages.
fn both(l: &Proc, c: &Proc) -> String {
    format!("{}\n{}", l.dump(), c.dump())
}

/// A close as JSON: `{"code": c, "reason": r}`.
fn said(v: &Value) -> (Option<u64>, String) {
    (
        v["code"].as_u64(),
        v["reason"].as_str().unwrap_or("<none>").to_string(),
    )
}

// ---------------------------------------------------------------------------------------
// Typing into several clients: /to, /clients, /kick, /quit
// ---------------------------------------------------------------------------------------

#[test]
fn issue11_three_clients_to_selects_clients_lists_kick_and_quit() {
    let (mut l, addr) = listen(&[]);
    let url = |path: &str| format!("ws://{addr}{path}");
    // One of each, connected one after the other so their ids are 1, 2, 3.
    let Some(py) = client(Who::Python, &url("/py"), &[]) else {
        l.kill();
        return;
    };
    connected(&l, 1);
    let Some(node) = client(Who::Node, &url("/node"), &[]) else {
        l.kill();
        return;
    };
    connected(&l, 2);
    let ws = client(Who::Wsdbg, &url("/wsdbg?x=1"), &[]).unwrap();
    connected(&l, 3);

    l.send("/to 2");
    l.send("only for two");
    l.send("/to 9");
    l.send("/to all");
    l.send("for everyone");
    l.send("/clients");
    let all = |p: &Proc, who: Who, n: usize| {
        p.wait_for(&format!("{n} message(s)"), SOON, |_| got(who, p).len() >= n);
    };
    all(&node, Who::Node, 2);
    all(&py, Who::Python, 1);
    all(&ws, Who::Wsdbg, 1);
    let notice = l.wait_for("the /clients event", SOON, |ev| {
        ev.iter().any(|e| e["event"] == "clients")
    });
    // Each connection keeps its order: had "only for two" gone to 1 or 3, it would
    // have come before "for everyone".
    assert_eq!(got(Who::Node, &node), ["only for two", "for everyone"]);
    assert_eq!(got(Who::Python, &py), ["for everyone"], "{}", py.dump());
    assert_eq!(got(Who::Wsdbg, &ws), ["for everyone"], "{}", ws.dump());
    // listen's side: what it sent to whom.
    assert_eq!(sent_to(&l, 1), ["for everyone"], "{}", l.dump());
    assert_eq!(
        sent_to(&l, 2),
        ["only for two", "for everyone"],
        "{}",
        l.dump()
    );
    assert_eq!(sent_to(&l, 3), ["for everyone"], "{}", l.dump());
    // `/to 9`: an error, the selection unchanged (the next line still went to all).
    let errors = l.named("error");
    assert_eq!(errors.len(), 1, "{}", l.dump());
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("#9")),
        "{}",
        l.dump()
    );
    // `/clients`: a structured event (issue 17; it was a notice holding the text),
    // one row per client, with its path and frame counts.
    let ev = notice
        .iter()
        .find(|e| e["event"] == "clients")
        .cloned()
        .unwrap_or_default();
    let rows = ev["clients"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 3, "{ev}");
    for (row, (id, path)) in rows
        .iter()
        .zip([(1, "/py"), (2, "/node"), (3, "/wsdbg?x=1")])
    {
        assert_eq!(row["id"], id, "{ev}");
        assert_eq!(row["path"], path, "{ev}");
        assert!(
            row["peer"]
                .as_str()
                .is_some_and(|p| p.starts_with("127.0.0.1:")),
            "{ev}"
        );
    }
    assert_eq!(rows[1]["frames_out"], 2, "client 2 got two frames: {ev}");
    assert_eq!(rows[0]["frames_out"], 1, "client 1 got one frame: {ev}");

    // /kick 3 with a code: only the wsdbg client goes.
    l.send("/kick 3 4003 you go");
    let mut ws = ws;
    assert_eq!(ws.wait_exit(SOON), Some(0), "{}", both(&l, &ws));
    let c = close_of(&ws);
    assert_eq!(said(&c["received"]), (Some(4003), "you go".into()), "{c}");
    assert_eq!(c["clean"], true, "{c}");
    l.wait_for("client 3 left", SOON, |ev| {
        ev.iter()
            .any(|e| e["event"] == "client" && e["client"] == 3 && e["connected"] == false)
    });
    let kicked = about(&l, 3, "close");
    assert_eq!(kicked.len(), 1, "{}", l.dump());
    assert_eq!(said(&kicked[0]["sent"]), (Some(4003), "you go".into()));
    assert_eq!(kicked[0]["initiator"], "local");
    assert!(about(&l, 1, "close").is_empty() && about(&l, 2, "close").is_empty());

    // /quit: 1001 to everyone left; exit 4, not 0, because `/to 9` did not run (stdin
    // is a pipe: script mode).
    l.send("/quit");
    assert_eq!(l.wait_exit(SOON), Some(4), "{}", l.dump());
    for (mut p, id) in [(py, 1), (node, 2)] {
        assert_eq!(p.wait_exit(SOON), Some(0), "{}", both(&l, &p));
        let c = close_of(&p);
        assert_eq!(said(&c["received"]).0, Some(1001), "{}", p.dump());
        assert_eq!(c["clean"], true, "{}", p.dump());
        let mine = about(&l, id, "close");
        assert_eq!(mine.len(), 1, "{}", l.dump());
        assert_eq!(said(&mine[0]["sent"]).0, Some(1001));
        assert_eq!(said(&mine[0]["received"]).0, Some(1001), "{}", l.dump());
        assert_eq!(mine[0]["clean"], true);
    }
}

// ---------------------------------------------------------------------------------------
// A close code sent to a client, and its answer
// ---------------------------------------------------------------------------------------

#[test]
fn issue11_close_4001_to_each_client_and_its_answer() {
    for who in EVERY {
        let (mut l, addr) = listen(&["--once", "-x", "/close 4001 custom"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        // The client: received 4001 "custom", answered, clean.
        let cc = close_of(&c);
        assert_eq!(
            said(&cc["received"]),
            (Some(4001), "custom".into()),
            "{who:?} {cc}"
        );
        assert_eq!(said(&cc["sent"]).0, Some(4001), "{who:?} {cc}");
        assert_eq!(cc["clean"], true, "{who:?} {cc}");
        // listen: sent 4001 "custom", received the client's answer.
        let lc = about(&l, 1, "close");
        assert_eq!(lc.len(), 1, "{who:?}\n{}", l.dump());
        let lc = &lc[0];
        assert_eq!(lc["initiator"], "local", "{who:?} {lc}");
        assert_eq!(
            said(&lc["sent"]),
            (Some(4001), "custom".into()),
            "{who:?} {lc}"
        );
        assert_eq!(
            lc["received"], cc["sent"],
            "{who:?}: what the client sent is what listen received"
        );
        assert_eq!(lc["clean"], true, "{who:?} {lc}");
    }
}

// ---------------------------------------------------------------------------------------
// A fragmented message, then a reserved opcode
// ---------------------------------------------------------------------------------------

#[test]
fn issue11_fragmented_message_then_reserved_opcode_each_client_fails_with_1002() {
    for who in EVERY {
        let (mut l, addr) = listen(&[
            "--once",
            "-x",
            "/frame text fin=0 ab",
            "-x",
            "/frame cont cd",
            "-x",
            "/sleep 200",
            "-x",
            "/frame 3 x",
        ]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        // The client broke the connection: not a clean close on its side.
        assert_eq!(c.wait_exit(SOON), Some(3), "{who:?}\n{}", both(&l, &c));
        // listen got a close and answered it: clean on its side.
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        // The two fragments were put together...
        assert_eq!(got(who, &c), ["abcd"], "{who:?}\n{}", c.dump());
        // ... and the reserved opcode failed the connection with 1002.
        let cc = close_of(&c);
        assert_eq!(said(&cc["sent"]).0, Some(1002), "{who:?} {cc}");
        assert_eq!(cc["clean"], false, "{who:?} {cc}");
        match who {
            Who::Node => assert!(
                c.named("error")
                    .iter()
                    .any(|e| e["code"] == "WS_ERR_INVALID_OPCODE"),
                "{}",
                c.dump()
            ),
            Who::Wsdbg => assert!(
                c.named("error")
                    .iter()
                    .any(|e| e["kind"] == "protocol" && e["rule"] == "RFC 6455 5.2"),
                "{}",
                c.dump()
            ),
            Who::Python => assert!(
                cc["exception"].as_str().is_some_and(|e| e.contains("1002")),
                "{cc}"
            ),
        }
        // listen's side: the frames as sent, the message, and the 1002 it received.
        let frames: Vec<Value> = about(&l, 1, "frame")
            .into_iter()
            .filter(|f| f["dir"] == "out")
            .collect();
        assert!(frames.len() >= 3, "{}", l.dump());
        assert_eq!(
            (&frames[0]["opcode"], &frames[0]["fin"], &frames[0]["text"]),
            (&"text".into(), &false.into(), &"ab".into())
        );
        assert_eq!(
            (&frames[1]["opcode"], &frames[1]["fin"], &frames[1]["text"]),
            (&"continuation".into(), &true.into(), &"cd".into())
        );
        assert_eq!(frames[2]["opcode"], 3, "{}", l.dump());
        assert_eq!(frames[2]["masked"], false, "{}", l.dump());
        assert_eq!(sent_to(&l, 1), ["abcd"], "{}", l.dump());
        let lc = about(&l, 1, "close");
        assert_eq!(lc.len(), 1, "{}", l.dump());
        assert_eq!(lc[0]["initiator"], "remote", "{who:?} {}", lc[0]);
        assert_eq!(said(&lc[0]["received"]).0, Some(1002), "{who:?} {}", lc[0]);
    }
}

// ---------------------------------------------------------------------------------------
// --reject
// ---------------------------------------------------------------------------------------

#[test]
fn issue11_reject_401_seen_by_each_client() {
    let (mut l, addr) = listen(&["--reject", "401", "no token"]);
    let url = format!("ws://{addr}/secret");
    let mut refused = 0;
    for who in [Who::Python, Who::Node] {
        let Some(mut c) = client(who, &url, &[]) else {
            continue;
        };
        assert_eq!(c.wait_exit(SOON), Some(1), "{who:?}\n{}", c.dump());
        refused += 1;
        let r = c.named("rejected");
        assert_eq!(r.len(), 1, "{}", c.dump());
        assert_eq!(r[0]["status"], 401, "{}", c.dump());
        assert_eq!(r[0]["body"], "no token", "{}", c.dump());
        if who == Who::Python {
            assert_eq!(r[0]["exception"], "InvalidStatus", "{}", c.dump());
        }
        assert!(c.named("open").is_empty(), "{}", c.dump());
    }
    // wsdbg's client: exit 1, the status and the body, in JSON and in pretty output.
    let out = run(wsdbg().args(["--json", url.as_str()]));
    let err = out.error_kind("handshake", 1);
    assert_eq!(err["status"], 401, "{out}");
    assert_eq!(err["body"], "no token", "{out}");
    let out = run(wsdbg().arg(url.as_str()));
    out.code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("401") && all.contains("no token"), "{out}");
    refused += 2;
    // listen: one notice per client (refusing is what was asked: not an error),
    // nobody connected.
    let asked = |e: &Value| {
        e["event"] == "notice"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("refused as asked (--reject 401)"))
    };
    l.wait_for("every refusal", SOON, |ev| {
        ev.iter().filter(|e| asked(e)).count() >= refused
    });
    l.kill();
    assert!(l.named("client").is_empty(), "{}", l.dump());
    assert!(l.named("error").is_empty(), "{}", l.dump());
}

// ---------------------------------------------------------------------------------------
// Behaviour flags
// ---------------------------------------------------------------------------------------

#[test]
fn issue11_greet_reaches_each_client_first() {
    for who in EVERY {
        let (mut l, addr) = listen(&["--once", "--greet", "hello there"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        c.send("after the greeting");
        c.wait_for("the echo", SOON, |_| got(who, &c).len() >= 2);
        c.send("/close 1000");
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(
            got(who, &c),
            ["hello there", "after the greeting"],
            "{who:?}"
        );
        assert_eq!(
            sent_to(&l, 1),
            ["hello there", "after the greeting"],
            "{who:?}"
        );
    }
}

#[test]
fn issue11_close_after_3_echoes_the_third_then_closes_4002() {
    for who in EVERY {
        let (mut l, addr) = listen(&["--once", "--close-after", "3", "4002", "enough"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        for m in ["one", "two", "three", "four"] {
            c.send(m);
        }
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(
            got(who, &c),
            ["one", "two", "three"],
            "{who:?}\n{}",
            c.dump()
        );
        let cc = close_of(&c);
        assert_eq!(
            said(&cc["received"]),
            (Some(4002), "enough".into()),
            "{who:?} {cc}"
        );
        assert_eq!(cc["clean"], true, "{who:?} {cc}");
        assert_eq!(
            sent_to(&l, 1),
            ["one", "two", "three"],
            "{who:?}\n{}",
            l.dump()
        );
        let lc = about(&l, 1, "close");
        assert_eq!(
            said(&lc[0]["sent"]),
            (Some(4002), "enough".into()),
            "{}",
            l.dump()
        );
        assert_eq!(lc[0]["initiator"], "local");
        // The close went right after the third message's echo.
        let order: Vec<String> = about(&l, 1, "frame")
            .iter()
            .filter(|f| f["dir"] == "out")
            .map(|f| f["text"].as_str().unwrap_or("CLOSE").to_string())
            .collect();
        assert_eq!(order[..4], ["one", "two", "three", "CLOSE"], "{}", l.dump());
    }
}

#[test]
fn issue11_delay_300_echo_comes_at_least_250_ms_later_on_both_sides() {
    for who in EVERY {
        let (mut l, addr) = listen(&["--once", "--delay", "300"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        c.send("late please");
        c.wait_for("the echo", SOON, |_| !got(who, &c).is_empty());
        c.send("/close 1000");
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        let (sent, back) = sent_and_got_at(who, &c, "late please");
        assert!(
            back - sent >= 0.25,
            "{who:?}: echo after {:.3} s\n{}",
            back - sent,
            c.dump()
        );
        let ms = about(&l, 1, "message");
        let t = |dir: &str| {
            ms.iter()
                .find(|m| m["dir"] == dir && m["text"] == "late please")
                .and_then(|m| m["t"].as_f64())
                .unwrap_or_else(|| panic!("no {dir} message\n{}", l.dump()))
        };
        assert!(
            t("out") - t("in") >= 0.25,
            "{who:?}: listen echoed after {:.3} s\n{}",
            t("out") - t("in"),
            l.dump()
        );
    }
}

/// `--delay` with `--close-after`: the Nth message's echo is due later, but the close
/// goes at once and the echo is dropped. `--close-after` says the close comes after the
/// Nth message is answered; with `--delay` the answer never comes.
#[test]
fn issue11_delay_with_close_after_still_echoes_before_closing() {
    let (mut l, addr) = listen(&["--once", "--delay", "300", "--close-after", "1", "4002"]);
    let mut c = client(Who::Wsdbg, &format!("ws://{addr}/"), &[]).unwrap();
    c.send("echo me, then close");
    assert_eq!(c.wait_exit(SOON), Some(0), "{}", both(&l, &c));
    assert_eq!(l.wait_exit(SOON), Some(0), "{}", both(&l, &c));
    assert_eq!(said(&close_of(&c)["received"]).0, Some(4002));
    assert_eq!(
        got(Who::Wsdbg, &c),
        ["echo me, then close"],
        "{}",
        both(&l, &c)
    );
}

#[test]
fn issue11_once_exit_status_0_after_a_clean_close_3_after_a_drop() {
    for who in EVERY {
        // A clean close by the client: 0.
        let (mut l, addr) = listen(&["--once"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        c.send("/close 1000 done");
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        let lc = about(&l, 1, "close");
        assert_eq!(lc[0]["initiator"], "remote", "{}", l.dump());
        assert_eq!(said(&lc[0]["received"]), (Some(1000), "done".into()));
        assert_eq!(lc[0]["clean"], true);

        // The client's TCP connection dropped, no close frame: 3.
        let (mut l, addr) = listen(&["--once"]);
        let mut c = client(who, &format!("ws://{addr}/"), &[]).unwrap();
        c.send("still here");
        c.wait_for("the echo", SOON, |_| !got(who, &c).is_empty());
        if who == Who::Wsdbg {
            c.kill(); // SIGKILL: the kernel closes the socket, no close frame
        } else {
            c.send("/drop");
            assert_eq!(c.wait_exit(SOON), Some(3), "{who:?}\n{}", both(&l, &c));
            assert_eq!(close_of(&c)["clean"], false);
        }
        assert_eq!(l.wait_exit(SOON), Some(3), "{who:?}\n{}", both(&l, &c));
        let gone = about(&l, 1, "disconnected");
        assert_eq!(gone.len(), 1, "{who:?}\n{}", l.dump());
        assert_eq!(gone[0]["code"], 1006);
        assert!(about(&l, 1, "close").iter().all(|e| e["clean"] == false));
    }
}

#[test]
fn issue11_no_echo_sends_nothing_back() {
    for who in EVERY {
        let (mut l, addr) = listen(&["--once", "--no-echo"]);
        let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
            l.kill();
            continue;
        };
        c.send("hello?");
        l.wait_for("the message", SOON, |_| !about(&l, 1, "message").is_empty());
        // Anything listen sent would be in before the reply to our close.
        c.send("/close 1000");
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
        assert!(got(who, &c).is_empty(), "{who:?}\n{}", c.dump());
        let ms = about(&l, 1, "message");
        assert_eq!(ms.len(), 1, "{}", l.dump());
        assert_eq!(
            (&ms[0]["dir"], &ms[0]["text"]),
            (&"in".into(), &"hello?".into())
        );
    }
}

#[test]
fn issue11_subprotocol_chat_chosen_when_offered_400_when_not_and_header_sent() {
    let (mut l, addr) = listen(&["--subprotocol", "chat", "-H", "X-Test: 1"]);
    let url = format!("ws://{addr}/");
    let mut id = 0;
    for who in EVERY {
        // Offered (second of two): chosen, and the extra header is in the 101.
        let Some(mut c) = client(who, &url, &["other", "chat"]) else {
            continue;
        };
        id += 1;
        let (protocol, headers) = match who {
            Who::Wsdbg => {
                let h = c.wait_for("the handshake", SOON, |ev| {
                    ev.iter().any(|e| e["event"] == "handshake")
                });
                let h = h.into_iter().find(|e| e["event"] == "handshake").unwrap();
                (h["protocol"].clone(), h["response"]["headers"].clone())
            }
            _ => {
                let o = c.wait_for("open", SOON, |ev| ev.iter().any(|e| e["event"] == "open"));
                let o = o.into_iter().find(|e| e["event"] == "open").unwrap();
                (o["protocol"].clone(), o["headers"].clone())
            }
        };
        assert_eq!(protocol, "chat", "{who:?}\n{}", c.dump());
        let has = |name: &str, value: &str| {
            headers
                .as_array()
                .is_some_and(|a| a.iter().any(|h| h[0] == name && h[1] == value))
        };
        assert!(has("X-Test", "1"), "{who:?}: {headers}");
        assert!(has("Sec-WebSocket-Protocol", "chat"), "{who:?}: {headers}");
        let ev = connected(&l, id);
        assert_eq!(ev["protocol"], "chat", "{ev}");
        c.send("/close 1000");
        assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));

        // Not offered: 400, saying why.
        let mut c = client(who, &url, &[]).unwrap();
        id += 1;
        match who {
            Who::Wsdbg => {
                assert_eq!(c.wait_exit(SOON), Some(1), "{}", c.dump());
                let e = &c.named("error")[0];
                assert_eq!(e["status"], 400, "{e}");
                assert!(
                    e["body"].as_str().is_some_and(|b| b.contains("chat")),
                    "{e}"
                );
            }
            _ => {
                assert_eq!(c.wait_exit(SOON), Some(1), "{}", c.dump());
                let r = &c.named("rejected")[0];
                assert_eq!(r["status"], 400, "{r}");
                assert!(
                    r["body"].as_str().is_some_and(|b| b.contains("chat")),
                    "{r}"
                );
            }
        }
        l.wait_for("the refusal", SOON, |ev| {
            ev.iter()
                .any(|e| e["event"] == "error" && e["client"] == id)
        });
    }
    l.kill();
    if id > 0 {
        let connects = l
            .named("client")
            .into_iter()
            .filter(|e| e["connected"] == true)
            .count();
        assert_eq!(connects * 2, id as usize, "{}", l.dump());
    }
}

#[test]
fn issue11_no_pong_leaves_pings_unanswered() {
    for who in EVERY {
        for no_pong in [false, true] {
            let args: &[&str] = if no_pong {
                &["--once", "--no-pong"]
            } else {
                &["--once"]
            };
            let (mut l, addr) = listen(args);
            let Some(mut c) = client(who, &format!("ws://{addr}/"), &[]) else {
                l.kill();
                continue;
            };
            c.send("/ping are you there");
            l.wait_for("the ping", SOON, |_| {
                about(&l, 1, "frame").iter().any(|f| f["opcode"] == "ping")
            });
            // A pong would be on its way by now; then close.
            c.send("/sleep 300");
            c.send("/close 1000");
            assert_eq!(c.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
            assert_eq!(l.wait_exit(SOON), Some(0), "{who:?}\n{}", both(&l, &c));
            let pongs_out = about(&l, 1, "frame")
                .iter()
                .filter(|f| f["dir"] == "out" && f["opcode"] == "pong")
                .count();
            let pongs_in = c.named("pong").len();
            let want = usize::from(!no_pong);
            assert_eq!(pongs_out, want, "{who:?} no_pong={no_pong}\n{}", l.dump());
            assert_eq!(pongs_in, want, "{who:?} no_pong={no_pong}\n{}", c.dump());
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1,000 clients, one broadcast
// ---------------------------------------------------------------------------------------

/// Not a benchmark (bench/broadcast.py measures): one line on listen's stdin reaches
/// every one of 1,000 clients (400 when the file limit is low).
#[test]
fn issue11_one_line_reaches_every_one_of_1000_clients() {
    let fds = more_fds();
    let n: u64 = if fds >= 2200 { 1000 } else { 400 };
    let (mut l, addr) = listen(&["--no-echo"]);
    let mut clients: Vec<TcpStream> = (0..n).map(|_| upgraded_client(&addr)).collect();
    l.wait_for("every client", SOON, |ev| {
        ev.iter()
            .filter(|e| e["event"] == "client" && e["connected"] == true)
            .count() as u64
            == n
    });
    l.send("to every one of you");
    let mut got = 0;
    for (i, s) in clients.iter_mut().enumerate() {
        let f = read_frame(s).unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(
            (f.opcode, f.text().as_str()),
            (OP_TEXT, "to every one of you")
        );
        assert_eq!(f.mask, None, "a server's frame is unmasked");
        got += 1;
    }
    assert_eq!(got, n);
    l.send("/quit");
    // The clients do not answer the 1001: they go away (the sockets close on drop), and
    // listen exits once they are gone.
    drop(clients);
    assert_eq!(l.wait_exit(SOON), Some(0), "{}", l.dump());
    let out = l
        .named("message")
        .into_iter()
        .filter(|m| m["dir"] == "out")
        .count() as u64;
    assert_eq!(out, n, "listen says it sent the line {out} times");
}

// ---------------------------------------------------------------------------------------
// The REPL under tmux
// ---------------------------------------------------------------------------------------

/// `wsdbg listen --port 0` in tmux; returns the session, its address and the file its
/// exit status goes to.
fn listen_in_tmux(tag: &str, dir: &Path) -> (Tmux, String, std::path::PathBuf) {
    let exit_file = dir.join("exit");
    let cmd = format!(
        "env NO_COLOR=1 XDG_STATE_HOME={state} {bin} listen --port 0; echo $? > {exit}; sleep 30",
        state = dir.join("state").display(),
        bin = bin(),
        exit = exit_file.display(),
    );
    let t = Tmux::start(&format!("wsdbg-listen-{tag}-{}", std::process::id()), &cmd);
    let screen = t.wait_for("the listening line", |s| s.contains("listening on ws://"));
    let addr = screen
        .lines()
        .find_map(|l| l.strip_prefix("listening on ws://"))
        .map(|a| a.trim().trim_end_matches('/').to_string())
        .unwrap_or_default();
    assert!(addr.starts_with("127.0.0.1:"), "{screen}");
    (t, addr, exit_file)
}

fn exit_status(exit_file: &Path) -> Option<String> {
    let deadline = Instant::now() + SOON;
    while !exit_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    std::fs::read_to_string(exit_file)
        .ok()
        .map(|s| s.trim().to_string())
}

#[test]
fn issue11_repl_typing_to_and_quit_under_tmux() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (t, addr, exit_file) = listen_in_tmux("drive", dir.path());
    t.wait_for("the empty prompt", |_| {
        t.prompt_line().contains("0 clients → all")
    });
    let mut c = client(Who::Wsdbg, &format!("ws://{addr}/repl"), &[]).unwrap();
    t.wait_for("the client", |s| s.contains("client #1 connected"));

    t.keys(&["hello from the repl", "Enter"]);
    c.wait_for("the typed line", SOON, |_| !got(Who::Wsdbg, &c).is_empty());
    assert_eq!(got(Who::Wsdbg, &c), ["hello from the repl"]);
    t.wait_for("the frame sent", |s| {
        s.contains(">>") && s.contains("[#1] TEXT") && s.contains("\"hello from the repl\"")
    });

    t.keys(&["/to 1", "Enter"]);
    t.wait_for("the prompt naming client 1", |_| {
        t.prompt_line().starts_with("[  1 client  → #1  ]")
    });
    t.keys(&["/clients", "Enter"]);
    t.wait_for("the /clients line", |s| {
        s.lines().any(|l| {
            l.starts_with("#1 127.0.0.1:") && l.contains(" /repl ") && l.ends_with("(selected)")
        })
    });

    t.keys(&["/quit", "Enter"]);
    let code = exit_status(&exit_file)
        .unwrap_or_else(|| panic!("listen did not exit; screen:\n{}", t.screen()));
    assert_eq!(code, "0", "screen:\n{}", t.screen());
    assert_eq!(c.wait_exit(SOON), Some(0), "{}", c.dump());
    let cc = close_of(&c);
    assert_eq!(
        said(&cc["received"]),
        (Some(1001), "going away".into()),
        "{cc}"
    );
    assert_eq!(cc["clean"], true, "{cc}");
}

/// The prompt should count a client as soon as it connected. It counts the clients
/// other than the one connecting (that one is out of the table while it is served), so
/// it says `0 clients` with one client and `1 client` with two, until something else
/// (`/to`, a client leaving) redraws it.
#[test]
fn issue11_repl_prompt_counts_a_client_when_it_connects() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (t, addr, exit_file) = listen_in_tmux("count", dir.path());
    let mut c1 = client(Who::Wsdbg, &format!("ws://{addr}/one"), &[]).unwrap();
    t.wait_for("client 1", |s| s.contains("client #1 connected"));
    std::thread::sleep(Duration::from_millis(300));
    let p1 = t.prompt_line();
    let mut c2 = client(Who::Wsdbg, &format!("ws://{addr}/two"), &[]).unwrap();
    t.wait_for("client 2", |s| s.contains("client #2 connected"));
    std::thread::sleep(Duration::from_millis(300));
    let p2 = t.prompt_line();
    t.keys(&["/quit", "Enter"]);
    assert_eq!(exit_status(&exit_file).as_deref(), Some("0"));
    assert_eq!(c1.wait_exit(SOON), Some(0));
    assert_eq!(c2.wait_exit(SOON), Some(0));
    assert!(
        p1.starts_with("[  1 client  → all ]"),
        "after one connect: {p1:?}"
    );
    assert!(p2.starts_with("[  2 clients → all ]"), "after two: {p2:?}");
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

/// `--reject STATUS [BODY]` takes one or two words, so an ADDR right after
/// `--reject 401` becomes the BODY and listen binds the default address instead, without
/// a word: `wsdbg listen --reject 401 127.0.0.1:8080` listens on 127.0.0.1:9001 and
/// answers "127.0.0.1:8080" to every client. The address should be honoured, or the
/// command refused as ambiguous (exit 2); here 127.0.0.2 must not become a body.
#[test]
fn issue11_an_addr_after_reject_status_is_not_taken_as_the_body() {
    let mut cmd = wsdbg_cmd();
    cmd.args(["listen", "--port", "0", "--reject", "401", "127.0.0.2"]);
    let mut p = Proc::spawn("wsdbg listen", cmd);
    let deadline = Instant::now() + SOON;
    while p.lines().is_empty() && Instant::now() < deadline {
        if let Some(code) = p.wait_exit_now() {
            assert_eq!(code, Some(2), "{}", p.dump());
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    p.kill();
    let first = p.lines().first().cloned().unwrap_or_default();
    assert!(
        first.starts_with("listening on ws://127.0.0.2:"),
        "the address given was not used: {first:?}\n{}",
        p.dump()
    );
}

/// Issue 17: a client that ignores `/kick` was still listed as "(closing)" by
/// `/clients` 5 s after its summary line said it was over. Once its connection is over
/// (the close reply given up on), it is not listed.
#[test]
fn issue17_a_kicked_client_that_ignores_the_close_is_not_listed_once_over() {
    use std::io::{Read, Write};
    let (mut l, addr) = listen(&[]);
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.write_all(
        format!(
            "GET /deaf HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .expect("request");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).expect("a response");
    assert_eq!(&head, b"HTTP/1.1 101");
    l.wait_for("client 1", SOON, |ev| {
        ev.iter()
            .any(|e| e["event"] == "client" && e["client"] == 1)
    });
    l.send("/kick 1");
    // The close reply never comes: listen gives up after its close timeout (5 s).
    l.wait_for("client 1's close given up", Duration::from_secs(15), |ev| {
        ev.iter()
            .any(|e| (e["event"] == "close" || e["event"] == "disconnected") && e["client"] == 1)
    });
    l.send("/clients");
    let ev = l.wait_for("the clients event", SOON, |ev| {
        ev.iter().any(|e| e["event"] == "clients")
    });
    let listed = ev
        .iter()
        .find(|e| e["event"] == "clients")
        .map(|e| e["clients"].clone())
        .unwrap_or_default();
    assert_eq!(listed, serde_json::json!([]), "{}", l.dump());
    drop(s);
    // With nobody left, /quit exits at once (it waited for its 10 s quit deadline
    // while stdin stayed open).
    l.wait_for("client 1 gone", SOON, |ev| {
        ev.iter()
            .any(|e| e["event"] == "client" && e["client"] == 1 && e["connected"] == false)
    });
    l.send("/quit");
    assert_eq!(l.wait_exit(Duration::from_secs(3)), Some(0), "{}", l.dump());
}

/// Issue 19: `listen --har FILE`: one entry per client, its request, and its messages
/// from its side (what it sent as `send`, our echoes as `receive`); `wsdbg replay` of
/// the HAR against a Python `websockets` echo server exits 0. The client is Python
/// `websockets` too.
#[test]
fn issue19_listen_har_is_the_clients_view_and_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("listen.har");
    let (mut l, addr) = listen(&["--once", "--har", har.to_str().expect("utf-8 path")]);
    let Some(c) = common::peers::run_client(
        common::peers::Kind::Websockets,
        &[
            &format!("ws://{addr}/feed"),
            "--no-compress",
            "--count",
            "4",
        ],
        SOON,
    ) else {
        return;
    };
    assert_eq!(c.summary()["equal"], 4, "{c}");
    assert_eq!(l.wait_exit(SOON), Some(0), "{}", l.dump());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("the HAR"))
        .expect("HAR is JSON");
    let e = &doc["log"]["entries"][0];
    assert_eq!(
        e["request"]["url"],
        format!("http://{addr}/feed").as_str(),
        "{e}"
    );
    assert_eq!(e["response"]["status"], 101, "{e}");
    let msgs = e["_webSocketMessages"].as_array().expect("messages");
    let types: Vec<&str> = msgs
        .iter()
        .map(|m| m["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        ["send", "receive", "send", "receive", "send", "receive", "send", "receive"],
        "{e}"
    );
    let Some(py) = common::peers::Peer::websockets() else {
        return;
    };
    let out = run(wsdbg().arg("replay").arg(&har).arg(py.url("/")));
    assert_eq!(out.code, Some(0), "{out}");
}
