//! Issue 3: the REPL driven through a real terminal (tmux): echo on screen, an incoming
//! frame printed above a half-typed line that stays intact, history with Up, Tab
//! completion of `/cl`, and `/quit` exiting 0. Without tmux the test is skipped, except
//! under CI (CI=true), where it fails.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::*;

#[test]
fn repl_in_a_real_terminal() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let server = Server::scripted(|c| {
        let first = c.read_frame().expect("first line");
        c.send(&text(&first.text()));
        // Wait for the half-typed line, then push a frame at the client.
        std::thread::sleep(Duration::from_millis(1500));
        c.send(&text("tick from server"));
        let mut texts = vec![first.text()];
        loop {
            let f = c.read_frame().expect("frame");
            match f.opcode {
                OP_CLOSE => {
                    c.reply_close(&f);
                    return (texts, f.close_code());
                }
                OP_TEXT => texts.push(f.text()),
                _ => {}
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let exit_file = dir.path().join("exit");
    let cmd = format!(
        "env NO_COLOR=1 XDG_STATE_HOME={state} {bin} {url}; echo $? > {exit}; sleep 30",
        state = dir.path().join("state").display(),
        bin = bin(),
        url = server.url("/"),
        exit = exit_file.display(),
    );
    let t = Tmux::start(&format!("wsdbg-test-{}", std::process::id()), &cmd);
    t.wait_for("the open prompt", |s| s.contains("[open"));

    t.keys(&["hello repl", "Enter"]);
    t.wait_for("the echo", |s| {
        s.contains("<<") && s.contains("\"hello repl\"")
    });

    // Half a line, then a frame arrives: printed above, the line stays.
    t.keys(&["half typed"]);
    t.wait_for("the pushed frame", |s| s.contains("tick from server"));
    let prompt = t.prompt_line();
    assert!(
        prompt.contains("half typed"),
        "the half-typed line was lost: {prompt:?}\n{}",
        t.screen()
    );
    t.keys(&[" line", "Enter"]);
    t.wait_for("the sent frame", |s| s.contains("\"half typed line\""));

    // History: Up brings back the last line.
    t.keys(&["Up"]);
    t.wait_for("history", |_| t.prompt_line().contains("half typed line"));
    t.keys(&["C-u"]);

    // Tab completes /cl to /close.
    t.keys(&["/cl", "Tab"]);
    t.wait_for("completion", |_| t.prompt_line().contains("/close"));
    t.keys(&["C-u"]);

    t.keys(&["/quit", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&exit_file).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let code = std::fs::read_to_string(&exit_file)
        .unwrap_or_else(|_| panic!("wsdbg did not exit; screen:\n{}", t.screen()));
    assert_eq!(code.trim(), "0", "screen:\n{}", t.screen());
    let (texts, close) = server.result();
    assert_eq!(texts, vec!["hello repl", "half typed line"]);
    assert_eq!(close, Some(1000));
    let history = std::fs::read_to_string(dir.path().join("state/wsdbg/history")).unwrap();
    assert!(
        history.contains("hello repl") && history.contains("/quit"),
        "{history}"
    );
}

/// Ctrl-D, and two Ctrl-C in a row, close with 1000 and exit 0; a history directory that
/// cannot be made is said once and the REPL goes on.
#[test]
fn repl_ctrl_d_ctrl_c_and_unwritable_history() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    // Ctrl-D ends input on an empty line (on a non-empty one it deletes a character).
    for (i, keys) in [vec!["C-u", "C-d"], vec!["C-c", "C-c"]]
        .into_iter()
        .enumerate()
    {
        let server = Server::scripted(|c| {
            let f = c.expect_close();
            c.reply_close(&f);
            f.close_code()
        });
        let dir = tempfile::tempdir().unwrap();
        // A file where the state directory should be: it cannot be made.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let exit_file = dir.path().join("exit");
        let cmd = format!(
            "env NO_COLOR=1 XDG_STATE_HOME={state} {bin} {url}; echo $? > {exit}; sleep 30",
            state = blocker.display(),
            bin = bin(),
            url = server.url("/"),
            exit = exit_file.display(),
        );
        let t = Tmux::start(&format!("wsdbg-keys-{}-{i}", std::process::id()), &cmd);
        let screen = t.wait_for("the open prompt", |s| s.contains("[open"));
        assert_eq!(
            screen.matches("history is not saved").count(),
            1,
            "said once:\n{screen}"
        );
        t.keys(&["typed but not sent"]);
        t.wait_for("the typed text", |_| {
            t.prompt_line().contains("typed but not sent")
        });
        for k in &keys {
            t.keys(&[k]);
            std::thread::sleep(Duration::from_millis(200));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !exit_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        let code = std::fs::read_to_string(&exit_file)
            .unwrap_or_else(|_| panic!("{keys:?}: wsdbg did not exit; screen:\n{}", t.screen()));
        assert_eq!(code.trim(), "0", "{keys:?}; screen:\n{}", t.screen());
        assert_eq!(server.result(), Some(1000), "{keys:?}");
    }
}

/// Waits for `wsdbg`'s exit status, written by the shell into `exit_file`.
fn exit_status(t: &Tmux, exit_file: &Path, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while !exit_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let _ = t;
    std::fs::read_to_string(exit_file)
        .ok()
        .map(|s| s.trim().to_string())
}

#[test]
fn issue8_payload_prompt_follows_the_state_and_ctrl_c_leaves_a_backoff_at_once() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    // The server closes once it has seen one message; wsdbg then waits 20 s to
    // reconnect. With -o payload nothing else is printed, yet the prompt must move
    // from open to the wait, and one Ctrl-C must end the wait at once.
    let server = Server::scripted(|c| {
        let f = c.read_frame().expect("a line");
        c.send(&text(&f.text()));
        c.send(&close(1001, "bye"));
        let _ = c.try_close();
    });
    let dir = tempfile::tempdir().unwrap();
    let exit_file = dir.path().join("exit");
    let cmd = format!(
        "env NO_COLOR=1 XDG_STATE_HOME={state} {bin} -o payload --reconnect --backoff-min 20000 --backoff-max 20000 {url}; echo $? > {exit}; sleep 30",
        state = dir.path().join("state").display(),
        bin = bin(),
        url = server.url("/"),
        exit = exit_file.display(),
    );
    let t = Tmux::start(&format!("wsdbg-payload-{}", std::process::id()), &cmd);
    t.wait_for("the open prompt", |s| s.contains("[open"));
    let prompt = t.prompt_line();
    assert!(prompt.len() <= 14, "a short prompt: {prompt:?}");
    t.keys(&["ping me", "Enter"]);
    t.wait_for("the echo and the backoff wait in the prompt", |s| {
        s.contains("ping me\n") && t.prompt_line().contains("[retry")
    });
    server.finish();
    let asked = Instant::now();
    t.keys(&["C-c"]);
    let code = exit_status(&t, &exit_file, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("one Ctrl-C did not end the wait; screen:\n{}", t.screen()));
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(
        code,
        "0",
        "the last connection closed cleanly\n{}",
        t.screen()
    );
}

#[test]
fn issue8_reconnect_errors_come_before_their_reconnecting_line() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exit_file = dir.path().join("exit");
    let cmd = format!(
        "env NO_COLOR=1 XDG_STATE_HOME={state} {bin} --reconnect --max-retries 2 --backoff-min 300 --backoff-max 300 ws://127.0.0.1:{port}/; echo $? > {exit}; sleep 30",
        state = dir.path().join("state").display(),
        bin = bin(),
        port = closed_port(),
        exit = exit_file.display(),
    );
    let t = Tmux::start(&format!("wsdbg-order-{}", std::process::id()), &cmd);
    let code = exit_status(&t, &exit_file, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("wsdbg did not give up; screen:\n{}", t.screen()));
    assert_eq!(code, "1", "{}", t.screen());
    let screen = t.screen();
    let lines: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("error") || l.contains("reconnecting (attempt"))
        .collect();
    // error, reconnecting 1, error, reconnecting 2, error, giving up.
    let kinds: Vec<char> = lines
        .iter()
        .map(|l| if l.contains("reconnecting") { 'r' } else { 'e' })
        .collect();
    assert_eq!(
        kinds,
        vec!['e', 'r', 'e', 'r', 'e', 'e'],
        "each connect error before its reconnecting line:\n{screen}"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 17: the REPL never loses a line and never stops the network. Driven through tmux
// against Python `websockets` (tests/py/repl_server.py logs what it got). Set
// WSDBG_REPL_BIN to run them against another build (to see them fail before the fix).
// ---------------------------------------------------------------------------------------

use common::peers::{Client, ClientKind, Kind, Peer};

fn repl_bin() -> String {
    std::env::var("WSDBG_REPL_BIN").unwrap_or_else(|_| bin().to_string())
}

/// The shell line tmux runs: wsdbg with no proxy variables, no colour, history in
/// `dir`, its exit status written to `dir/exit`.
fn shell(dir: &Path, args: &str) -> String {
    format!(
        "env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
         NO_COLOR=1 XDG_STATE_HOME={state} {bin} {args}; echo $? > {exit}; sleep 30",
        state = dir.join("state").display(),
        bin = repl_bin(),
        exit = dir.join("exit").display(),
    )
}

/// The Python server and the file it logs to.
fn repl_server(dir: &Path) -> Option<(Peer, std::path::PathBuf)> {
    let log = dir.join("server.log");
    let peer = Peer::script(
        Kind::Websockets,
        "tests/py/repl_server.py",
        &[log.to_str().unwrap()],
    )?;
    Some((peer, log))
}

fn log_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until the server's log satisfies `pred`; fails with the log and the screen.
#[track_caller]
fn wait_log(t: &Tmux, log: &Path, what: &str, limit: Duration, pred: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        let lines = log_lines(log);
        if pred(&lines) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; server log:\n{}\nscreen:\n{}",
                lines.join("\n"),
                t.screen()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn quit_and_status(t: &Tmux, dir: &Path) -> String {
    t.keys(&["C-u", "/quit", "Enter"]);
    exit_status(t, &dir.join("exit"), Duration::from_secs(10))
        .unwrap_or_else(|| panic!("wsdbg did not exit; screen:\n{}", t.screen()))
}

#[test]
fn issue17_a_burst_of_lines_arrives_whole_in_the_client() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((peer, log)) = repl_server(dir.path()) else {
        return;
    };
    let t = Tmux::start(
        &format!("wsdbg-burst-{}", std::process::id()),
        &shell(dir.path(), &peer.url("/")),
    );
    let screen = t.wait_for("the open prompt", |s| s.contains("[open"));
    // 20 bursts of three lines, each in one send-keys: 3 of 3 every time.
    for run in 0..20 {
        let (a, b, c) = (format!("a{run}"), format!("b{run}"), format!("c{run}"));
        t.keys(&[&a, "Enter", &b, "Enter", &c, "Enter"]);
        let want: Vec<String> = [&a, &b, &c].iter().map(|s| format!("text {s}")).collect();
        wait_log(
            &t,
            &log,
            &format!("burst {run}"),
            Duration::from_secs(5),
            |l| want.iter().all(|w| l.contains(w)),
        );
    }
    let texts: Vec<String> = log_lines(&log)
        .into_iter()
        .filter(|l| l.starts_with("text "))
        .collect();
    assert_eq!(texts.len(), 60, "in order, nothing twice: {texts:?}");
    assert_eq!(texts[3], "text a1", "{texts:?}");
    // Item 5: the first line said how to get help and leave.
    assert!(
        screen.contains("/help") && screen.contains("/quit") && screen.contains("Ctrl-D"),
        "no greeting:\n{screen}"
    );
    // Item 5: Ctrl-C on an empty line says what it does, and the REPL goes on.
    t.keys(&["C-c"]);
    t.wait_for("the Ctrl-C hint", |s| s.contains("Ctrl-C again"));
    assert_eq!(quit_and_status(&t, dir.path()), "0", "{}", t.screen());
}

#[test]
fn issue17_a_bracketed_paste_of_two_commands_is_two_commands() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((peer, log)) = repl_server(dir.path()) else {
        return;
    };
    let name = format!("wsdbg-paste-{}", std::process::id());
    let t = Tmux::start(&name, &shell(dir.path(), &peer.url("/")));
    t.wait_for("the open prompt", |s| s.contains("[open"));
    let set = std::process::Command::new("tmux")
        .args(["set-buffer", "-b", &name, "/ping a\n/close 4000\n"])
        .status()
        .unwrap();
    assert!(set.success());
    // -p: bracketed, as the terminal was asked for.
    let paste = std::process::Command::new("tmux")
        .args(["paste-buffer", "-p", "-d", "-b", &name, "-t", &name])
        .status()
        .unwrap();
    assert!(paste.success());
    t.keys(&["Enter"]);
    wait_log(&t, &log, "the close", Duration::from_secs(10), |l| {
        l.iter().any(|x| x.starts_with("closed"))
    });
    assert!(
        log_lines(&log).contains(&"closed 4000".to_string()),
        "{:?}\n{}",
        log_lines(&log),
        t.screen()
    );
    let code = exit_status(&t, &dir.path().join("exit"), Duration::from_secs(10));
    let screen = t.screen();
    assert_eq!(code.as_deref(), Some("0"), "{screen}");
    assert!(
        screen.contains("PING   fin=1 rsv=000 mask=1") && screen.contains("len=1 \"a\""),
        "a ping \"a\" of its own:\n{screen}"
    );
}

/// The tick numbers on the screen.
fn ticks(screen: &str) -> Vec<u64> {
    screen
        .lines()
        .filter_map(|l| l.split("\"tick ").nth(1))
        .filter_map(|r| r.trim_end_matches('"').parse().ok())
        .collect()
}

#[test]
fn issue17_one_tab_never_stops_the_network() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((peer, log)) = repl_server(dir.path()) else {
        return;
    };
    let t = Tmux::start(
        &format!("wsdbg-tab-{}", std::process::id()),
        &shell(dir.path(), &peer.url("/tick")),
    );
    t.wait_for("ticks", |s| ticks(s).iter().any(|&n| n >= 3));
    // One Tab with several candidates (/ping, /pong), then hands off the keyboard.
    t.keys(&["/p", "Tab"]);
    std::thread::sleep(Duration::from_millis(300));
    let before = ticks(&t.screen()).into_iter().max().unwrap_or(0);
    let pongs_before = log_lines(&log)
        .iter()
        .filter(|l| l.starts_with("tick-pong "))
        .count();
    std::thread::sleep(Duration::from_millis(2500));
    let after = ticks(&t.screen()).into_iter().max().unwrap_or(0);
    let lines = log_lines(&log);
    let pongs_after = lines.iter().filter(|l| l.starts_with("tick-pong ")).count();
    assert!(
        !lines.iter().any(|l| l.contains("timeout")),
        "a keepalive ping went unanswered: {lines:?}\n{}",
        t.screen()
    );
    assert!(
        after >= before + 4,
        "frames stopped printing after Tab: tick {before} then {after}\n{}",
        t.screen()
    );
    assert!(
        pongs_after >= pongs_before + 4,
        "pings stopped being answered after Tab: {pongs_before} then {pongs_after}"
    );
    // The line being typed is still there.
    assert!(t.prompt_line().contains("/p"), "{}", t.screen());
    assert_eq!(quit_and_status(&t, dir.path()), "0", "{}", t.screen());
}

/// `wsdbg listen 0` in tmux: its port, read from the screen.
fn listen_port(t: &Tmux) -> u16 {
    let s = t.wait_for("listening on", |s| s.contains("listening on ws://"));
    let addr = s
        .split("listening on ws://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address:\n{s}"));
    addr.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr:?}:\n{s}"))
}

#[test]
fn issue17_listen_a_burst_of_lines_and_ctrl_d() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        &format!("wsdbg-listen17-{}", std::process::id()),
        &shell(dir.path(), "listen 127.0.0.1:0"),
    );
    let port = listen_port(&t);
    let url = format!("ws://127.0.0.1:{port}/");
    let Some(mut client) = Client::start(ClientKind::Websockets, &url, &["--timeout", "60"]) else {
        return;
    };
    client.wait_for("open", Duration::from_secs(10), |e| {
        e.iter().any(|e| e["event"] == "open")
    });
    t.wait_for("the client in the prompt", |_| {
        t.prompt_line().contains("1 client")
    });
    for run in 0..20 {
        let (a, b, c) = (format!("a{run}"), format!("b{run}"), format!("c{run}"));
        t.keys(&[&a, "Enter", &b, "Enter", &c, "Enter"]);
        let n = 3 * (run + 1);
        client.wait_for(&format!("burst {run}"), Duration::from_secs(5), |_| {
            Client::texts(&client).len() >= n
        });
    }
    let texts = Client::texts(&client);
    assert_eq!(texts.len(), 60, "{texts:?}");
    assert_eq!(&texts[..3], &["a0", "b0", "c0"], "{texts:?}");
    // Ctrl-D on an empty line: a notice, and the line editor goes on.
    t.keys(&["C-d"]);
    t.wait_for("the Ctrl-D notice", |s| {
        s.contains("Ctrl-D does not stop listen")
    });
    t.keys(&["/clients", "Enter"]);
    t.wait_for("the client list", |s| {
        s.lines()
            .any(|l| l.contains("#1") && !l.contains("/clients"))
    });
    let code = quit_and_status(&t, dir.path());
    assert_eq!(code, "0", "{}", t.screen());
    let _ = client.wait_exit(Duration::from_secs(10));
    let last = client.named("close");
    assert!(
        last.first().is_some_and(|c| c["received"]["code"] == 1001),
        "/quit closed the client: {last:?}"
    );
}

#[test]
fn issue17_ctrl_c_during_a_connect_says_what_was_not_sent() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    // A listener that never answers: the connect waits for the handshake.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        &format!("wsdbg-unsent-{}", std::process::id()),
        &shell(
            dir.path(),
            &format!("--connect-timeout 20 ws://127.0.0.1:{port}/"),
        ),
    );
    t.wait_for("the connect prompt", |s| s.contains("[connect"));
    t.keys(&[
        "one",
        "Enter",
        "/ping two",
        "Enter",
        "# not a command",
        "Enter",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    t.keys(&["C-c"]);
    let code = exit_status(&t, &dir.path().join("exit"), Duration::from_secs(5))
        .unwrap_or_else(|| panic!("Ctrl-C did not end the connect:\n{}", t.screen()));
    assert_eq!(code, "130", "{}", t.screen());
    let screen = t.screen();
    assert!(
        screen.contains("2 queued command(s) were not sent: interrupted"),
        "{screen}"
    );
    drop(silent);
}

#[test]
fn issue17_the_retry_prompt_counts_down() {
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        &format!("wsdbg-countdown-{}", std::process::id()),
        &shell(
            dir.path(),
            &format!(
                "--reconnect --backoff-min 9000 --backoff-max 9000 ws://127.0.0.1:{}/",
                closed_port()
            ),
        ),
    );
    let first = |s: &str| -> Option<u64> {
        let p = s.lines().rev().find(|l| l.contains("[retry"))?;
        p.split("[retry ")
            .nth(1)?
            .split('s')
            .next()?
            .trim()
            .parse()
            .ok()
    };
    t.wait_for("the retry prompt", |_| first(&t.prompt_line()).is_some());
    let a = first(&t.prompt_line()).unwrap();
    std::thread::sleep(Duration::from_millis(2300));
    let b = first(&t.prompt_line()).unwrap_or(a);
    assert!(
        b + 2 <= a,
        "the prompt did not count down: {a}s then {b}s\n{}",
        t.screen()
    );
    t.keys(&["C-c"]);
    exit_status(&t, &dir.path().join("exit"), Duration::from_secs(5))
        .unwrap_or_else(|| panic!("Ctrl-C did not end the wait:\n{}", t.screen()));
}
