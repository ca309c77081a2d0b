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
