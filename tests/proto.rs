//! Issue 20: `--proto`, the application protocol inside the frames, against real
//! servers: python-socketio and npm `socket.io` (a ping every second, so a client that
//! does not answer Engine.IO's ping is dropped within two seconds), and npm
//! `graphql-ws` serving a subscription. Each test asserts on the JSON `proto` of the
//! message events and on what the server did.
//!
//! Without Python or Node a test against them prints a note and passes, except under
//! `CI=true`, where it fails.

mod common;

use common::peers::{Kind, Peer};
use common::*;
use serde_json::Value;

/// The `proto` objects of the message events in one direction.
fn protos(out: &Run, dir: &str) -> Vec<Value> {
    out.messages(dir)
        .into_iter()
        .filter_map(|m| m.get("proto").cloned())
        .collect()
}

fn find<'a>(ps: &'a [Value], ty: &str) -> Vec<&'a Value> {
    ps.iter().filter(|p| p["type"] == ty).collect()
}

/// Socket.IO v5: open, CONNECT, an event both ways, an ack with its id, a binary event
/// with its attachment, and a session that outlives five of the server's ping
/// intervals because each ping is answered; `--hide heartbeat` leaves the pings and
/// pongs out of the output (the session still answers them).
#[test]
fn socketio_against_python_socketio_and_node_socket_io() {
    let servers = [
        Peer::script(Kind::Websockets, "tests/py/socketio_server.py", &[]),
        Peer::script(Kind::NodeWs, "tests/peers/node/socketio-server.js", &[]),
    ];
    for server in servers {
        let Some(server) = server else { continue };
        let who = server.name();
        let url = server.url("/socket.io/?EIO=4&transport=websocket");
        let script = [
            "/wait 1",
            "40",
            "/wait 1",
            "/emit chat hello",
            r#"/expect text ^42\["chat" within 5000"#,
            "/emit ack ask q",
            r"/expect text ^431 within 5000",
            "/sleep 5000",
            r#"451-["upload",{"_placeholder":true,"num":0}]"#,
            "/binary 010203",
            r#"/expect text ^42\["got",3\] within 5000"#,
        ];
        let mut cmd = wsdbg();
        cmd.arg("--json");
        for line in script {
            cmd.args(["-x", line]);
        }
        let out = run(cmd.arg(&url));
        assert_eq!(
            out.code,
            Some(0),
            "{who}: the session lasted and every /expect passed\n{out}"
        );
        let got = protos(&out, "in");
        let open = find(&got, "open");
        assert_eq!(open.len(), 1, "{who}: {out}");
        assert!(open[0]["sid"].is_string(), "{who}: {}", open[0]);
        assert_eq!(find(&got, "CONNECT").len(), 1, "{who}: {out}");
        let chat = find(&got, "EVENT");
        assert_eq!(chat[0]["event"], "chat", "{who}: {out}");
        assert_eq!(chat[0]["args"][0]["echo"], "hello", "{who}: {out}");
        let ack = find(&got, "ACK");
        assert_eq!(ack[0]["id"], 1, "{who}: /emit ack handed out id 1: {out}");
        assert!(
            ack[0]["rtt_ms"].as_f64().is_some_and(|r| r >= 0.0),
            "{who}: {}",
            ack[0]
        );
        let got3 = chat
            .iter()
            .find(|p| p["event"] == "got")
            .expect("the got event");
        assert_eq!(
            got3["args"][0], 3,
            "{who}: the server counted the attachment's 3 bytes"
        );
        let sent = protos(&out, "out");
        let up = find(&sent, "BINARY_EVENT");
        assert_eq!(up[0]["args"][0]["_binary"], "010203", "{who}: {out}");
        // At least four of the server's pings in those 5 s, each answered.
        let pings = find(&got, "ping").len();
        let pongs = find(&sent, "pong").len();
        assert!(pings >= 4, "{who}: {pings} pings\n{out}");
        assert_eq!(pongs, pings, "{who}: every ping answered\n{out}");
        // --hide heartbeat: no ping or pong shown, the session still answered them.
        let out = run(wsdbg()
            .args([
                "--json",
                "--hide",
                "heartbeat",
                "-x",
                "/wait 1",
                "-x",
                "40",
                "-x",
                "/sleep 3000",
            ])
            .arg(&url));
        assert_eq!(out.code, Some(0), "{who}: {out}");
        let shown: Vec<Value> = protos(&out, "in")
            .into_iter()
            .chain(protos(&out, "out"))
            .collect();
        assert!(
            find(&shown, "ping").is_empty() && find(&shown, "pong").is_empty(),
            "{who}: {out}"
        );
        assert!(!find(&shown, "CONNECT").is_empty(), "{who}: {out}");
    }
}

/// graphql-transport-ws against npm `graphql-ws`: connection_init and its ack, a
/// subscription, its three `next`, and `complete`, each decoded.
#[test]
fn graphql_ws_subscription_against_node_graphql_ws() {
    let Some(server) = Peer::script(Kind::NodeWs, "tests/peers/node/graphql-server.js", &[]) else {
        return;
    };
    let out = run(wsdbg()
        .args(["--json", "-p", "graphql-transport-ws"])
        .args(["-x", "/gql init", "-x", "/wait 1"])
        .args([
            "-x",
            "/gql subscription { greetings }",
            "-x",
            r#"/expect text "type":"complete" within 5000"#,
        ])
        .arg(server.url("/graphql")));
    assert_eq!(out.code, Some(0), "{out}");
    let got = protos(&out, "in");
    let types: Vec<&str> = got
        .iter()
        .map(|p| p["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        ["connection_ack", "next", "next", "next", "complete"],
        "{out}"
    );
    assert!(got.iter().all(|p| p["name"] == "graphql-ws"), "{out}");
    let hellos: Vec<&str> = got[1..4]
        .iter()
        .map(|p| p["payload"]["data"]["greetings"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(hellos, ["Hi", "Bonjour", "Hola"], "{out}");
    let sent = protos(&out, "out");
    assert_eq!(sent[0]["type"], "connection_init");
    assert_eq!(sent[1]["type"], "subscribe");
    assert_eq!(sent[1]["id"], "1", "/gql handed out id 1");
    assert_eq!(sent[1]["query"], "subscription { greetings }");
    // --proto raw: the same session, nothing decoded.
    let out = run(wsdbg()
        .args(["--json", "--proto", "raw", "-p", "graphql-transport-ws"])
        .args(["-x", r#"{"type":"connection_init"}"#, "-x", "/wait 1"])
        .arg(server.url("/graphql")));
    out.code(0);
    assert!(protos(&out, "in").is_empty(), "{out}");
    // --filter PATH=VALUE shows only the matching messages.
    let out = run(wsdbg()
        .args([
            "--json",
            "-p",
            "graphql-transport-ws",
            "--filter",
            "type=next",
        ])
        .args(["-x", r#"{"type":"connection_init"}"#, "-x", "/wait 1"])
        .args([
            "-x",
            r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { greetings }"}}"#,
            "-x",
            "/wait 4 5000",
        ])
        .arg(server.url("/graphql")));
    out.code(0);
    let shown: Vec<String> = out
        .messages("in")
        .iter()
        .map(|m| m["proto"]["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(shown, ["next", "next", "next"], "{out}");
}

/// Bad options say what was expected.
#[test]
fn proto_usage_errors() {
    for (args, says) in [
        (
            &["--proto", "soap"][..],
            "--proto: expected auto or one of raw, socketio",
        ),
        (
            &["--hide", "frames"][..],
            "--hide: expected heartbeat, ping or pong",
        ),
        (
            &["--filter", "("][..],
            "--filter: expected a regex or PATH=VALUE",
        ),
    ] {
        let out = run(wsdbg().args(args).arg("ws://127.0.0.1:1/"));
        out.code(2);
        assert!(out.stderr.contains(says), "{args:?}: {out}");
    }
}

/// MQTT 3.1.1 against Debian's `mosquitto` with a websockets listener: CONNECT and its
/// CONNACK, SUBSCRIBE and its SUBACK, and a PUBLISH from another client arriving
/// decoded with its topic, QoS and payload; `/mqtt`, `/subscribe` and `/publish` make
/// the packets.
#[test]
fn mqtt_against_mosquitto() {
    let mosquitto = std::path::Path::new("/usr/sbin/mosquitto");
    if !mosquitto.exists() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but mosquitto is missing (Debian's package mosquitto; scripts/test.sh installs it)"
        );
        eprintln!("note: skipping the mosquitto test: /usr/sbin/mosquitto is missing");
        return;
    }
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let (tcp, ws) = (free(), free());
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("mosquitto.conf");
    // mosquitto 2.0 starts a websockets listener only beside a plain one.
    std::fs::write(
        &conf,
        format!("listener {tcp} 127.0.0.1\nlistener {ws}\nprotocol websockets\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let mut broker = std::process::Command::new(mosquitto)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", ws)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not listen on {ws}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("ws://127.0.0.1:{ws}/");
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--json", "-p", "mqtt"])
        .args(["-x", "/mqtt connect sub1", "-x", "/wait 1"])
        .args(["-x", "/subscribe sensors/# qos=1", "-x", "/wait 1"])
        .args(["-x", "/wait 1 8000"])
        .arg(&url)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    let mut sub = common::peers::Proc::spawn("wsdbg subscriber", cmd);
    sub.wait_for("the SUBACK", std::time::Duration::from_secs(10), |ev| {
        ev.iter().any(|e| e["proto"]["type"] == "SUBACK")
    });
    let out = run(wsdbg()
        .args(["--json", "-p", "mqtt"])
        .args(["-x", "/mqtt connect pub1", "-x", "/wait 1"])
        .args(["-x", "/publish sensors/t qos=1 21.5", "-x", "/wait 1 5000"])
        .arg(&url));
    out.code(0);
    let got = protos(&out, "in");
    assert_eq!(got[0]["type"], "CONNACK", "{out}");
    assert_eq!(got[1]["type"], "PUBACK", "{out}");
    assert_eq!(got[1]["packet_id"], 1, "{out}");
    assert_eq!(
        sub.wait_exit(std::time::Duration::from_secs(15)),
        Some(0),
        "{}",
        sub.dump()
    );
    let ev = sub.events();
    let publish = ev
        .iter()
        .find(|e| e["event"] == "message" && e["dir"] == "in" && e["proto"]["type"] == "PUBLISH")
        .unwrap_or_else(|| panic!("no PUBLISH reached the subscriber: {}", sub.dump()));
    assert_eq!(publish["proto"]["topic"], "sensors/t");
    assert_eq!(publish["proto"]["qos"], 1);
    assert_eq!(publish["proto"]["payload"], "21.5");
    let sent: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "message" && e["dir"] == "out")
        .collect();
    assert_eq!(sent[0]["proto"]["type"], "CONNECT");
    assert_eq!(sent[0]["proto"]["client_id"], "sub1");
    assert_eq!(sent[1]["proto"]["type"], "SUBSCRIBE");
    let _ = broker.kill();
    let _ = broker.wait();
}

/// STOMP 1.1 against npm `stomp-broker-js`: CONNECT and CONNECTED (the version and
/// heart-beat negotiated), SUBSCRIBE, and a SEND from a second client delivered as a
/// MESSAGE, each decoded with its command, headers and body; `/stomp` makes the frames.
#[test]
fn stomp_against_node_stomp_broker_js() {
    let Some(server) = Peer::script(Kind::NodeWs, "tests/peers/node/stomp-server.js", &[]) else {
        return;
    };
    let url = server.url("/stomp");
    let connect = "/stomp CONNECT accept-version:1.1 host:localhost heart-beat:0,0";
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--json", "-p", "v11.stomp", "-x", connect, "-x", "/wait 1"])
        .args([
            "-x",
            "/stomp SUBSCRIBE id:0 destination:/queue/a",
            "-x",
            "/wait 1 8000",
        ])
        .arg(&url)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    let mut sub = common::peers::Proc::spawn("wsdbg STOMP subscriber", cmd);
    sub.wait_for(
        "the subscription",
        std::time::Duration::from_secs(10),
        |ev| ev.iter().any(|e| e["proto"]["command"] == "SUBSCRIBE"),
    );
    // The broker has the subscription once it read it: give it a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = run(wsdbg()
        .args(["--json", "-p", "v11.stomp", "-x", connect, "-x", "/wait 1"])
        .args([
            "-x",
            "/stomp SEND destination:/queue/a content-type:text/plain hello there",
        ])
        .args(["-x", "/sleep 300"])
        .arg(&url));
    out.code(0);
    let got = protos(&out, "in");
    assert_eq!(got[0]["type"], "CONNECTED", "{out}");
    assert_eq!(got[0]["headers"]["version"], "1.1", "{out}");
    let sent = protos(&out, "out");
    assert_eq!(sent[1]["type"], "SEND", "{out}");
    assert_eq!(sent[1]["headers"]["destination"], "/queue/a", "{out}");
    assert_eq!(
        sub.wait_exit(std::time::Duration::from_secs(15)),
        Some(0),
        "{}",
        sub.dump()
    );
    let msg = sub
        .events()
        .into_iter()
        .find(|e| e["event"] == "message" && e["proto"]["type"] == "MESSAGE")
        .unwrap_or_else(|| panic!("no MESSAGE: {}", sub.dump()));
    assert_eq!(msg["proto"]["headers"]["destination"], "/queue/a");
    assert_eq!(msg["proto"]["body"], "hello there");
}

/// SignalR's JSON hub protocol against a peer written from the published protocol (no
/// SignalR server runs here: it needs .NET): `/signalr` makes the handshake with its
/// 0x1E, `/invoke` an Invocation with an id; the server's broadcast, the Completion for
/// that id and its pings decoded, each ping answered with a ping. And JSON-RPC 2.0
/// against the `jsonrpcserver` package: `/rpc` requests matched to their response and
/// error, with the round-trip time.
#[test]
fn signalr_and_jsonrpc() {
    let Some(server) = Peer::script(Kind::Websockets, "tests/py/hub_server.py", &[]) else {
        return;
    };
    let out = run(wsdbg()
        .args(["--json", "-x", "/signalr", "-x", "/wait 1"])
        .args([
            "-x",
            r#"/invoke SendMessage bob "hi there""#,
            "-x",
            "/wait 2 5000",
        ])
        .args(["-x", "/sleep 1000"])
        .arg(server.url("/chathub?id=abc")));
    out.code(0);
    let got = protos(&out, "in");
    assert_eq!(got[0]["type"], "handshake response", "{out}");
    let recv = find(&got, "Invocation");
    assert_eq!(recv[0]["target"], "ReceiveMessage", "{out}");
    assert_eq!(
        recv[0]["arguments"],
        serde_json::json!(["bob", "hi there"]),
        "{out}"
    );
    let done = find(&got, "Completion");
    assert_eq!(done[0]["invocationId"], "1", "{out}");
    assert_eq!(done[0]["result"], "sent", "{out}");
    let pings = find(&got, "Ping").len();
    let sent = protos(&out, "out");
    assert_eq!(sent[0]["type"], "handshake", "{out}");
    assert!(pings >= 2, "{pings} pings: {out}");
    assert_eq!(
        find(&sent, "Ping").len(),
        pings,
        "each ping answered: {out}"
    );
    // JSON-RPC: no subprotocol to go by, so --proto names it.
    let out = run(wsdbg()
        .args(["--json", "--proto", "jsonrpc"])
        .args(["-x", "/rpc subtract [42, 23]", "-x", "/wait 1"])
        .args(["-x", "/rpc nope", "-x", "/wait 1"])
        .arg(server.url("/rpc")));
    out.code(0);
    let got = protos(&out, "in");
    assert_eq!(got[0]["type"], "response", "{out}");
    assert_eq!(got[0]["result"], 19, "{out}");
    assert_eq!(got[0]["method"], "subtract", "{out}");
    assert!(got[0]["rtt_ms"].is_number(), "{out}");
    assert_eq!(got[1]["type"], "error", "{out}");
    assert_eq!(got[1]["error"]["code"], -32601, "{out}");
    assert_eq!(got[1]["code_name"], "Method not found", "{out}");
    assert_eq!(got[1]["method"], "nope", "matched to its request: {out}");
}

/// STOMP heart-beats as negotiated: against a `stomp-broker-js` broker that wants one
/// every 400 ms (and drops a client silent for 1.4 s), a session that asked for
/// `heart-beat:400,400` sends an EOL every 400 ms and stays up for 3 s, closed by us; with
/// `--proto raw` (nothing sent on its own) the broker ends it first.
#[test]
fn stomp_heart_beats_keep_the_session_up() {
    let Some(server) = Peer::script(
        Kind::NodeWs,
        "tests/peers/node/stomp-server.js",
        &["--heartbeat", "400,400"],
    ) else {
        return;
    };
    let url = server.url("/stomp");
    let session = |extra: &[&str]| {
        run(wsdbg()
            .args(["--json", "-p", "v11.stomp"])
            .args(extra)
            .args([
                "-x",
                "/stomp CONNECT accept-version:1.1 host:localhost heart-beat:400,400",
            ])
            .args(["-x", "/wait 1", "-x", "/sleep 3000"])
            .arg(&url))
    };
    let out = session(&[]);
    out.code(0);
    assert_eq!(out.first("close")["initiator"], "local", "it lasted: {out}");
    let beats = out
        .messages("out")
        .iter()
        .filter(|m| m["proto"]["type"] == "heartbeat")
        .count();
    assert!(beats >= 5, "{beats} heart-beats in 3 s: {out}");
    let out = session(&["--proto", "raw"]);
    assert_eq!(
        out.first("close")["initiator"],
        "remote",
        "the broker gave up: {out}"
    );
}

/// `--proto` in `relay` and `listen`: the relay decodes both legs of a Socket.IO session
/// (python-socketio behind it; the keep-alives are the client's to answer, and the
/// relay forwards them), and `listen --proto mqtt`, as the broker side, answers a
/// client's PINGREQ with a PINGRESP.
#[test]
fn proto_in_relay_and_listen() {
    let Some(server) = Peer::script(Kind::Websockets, "tests/py/socketio_server.py", &[]) else {
        return;
    };
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["relay", "--port", "0", "--json"])
        .arg(server.url("/"))
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    let mut r = common::peers::Proc::spawn("wsdbg relay", cmd);
    let ev = r.wait_for("listening", std::time::Duration::from_secs(10), |ev| {
        ev.iter().any(|e| e["event"] == "listening")
    });
    let addr = ev[0]["addr"].as_str().unwrap().to_string();
    let out = run(wsdbg()
        .args(["--json", "-x", "/wait 1", "-x", "40", "-x", "/wait 1"])
        .args([
            "-x",
            "/emit chat via-relay",
            "-x",
            "/wait 1",
            "-x",
            "/sleep 1500",
        ])
        .arg(format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")));
    out.code(0);
    let ev = r.wait_for("the pair's end", std::time::Duration::from_secs(10), |ev| {
        ev.iter()
            .any(|e| e["event"] == "client" && e["connected"] == false)
    });
    for leg in ["client", "server"] {
        let events: Vec<&Value> = ev
            .iter()
            .filter(|e| e["event"] == "message" && e["leg"] == leg && e["proto"]["type"] == "EVENT")
            .collect();
        assert!(
            events.iter().any(|e| e["proto"]["args"][0] == "via-relay"),
            "the {leg} leg decoded: {}",
            r.dump()
        );
    }
    // The client answered the server's pings through the relay; the relay added none.
    let pongs_from_client = ev
        .iter()
        .filter(|e| {
            e["event"] == "message"
                && e["leg"] == "client"
                && e["dir"] == "in"
                && e["proto"]["type"] == "pong"
        })
        .count();
    let pongs_to_server = ev
        .iter()
        .filter(|e| {
            e["event"] == "message"
                && e["leg"] == "server"
                && e["dir"] == "out"
                && e["proto"]["type"] == "pong"
        })
        .count();
    assert!(pongs_from_client >= 1, "{}", r.dump());
    assert_eq!(pongs_from_client, pongs_to_server, "{}", r.dump());
    r.kill();
    // listen as an MQTT broker side: PINGREQ answered with PINGRESP.
    let l = Listen::json_with(&["--proto", "mqtt", "--no-echo"]);
    let out = run(wsdbg()
        .args([
            "--json",
            "--proto",
            "mqtt",
            "-x",
            "/binary c000",
            "-x",
            "/wait 1",
        ])
        .arg(l.url("/")));
    out.code(0);
    let got = protos(&out, "in");
    assert_eq!(got.len(), 1, "{out}");
    assert_eq!(got[0]["type"], "PINGRESP", "{out}");
}
