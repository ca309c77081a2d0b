//! wss:// against a rustls server whose CA is made at test time: `--cacert`, `-k`,
//! mutual TLS, `SSLKEYLOGFILE`, and what happens without them.

mod common;

use std::io::Read;

use common::*;

/// A TLS server that echoes until the client closes.
fn tls_echo(pki: &Pki, client_auth: bool) -> Server<Option<ClientFrame>> {
    Server::builder()
        .tls(pki.server_config(client_auth))
        .run(|c| c.echo_until_close())
}

/// A TLS server whose handshake is expected to fail: it only tries to read.
fn tls_refused(pki: &Pki, client_auth: bool) -> Server<bool> {
    Server::builder()
        .tls(pki.server_config(client_auth))
        .reply(Reply::Nothing)
        .run(|c| {
            let mut buf = [0u8; 1024];
            // true when the client got as far as sending application data.
            matches!(c.read(&mut buf), Ok(n) if n > 0)
        })
}

#[test]
fn cacert_localhost() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(server.wss_url("/secure"))
        .write_stdin("over tls\n"));
    let req = server.request();
    let close = server.result();
    out.clean_close();
    assert_eq!(req.path, "/secure", "{out}");
    assert_eq!(out.texts("in"), vec!["over tls"], "{out}");
    assert_eq!(close.and_then(|c| c.close_code()), Some(1000), "{out}");
    assert!(
        out.first("handshake")["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("wss://localhost:")),
        "{out}"
    );
}

#[test]
fn cacert_ip_address() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(format!("wss://127.0.0.1:{}/", server.port()))
        .write_stdin("by ip\n"));
    server.finish();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["by ip"], "{out}");
}

#[test]
fn https_url_maps_to_wss() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(format!("https://localhost:{}/", server.port()))
        .write_stdin("x\n"));
    server.finish();
    out.clean_close();
}

#[test]
fn unknown_ca_is_a_tls_error() {
    let pki = pki();
    let server = tls_refused(&pki, false);
    let out = run(wsdbg().args(["--json", server.wss_url("/").as_str()]));
    let got_data = server.result();
    out.error_kind("tls", 1);
    assert!(
        !got_data,
        "the client went on after a failed verification\n{out}"
    );
}

#[test]
fn wrong_ca_is_a_tls_error() {
    let pki = pki();
    let other = common::pki();
    let server = tls_refused(&pki, false);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&other.ca_pem)
        .arg(server.wss_url("/")));
    server.finish();
    out.error_kind("tls", 1);
}

#[test]
fn plain_ws_to_a_tls_server_fails_to_connect() {
    let pki = pki();
    let server = tls_refused(&pki, false);
    let out = run(wsdbg().args(["--json", "--connect-timeout", "3", server.url("/").as_str()]));
    server.finish();
    out.code(1);
}

#[test]
fn insecure_works_and_warns() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let out = run(wsdbg()
        .args(["-k", server.wss_url("/").as_str()])
        .write_stdin("unverified\n"));
    server.finish();
    out.code(0);
    assert!(
        !out.stderr.trim().is_empty(),
        "-k prints a warning on stderr\n{out}"
    );
    assert!(out.stdout.contains("unverified"), "{out}");
}

#[test]
fn insecure_json() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let out = run(wsdbg()
        .args(["--json", "--insecure", server.wss_url("/").as_str()])
        .write_stdin("unverified\n"));
    server.finish();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["unverified"], "{out}");
    assert!(
        !out.stderr.trim().is_empty(),
        "-k prints a warning on stderr\n{out}"
    );
}

#[test]
fn missing_cacert_file_is_an_error() {
    let out = run(wsdbg().args([
        "--json",
        "--cacert",
        "/nonexistent/wsdbg-ca.pem",
        "wss://127.0.0.1:1/",
    ]));
    assert!(matches!(out.code, Some(1) | Some(2)), "{out}");
    let err = out.error();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/wsdbg-ca.pem"),
        "{out}"
    );
}

#[test]
fn mutual_tls_with_client_certificate() {
    let pki = pki();
    let server = tls_echo(&pki, true);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg("--cert")
        .arg(&pki.client_cert_pem)
        .arg("--key")
        .arg(&pki.client_key_pem)
        .arg(server.wss_url("/"))
        .write_stdin("with cert\n"));
    server.finish();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["with cert"], "{out}");
}

#[test]
fn mutual_tls_without_client_certificate_fails() {
    let pki = pki();
    let server = tls_refused(&pki, true);
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(server.wss_url("/")));
    let got_data = server.result();
    out.code(1);
    assert!(!got_data, "{out}");
    let err = out.error();
    assert!(
        ["tls", "handshake", "connect", "io"].contains(&err["kind"].as_str().unwrap_or("")),
        "{out}"
    );
}

#[test]
fn sslkeylogfile_is_written() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let log = pki.dir.path().join("keys.log");
    let out = run(wsdbg()
        .env("SSLKEYLOGFILE", &log)
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(server.wss_url("/"))
        .write_stdin("x\n"));
    server.finish();
    out.clean_close();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.starts_with("CLIENT_") || l.starts_with("CLIENT_RANDOM")),
        "no TLS secrets in SSLKEYLOGFILE: {text:?}\n{out}"
    );
}

/// Issue 21: `--resolve` and `--connect-to`, as curl's: the TCP connection goes to
/// 127.0.0.1 while Host, SNI and the certificate check keep a name that does not
/// resolve here (`.invalid`); a bad form is a usage error that says what is expected.
#[test]
fn issue21_resolve_and_connect_to_keep_the_host_name() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let port = server.port();
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .args(["--resolve", &format!("ws.example.invalid:{port}:127.0.0.1")])
        .arg(format!("wss://ws.example.invalid:{port}/pinned"))
        .write_stdin("pinned\n"));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(
        req.header("Host"),
        Some(format!("ws.example.invalid:{port}").as_str())
    );
    assert_eq!(out.texts("in"), vec!["pinned"], "{out}");
    assert!(
        out.all("notice")
            .iter()
            .any(|n| n["message"].as_str().is_some_and(
                |m| m.contains(&format!("127.0.0.1:{port} for ws.example.invalid:{port}"))
            )),
        "the address used is shown\n{out}"
    );
    let server = tls_echo(&pki, false);
    let port = server.port();
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .args([
            "--connect-to",
            &format!("ws.example.invalid:443:127.0.0.1:{port}"),
        ])
        .arg("wss://ws.example.invalid/moved")
        .write_stdin("moved\n"));
    let req = server.request();
    server.finish();
    out.clean_close();
    assert_eq!(req.header("Host"), Some("ws.example.invalid"));
    assert_eq!(req.path, "/moved");
    // Without either, the name does not resolve: exit 1.
    let out = run(wsdbg()
        .arg("--cacert")
        .arg(&pki.ca_pem)
        .arg("wss://ws.example.invalid/")
        .write_stdin("x\n"));
    out.code(1);
    for (opt, v, says) in [
        (
            "--resolve",
            "ws.example.invalid:443",
            "expected HOST:PORT:ADDR",
        ),
        ("--resolve", "h:443:not-an-ip", "ADDR is not an IP address"),
        ("--connect-to", "a:1:b", "expected HOST:PORT:HOST2:PORT2"),
    ] {
        let out = run(wsdbg().args([opt, v, "ws://127.0.0.1:1/"]));
        out.code(2);
        assert!(out.stderr.contains(says), "{opt} {v}\n{out}");
    }
}

/// Issue 21: `--resolve` applies to `relay`'s upstream leg and to `replay` as to the
/// client: the TCP connection goes to 127.0.0.1, Host and the certificate check keep
/// the `.invalid` name.
#[test]
fn issue21_resolve_applies_to_relay_and_replay() {
    let pki = pki();
    let server = tls_echo(&pki, false);
    let port = server.port();
    let pin = format!("ws.example.invalid:{port}:127.0.0.1");
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["relay", "--port", "0", "--json", "--cacert"])
        .arg(&pki.ca_pem)
        .args(["--resolve", &pin])
        .arg(format!("wss://ws.example.invalid:{port}/"))
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY");
    let mut r = common::peers::Proc::spawn("wsdbg relay", cmd);
    let ev = r.wait_for("listening", std::time::Duration::from_secs(10), |ev| {
        ev.iter().any(|e| e["event"] == "listening")
    });
    let addr = ev[0]["addr"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("r.jsonl");
    let out = run(wsdbg()
        .args(["-o", "payload", "--record"])
        .arg(&rec)
        .args(["-x", "through", "-x", "/wait 1"])
        .arg(format!("ws://{addr}/up")));
    out.code(0);
    assert_eq!(out.stdout, "through\n", "{out}");
    let req = server.request();
    server.finish();
    assert_eq!(
        req.header("Host"),
        Some(format!("ws.example.invalid:{port}").as_str())
    );
    assert_eq!(req.path, "/up");
    r.kill();
    // replay of that session, straight to the server by its name.
    let server = tls_echo(&pki, false);
    let port = server.port();
    let out = run(wsdbg()
        .args(["replay", "--cacert"])
        .arg(&pki.ca_pem)
        .args(["--resolve", &format!("ws.example.invalid:{port}:127.0.0.1")])
        .arg(&rec)
        .arg(format!("wss://ws.example.invalid:{port}/again")));
    let req = server.request();
    server.finish();
    out.code(0);
    assert_eq!(
        req.header("Host"),
        Some(format!("ws.example.invalid:{port}").as_str())
    );
}
