//! Issue 17: after a connection that stayed up a while (2 s), the backoff starts again
//! at attempt 1 and the shortest delay, however long the delay had grown before it
//! (a 5.3 s connection was followed by a 12 s wait).

mod common;

use std::time::Duration;

use common::*;

#[test]
fn issue17_the_backoff_starts_over_after_a_connection_that_stayed_up() {
    // Three connections dropped at once (the delay grows 400, 800, 1600 ms), then one
    // that stays up 2.5 s, less than the 3.2 s the delay has grown to, then the last.
    let server = Server::builder().conns(5).run_each(|c| match c.index {
        0..=2 => c.hang_up(),
        3 => {
            std::thread::sleep(Duration::from_millis(2500));
            c.hang_up();
        }
        _ => {
            c.send(&text("done"));
            c.echo_until_close();
        }
    });
    let out = run(wsdbg().args([
        "--json",
        "--reconnect",
        "--backoff-min",
        "400",
        "--backoff-max",
        "20000",
        "-x",
        "/wait 1 15000",
        server.url("/").as_str(),
    ]));
    server.finish();
    out.clean_close();
    let reconnects: Vec<(u64, u64)> = out
        .all("reconnect")
        .iter()
        .map(|r| {
            (
                r["attempt"].as_u64().unwrap(),
                r["delay_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(reconnects.len(), 4, "{out}");
    let attempts: Vec<u64> = reconnects.iter().map(|r| r.0).collect();
    assert_eq!(attempts, vec![1, 2, 3, 1], "{out}");
    let last = reconnects[3].1;
    assert!(
        (200..=400).contains(&last),
        "after 2.5 s up the delay starts over at --backoff-min: {last} ms\n{out}"
    );
}
