//! `--proxy`, `--no-proxy` and the proxy environment variables, end to end: small proxies
//! written here (HTTP CONNECT, SOCKS5) record what they were asked, then relay to a
//! scripted echo server, or refuse. A proxy that must not be used is checked to have
//! recorded nothing; one that must be used fails the test when nobody connected.

mod common;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

/// How long a test proxy waits for its client.
const ACCEPT_DEADLINE: Duration = Duration::from_secs(30);
/// Read timeout on a proxy's sockets, so a proxy never hangs a test.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// What a test proxy was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    /// The request line (`CONNECT host:port HTTP/1.1`) and any `Proxy-Authorization`.
    Http { line: String, auth: Option<String> },
    /// ATYP, DST.ADDR (a name, or an address as text), DST.PORT, and the RFC 1929
    /// user name and password when the client sent them.
    Socks {
        atyp: u8,
        addr: String,
        port: u16,
        auth: Option<(String, String)>,
    },
}

/// How a test proxy answers.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// HTTP CONNECT, 200, then relay.
    Http,
    /// HTTP CONNECT, answered with 407.
    Http407,
    /// SOCKS5, succeeded, then relay.
    Socks,
    /// SOCKS5, this reply code to the CONNECT.
    SocksRefuse(u8),
}

/// A proxy on 127.0.0.1:0 in a thread. `finish()` (or drop) stops it and, unless it was
/// made with `must_not_be_used`, fails the test when nobody connected.
struct TestProxy {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    expect_use: bool,
}

impl TestProxy {
    fn start(mode: Mode) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local_addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (asked2, stop2) = (asked.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + ACCEPT_DEADLINE;
            while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
                let client = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(e) => panic!("proxy: accept failed: {e}"),
                };
                client.set_nonblocking(false).expect("blocking");
                client
                    .set_read_timeout(Some(SOCKET_TIMEOUT))
                    .expect("timeout");
                let result = match mode {
                    Mode::Http | Mode::Http407 => http_proxy(client, mode, &asked2),
                    Mode::Socks | Mode::SocksRefuse(_) => socks_proxy(client, mode, &asked2),
                };
                if let Err(e) = result {
                    panic!("proxy ({mode:?}): {e}");
                }
            }
        });
        TestProxy {
            addr,
            asked,
            stop,
            handle: Some(handle),
            expect_use: true,
        }
    }

    fn http() -> TestProxy {
        TestProxy::start(Mode::Http)
    }

    /// A proxy that is there to be ignored: `finish()` returns what it was asked anyway.
    fn must_not_be_used(mut self) -> TestProxy {
        self.expect_use = false;
        self
    }

    /// `scheme://127.0.0.1:PORT`.
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Stops the proxy and returns what it was asked.
    #[track_caller]
    fn finish(mut self) -> Vec<Asked> {
        self.join().unwrap_or_else(|m| panic!("{m}"))
    }

    fn join(&mut self) -> Result<Vec<Asked>, String> {
        let Some(h) = self.handle.take() else {
            return Ok(self.asked.lock().unwrap().clone());
        };
        self.stop.store(true, Ordering::SeqCst);
        if let Err(p) = h.join() {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            return Err(format!("test proxy on {} failed: {msg}", self.addr));
        }
        let asked = self.asked.lock().unwrap().clone();
        if self.expect_use && asked.is_empty() {
            return Err(format!(
                "test proxy on {} was never asked anything",
                self.addr
            ));
        }
        Ok(asked)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::SeqCst);
            return;
        }
        if let Err(m) = self.join() {
            panic!("{m}");
        }
    }
}

/// HTTP CONNECT: record the request, then 407, or 200 and relay to the target.
fn http_proxy(mut client: TcpStream, mode: Mode, asked: &Mutex<Vec<Asked>>) -> io::Result<()> {
    let req = read_request(&mut client)?;
    asked.lock().unwrap().push(Asked::Http {
        line: format!("{} {} {}", req.method, req.path, req.version),
        auth: req.header("Proxy-Authorization").map(str::to_string),
    });
    if matches!(mode, Mode::Http407) {
        client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
        )?;
        return Ok(());
    }
    if req.method != "CONNECT" {
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    }
    let target = match TcpStream::connect(req.path.as_str()) {
        Ok(t) => t,
        Err(_) => {
            client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")?;
            return Ok(());
        }
    };
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    relay(client, target)
}

/// SOCKS5 (RFC 1928, RFC 1929): record the CONNECT, then refuse, or succeed and relay.
fn socks_proxy(mut client: TcpStream, mode: Mode, asked: &Mutex<Vec<Asked>>) -> io::Result<()> {
    let head = take(&mut client, 2)?;
    if head[0] != 5 {
        return Err(io::Error::other(format!("not SOCKS5: {head:?}")));
    }
    let methods = take(&mut client, usize::from(head[1]))?;
    let auth = if methods.contains(&2) {
        client.write_all(&[5, 2])?;
        let ver_ulen = take(&mut client, 2)?;
        let user = take(&mut client, usize::from(ver_ulen[1]))?;
        let plen = take(&mut client, 1)?;
        let pass = take(&mut client, usize::from(plen[0]))?;
        client.write_all(&[1, 0])?;
        Some((
            String::from_utf8_lossy(&user).into_owned(),
            String::from_utf8_lossy(&pass).into_owned(),
        ))
    } else if methods.contains(&0) {
        client.write_all(&[5, 0])?;
        None
    } else {
        client.write_all(&[5, 0xff])?;
        return Err(io::Error::other(format!("no usable method in {methods:?}")));
    };
    let req = take(&mut client, 4)?;
    if req[..3] != [5, 1, 0] {
        return Err(io::Error::other(format!("not a SOCKS5 CONNECT: {req:?}")));
    }
    let atyp = req[3];
    let addr = match atyp {
        1 => {
            let b: [u8; 4] = take(&mut client, 4)?.try_into().expect("4 bytes");
            Ipv4Addr::from(b).to_string()
        }
        4 => {
            let b: [u8; 16] = take(&mut client, 16)?.try_into().expect("16 bytes");
            Ipv6Addr::from(b).to_string()
        }
        3 => {
            let n = take(&mut client, 1)?[0];
            String::from_utf8_lossy(&take(&mut client, usize::from(n))?).into_owned()
        }
        other => return Err(io::Error::other(format!("ATYP {other}"))),
    };
    let p = take(&mut client, 2)?;
    let port = u16::from_be_bytes([p[0], p[1]]);
    asked.lock().unwrap().push(Asked::Socks {
        atyp,
        addr: addr.clone(),
        port,
        auth,
    });
    let refuse =
        |client: &mut TcpStream, rep: u8| client.write_all(&[5, rep, 0, 1, 0, 0, 0, 0, 0, 0]);
    if let Mode::SocksRefuse(rep) = mode {
        return refuse(&mut client, rep);
    }
    let target = match TcpStream::connect((addr.as_str(), port)) {
        Ok(t) => t,
        Err(_) => return refuse(&mut client, 5),
    };
    let bound = target.local_addr()?;
    let mut reply = vec![5, 0, 0];
    match bound {
        SocketAddr::V4(a) => {
            reply.push(1);
            reply.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            reply.push(4);
            reply.extend_from_slice(&a.ip().octets());
        }
    }
    reply.extend_from_slice(&bound.port().to_be_bytes());
    client.write_all(&reply)?;
    relay(client, target)
}

fn take(s: &mut TcpStream, n: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b)?;
    Ok(b)
}

/// Copies bytes both ways until each side has finished sending.
fn relay(client: TcpStream, target: TcpStream) -> io::Result<()> {
    target.set_read_timeout(Some(SOCKET_TIMEOUT))?;
    let (mut c_read, mut t_write) = (client.try_clone()?, target.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut c_read, &mut t_write);
        let _ = t_write.shutdown(Shutdown::Write);
    });
    let (mut t_read, mut c_write) = (target, client);
    let _ = io::copy(&mut t_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

/// `wsdbg --json ARGS URL` sending one message.
fn session(args: &[&str], url: &str) -> assert_cmd::Command {
    let mut cmd = wsdbg();
    cmd.arg("--json")
        .args(args)
        .arg(url)
        .write_stdin("through the proxy\n");
    cmd
}

/// A clean session that echoed our one message.
#[track_caller]
fn echoed(out: &Run) {
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["through the proxy"], "{out}");
}

fn connect_line(host: &str, port: u16, auth: Option<&str>) -> Vec<Asked> {
    vec![Asked::Http {
        line: format!("CONNECT {host}:{port} HTTP/1.1"),
        auth: auth.map(str::to_string),
    }]
}

// ---------------------------------------------------------------------------------------
// HTTP CONNECT
// ---------------------------------------------------------------------------------------

#[test]
fn proxy_flag_http_connect_with_credentials() {
    let server = Server::echo();
    let proxy = TestProxy::http();
    let url = format!("http://u:p@{}", proxy.addr);
    let out = run(&mut session(&["--proxy", &url], &server.url("/")));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        connect_line("127.0.0.1", server.port(), Some("Basic dTpw")),
        "{out}"
    );
    assert_eq!(server.request().path, "/", "{out}");
}

#[test]
fn http_proxy_env_is_used_for_ws() {
    let server = Server::echo();
    let proxy = TestProxy::http();
    let out = run(session(&[], &server.url("/")).env("HTTP_PROXY", proxy.url("http")));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        connect_line("127.0.0.1", server.port(), None),
        "{out}"
    );
}

#[test]
fn lowercase_http_proxy_env_wins() {
    let server = Server::echo();
    let used = TestProxy::http();
    let unused = TestProxy::http().must_not_be_used();
    let out = run(session(&[], &server.url("/"))
        .env("http_proxy", used.url("http"))
        .env("HTTP_PROXY", unused.url("http")));
    echoed(&out);
    assert_eq!(used.finish().len(), 1, "{out}");
    assert_eq!(unused.finish(), vec![], "{out}");
}

#[test]
fn no_proxy_env_bypasses_the_proxy() {
    let server = Server::echo();
    let proxy = TestProxy::http().must_not_be_used();
    let out = run(session(&[], &server.url("/"))
        .env("HTTP_PROXY", proxy.url("http"))
        .env("NO_PROXY", "127.0.0.1"));
    echoed(&out);
    assert_eq!(proxy.finish(), vec![], "NO_PROXY matched: no proxy\n{out}");
}

#[test]
fn no_proxy_env_other_host_does_not_bypass() {
    let server = Server::echo();
    let proxy = TestProxy::http();
    let out = run(session(&[], &server.url("/"))
        .env("HTTP_PROXY", proxy.url("http"))
        .env("NO_PROXY", "example.com, 127.0.0.2"));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        connect_line("127.0.0.1", server.port(), None),
        "loopback is not exempt\n{out}"
    );
}

#[test]
fn no_proxy_flag_ignores_the_environment() {
    let server = Server::echo();
    let proxy = TestProxy::http().must_not_be_used();
    let out = run(session(&["--no-proxy"], &server.url("/"))
        .env("HTTP_PROXY", proxy.url("http"))
        .env("ALL_PROXY", proxy.url("http")));
    echoed(&out);
    assert_eq!(proxy.finish(), vec![], "{out}");
}

#[test]
fn proxy_flag_is_used_even_when_no_proxy_matches() {
    // The spec: without --proxy the variables (NO_PROXY among them) apply.
    let server = Server::echo();
    let proxy = TestProxy::http();
    let out = run(session(&["--proxy", &proxy.url("http")], &server.url("/")).env("NO_PROXY", "*"));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        connect_line("127.0.0.1", server.port(), None),
        "{out}"
    );
}

#[test]
fn proxy_answering_407_is_a_connect_error() {
    let proxy = TestProxy::start(Mode::Http407);
    let port = closed_port();
    let out = run(&mut session(
        &["--proxy", &proxy.url("http")],
        &format!("ws://127.0.0.1:{port}/"),
    ));
    let err = out.error_kind("connect", 1);
    let msg = err["message"].as_str().unwrap_or_default();
    assert!(msg.contains("407"), "{out}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert_eq!(
        proxy.finish(),
        connect_line("127.0.0.1", port, None),
        "{out}"
    );
}

#[test]
fn https_proxy_env_carries_wss_and_http_proxy_does_not() {
    let pki = pki();
    let server = Server::builder()
        .tls(pki.server_config(false))
        .run(|c| c.echo_until_close());
    let used = TestProxy::http();
    let unused = TestProxy::http().must_not_be_used();
    let out = run(session(
        &["--cacert", pki.ca_pem.to_str().expect("utf-8 path")],
        &server.wss_url("/"),
    )
    .env("HTTPS_PROXY", used.url("http"))
    .env("HTTP_PROXY", unused.url("http")));
    echoed(&out);
    assert_eq!(
        used.finish(),
        connect_line("localhost", server.port(), None),
        "{out}"
    );
    assert_eq!(unused.finish(), vec![], "{out}");
}

// ---------------------------------------------------------------------------------------
// SOCKS5
// ---------------------------------------------------------------------------------------

#[test]
fn socks5h_sends_the_name() {
    let server = Server::echo();
    let proxy = TestProxy::start(Mode::Socks);
    let url = format!("ws://localhost:{}/", server.port());
    let out = run(&mut session(&["--proxy", &proxy.url("socks5h")], &url));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        vec![Asked::Socks {
            atyp: 3,
            addr: "localhost".into(),
            port: server.port(),
            auth: None,
        }],
        "{out}"
    );
}

#[test]
fn socks5_resolves_locally_and_sends_credentials() {
    let server = Server::echo();
    let proxy = TestProxy::start(Mode::Socks);
    let url = format!("ws://localhost:{}/", server.port());
    let purl = format!("socks5://u:p@{}", proxy.addr);
    let out = run(&mut session(&["--proxy", &purl], &url));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        vec![Asked::Socks {
            atyp: 1,
            addr: "127.0.0.1".into(),
            port: server.port(),
            auth: Some(("u".into(), "p".into())),
        }],
        "{out}"
    );
}

#[test]
fn all_proxy_env_socks5h_is_used_for_ws() {
    let server = Server::echo();
    let proxy = TestProxy::start(Mode::Socks);
    let out = run(session(&[], &server.url("/")).env("ALL_PROXY", proxy.url("socks5h")));
    echoed(&out);
    assert_eq!(
        proxy.finish(),
        vec![Asked::Socks {
            atyp: 1,
            addr: "127.0.0.1".into(),
            port: server.port(),
            auth: None,
        }],
        "an IP literal goes as an address even with socks5h\n{out}"
    );
}

#[test]
fn socks5_connection_refused_is_a_connect_error() {
    let proxy = TestProxy::start(Mode::SocksRefuse(5));
    let port = closed_port();
    let out = run(&mut session(
        &["--proxy", &proxy.url("socks5")],
        &format!("ws://127.0.0.1:{port}/"),
    ));
    let err = out.error_kind("connect", 1);
    let msg = err["message"].as_str().unwrap_or_default();
    assert!(msg.contains("connection refused"), "{out}");
    assert_eq!(proxy.finish().len(), 1, "{out}");
}

#[test]
fn bad_proxy_url_is_a_usage_error() {
    let out = run(&mut session(
        &["--proxy", "ftp://127.0.0.1:21"],
        "ws://127.0.0.1:9/",
    ));
    let err = out.error_kind("usage", 2);
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expected http://"),
        "{out}"
    );
}
