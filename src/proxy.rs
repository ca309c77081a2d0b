//! Proxies: the `--proxy` URL, the choice from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`
//! / `NO_PROXY`, and the tunnel through an already connected proxy (HTTP `CONNECT`,
//! SOCKS5 of RFC 1928 with the username/password of RFC 1929).
//! Parsing and the environment choice are pure (the environment is a lookup closure);
//! `tunnel` speaks to the proxy only, within the caller's deadline, and never reads a
//! byte past the proxy's answer. Knows nothing of TLS, WebSocket or output.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Instant;

use base64::Engine;
use url::{Host, Url};

use crate::error::Error;
use crate::target::percent_decode;

/// What a proxy URL must look like, for error messages.
const EXPECTED: &str =
    "expected http://[user:pass@]host:port, socks5://[user:pass@]host:port or socks5h://[user:pass@]host:port";

/// Largest HTTP answer head accepted from a proxy.
const MAX_HEAD: usize = 16 * 1024;

/// A proxy to reach the target through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// `http://`: an HTTP `CONNECT` tunnel.
    Http {
        host: String,
        port: u16,
        auth: Option<(String, String)>,
    },
    /// `socks5://` (the target's name is resolved here) or `socks5h://` (`remote_dns`: the
    /// proxy resolves it).
    Socks5 {
        host: String,
        port: u16,
        remote_dns: bool,
        auth: Option<(String, String)>,
    },
}

impl Proxy {
    /// Where to open the TCP connection: a name or an IP literal without brackets, and a port.
    pub fn addr(&self) -> (&str, u16) {
        match self {
            Proxy::Http { host, port, .. } | Proxy::Socks5 { host, port, .. } => (host, *port),
        }
    }

    /// `host:port` (`[v6]:port`), for messages.
    fn label(&self) -> String {
        let (host, port) = self.addr();
        authority(host, port)
    }
}

/// The proxy as a URL, without credentials: `http://127.0.0.1:3128`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self {
            Proxy::Http { .. } => "http",
            Proxy::Socks5 {
                remote_dns: false, ..
            } => "socks5",
            Proxy::Socks5 {
                remote_dns: true, ..
            } => "socks5h",
        };
        write!(f, "{scheme}://{}", self.label())
    }
}

/// Parse the `--proxy` URL. A URL without a scheme means `http://`.
pub fn parse(url: &str) -> Result<Proxy, Error> {
    parse_as("--proxy", url)
}

/// Parse a proxy URL that came from `what` (a flag or an environment variable).
fn parse_as(what: &str, input: &str) -> Result<Proxy, Error> {
    let bad = |why: &str| {
        Error::usage(format!(
            "{what}: {EXPECTED}, got {:?} ({why})",
            redact(input)
        ))
    };
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    let (default_port, socks, remote_dns) = match url.scheme() {
        "http" => (80, false, false),
        "socks5" => (1080, true, false),
        "socks5h" => (1080, true, true),
        other => return Err(bad(&format!("unsupported scheme {other}://"))),
    };
    let host = match url.host() {
        Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(bad("no host")),
    };
    let port = url.port().unwrap_or(default_port);
    if port == 0 {
        return Err(bad("port 0"));
    }
    let auth = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        // RFC 1929: each is one length byte, 1 to 255 bytes.
        if socks && (user.is_empty() || user.len() > 255 || pass.len() > 255) {
            return Err(bad(
                "SOCKS5 user name must be 1-255 bytes and password at most 255",
            ));
        }
        Some((user, pass))
    };
    Ok(if socks {
        Proxy::Socks5 {
            host,
            port,
            remote_dns,
            auth,
        }
    } else {
        Proxy::Http { host, port, auth }
    })
}

/// The proxy the environment asks for to reach `host:port`, if any.
///
/// `wss` looks at `https_proxy`, `HTTPS_PROXY`, then `all_proxy`, `ALL_PROXY`; `ws` at
/// `http_proxy`, `HTTP_PROXY`, then the same `ALL_PROXY` pair. The lowercase name wins
/// and an empty value counts as unset. `no_proxy` / `NO_PROXY` (see [`no_proxy_matches`])
/// exempts hosts; loopback is not special. A proxy URL that is not used is not checked.
pub fn from_env(
    target_is_tls: bool,
    host: &str,
    port: u16,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, Error> {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let names: [&str; 4] = if target_is_tls {
        ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
    };
    let Some((name, value)) = names.iter().find_map(|n| get(n).map(|v| (*n, v))) else {
        return Ok(None);
    };
    if let Some(list) = get("no_proxy").or_else(|| get("NO_PROXY")) {
        if no_proxy_matches(&list, host, port) {
            return Ok(None);
        }
    }
    parse_as(name, &value).map(Some)
}

/// Whether a `NO_PROXY` list exempts `host:port`.
///
/// Comma-separated entries, whitespace trimmed, case-insensitive. `*` matches every host.
/// A name matches itself and its subdomains (`example.com` and `.example.com` both match
/// `example.com` and `a.example.com`); an IP literal (`10.0.0.1`, `::1` or `[::1]`) matches
/// that address only. `:port` after an entry restricts it to that port.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = unbracket(host).trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let Some((name, entry_port)) = split_entry(entry) else {
                return false;
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            match (host_ip, name.parse::<IpAddr>()) {
                (Some(h), Ok(e)) => h == e,
                (Some(_), Err(_)) | (None, Ok(_)) => false,
                (None, Err(_)) => {
                    let name = name
                        .strip_prefix("*.")
                        .or_else(|| name.strip_prefix('.'))
                        .unwrap_or(&name);
                    !name.is_empty()
                        && (host == name
                            || host
                                .strip_suffix(name)
                                .is_some_and(|rest| rest.ends_with('.')))
                }
            }
        })
}

/// An entry as (host, optional port): `h`, `h:80`, `[v6]`, `[v6]:80`, or a bare `v6`.
/// `None` for an entry that cannot match anything (a port that is not a number).
fn split_entry(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        return match after {
            "" => Some((ip, None)),
            _ => Some((ip, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match entry.split_once(':') {
        // More than one colon: a bare IPv6 address.
        Some((_, rest)) if rest.contains(':') => Some((entry, None)),
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((entry, None)),
    }
}

/// Open a tunnel to `host:port` through `proxy` on `stream`, already connected to
/// `proxy.addr()`, before `deadline`. On success the stream carries the target's bytes
/// and nothing of the proxy's answer is left unread; the socket timeouts stay set to
/// what was left of the deadline.
///
/// `host` is a name or an IP literal (brackets optional). HTTP answers other than 2xx
/// and SOCKS replies other than "succeeded" are `Kind::Connect` errors naming the answer;
/// running out of time is `Kind::Timeout`.
pub fn tunnel(
    proxy: &Proxy,
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<(), Error> {
    let host = unbracket(host);
    let mut conn = Conn {
        s: stream,
        deadline,
        proxy: proxy.label(),
        target: authority(host, port),
    };
    match proxy {
        Proxy::Http { auth, .. } => http_connect(&mut conn, auth.as_ref()),
        Proxy::Socks5 {
            remote_dns, auth, ..
        } => socks5_connect(&mut conn, host, port, *remote_dns, auth.as_ref()),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP CONNECT
// ---------------------------------------------------------------------------------------

fn http_connect(conn: &mut Conn, auth: Option<&(String, String)>) -> Result<(), Error> {
    let target = conn.target.clone();
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((user, pass)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    conn.send(req.as_bytes(), "sending CONNECT")?;

    // Byte by byte, so nothing after the blank line is consumed: it belongs to the target.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !(head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n")) {
        if head.len() >= MAX_HEAD {
            return Err(Error::connect(format!(
                "proxy {} answered CONNECT to {target} with a head over {} KiB",
                conn.proxy,
                MAX_HEAD / 1024
            )));
        }
        conn.recv(&mut b, "before answering CONNECT")?;
        head.push(b[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default().trim();
    let Some((code, reason)) = status_line(line) else {
        let mut shown: String = line.chars().take(80).collect();
        if line.chars().count() > 80 {
            shown.push('…');
        }
        return Err(Error::connect(format!(
            "proxy {} answered CONNECT to {target} with something that is not HTTP: {shown:?}",
            conn.proxy
        )));
    };
    if (200..300).contains(&code) {
        return Ok(());
    }
    let hint = match (code, auth) {
        (407, None) => " (give credentials: --proxy http://user:pass@host:port)",
        (407, Some(_)) => " (the credentials were not accepted)",
        _ => "",
    };
    let sep = if reason.is_empty() { "" } else { " " };
    Err(Error::connect(format!(
        "proxy {} refused CONNECT to {target}: {code}{sep}{reason}{hint}",
        conn.proxy
    )))
}

/// `HTTP/1.x CODE REASON` as (code, reason).
fn status_line(line: &str) -> Option<(u16, &str)> {
    let rest = line.strip_prefix("HTTP/")?;
    let (_version, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start();
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((code.parse().ok()?, reason.trim()))
}

// ---------------------------------------------------------------------------------------
// SOCKS5 (RFC 1928, RFC 1929)
// ---------------------------------------------------------------------------------------

const SOCKS_VERSION: u8 = 5;
const CMD_CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;
/// RFC 1929 2: "The VER field contains the current version of the subnegotiation, which is X'01'".
const USERPASS_VERSION: u8 = 1;

/// RFC 1928 3: the METHOD the server selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    NoAuth,
    Gssapi,
    UserPass,
    NoAcceptable,
    Reserved(u8),
}

impl From<u8> for Method {
    fn from(b: u8) -> Method {
        match b {
            0x00 => Method::NoAuth,
            0x01 => Method::Gssapi,
            0x02 => Method::UserPass,
            0xff => Method::NoAcceptable,
            n => Method::Reserved(n),
        }
    }
}

impl From<Method> for u8 {
    fn from(m: Method) -> u8 {
        match m {
            Method::NoAuth => 0x00,
            Method::Gssapi => 0x01,
            Method::UserPass => 0x02,
            Method::NoAcceptable => 0xff,
            Method::Reserved(n) => n,
        }
    }
}

/// RFC 1928 6: the REP field of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Succeeded,
    GeneralFailure,
    NotAllowed,
    NetworkUnreachable,
    HostUnreachable,
    ConnectionRefused,
    TtlExpired,
    CommandNotSupported,
    AddressTypeNotSupported,
    Reserved(u8),
}

impl From<u8> for Reply {
    fn from(b: u8) -> Reply {
        match b {
            0 => Reply::Succeeded,
            1 => Reply::GeneralFailure,
            2 => Reply::NotAllowed,
            3 => Reply::NetworkUnreachable,
            4 => Reply::HostUnreachable,
            5 => Reply::ConnectionRefused,
            6 => Reply::TtlExpired,
            7 => Reply::CommandNotSupported,
            8 => Reply::AddressTypeNotSupported,
            n => Reply::Reserved(n),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Reply::Succeeded => "succeeded",
            Reply::GeneralFailure => "general failure",
            Reply::NotAllowed => "connection not allowed by ruleset",
            Reply::NetworkUnreachable => "network unreachable",
            Reply::HostUnreachable => "host unreachable",
            Reply::ConnectionRefused => "connection refused",
            Reply::TtlExpired => "TTL expired",
            Reply::CommandNotSupported => "command not supported",
            Reply::AddressTypeNotSupported => "address type not supported",
            Reply::Reserved(n) => return write!(f, "unassigned reply {n}"),
        };
        f.write_str(s)
    }
}

fn socks5_connect(
    conn: &mut Conn,
    host: &str,
    port: u16,
    remote_dns: bool,
    auth: Option<&(String, String)>,
) -> Result<(), Error> {
    // The address first: a name that does not resolve is not the proxy's fault.
    let addr = socks_addr(host, port, remote_dns)?;

    // RFC 1928 3: VER, NMETHODS, METHODS.
    let greeting: &[u8] = if auth.is_some() {
        &[SOCKS_VERSION, 2, 0x00, 0x02]
    } else {
        &[SOCKS_VERSION, 1, 0x00]
    };
    conn.send(greeting, "sending the SOCKS5 greeting")?;
    let mut choice = [0u8; 2];
    conn.recv(&mut choice, "before choosing a SOCKS5 method")?;
    if choice[0] != SOCKS_VERSION {
        return Err(conn.not_socks5(choice[0]));
    }
    match (Method::from(choice[1]), auth) {
        (Method::NoAuth, _) => {}
        (Method::UserPass, Some((user, pass))) => {
            // RFC 1929 2: VER, ULEN, UNAME, PLEN, PASSWD.
            let (u, p) = (user.as_bytes(), pass.as_bytes());
            let (Ok(ulen), Ok(plen)) = (u8::try_from(u.len()), u8::try_from(p.len())) else {
                return Err(Error::usage(format!(
                    "proxy {}: SOCKS5 user name and password must be at most 255 bytes each",
                    conn.proxy
                )));
            };
            let mut msg = vec![USERPASS_VERSION, ulen];
            msg.extend_from_slice(u);
            msg.push(plen);
            msg.extend_from_slice(p);
            conn.send(&msg, "sending the SOCKS5 user name and password")?;
            let mut status = [0u8; 2];
            conn.recv(&mut status, "before accepting the SOCKS5 user name and password")?;
            // RFC 1929 2: "A STATUS field of X'00' indicates success."
            if status[1] != 0 {
                return Err(Error::connect(format!(
                    "proxy {} rejected the SOCKS5 user name and password for user {user:?} (status {})",
                    conn.proxy, status[1]
                )));
            }
        }
        (Method::NoAcceptable, None) => {
            return Err(Error::connect(format!(
                "proxy {} requires SOCKS5 authentication; give it as socks5://user:pass@host:port",
                conn.proxy
            )))
        }
        (Method::NoAcceptable, Some(_)) => {
            return Err(Error::connect(format!(
                "proxy {} accepts neither no authentication nor user name/password (SOCKS5 method X'FF')",
                conn.proxy
            )))
        }
        (m, _) => {
            return Err(Error::connect(format!(
                "proxy {} chose SOCKS5 method X'{:02X}', which was not offered",
                conn.proxy,
                u8::from(m)
            )))
        }
    }

    // RFC 1928 4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
    let mut req = vec![SOCKS_VERSION, CMD_CONNECT, 0x00];
    req.extend_from_slice(&addr);
    req.extend_from_slice(&port.to_be_bytes());
    conn.send(&req, "sending the SOCKS5 CONNECT")?;

    // RFC 1928 6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.
    let mut head = [0u8; 4];
    conn.recv(&mut head, "before answering the SOCKS5 CONNECT")?;
    if head[0] != SOCKS_VERSION {
        return Err(conn.not_socks5(head[0]));
    }
    let rep = Reply::from(head[1]);
    if rep != Reply::Succeeded {
        return Err(Error::connect(format!(
            "proxy {} refused CONNECT to {}: SOCKS5 reply {} ({rep})",
            conn.proxy, conn.target, head[1]
        )));
    }
    // Read the bound address whatever its type, so none of it is taken for the target's bytes.
    let addr_len = match head[3] {
        ATYP_IPV4 => 4,
        ATYP_IPV6 => 16,
        ATYP_DOMAIN => {
            let mut n = [0u8; 1];
            conn.recv(&mut n, "in the SOCKS5 reply")?;
            usize::from(n[0])
        }
        other => {
            return Err(Error::connect(format!(
                "proxy {} answered the SOCKS5 CONNECT to {} with unknown address type {other}",
                conn.proxy, conn.target
            )))
        }
    };
    let mut rest = vec![0u8; addr_len + 2];
    conn.recv(&mut rest, "in the SOCKS5 reply")?;
    Ok(())
}

/// ATYP and DST.ADDR for `host`: an IP literal as such; a name as a domain (`socks5h`) or
/// resolved here (`socks5`, an IPv4 address when the name has one: a SOCKS connection
/// gets one try).
fn socks_addr(host: &str, port: u16, remote_dns: bool) -> Result<Vec<u8>, Error> {
    let ip_bytes = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => [&[ATYP_IPV4][..], &v4.octets()].concat(),
        IpAddr::V6(v6) => [&[ATYP_IPV6][..], &v6.octets()].concat(),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip_bytes(ip));
    }
    if remote_dns {
        let name = host.as_bytes();
        let len = u8::try_from(name.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::connect(format!(
                    "cannot send {host:?} to a SOCKS5 proxy: a name must be 1-255 bytes"
                ))
            })?;
        return Ok([&[ATYP_DOMAIN, len][..], name].concat());
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::connect(format!("cannot resolve {host}: {e}")))?
        .collect();
    let ip = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .map(|a| a.ip())
        .ok_or_else(|| Error::connect(format!("cannot resolve {host}: no addresses")))?;
    Ok(ip_bytes(ip))
}

// ---------------------------------------------------------------------------------------
// I/O within the deadline
// ---------------------------------------------------------------------------------------

/// The stream to the proxy, with the deadline re-armed before every read and write.
struct Conn<'a> {
    s: &'a mut TcpStream,
    deadline: Instant,
    /// `host:port` of the proxy, for messages.
    proxy: String,
    /// `host:port` of the target (IPv6 in brackets), for the CONNECT line and messages.
    target: String,
}

impl Conn<'_> {
    fn arm(&self) -> io::Result<()> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
        self.s.set_read_timeout(Some(left))?;
        self.s.set_write_timeout(Some(left))
    }

    fn send(&mut self, bytes: &[u8], doing: &str) -> Result<(), Error> {
        let mut done = 0;
        while done < bytes.len() {
            let r = self.arm().and_then(|_| self.s.write(&bytes[done..]));
            match r {
                Ok(0) => {
                    return Err(self.io_error(io::ErrorKind::WriteZero.into(), doing));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e, doing)),
            }
        }
        Ok(())
    }

    /// Fill `buf` exactly; end of stream before that is an error.
    fn recv(&mut self, buf: &mut [u8], when: &str) -> Result<(), Error> {
        let mut done = 0;
        while done < buf.len() {
            let r = self.arm().and_then(|_| self.s.read(&mut buf[done..]));
            match r {
                Ok(0) => {
                    return Err(Error::connect(format!(
                        "proxy {} closed the connection {when} (target {})",
                        self.proxy, self.target
                    )))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e, when)),
            }
        }
        Ok(())
    }

    fn io_error(&self, e: io::Error, when: &str) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::timeout(format!(
                "proxy {}: no progress {when} (target {}) before --connect-timeout",
                self.proxy, self.target
            )),
            _ => Error::connect(format!(
                "proxy {}: {e} {when} (target {})",
                self.proxy, self.target
            )),
        }
    }

    fn not_socks5(&self, version: u8) -> Error {
        Error::connect(format!(
            "proxy {} does not speak SOCKS5: expected version 5 in its answer, got {version}",
            self.proxy
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// `host:port`, with an IPv6 literal in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// The URL with any userinfo replaced by `***`, so error messages do not show passwords.
fn redact(input: &str) -> String {
    let (scheme, rest) = match input.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), input),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use std::collections::HashMap;
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::Duration;

    fn http(host: &str, port: u16, auth: Option<(&str, &str)>) -> Proxy {
        Proxy::Http {
            host: host.into(),
            port,
            auth: auth.map(|(u, p)| (u.into(), p.into())),
        }
    }

    fn socks(host: &str, port: u16, remote_dns: bool, auth: Option<(&str, &str)>) -> Proxy {
        Proxy::Socks5 {
            host: host.into(),
            port,
            remote_dns,
            auth: auth.map(|(u, p)| (u.into(), p.into())),
        }
    }

    // --- parse -----------------------------------------------------------------------

    #[test]
    fn parse_http_with_and_without_auth() {
        assert_eq!(
            parse("http://u:p@127.0.0.1:3128").unwrap(),
            http("127.0.0.1", 3128, Some(("u", "p")))
        );
        assert_eq!(
            parse("http://proxy.example:8080/").unwrap(),
            http("proxy.example", 8080, None)
        );
    }

    #[test]
    fn parse_default_ports() {
        assert_eq!(parse("http://p").unwrap().addr(), ("p", 80));
        assert_eq!(parse("socks5://p").unwrap().addr(), ("p", 1080));
        assert_eq!(parse("socks5h://p").unwrap().addr(), ("p", 1080));
    }

    #[test]
    fn parse_without_scheme_means_http() {
        assert_eq!(
            parse("127.0.0.1:3128").unwrap(),
            http("127.0.0.1", 3128, None)
        );
        assert_eq!(parse("proxy:3128").unwrap(), http("proxy", 3128, None));
    }

    #[test]
    fn parse_socks5_and_socks5h() {
        assert_eq!(
            parse("socks5://127.0.0.1:1080").unwrap(),
            socks("127.0.0.1", 1080, false, None)
        );
        assert_eq!(
            parse("socks5h://a:b@proxy:9050").unwrap(),
            socks("proxy", 9050, true, Some(("a", "b")))
        );
    }

    #[test]
    fn parse_ipv6_host_has_no_brackets() {
        let p = parse("http://[::1]:3128").unwrap();
        assert_eq!(p.addr(), ("::1", 3128));
        assert_eq!(p.to_string(), "http://[::1]:3128");
        assert_eq!(parse("socks5h://[::1]").unwrap().addr(), ("::1", 1080));
    }

    #[test]
    fn parse_percent_decodes_credentials() {
        assert_eq!(
            parse("http://us%40er:p%3Ass@h:1").unwrap(),
            http("h", 1, Some(("us@er", "p:ss")))
        );
        assert_eq!(
            parse("http://user@h:1").unwrap(),
            http("h", 1, Some(("user", "")))
        );
    }

    #[test]
    fn parse_rejects_bad_urls_as_usage_errors() {
        for bad in [
            "",
            "ftp://h:21",
            "https://h:443",
            "socks4://h",
            "http://:3128",
            "http://h:99999",
            "http://h:0",
            "socks5://:pw@h",
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.kind, Kind::Usage, "{bad}: {e}");
            assert!(e.msg.starts_with("--proxy: expected http://"), "{bad}: {e}");
            assert!(!e.msg.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn parse_error_hides_the_password() {
        let e = parse("ftp://user:secret@h").unwrap_err();
        assert!(!e.msg.contains("secret"), "{e}");
        assert!(e.msg.contains("ftp://***@h"), "{e}");
    }

    #[test]
    fn display_has_no_credentials() {
        assert_eq!(
            parse("socks5h://u:p@h:1").unwrap().to_string(),
            "socks5h://h:1"
        );
    }

    // --- from_env --------------------------------------------------------------------

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn chosen(tls: bool, host: &str, port: u16, vars: &[(&str, &str)]) -> Option<String> {
        from_env(tls, host, port, env(vars))
            .unwrap()
            .map(|p| p.to_string())
    }

    #[test]
    fn env_ws_uses_http_proxy_and_wss_https_proxy() {
        let vars = [
            ("HTTP_PROXY", "http://h1:1"),
            ("HTTPS_PROXY", "http://h2:2"),
        ];
        assert_eq!(
            chosen(false, "t", 80, &vars).as_deref(),
            Some("http://h1:1")
        );
        assert_eq!(
            chosen(true, "t", 443, &vars).as_deref(),
            Some("http://h2:2")
        );
        assert_eq!(chosen(true, "t", 443, &vars[..1]), None);
        assert_eq!(chosen(false, "t", 80, &vars[1..]), None);
    }

    #[test]
    fn env_lowercase_first() {
        let vars = [
            ("http_proxy", "http://low:1"),
            ("HTTP_PROXY", "http://up:2"),
        ];
        assert_eq!(
            chosen(false, "t", 80, &vars).as_deref(),
            Some("http://low:1")
        );
        let vars = [("all_proxy", "http://low:1"), ("ALL_PROXY", "http://up:2")];
        assert_eq!(
            chosen(true, "t", 443, &vars).as_deref(),
            Some("http://low:1")
        );
    }

    #[test]
    fn env_all_proxy_is_the_fallback() {
        let vars = [("ALL_PROXY", "socks5h://s:1"), ("HTTP_PROXY", "http://h:2")];
        assert_eq!(chosen(false, "t", 80, &vars).as_deref(), Some("http://h:2"));
        assert_eq!(
            chosen(true, "t", 443, &vars).as_deref(),
            Some("socks5h://s:1")
        );
    }

    #[test]
    fn env_empty_values_count_as_unset() {
        let vars = [
            ("http_proxy", ""),
            ("HTTP_PROXY", "  "),
            ("all_proxy", ""),
            ("ALL_PROXY", "http://a:1"),
        ];
        assert_eq!(chosen(false, "t", 80, &vars).as_deref(), Some("http://a:1"));
        let vars = [
            ("HTTP_PROXY", "http://h:1"),
            ("no_proxy", ""),
            ("NO_PROXY", "t"),
        ];
        assert_eq!(
            chosen(false, "t", 80, &vars),
            None,
            "empty no_proxy is unset"
        );
        assert_eq!(chosen(false, "t", 80, &[]), None);
    }

    #[test]
    fn env_no_proxy_lowercase_first() {
        let vars = [
            ("HTTP_PROXY", "http://h:1"),
            ("no_proxy", "other"),
            ("NO_PROXY", "t"),
        ];
        assert_eq!(chosen(false, "t", 80, &vars).as_deref(), Some("http://h:1"));
    }

    #[test]
    fn env_loopback_is_not_exempt() {
        let vars = [("HTTP_PROXY", "http://h:1")];
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            assert_eq!(
                chosen(false, host, 80, &vars).as_deref(),
                Some("http://h:1"),
                "{host}"
            );
        }
        let vars = [("HTTP_PROXY", "http://h:1"), ("NO_PROXY", "127.0.0.1")];
        assert_eq!(chosen(false, "127.0.0.1", 9, &vars), None);
        assert_eq!(
            chosen(false, "localhost", 9, &vars).as_deref(),
            Some("http://h:1"),
            "names are not resolved for NO_PROXY"
        );
    }

    #[test]
    fn env_bad_url_names_the_variable() {
        let e = from_env(false, "t", 80, env(&[("HTTP_PROXY", "ftp://x")])).unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
        assert!(e.msg.starts_with("HTTP_PROXY: expected http://"), "{e}");
        // Not used, so not checked.
        let vars = [("HTTP_PROXY", "ftp://x"), ("NO_PROXY", "*")];
        assert_eq!(from_env(false, "t", 80, env(&vars)).unwrap(), None);
        assert_eq!(
            from_env(true, "t", 443, env(&[("HTTP_PROXY", "ftp://x")])).unwrap(),
            None
        );
    }

    // --- NO_PROXY --------------------------------------------------------------------

    #[test]
    fn no_proxy_star_matches_all() {
        assert!(no_proxy_matches("*", "example.com", 443));
        assert!(no_proxy_matches("foo, *", "10.1.2.3", 1));
        assert!(!no_proxy_matches("", "example.com", 443));
    }

    #[test]
    fn no_proxy_exact_and_suffix() {
        for entry in ["example.com", ".example.com", "*.example.com"] {
            assert!(no_proxy_matches(entry, "example.com", 80), "{entry}");
            assert!(no_proxy_matches(entry, "a.example.com", 80), "{entry}");
            assert!(no_proxy_matches(entry, "b.a.example.com", 80), "{entry}");
            assert!(!no_proxy_matches(entry, "badexample.com", 80), "{entry}");
            assert!(!no_proxy_matches(entry, "example.com.evil", 80), "{entry}");
            assert!(!no_proxy_matches(entry, "com", 80), "{entry}");
        }
        assert!(!no_proxy_matches(".", "example.com", 80));
    }

    #[test]
    fn no_proxy_ip_literals_match_exactly() {
        assert!(no_proxy_matches("10.0.0.1", "10.0.0.1", 80));
        assert!(!no_proxy_matches("10.0.0.1", "10.0.0.10", 80));
        assert!(
            !no_proxy_matches("0.0.1", "127.0.0.1", 80),
            "no suffix match for IPs"
        );
        assert!(!no_proxy_matches(".0.0.1", "127.0.0.1", 80));
        assert!(no_proxy_matches("::1", "::1", 80));
        assert!(no_proxy_matches("[::1]", "::1", 80));
        assert!(no_proxy_matches("0:0:0:0:0:0:0:1", "[::1]", 80));
        assert!(!no_proxy_matches("::2", "::1", 80));
        assert!(!no_proxy_matches("127.0.0.1", "localhost", 80));
    }

    #[test]
    fn no_proxy_port_restricts() {
        assert!(no_proxy_matches("example.com:8080", "a.example.com", 8080));
        assert!(!no_proxy_matches("example.com:8080", "a.example.com", 80));
        assert!(no_proxy_matches("127.0.0.1:9", "127.0.0.1", 9));
        assert!(!no_proxy_matches("127.0.0.1:9", "127.0.0.1", 10));
        assert!(no_proxy_matches("[::1]:9", "::1", 9));
        assert!(!no_proxy_matches("[::1]:9", "::1", 10));
        assert!(!no_proxy_matches("example.com:http", "example.com", 80));
    }

    #[test]
    fn no_proxy_case_whitespace_and_lists() {
        assert!(no_proxy_matches(" Example.COM ", "a.example.com", 80));
        assert!(no_proxy_matches("example.com", "A.EXAMPLE.com", 80));
        assert!(no_proxy_matches(
            "foo.test,, 10.0.0.1 ,bar.test",
            "x.bar.test",
            1
        ));
        assert!(no_proxy_matches("foo.test, 10.0.0.1", "10.0.0.1", 1));
        assert!(!no_proxy_matches("foo.test, 10.0.0.1", "baz.test", 1));
        assert!(no_proxy_matches("example.com.", "example.com", 1));
        assert!(no_proxy_matches("example.com", "example.com.", 1));
    }

    // --- tunnel, against proxies that misbehave ---------------------------------------

    /// A one-connection proxy on 127.0.0.1:0 running `script`; returns the client side,
    /// already connected.
    fn fake(script: impl FnOnce(&mut TcpStream) + Send + 'static) -> (TcpStream, JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            script(&mut s);
        });
        (TcpStream::connect(addr).unwrap(), h)
    }

    fn read_head(s: &mut TcpStream) -> String {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut b).unwrap_or(0) == 0 {
                break;
            }
            head.push(b[0]);
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn http_connect_ok_leaves_the_target_bytes() {
        let (mut s, h) = fake(|s| {
            let head = read_head(s);
            assert_eq!(
                head,
                "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
            );
            s.write_all(b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nTARGET")
                .unwrap();
        });
        let p = http("127.0.0.1", 1, Some(("u", "p")));
        tunnel(&p, &mut s, "::1", 443, soon()).unwrap();
        let mut rest = String::new();
        s.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "TARGET");
        h.join().unwrap();
    }

    #[test]
    fn http_connect_407_is_a_connect_error() {
        let (mut s, h) = fake(|s| {
            read_head(s);
            s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                .unwrap();
        });
        let e = tunnel(
            &http("127.0.0.1", 3128, None),
            &mut s,
            "example.com",
            443,
            soon(),
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::Connect);
        assert!(
            e.msg.starts_with(
                "proxy 127.0.0.1:3128 refused CONNECT to example.com:443: 407 Proxy Authentication Required"
            ),
            "{e}"
        );
        h.join().unwrap();
    }

    #[test]
    fn http_connect_garbage_short_and_silent_answers() {
        let p = http("127.0.0.1", 3128, None);
        let (mut s, h) = fake(|s| {
            read_head(s);
            s.write_all(b"SSH-2.0-OpenSSH\r\n\r\n").unwrap();
        });
        let e = tunnel(&p, &mut s, "t", 1, soon()).unwrap_err();
        assert_eq!(e.kind, Kind::Connect);
        assert!(e.msg.contains("not HTTP"), "{e}");
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            read_head(s);
            s.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
        });
        let e = tunnel(&p, &mut s, "t", 1, soon()).unwrap_err();
        assert_eq!(e.kind, Kind::Connect);
        assert!(e.msg.contains("closed the connection"), "{e}");
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            read_head(s);
            std::thread::sleep(Duration::from_millis(600));
        });
        let started = Instant::now();
        let e = tunnel(
            &p,
            &mut s,
            "t",
            1,
            Instant::now() + Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::Timeout, "{e}");
        assert!(started.elapsed() < Duration::from_millis(550));
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            read_head(s);
            let _ = s.write_all(&[b'x'; MAX_HEAD + 10]);
        });
        let e = tunnel(&p, &mut s, "t", 1, soon()).unwrap_err();
        assert_eq!(e.kind, Kind::Connect);
        h.join().unwrap();
    }

    #[test]
    fn deadline_already_passed_is_a_timeout() {
        let (mut s, h) = fake(|_| {});
        let e = tunnel(&http("h", 1, None), &mut s, "t", 1, Instant::now()).unwrap_err();
        assert_eq!(e.kind, Kind::Timeout, "{e}");
        h.join().unwrap();
    }

    /// Reads exactly `n` bytes.
    fn take(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        s.read_exact(&mut b).unwrap();
        b
    }

    #[test]
    fn socks5h_sends_the_name_and_reads_a_domain_reply() {
        let (mut s, h) = fake(|s| {
            assert_eq!(take(s, 4), [5, 2, 0, 2]);
            s.write_all(&[5, 2]).unwrap();
            assert_eq!(take(s, 7), [1, 1, b'u', 3, b'p', b'w', b'd']);
            s.write_all(&[1, 0]).unwrap();
            assert_eq!(take(s, 5), [5, 1, 0, 3, 9]);
            assert_eq!(take(s, 9), b"localhost");
            assert_eq!(take(s, 2), 9001u16.to_be_bytes());
            s.write_all(&[5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 80, b'!'])
                .unwrap();
        });
        let p = socks("127.0.0.1", 1080, true, Some(("u", "pwd")));
        tunnel(&p, &mut s, "localhost", 9001, soon()).unwrap();
        assert_eq!(take(&mut s, 1), b"!");
        h.join().unwrap();
    }

    #[test]
    fn socks5_resolves_locally_and_sends_ipv6_literals() {
        let (mut s, h) = fake(|s| {
            assert_eq!(take(s, 3), [5, 1, 0]);
            s.write_all(&[5, 0]).unwrap();
            assert_eq!(take(s, 10), [5, 1, 0, 1, 127, 0, 0, 1, 0x23, 0x29]);
            s.write_all(&[5, 0, 0, 4]).unwrap();
            s.write_all(&[0; 18]).unwrap();
            s.write_all(b"!").unwrap();
        });
        tunnel(
            &socks("h", 1, false, None),
            &mut s,
            "localhost",
            9001,
            soon(),
        )
        .unwrap();
        assert_eq!(take(&mut s, 1), b"!");
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            assert_eq!(take(s, 3), [5, 1, 0]);
            s.write_all(&[5, 0]).unwrap();
            let req = take(s, 22);
            assert_eq!(&req[..4], [5, 1, 0, 4]);
            assert_eq!(
                &req[4..20],
                "::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
            );
            s.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
        });
        tunnel(&socks("h", 1, true, None), &mut s, "[::1]", 9001, soon()).unwrap();
        h.join().unwrap();
    }

    #[test]
    fn socks5_reply_codes_are_named() {
        for (rep, name) in [
            (1, "general failure"),
            (2, "connection not allowed by ruleset"),
            (3, "network unreachable"),
            (4, "host unreachable"),
            (5, "connection refused"),
            (6, "TTL expired"),
            (7, "command not supported"),
            (8, "address type not supported"),
            (42, "unassigned reply 42"),
        ] {
            let (mut s, h) = fake(move |s| {
                take(s, 3);
                s.write_all(&[5, 0]).unwrap();
                take(s, 10);
                s.write_all(&[5, rep, 0, 1]).unwrap();
            });
            let e = tunnel(
                &socks("127.0.0.1", 1080, false, None),
                &mut s,
                "10.0.0.1",
                80,
                soon(),
            )
            .unwrap_err();
            assert_eq!(e.kind, Kind::Connect);
            assert_eq!(
                e.msg,
                format!(
                    "proxy 127.0.0.1:1080 refused CONNECT to 10.0.0.1:80: SOCKS5 reply {rep} ({name})"
                )
            );
            h.join().unwrap();
        }
    }

    #[test]
    fn socks5_auth_failures_are_clear() {
        let (mut s, h) = fake(|s| {
            take(s, 4);
            s.write_all(&[5, 2]).unwrap();
            take(s, 5);
            s.write_all(&[1, 1]).unwrap();
        });
        let e = tunnel(
            &socks("h", 1, true, Some(("u", "p"))),
            &mut s,
            "t",
            1,
            soon(),
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::Connect);
        assert!(
            e.msg
                .contains("rejected the SOCKS5 user name and password for user \"u\""),
            "{e}"
        );
        assert!(!e.msg.contains("\"p\""), "{e}");
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            take(s, 3);
            s.write_all(&[5, 0xff]).unwrap();
        });
        let e = tunnel(&socks("h", 1, true, None), &mut s, "t", 1, soon()).unwrap_err();
        assert!(e.msg.contains("requires SOCKS5 authentication"), "{e}");
        h.join().unwrap();

        let (mut s, h) = fake(|s| {
            take(s, 3);
            s.write_all(&[5, 2]).unwrap();
        });
        let e = tunnel(&socks("h", 1, true, None), &mut s, "t", 1, soon()).unwrap_err();
        assert!(e.msg.contains("not offered"), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn socks5_hostile_answers_do_not_panic() {
        let answers: [&[u8]; 6] = [
            b"",
            &[5],
            &[4, 0],
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            &[5, 0, 5, 0, 0, 9],
            &[5, 0, 5, 0, 0, 3, 200, 1, 2],
        ];
        for answer in answers {
            let (mut s, h) = fake(move |s| {
                let mut b = [0u8; 64];
                let _ = s.read(&mut b);
                let _ = s.write_all(answer);
                let _ = s.shutdown(std::net::Shutdown::Write);
                // Take whatever comes next, until the client hangs up.
                while s.read(&mut b).is_ok_and(|n| n > 0) {}
            });
            let e = tunnel(&socks("h", 1, true, None), &mut s, "t", 1, soon()).unwrap_err();
            assert_eq!(e.kind, Kind::Connect, "{answer:?}: {e}");
            drop(s);
            h.join().unwrap();
        }
    }
}
