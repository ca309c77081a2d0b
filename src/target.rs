//! URL rules: `ws://` and `wss://`, `http(s)://` mapped to them, a bare `host:port/path`
//! meaning `ws://`, userinfo turned into a Basic `Authorization` header. Pure: no I/O.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use base64::Engine;
use url::{Host, Url};

use crate::error::Error;

/// Where to connect and what to ask for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as shown to the user: `ws://` or `wss://`, userinfo removed.
    pub url: String,
    pub tls: bool,
    /// Host to resolve: a name, or an IP literal without brackets.
    pub host: String,
    /// True when `host` is an IP literal (no SNI name is sent then).
    pub host_is_ip: bool,
    pub port: u16,
    /// Request target: path and query, never empty.
    pub path: String,
    /// `Host` header value: host, plus `:port` when it is not the scheme's default.
    pub host_header: String,
    /// `Basic …` from the URL's userinfo.
    pub authorization: Option<String>,
    /// `ws+unix:///path.sock:/chat`: connect to this Unix socket (the host is
    /// `localhost` for the Host header and SNI).
    pub unix: Option<String>,
}

/// `PORT`, `PORT/path`, `:PORT` or `:PORT/path`: the port and what follows it, when the
/// word is a bare port number (digits only); a number past 65535 is an error.
fn bare_port(word: &str) -> Result<Option<&str>, Error> {
    let rest = word.strip_prefix(':').unwrap_or(word);
    let digits = rest.find(['/', '?']).map_or(rest, |i| &rest[..i]);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match digits.parse::<u16>() {
        Ok(_) => Ok(Some(rest)),
        Err(_) => Err(Error::usage(format!(
            "URL: expected a port 0-65535 (a bare number is a port on 127.0.0.1), got {word:?}"
        ))),
    }
}

/// Parse a URL given on the command line.
pub fn parse(input: &str) -> Result<Target, Error> {
    let expected = "expected ws://, wss://, http://, https:// or host:port/path";
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Error::usage(format!(
            "URL: {expected}, got an empty string"
        )));
    }
    if let Some(t) = unix_url(trimmed) {
        return t;
    }
    if let Some(fixed) = short_slashes(trimmed) {
        return Err(Error::usage(match fixed {
            Some(url) => format!("URL: {expected}, got {input:?} (did you mean {url}?)"),
            None => format!("URL: {expected}, got {input:?} with no host"),
        }));
    }
    // A scheme is letters (and + - .) before the first `://`, with no `/` before it:
    // in `host:1/x:///` the `://` is in the path.
    let has_scheme = trimmed.find("://").is_some_and(|i| {
        trimmed[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let with_scheme = if has_scheme {
        trimmed.to_string()
    } else if let Some(rest) = bare_port(trimmed)? {
        // `wsdbg 8080`, `wsdbg :8080/x`: a port on this machine (the URL parser would
        // take 8080 as the IPv4 address 0.0.31.144).
        format!("ws://127.0.0.1:{rest}")
    } else {
        format!("ws://{trimmed}")
    };
    // Only right after the scheme: `ws:///path` has no host (the URL standard would
    // take the first path segment as one); `ws://h/a:///b` is a path like any other.
    let after_scheme = with_scheme
        .find("://")
        .map_or("", |i| &with_scheme[i + 3..]);
    if after_scheme.starts_with('/') {
        // The URL standard would take the first path segment as the host.
        return Err(Error::usage(format!(
            "URL: {expected}, got {input:?} with no host"
        )));
    }
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| Error::usage(format!("URL: {expected}, got {input:?} ({e})")))?;
    let tls = match url.scheme() {
        "ws" | "http" => false,
        "wss" | "https" => true,
        other => {
            return Err(Error::usage(format!(
                "URL: {expected}, got scheme {other:?} in {input:?}"
            )))
        }
    };
    let (host, host_is_ip, host_for_header) = match url.host() {
        Some(Host::Domain(d)) => (d.to_string(), false, d.to_string()),
        Some(Host::Ipv4(a)) => (a.to_string(), true, a.to_string()),
        Some(Host::Ipv6(a)) => (a.to_string(), true, format!("[{a}]")),
        None => {
            return Err(Error::usage(format!(
                "URL: {expected}, got {input:?} with no host"
            )))
        }
    };
    let default_port = if tls { 443 } else { 80 };
    let port = url.port().unwrap_or(default_port);
    let host_header = if port == default_port {
        host_for_header
    } else {
        format!("{host_for_header}:{port}")
    };
    let authorization = if !url.username().is_empty() || url.password().is_some() {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        Some(format!("Basic {cred}"))
    } else {
        None
    };
    let mut path = url.path().to_string();
    if path.is_empty() {
        path.push('/');
    }
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    // What the user sees: the ws form, without the credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let _ = url.set_scheme(if tls { "wss" } else { "ws" });
    url.set_fragment(None);
    Ok(Target {
        url: url.to_string(),
        tls,
        host,
        host_is_ip,
        port,
        path,
        host_header,
        authorization,
        unix: None,
    })
}

/// `ws+unix:///path.sock[:/request/path]` and `wss+unix://...`, as Node `ws` and wscat
/// write them: the socket path, then the request path after a `:` (default `/`).
fn unix_url(input: &str) -> Option<Result<Target, Error>> {
    let (tls, rest) = if let Some(r) = input.strip_prefix("ws+unix://") {
        (false, r)
    } else {
        (true, input.strip_prefix("wss+unix://")?)
    };
    let (sock, path) = match rest.split_once(':') {
        Some((s, p)) => (s, p),
        None => (rest, "/"),
    };
    if sock.is_empty() {
        return Some(Err(Error::usage(format!(
            "URL: expected ws+unix:///PATH.sock[:/request/path], got {input:?} (no socket path)"
        ))));
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let scheme = if tls { "wss+unix" } else { "ws+unix" };
    Some(Ok(Target {
        url: format!("{scheme}://{sock}:{path}"),
        tls,
        host: "localhost".into(),
        host_is_ip: false,
        port: if tls { 443 } else { 80 },
        path,
        host_header: "localhost".into(),
        authorization: None,
        unix: Some(sock.to_string()),
    }))
}

/// `ws:/host` or `ws:host`: a scheme we know followed by fewer than two slashes, which
/// would otherwise be taken as a host named `ws`. Returns the URL meant (`None` when
/// there is no host in it). `ws:9001/path` is left alone: host `ws`, port 9001.
fn short_slashes(input: &str) -> Option<Option<String>> {
    let (scheme, rest) = input.split_once(':')?;
    let known = ["ws", "wss", "http", "https"];
    if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) || rest.starts_with("//") {
        return None;
    }
    let port = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start_matches('/');
    Some((!rest.is_empty()).then(|| format!("{scheme}://{rest}")))
}

/// Where a redirect from `from` to `location` (absolute or relative) leads. `ws` to
/// `wss` is fine; `wss` to `ws` would drop TLS and is refused.
pub fn redirect(from: &Target, location: &str) -> Result<Target, Error> {
    let base = Url::parse(&from.url)
        .map_err(|e| Error::handshake(format!("redirect from {}: {e}", from.url)))?;
    let next = base.join(location).map_err(|e| {
        Error::handshake(format!(
            "redirect: expected a URL in Location, got {location:?} ({e})"
        ))
    })?;
    let next =
        parse(next.as_str()).map_err(|e| Error::handshake(format!("redirect: {}", e.msg)))?;
    if from.tls && !next.tls {
        return Err(Error::handshake(format!(
            "redirect from {} to {} refused: it would drop TLS (wss -> ws)",
            from.url, next.url
        )));
    }
    Ok(next)
}

/// `%XX` escapes decoded (invalid ones kept as they are), as lossy UTF-8.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The port `listen` binds when none is given.
pub const LISTEN_PORT: u16 = 9001;

/// Where `listen` binds: `[ADDR]` (HOST, HOST:PORT, an IP, a bare PORT meaning
/// 127.0.0.1:PORT, or `:PORT` meaning every interface) and `--port`, which wins.
pub fn bind_addr(addr: Option<&str>, port: Option<u16>) -> Result<SocketAddr, Error> {
    bind_addr_or(addr, port, LISTEN_PORT)
}

/// The port `relay` binds when none is given.
pub const RELAY_PORT: u16 = 9002;

/// `bind_addr`, with `default` as the port when neither ADDR nor `--port` gives one.
pub fn bind_addr_or(
    addr: Option<&str>,
    port: Option<u16>,
    default: u16,
) -> Result<SocketAddr, Error> {
    let port = match addr {
        None => port.or(Some(default)),
        Some(a) => {
            let bare = a.trim_start_matches('[').trim_end_matches(']');
            let has_port = a.bytes().all(|b| b.is_ascii_digit())
                || a.parse::<SocketAddr>().is_ok()
                || (bare.parse::<IpAddr>().is_err() && a.contains(':'));
            if has_port {
                port
            } else {
                port.or(Some(default))
            }
        }
    };
    let a = addr.unwrap_or("127.0.0.1");
    // A bare number is a port on this machine, never an IPv4 address (getaddrinfo
    // reads 8941 as 0.0.34.237).
    if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) {
        let p = a.parse::<u16>().map_err(|_| {
            Error::usage(format!(
                "listen: expected a port 0-65535 (or HOST, HOST:PORT, IP), got {a:?}"
            ))
        })?;
        return Ok(SocketAddr::new(
            IpAddr::from([127, 0, 0, 1]),
            port.unwrap_or(p),
        ));
    }
    if let Ok(mut sa) = a.parse::<SocketAddr>() {
        if let Some(p) = port {
            sa.set_port(p);
        }
        return Ok(sa);
    }
    let bare = a.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port.unwrap_or(LISTEN_PORT)));
    }
    if let Some(p) = a.strip_prefix(':').filter(|p| !p.is_empty()) {
        let p = p.parse::<u16>().map_err(|_| {
            Error::usage(format!(
                "listen: expected ADDR as HOST, HOST:PORT, PORT, :PORT or IP, got {a:?} (bad port)"
            ))
        })?;
        return Ok(SocketAddr::new(
            IpAddr::from([0, 0, 0, 0]),
            port.unwrap_or(p),
        ));
    }
    let (host, p) = match a.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| {
                Error::usage(format!(
                    "listen: expected ADDR as HOST, HOST:PORT, PORT, :PORT or IP, got {a:?} (bad port)"
                ))
            })?,
        ),
        None => (a, LISTEN_PORT),
    };
    if host.is_empty() {
        return Err(Error::usage(format!(
            "listen: expected ADDR as HOST, HOST:PORT, PORT, :PORT or IP, got {a:?}"
        )));
    }
    let p = port.unwrap_or(p);
    (host, p)
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| Error::usage(format!("listen: cannot resolve {host:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url() {
        let t = parse("ws://example.com/chat?x=1").unwrap();
        assert!(!t.tls);
        assert_eq!(t.port, 80);
        assert_eq!(t.path, "/chat?x=1");
        assert_eq!(t.host_header, "example.com");
        assert_eq!(t.url, "ws://example.com/chat?x=1");
    }

    #[test]
    fn http_maps_to_ws_and_https_to_wss() {
        let t = parse("http://h:8080").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (false, 8080, "/"));
        assert_eq!(t.url, "ws://h:8080/");
        let t = parse("https://h/x").unwrap();
        assert_eq!((t.tls, t.port), (true, 443));
        assert_eq!(t.url, "wss://h/x");
    }

    #[test]
    fn unix_socket_urls_as_node_ws_writes_them() {
        let t = parse("ws+unix:///tmp/app.sock:/chat?x=1").unwrap();
        assert_eq!(t.unix.as_deref(), Some("/tmp/app.sock"));
        assert_eq!(
            (t.path.as_str(), t.host_header.as_str(), t.tls),
            ("/chat?x=1", "localhost", false)
        );
        let t = parse("wss+unix:///run/s.sock").unwrap();
        assert_eq!((t.path.as_str(), t.tls), ("/", true));
        assert!(parse("ws+unix://").is_err());
    }

    #[test]
    fn a_bare_port_is_this_machine() {
        for (word, url) in [
            ("9311", "ws://127.0.0.1:9311/"),
            (":9311", "ws://127.0.0.1:9311/"),
            ("9311/chat?x=1", "ws://127.0.0.1:9311/chat?x=1"),
        ] {
            let t = parse(word).unwrap();
            assert_eq!(
                (t.url.as_str(), t.host.as_str()),
                (url, "127.0.0.1"),
                "{word}"
            );
        }
        // Not a port: too large, or a host that starts with digits.
        assert!(parse("70000").is_err());
        assert_eq!(parse("9311x:80").unwrap().host, "9311x");
    }

    #[test]
    fn listen_addresses() {
        let sa = |a: &str| bind_addr(Some(a), None).map(|s| s.to_string());
        assert_eq!(sa("8941").unwrap(), "127.0.0.1:8941");
        assert_eq!(sa(":8942").unwrap(), "0.0.0.0:8942");
        assert_eq!(sa("127.0.0.1:7").unwrap(), "127.0.0.1:7");
        assert_eq!(sa("::1").unwrap(), "[::1]:9001");
        assert_eq!(bind_addr(None, Some(5)).unwrap().to_string(), "127.0.0.1:5");
        assert_eq!(
            bind_addr(Some("8941"), Some(5)).unwrap().to_string(),
            "127.0.0.1:5"
        );
        let e = sa("70000").unwrap_err().to_string();
        assert!(e.contains("expected a port"), "{e}");
        assert!(sa(":x").unwrap_err().to_string().contains("bad port"));
    }

    #[test]
    fn bare_host_port_means_ws() {
        let t = parse("localhost:9001/echo").unwrap();
        assert_eq!(t.url, "ws://localhost:9001/echo");
        assert_eq!(t.host, "localhost");
        assert_eq!(t.port, 9001);
        assert_eq!(t.host_header, "localhost:9001");
        assert_eq!(t.path, "/echo");
    }

    #[test]
    fn ipv6_literal() {
        let t = parse("ws://[::1]:9001/").unwrap();
        assert_eq!(t.host, "::1");
        assert!(t.host_is_ip);
        assert_eq!(t.host_header, "[::1]:9001");
    }

    #[test]
    fn userinfo_becomes_basic_auth_and_is_hidden() {
        let t = parse("ws://user:pass@h/").unwrap();
        assert_eq!(t.authorization.as_deref(), Some("Basic dXNlcjpwYXNz"));
        assert_eq!(t.url, "ws://h/");
        let t = parse("ws://us%40er:p%3Ass@h/").unwrap();
        let want = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(t.authorization, Some(format!("Basic {want}")));
    }

    #[test]
    fn redirects_resolve_and_never_drop_tls() {
        let from = parse("ws://h:1/a/b").unwrap();
        assert_eq!(redirect(&from, "/c").unwrap().url, "ws://h:1/c");
        assert_eq!(redirect(&from, "https://k/x").unwrap().url, "wss://k/x");
        let secure = parse("wss://h/").unwrap();
        let e = redirect(&secure, "ws://h/").unwrap_err();
        assert!(e.msg.contains("drop TLS"), "{}", e.msg);
        assert_eq!(redirect(&secure, "/x").unwrap().url, "wss://h/x");
    }

    #[test]
    fn a_scheme_with_one_slash_or_none_gets_a_hint() {
        for (input, meant) in [
            ("ws:/127.0.0.1:9001", "ws://127.0.0.1:9001"),
            ("ws:127.0.0.1", "ws://127.0.0.1"),
            ("http:/x", "http://x"),
            ("wss:/h/p?q=ws://z", "wss://h/p?q=ws://z"),
            ("WS:/h", "WS://h"),
            ("https:h:443", "https://h:443"),
        ] {
            let e = parse(input).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage, "{input}");
            let hint = format!("(did you mean {meant}?)");
            assert!(e.msg.ends_with(&hint), "{input}: {}", e.msg);
            assert!(e.msg.contains(&format!("{input:?}")), "{}", e.msg);
        }
        for input in ["ws:", "ws:/", "http:///"] {
            let e = parse(input).unwrap_err();
            assert!(e.msg.contains("no host"), "{input}: {}", e.msg);
        }
    }

    #[test]
    fn bare_hosts_that_look_like_schemes_still_work() {
        let t = parse("ws:9001/path").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("ws", 9001, "/path")
        );
        let t = parse("http:8080").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("http", 8080));
        assert_eq!(parse("localhost").unwrap().url, "ws://localhost/");
        assert_eq!(parse("wsserver:1/").unwrap().host, "wsserver");
    }

    #[test]
    fn bad_scheme_is_usage_error() {
        let e = parse("ftp://h/").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Usage);
        assert!(e.msg.contains("ftp"), "{}", e.msg);
        assert!(parse("").is_err());
        assert!(parse("ws://").is_err());
        assert_eq!(parse("ws://h/a:///b").unwrap().path, "/a:///b");
        let e = parse("ws:///path").unwrap_err();
        assert!(e.msg.contains("no host"), "{}", e.msg);
    }
}
