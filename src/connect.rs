//! TCP with a deadline and rustls (web roots, `--cacert`, `-k`, mutual TLS, SSLKEYLOGFILE).
//! Returns a blocking `Stream` for the opening handshake; the session turns it
//! non-blocking afterwards. Knows nothing of WebSocket framing or output.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, Kind};
use crate::proxy::{self, Proxy};
use crate::target::Target;

/// TLS settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsOpts {
    pub cacert: Option<PathBuf>,
    pub insecure: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A connected stream, plain or TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<ClientConnection>, TcpStream),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(_, s) => s,
        }
    }

    /// Set both socket timeouts to what is left until `deadline`.
    pub fn set_deadline(&self, deadline: Instant) -> Result<(), Error> {
        Stream::set_deadline_on(self.tcp(), deadline)
    }

    fn set_deadline_on(s: &TcpStream, deadline: Instant) -> Result<(), Error> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::timeout("--connect-timeout passed"))?;
        s.set_read_timeout(Some(left))
            .and_then(|_| s.set_write_timeout(Some(left)))
            .map_err(|e| Error::io(format!("socket: {e}")))
    }
}

/// A stream whose every wait can be bounded: what the opening handshake needs besides
/// bytes, so that a peer trickling its answer cannot stretch the handshake past
/// `--connect-timeout`.
pub trait Deadline {
    /// The next read or write waits at most until `deadline`; a timeout error when it
    /// has passed already.
    fn set_deadline(&self, deadline: Instant) -> Result<(), Error>;
}

impl Deadline for Stream {
    fn set_deadline(&self, deadline: Instant) -> Result<(), Error> {
        Stream::set_deadline(self, deadline)
    }
}

impl Read for Stream {
    /// At most one socket read per call, so that a caller with a deadline checks it
    /// between reads: with TLS, a record that is still incomplete after that read
    /// gives `Interrupted` (read again). rustls's own `Stream` would loop over socket
    /// reads until a whole record is in, each with a fresh timeout.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(c, s) => {
                // Plaintext rustls holds already comes first.
                match c.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => return r,
                }
                while c.wants_write() {
                    if c.write_tls(s)? == 0 {
                        break;
                    }
                }
                // EOF is recorded by rustls: the reader then says whether it was clean.
                c.read_tls(s)?;
                if let Err(e) = c.process_new_packets() {
                    // Send the alert rustls queued, then report.
                    let _ = c.write_tls(s);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
                match c.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::Interrupted.into())
                    }
                    r => r,
                }
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(c, s) => rustls::Stream::new(c.as_mut(), s).write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(c, s) => rustls::Stream::new(c.as_mut(), s).flush(),
        }
    }
}

/// A certificate chain and its private key from PEM files (the key as PKCS#8, PKCS#1
/// or SEC1). `cert_opt`/`key_opt` name the options in errors.
pub fn load_cert_and_key(
    cert: &Path,
    key: &Path,
    cert_opt: &str,
    key_opt: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::usage(format!(
                "{cert_opt}: expected a PEM certificate chain in {}: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "{cert_opt}: expected a PEM certificate chain in {}, found none",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::usage(format!(
            "{key_opt}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1) in {}: {e}",
            key.display()
        ))
    })?;
    Ok((certs, key_der))
}

/// The crypto provider both roles use: ring (no cmake, quick to build).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side of `listen --tls-cert FILE --tls-key FILE`: the same provider,
/// versions, ALPN and key log as the client's.
pub fn server_tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let (certs, key_der) = load_cert_and_key(cert, key, "--tls-cert", "--tls-key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::usage(format!("--tls-cert/--tls-key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(Arc::new(config))
}

/// Build the rustls client configuration once; it is reused across reconnects.
pub fn tls_config(opts: &TlsOpts) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls(format!("TLS setup: {e}")))?;
    let builder = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut given = Vec::new();
        if let Some(path) = &opts.cacert {
            let mut added = 0;
            let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
                Error::usage(format!(
                    "--cacert: expected a PEM file of certificates, could not read {}: {e}",
                    path.display()
                ))
            })?;
            for cert in iter {
                let cert = cert.map_err(|e| {
                    Error::usage(format!(
                        "--cacert: expected PEM certificates in {}: {e}",
                        path.display()
                    ))
                })?;
                roots.add(cert.clone()).map_err(|e| {
                    Error::usage(format!(
                        "--cacert: a certificate in {} is not usable as a CA: {}",
                        path.display(),
                        tls_words(&e)
                    ))
                })?;
                given.push(cert);
                added += 1;
            }
            if added == 0 {
                return Err(Error::usage(format!(
                    "--cacert: expected PEM certificates in {}, found none",
                    path.display()
                )));
            }
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| Error::tls(format!("TLS setup: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Given { webpki, given }))
    };
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let (certs, key_der) = load_cert_and_key(cert, key, "--cert", "--key")?;
            builder
                .with_client_auth_cert(certs, key_der)
                .map_err(|e| Error::usage(format!("--cert/--key: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::usage(
                "--cert and --key: expected both (a client certificate needs its key)",
            ))
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Reads SSLKEYLOGFILE itself; does nothing when it is unset.
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(Arc::new(config))
}

/// Where the TCP connection goes when it is not where the URL says (`--resolve`,
/// `--connect-to`, `-4`/`-6`, as curl's): the Host header, SNI and the certificate check
/// keep the URL's host. Pure: `dial` and `pick` do no I/O.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `--resolve HOST:PORT:ADDR[,ADDR...]`: these addresses for HOST:PORT.
    pub resolve: Vec<(String, u16, Vec<std::net::IpAddr>)>,
    /// `--connect-to HOST:PORT:HOST2:PORT2`: an empty HOST or PORT matches any; an empty
    /// HOST2 or PORT2 keeps the original.
    pub connect_to: Vec<ConnectTo>,
    /// `-4` / `-6`: only IPv4 or only IPv6 addresses.
    pub family: Option<Family>,
}

/// One `--connect-to`: (HOST, PORT) matched, (HOST2, PORT2) dialled; `None` is "any"
/// or "the same".
pub type ConnectTo = (Option<String>, Option<u16>, Option<String>, Option<u16>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Route {
    /// The host and port to connect to for `host:port` (the first `--connect-to` that
    /// matches, else the same).
    pub fn dial(&self, host: &str, port: u16) -> (String, u16) {
        for (h, p, h2, p2) in &self.connect_to {
            let host_ok = h.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host));
            let port_ok = p.is_none_or(|p| p == port);
            if host_ok && port_ok {
                return (
                    h2.clone().unwrap_or_else(|| host.to_string()),
                    p2.unwrap_or(port),
                );
            }
        }
        (host.to_string(), port)
    }

    /// `--resolve`'s addresses for `host:port`, if given.
    pub fn pinned(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        self.resolve
            .iter()
            .find(|(h, p, _)| h.eq_ignore_ascii_case(host) && *p == port)
            .map(|(_, _, ips)| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
    }

    /// The addresses of the family asked for (all without `-4`/`-6`).
    pub fn pick(&self, addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
        match self.family {
            None => addrs,
            Some(Family::V4) => addrs.into_iter().filter(SocketAddr::is_ipv4).collect(),
            Some(Family::V6) => addrs.into_iter().filter(SocketAddr::is_ipv6).collect(),
        }
    }

    /// Whether anything here changes where a connection goes.
    pub fn is_set(&self) -> bool {
        !self.resolve.is_empty() || !self.connect_to.is_empty() || self.family.is_some()
    }
}

/// `--resolve HOST:PORT:ADDR[,ADDR...]` (IPv6 in brackets), checked.
pub fn parse_resolve(v: &str) -> Result<(String, u16, Vec<std::net::IpAddr>), Error> {
    let bad = |why: &str| {
        Error::usage(format!(
            "--resolve: expected HOST:PORT:ADDR[,ADDR...] (IPv6 in brackets), got {v:?} ({why})"
        ))
    };
    let (host, rest) = v.split_once(':').ok_or_else(|| bad("no PORT"))?;
    let (port, addrs) = rest.split_once(':').ok_or_else(|| bad("no ADDR"))?;
    if host.is_empty() {
        return Err(bad("no HOST"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("PORT is not 0-65535"))?;
    let ips = addrs
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .map_err(|_| bad("ADDR is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((host.trim_matches(['[', ']']).to_string(), port, ips))
}

/// `--connect-to HOST:PORT:HOST2:PORT2`, checked; empty parts mean "any" or "the same".
pub fn parse_connect_to(v: &str) -> Result<ConnectTo, Error> {
    let bad = |why: &str| {
        Error::usage(format!(
            "--connect-to: expected HOST:PORT:HOST2:PORT2 (a part may be empty), got {v:?} ({why})"
        ))
    };
    // IPv6 in brackets may hold colons: split on the colons outside brackets.
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in v.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&v[start..]);
    let [h, p, h2, p2] = parts[..] else {
        return Err(bad("expected four parts"));
    };
    let port = |s: &str| -> Result<Option<u16>, Error> {
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u16>()
            .map(Some)
            .map_err(|_| bad("a PORT is not 0-65535"))
    };
    let host = |s: &str| (!s.is_empty()).then(|| s.trim_matches(['[', ']']).to_string());
    Ok((host(h), port(p)?, host(h2), port(p2)?))
}

/// `--header-cmd CMD`: runs `sh -c CMD` before a connection attempt and takes each
/// line it prints as a header. Bounded by `deadline` (the command is killed then); a
/// failure, a malformed line or no answer in time is an error naming the command, and
/// no connection is tried with stale headers.
pub fn header_cmd(cmd: &str, deadline: Instant) -> Result<Vec<(String, String)>, Error> {
    use std::process::{Command, Stdio};
    let fail = |why: String| Error::connect(format!("--header-cmd {cmd:?}: {why}"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    // Read both pipes on threads so a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.take(64 * 1024).read_to_end(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.take(4096).read_to_end(&mut s);
        }
        s
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::timeout(format!(
                    "--header-cmd {cmd:?}: no end before --connect-timeout"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(fail(format!("waiting for it: {e}"))),
        }
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        let first = String::from_utf8_lossy(&stderr);
        let first = first.lines().next().unwrap_or("").trim();
        let code = status
            .code()
            .map_or("a signal".to_string(), |c| format!("status {c}"));
        return Err(fail(if first.is_empty() {
            format!("exited with {code}")
        } else {
            format!("exited with {code}: {first}")
        }));
    }
    let text =
        String::from_utf8(stdout).map_err(|_| fail("printed bytes that are not UTF-8".into()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            crate::handshake::parse_header(l, "--header-cmd")
                .map_err(|e| fail(format!("printed a line that is not a header: {}", e.msg)))
        })
        .collect()
}

/// How the proxy is chosen.
#[derive(Debug, Clone, Default)]
pub enum ProxyMode {
    /// `--proxy URL`: always this one.
    Flag(Proxy),
    /// The `*_PROXY` / `NO_PROXY` variables, per target.
    #[default]
    Env,
    /// `--no-proxy`.
    Off,
}

impl ProxyMode {
    /// The proxy for this target, if any.
    pub fn choose(&self, target: &Target) -> Result<Option<Proxy>, Error> {
        match self {
            ProxyMode::Flag(p) => Ok(Some(p.clone())),
            ProxyMode::Off => Ok(None),
            ProxyMode::Env => proxy::from_env(target.tls, &target.host, target.port, |k| {
                std::env::var(k).ok()
            }),
        }
    }
}

/// Resolve `host` before `deadline`. The system resolver cannot be given a deadline,
/// so it runs on a thread of its own, which is left behind if it is too slow.
fn resolve(host: &str, port: u16, what: &str, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>()),
            );
        })
        .map_err(|e| Error::connect(format!("cannot resolve {what}{host}: {e}")))?;
    match rx.recv_timeout(left(deadline)) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(Error::connect(format!("cannot resolve {what}{host}: {e}"))),
        Err(_) => Err(Error::timeout(format!(
            "cannot resolve {what}{host}: no answer before --connect-timeout"
        ))),
    }
}

/// `ws+unix://`: a Unix stream socket, carried in a `TcpStream` so every layer above
/// (timeouts, non-blocking mode, `mio` registration, reads, writes, shutdown) stays one
/// code path: those are plain socket calls that work on any stream socket; only the
/// TCP ones (`set_nodelay`, the addresses) fail on it, and nothing relies on them.
fn unix_connect(path: &str) -> Result<TcpStream, Error> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    let s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::connect(format!("connect to the Unix socket {path}: {e}")))?;
    // SAFETY: the descriptor is a connected stream socket that we own, handed over
    // once; `TcpStream` only issues socket calls on it (see above).
    Ok(unsafe { TcpStream::from_raw_fd(s.into_raw_fd()) })
}

/// TCP to `host:port` before `deadline`, trying each address. `what` names the hop
/// in errors ("" for the server, "proxy " for a proxy).
fn tcp_connect(host: &str, port: u16, what: &str, deadline: Instant) -> Result<TcpStream, Error> {
    let addrs = resolve(host, port, what, deadline)?;
    tcp_connect_to(addrs, host, what, deadline)
}

/// TCP to the first of `addrs` that answers before `deadline`.
fn tcp_connect_to(
    addrs: Vec<SocketAddr>,
    host: &str,
    what: &str,
    deadline: Instant,
) -> Result<TcpStream, Error> {
    if addrs.is_empty() {
        return Err(Error::connect(format!(
            "cannot resolve {what}{host}: no addresses"
        )));
    }
    let mut last: Option<Error> = None;
    for addr in &addrs {
        let left = match deadline.checked_duration_since(Instant::now()) {
            Some(d) if !d.is_zero() => d,
            _ => {
                last = Some(Error::timeout(format!(
                    "connect to {what}{addr}: --connect-timeout passed"
                )));
                break;
            }
        };
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some(Error::timeout(format!(
                    "connect to {what}{addr}: no answer before --connect-timeout"
                )))
            }
            Err(e) => last = Some(Error::connect(format!("connect to {what}{addr}: {e}"))),
        }
    }
    Err(last.unwrap_or_else(|| Error::connect("no address to connect to")))
}

/// Resolve, connect (through the proxy, if one applies) and, for `wss`, complete the TLS
/// handshake, all before `deadline`.
pub fn connect(
    target: &Target,
    tls: Option<&Arc<ClientConfig>>,
    proxy: &ProxyMode,
    route: &Route,
    deadline: Instant,
) -> Result<Stream, Error> {
    let tcp = match (&target.unix, proxy.choose(target)?) {
        (Some(path), _) => unix_connect(path)?,
        (None, None) => {
            let (host, port) = route.dial(&target.host, target.port);
            let addrs = match route.pinned(&host, port) {
                Some(a) => a,
                None => resolve(&host, port, "", deadline)?,
            };
            tcp_connect_to(route.pick(addrs), &host, "", deadline)?
        }
        (None, Some(p)) => {
            let (host, port) = p.addr();
            let mut tcp = tcp_connect(host, port, "proxy ", deadline)?;
            proxy::tunnel(&p, &mut tcp, &target.host, target.port, deadline)?;
            tcp
        }
    };
    let _ = tcp.set_nodelay(true);
    let Some(config) = tls.filter(|_| target.tls) else {
        return Ok(Stream::Plain(tcp));
    };
    let name = if target.host_is_ip {
        let ip: std::net::IpAddr = target
            .host
            .parse()
            .map_err(|_| Error::usage(format!("bad IP address {}", target.host)))?;
        ServerName::IpAddress(ip.into())
    } else {
        ServerName::try_from(target.host.clone())
            .map_err(|e| Error::usage(format!("bad TLS server name {:?}: {e}", target.host)))?
    };
    let conn = ClientConnection::new(config.clone(), name)
        .map_err(|e| Error::tls(format!("TLS setup: {e}")))?;
    let mut stream = Stream::Tls(Box::new(conn), tcp);
    if let Stream::Tls(conn, sock) = &mut stream {
        // One socket read or write at a time, each waiting only what is left of the
        // deadline (rustls's `complete_io` would loop with the timeout set once).
        // Until our last handshake message (the client Finished) is sent too.
        while conn.is_handshaking() || conn.wants_write() {
            Stream::set_deadline_on(sock, deadline).map_err(|e| match e.kind {
                Kind::Timeout => Error::timeout(format!(
                    "TLS handshake with {}: not done before --connect-timeout",
                    target.host
                )),
                _ => e,
            })?;
            let step = if conn.wants_write() {
                conn.write_tls(sock).map(|_| ())
            } else {
                match conn.read_tls(sock) {
                    Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(_) => conn.process_new_packets().map(|_| ()).map_err(|e| {
                        let _ = conn.write_tls(sock);
                        io::Error::new(io::ErrorKind::InvalidData, e)
                    }),
                    Err(e) => Err(e),
                }
            };
            step.map_err(|e| tls_error(e, &target.host))?;
        }
    }
    Ok(stream)
}

/// An I/O error during the TLS handshake, said as a TLS, timeout or connect error.
fn tls_error(e: io::Error, host: &str) -> Error {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        return Error::timeout(format!(
            "TLS handshake with {host}: no answer before --connect-timeout"
        ));
    }
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        let hint = match inner {
            rustls::Error::InvalidCertificate(_) => {
                " (use --cacert FILE to trust its CA, or -k to skip verification)"
            }
            _ => "",
        };
        return Error::tls(format!(
            "TLS handshake with {host}: {}{hint}",
            tls_words(inner)
        ));
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return Error::new(
            Kind::Tls,
            format!(
                "TLS handshake with {host}: the server closed the connection; a plain ws:// server? try ws://"
            ),
        );
    }
    Error::tls(format!("TLS handshake with {host}: {e}"))
}

/// A rustls error in plain words: no Debug syntax (`Other(OtherError(..))`), and
/// what the user can do where it is clear.
pub fn tls_words(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
                C::UnknownIssuer => "it is not signed by a CA we trust".into(),
                C::BadSignature => "its signature does not verify".into(),
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it is not valid for this host name".into()
                }
                C::Revoked => "it has been revoked".into(),
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                    "it is not for use by a server".into()
                }
                C::BadEncoding => "it is not a well-formed certificate".into(),
                C::Other(o) => camel_words(&o.to_string()),
                other => camel_words(&format!("{other:?}")),
            };
            format!("the server's certificate was refused: {what}")
        }
        rustls::Error::AlertReceived(a) => {
            format!(
                "the server refused the handshake (TLS alert: {})",
                camel_words(&format!("{a:?}"))
            )
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server does not speak TLS here: a plain ws:// server? try ws:// instead of wss://"
                .into()
        }
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".into(),
        rustls::Error::PeerIncompatible(p) => format!(
            "the server offers nothing we can use ({})",
            camel_words(&format!("{p:?}"))
        ),
        other => camel_words(&other.to_string()),
    }
}

/// `CaUsedAsEndEntity` -> `ca used as end entity`; `Other(OtherError(X))` -> `x`: the
/// name of an error kind without Debug syntax.
fn camel_words(s: &str) -> String {
    let s = s.replace("Other(", "").replace("OtherError(", "");
    let s = s.trim_end_matches(')');
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 && !out.ends_with(' ') {
            out.push(' ');
        }
        if "(){}".contains(ch) {
            continue;
        }
        out.push(ch.to_ascii_lowercase());
    }
    out.trim().to_string()
}

/// The web roots and `--cacert`, as webpki checks them; and a server certificate that
/// is exactly one given in `--cacert` (the usual `openssl req -x509` self-signed one,
/// CA:TRUE, which webpki refuses as `CaUsedAsEndEntity`) is accepted when it names the
/// host, as OpenSSL-based clients (Python, websocat) accept it.
#[derive(Debug)]
struct Given {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Given {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let err = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(ok) => return Ok(ok),
            Err(e) => e,
        };
        // Only the refusals of a certificate used as its own trust anchor; an expired
        // or revoked one stays refused.
        let as_anchor = matches!(
            err,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(_) | rustls::CertificateError::UnknownIssuer
            )
        );
        if !as_anchor || !self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Err(err);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `-k`: accepts any certificate, but still checks the handshake signatures.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// How long is left until `deadline` (zero when passed).
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_curl() {
        let r = Route {
            resolve: vec![parse_resolve("example.com:443:10.0.0.5,[::1]").unwrap()],
            connect_to: vec![
                parse_connect_to("example.com:443:edge.test:8443").unwrap(),
                parse_connect_to("::other.test:").unwrap(),
            ],
            family: None,
        };
        assert_eq!(r.dial("example.com", 443), ("edge.test".into(), 8443));
        assert_eq!(r.dial("EXAMPLE.com", 80), ("other.test".into(), 80));
        let pinned = r.pinned("example.com", 443).unwrap();
        assert_eq!(pinned.len(), 2);
        assert_eq!(pinned[0].to_string(), "10.0.0.5:443");
        assert!(r.pinned("example.com", 80).is_none());
        let v4 = Route {
            family: Some(Family::V4),
            ..Route::default()
        };
        assert_eq!(v4.pick(pinned).len(), 1);
        assert!(parse_resolve("h:99999:1.2.3.4").is_err());
        assert!(parse_resolve(":1:1.2.3.4").is_err());
        assert!(parse_connect_to("a:1:b").is_err());
        assert_eq!(
            parse_connect_to("[::1]:80:[::2]:81").unwrap(),
            (Some("::1".into()), Some(80), Some("::2".into()), Some(81))
        );
    }
}
