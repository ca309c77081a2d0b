//! The opening handshake: build the request, read the response, check
//! `Sec-WebSocket-Accept` and the subprotocol, and describe a refusal (status,
//! headers, up to 4 KiB of body). Returns a `Handshake` value and any bytes that
//! arrived after the response head (frames the server sent at once).

use std::io::{self, Read, Write};
use std::time::Instant;

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use crate::error::{Error, Refusal};
use crate::event::{Handshake, HttpHead};
use crate::target::Target;

/// What to ask for besides the WebSocket headers.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    /// `-H`, in the order given.
    pub headers: Vec<(String, String)>,
    /// `-p`, in the order given.
    pub protocols: Vec<String>,
    pub origin: Option<String>,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4096;

/// The request head we send, headers in wire order, and its key.
pub fn request(target: &Target, ask: &Ask) -> (HttpHead, String) {
    let key = generate_key();
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), target.host_header.clone()),
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Key".into(), key.clone()),
        ("Sec-WebSocket-Version".into(), "13".into()),
    ];
    if !ask.protocols.is_empty() {
        headers.push(("Sec-WebSocket-Protocol".into(), ask.protocols.join(", ")));
    }
    if let Some(origin) = &ask.origin {
        headers.push(("Origin".into(), origin.clone()));
    }
    if let Some(auth) = &target.authorization {
        if !ask
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization".into(), auth.clone()));
        }
    }
    headers.push((
        "User-Agent".into(),
        concat!("wsdbg/", env!("CARGO_PKG_VERSION")).into(),
    ));
    for (name, value) in &ask.headers {
        // A user's header replaces one of ours with the same name (except the
        // WebSocket key, which we must know), else it is added.
        if let Some(slot) = headers.iter_mut().find(|(n, _)| {
            n.eq_ignore_ascii_case(name) && !n.eq_ignore_ascii_case("sec-websocket-key")
        }) {
            *slot = (name.clone(), value.clone());
        } else {
            headers.push((name.clone(), value.clone()));
        }
    }
    let head = HttpHead {
        method: "GET".into(),
        path: target.path.clone(),
        headers,
        ..HttpHead::default()
    };
    (head, key)
}

fn encode_request(head: &HttpHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(format!("{} {} HTTP/1.1\r\n", head.method, head.path).as_bytes());
    for (n, v) in &head.headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn header<'a>(head: &'a HttpHead, name: &str) -> Option<&'a str> {
    head.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A header value in a message: `"value"` (quoted, escaped), or `none` when missing.
fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_string(), |v| format!("{v:?}"))
}

/// A list in a message: `"a", "b"`, or `none` when empty.
fn shown_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    quoted.join(", ")
}

fn io_err(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            Error::timeout(format!("{what}: no answer before --connect-timeout"))
        }
        _ => Error::handshake(format!("{what}: {e}")),
    }
}

/// Send the request and read the answer. On success returns the handshake and the
/// bytes read past the response head.
pub fn perform<S: Read + Write>(
    stream: &mut S,
    target: &Target,
    ask: &Ask,
    started: Instant,
) -> Result<(Handshake, Vec<u8>), Error> {
    let (req, key) = request(target, ask);
    stream
        .write_all(&encode_request(&req))
        .and_then(|_| stream.flush())
        .map_err(|e| io_err(e, "sending the handshake request"))?;

    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut searched = 0;
    let head_end = loop {
        match head_end(&buf, searched) {
            Ok(Some(pos)) => break pos,
            Ok(None) => searched = buf.len(),
            Err(max) => {
                return Err(Error::handshake(format!(
                    "expected an HTTP response head of at most {max} bytes, got more"
                )))
            }
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| io_err(e, "reading the handshake response"))?;
        if n == 0 {
            return Err(Error::handshake(if buf.is_empty() {
                "the server closed the connection without answering the handshake".to_string()
            } else {
                format!(
                    "the server closed the connection in the middle of the response head ({} bytes)",
                    buf.len()
                )
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let response = parse_response(&buf[..head_end])?;
    let rest = buf[head_end..].to_vec();

    if response.status != 101 {
        return Err(refused(stream, response, rest));
    }
    let fail = |msg: String, response: &HttpHead| {
        let mut e = Error::handshake(msg);
        e.refusal = Some(Box::new(Refusal {
            status: response.status,
            reason: response.reason.clone(),
            headers: response.headers.clone(),
            body: Vec::new(),
        }));
        e
    };
    match header(&response, "upgrade") {
        Some(v) if v.trim().eq_ignore_ascii_case("websocket") => {}
        other => {
            return Err(fail(
                format!(
                    "expected \"Upgrade: websocket\" in the 101 response, got {}",
                    shown(other)
                ),
                &response,
            ))
        }
    }
    let conn_ok = header(&response, "connection").is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    });
    if !conn_ok {
        return Err(fail(
            format!(
                "expected \"Connection: Upgrade\" in the 101 response, got {}",
                shown(header(&response, "connection"))
            ),
            &response,
        ));
    }
    let want = derive_accept_key(key.as_bytes());
    match header(&response, "sec-websocket-accept") {
        Some(v) if v.trim() == want => {}
        other => {
            return Err(fail(
                format!(
                    "wrong Sec-WebSocket-Accept: expected {want:?}, got {} (RFC 6455 4.1)",
                    shown(other)
                ),
                &response,
            ))
        }
    }
    let protocol = header(&response, "sec-websocket-protocol").map(|p| p.trim().to_string());
    if let Some(p) = &protocol {
        if !ask.protocols.iter().any(|o| o == p) {
            return Err(fail(
                format!(
                    "the server chose subprotocol {p:?}, which was not offered (offered: {}) (RFC 6455 4.1)",
                    shown_list(&ask.protocols)
                ),
                &response,
            ));
        }
    }
    if let Some(ext) = header(&response, "sec-websocket-extensions") {
        if !ext.trim().is_empty() {
            return Err(fail(
                format!(
                    "the server chose extensions {ext:?}, but none were offered (RFC 6455 4.1)"
                ),
                &response,
            ));
        }
    }
    Ok((
        Handshake {
            url: target.url.clone(),
            request: req,
            response,
            protocol,
            elapsed: started.elapsed(),
        },
        rest,
    ))
}

/// The end of an HTTP head in `buf`, just past its blank line: `Ok(None)` while more is
/// needed, `Err(MAX_HEAD)` once more than that came without one. `searched`: how much
/// of `buf` an earlier call looked at, so a head that trickles in is not scanned again
/// from the start each time. The one head reader of both roles.
pub fn head_end(buf: &[u8], searched: usize) -> Result<Option<usize>, usize> {
    let from = searched.saturating_sub(3);
    if let Some(p) = buf[from.min(buf.len())..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
    {
        return Ok(Some(from + p + 4));
    }
    if buf.len() > MAX_HEAD {
        return Err(MAX_HEAD);
    }
    Ok(None)
}

/// A client's upgrade request, accepted: the 101 response to send, and what the
/// client asked for.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub response: Vec<u8>,
    pub request: HttpHead,
    /// The subprotocol chosen (the first the client offered).
    pub protocol: Option<String>,
}

/// A request that is not a WebSocket upgrade: the 400 response to send, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub response: Vec<u8>,
    pub problem: String,
}

/// The server side: judge a request head (as `head_end` found it) and answer it.
pub fn accept(head: &[u8]) -> Result<Accepted, Rejected> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(head);
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let problem = match parsed {
        Err(e) => Some(format!("expected an HTTP/1.1 request, got a bad one ({e})")),
        Ok(httparse::Status::Partial) => Some("expected a complete request head".to_string()),
        Ok(_) if req.method != Some("GET") => Some(format!(
            "expected GET, got {}",
            req.method.unwrap_or("nothing")
        )),
        Ok(_) if !get("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) => {
            Some("expected \"Upgrade: websocket\"".to_string())
        }
        Ok(_) if get("sec-websocket-version").as_deref() != Some("13") => {
            Some("expected \"Sec-WebSocket-Version: 13\"".to_string())
        }
        Ok(_) if get("sec-websocket-key").is_none() => {
            Some("expected a Sec-WebSocket-Key header".to_string())
        }
        _ => None,
    };
    if let Some(problem) = problem {
        let body = format!("wsdbg listen: not a WebSocket handshake: {problem}\n");
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n{body}",
            body.len()
        );
        return Err(Rejected {
            response: response.into_bytes(),
            problem,
        });
    }
    let request = HttpHead {
        method: "GET".into(),
        path: req.path.unwrap_or("/").to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        ..HttpHead::default()
    };
    let key = get("sec-websocket-key").unwrap_or_default();
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    let protocol = get("sec-websocket-protocol").and_then(|protos| {
        protos
            .split(',')
            .map(str::trim)
            .find(|p| !p.is_empty())
            .map(str::to_string)
    });
    if let Some(p) = &protocol {
        resp.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    resp.push_str("\r\n");
    Ok(Accepted {
        response: resp.into_bytes(),
        request,
        protocol,
    })
}

/// Parse a response head (status line and headers, ending with the blank line).
pub fn parse_response(head: &[u8]) -> Result<HttpHead, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(Error::handshake(
                "expected an HTTP response head, got a partial one",
            ))
        }
        Err(e) => {
            let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
            return Err(Error::handshake(format!(
                "expected an HTTP/1.1 response, got {:?} ({e})",
                String::from_utf8_lossy(first).trim_end()
            )));
        }
    }
    Ok(HttpHead {
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or("").to_string(),
        headers: resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        ..HttpHead::default()
    })
}

/// A non-101 answer: read up to 4 KiB of its body (within the deadline already set on
/// the socket) and describe it.
fn refused<S: Read>(stream: &mut S, response: HttpHead, mut body: Vec<u8>) -> Error {
    let content_length =
        header(&response, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = header(&response, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let want = content_length.unwrap_or(MAX_BODY).min(MAX_BODY);
    let mut chunk = [0u8; 4096];
    while body.len() < want && !(chunked && body.windows(5).any(|w| w == b"0\r\n\r\n")) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    body.truncate(MAX_BODY);
    let status = response.status;
    let mut msg = format!(
        "the server refused the WebSocket handshake: {} {}",
        status, response.reason
    );
    if (300..400).contains(&status) {
        match header(&response, "location") {
            Some(loc) => msg.push_str(&format!(" -> {loc} (a redirect; -L follows it)")),
            None => msg.push_str(" (a redirect with no Location header)"),
        }
    }
    let mut e = Error::handshake(msg);
    e.refusal = Some(Box::new(Refusal {
        status,
        reason: response.reason,
        headers: response.headers,
        body,
    }));
    e
}

/// Decode a chunked body as far as it goes; on anything odd, return it as it came.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return if out.is_empty() { raw.to_vec() } else { out };
        };
        let size_str = String::from_utf8_lossy(&rest[..eol]);
        let size_str = size_str.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_str, 16) else {
            return raw.to_vec();
        };
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        out.extend_from_slice(&rest[start..end]);
        if end + 2 > rest.len() {
            return out;
        }
        rest = &rest[end + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_ws_headers_in_order_and_user_headers() {
        let t = crate::target::parse("ws://u:p@h:9/x").unwrap();
        let ask = Ask {
            headers: vec![
                ("X-A".into(), "b".into()),
                ("user-agent".into(), "me".into()),
            ],
            protocols: vec!["chat".into(), "superchat".into()],
            origin: Some("http://o".into()),
        };
        let (head, key) = request(&t, &ask);
        let names: Vec<&str> = head.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Host",
                "Upgrade",
                "Connection",
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Version",
                "Sec-WebSocket-Protocol",
                "Origin",
                "Authorization",
                "user-agent",
                "X-A"
            ]
        );
        assert_eq!(header(&head, "host"), Some("h:9"));
        assert_eq!(header(&head, "sec-websocket-key"), Some(key.as_str()));
        assert_eq!(
            header(&head, "sec-websocket-protocol"),
            Some("chat, superchat")
        );
        assert_eq!(header(&head, "user-agent"), Some("me"));
    }

    #[test]
    fn dechunk_decodes() {
        assert_eq!(dechunk(b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n"), b"hello!");
        assert_eq!(dechunk(b"zz"), b"zz");
    }

    #[test]
    fn parse_response_keeps_order() {
        let h = parse_response(b"HTTP/1.1 403 Forbidden\r\nB: 1\r\nA: 2\r\n\r\n").unwrap();
        assert_eq!(h.status, 403);
        assert_eq!(h.reason, "Forbidden");
        assert_eq!(h.headers[0].0, "B");
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
    }

    /// Answers the request written to it with a canned response, in which `{ACCEPT}`
    /// stands for the right `Sec-WebSocket-Accept` value.
    struct Canned {
        response: String,
        written: Vec<u8>,
        reply: Option<io::Cursor<Vec<u8>>>,
    }

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.reply.is_none() {
                let req = String::from_utf8_lossy(&self.written).into_owned();
                let key = req
                    .lines()
                    .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                    .unwrap_or_default();
                let accept = derive_accept_key(key.trim().as_bytes());
                let resp = self.response.replace("{ACCEPT}", &accept);
                self.reply = Some(io::Cursor::new(resp.into_bytes()));
            }
            self.reply.as_mut().map_or(Ok(0), |r| r.read(buf))
        }
    }

    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The error `perform` gives for a 101 with these header lines.
    fn refused_101(protocols: &[&str], lines: &str) -> String {
        let t = crate::target::parse("ws://h/").unwrap();
        let ask = Ask {
            protocols: protocols.iter().map(|p| p.to_string()).collect(),
            ..Ask::default()
        };
        let mut s = Canned {
            response: format!("HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n"),
            written: Vec::new(),
            reply: None,
        };
        perform(&mut s, &t, &ask, Instant::now()).unwrap_err().msg
    }

    #[test]
    fn messages_show_values_not_rust_debug_syntax() {
        let ok = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        let cases: &[(&[&str], String, &str)] = &[
            (&[], String::new(), "in the 101 response, got none"),
            (&[], "Upgrade: h2c\r\n".into(), "got \"h2c\""),
            (
                &[],
                "Upgrade: websocket\r\n".into(),
                "\"Connection: Upgrade\" in the 101 response, got none",
            ),
            (&[], ok.into(), "Sec-WebSocket-Accept: expected \""),
            (&[], ok.into(), "got none (RFC 6455 4.1)"),
            (
                &[],
                format!("{ok}Sec-WebSocket-Accept: abc\r\n"),
                "got \"abc\" (RFC 6455 4.1)",
            ),
            (
                &["chat", "v2"],
                format!("{ok}Sec-WebSocket-Accept: {{ACCEPT}}\r\nSec-WebSocket-Protocol: v3\r\n"),
                "subprotocol \"v3\", which was not offered (offered: \"chat\", \"v2\")",
            ),
            (
                &[],
                format!("{ok}Sec-WebSocket-Accept: {{ACCEPT}}\r\nSec-WebSocket-Protocol: v3\r\n"),
                "(offered: none)",
            ),
        ];
        for (protocols, lines, want) in cases {
            let msg = refused_101(protocols, lines);
            assert!(msg.contains(want), "{lines:?}: {msg}");
            assert!(!msg.contains("Some(") && !msg.contains("None"), "{msg}");
        }
    }

    #[test]
    fn offered_subprotocols_are_listed_plainly() {
        assert_eq!(shown_list(&[]), "none");
        assert_eq!(
            shown_list(&["chat".into(), "super chat".into()]),
            "\"chat\", \"super chat\""
        );
        assert_eq!(shown(None), "none");
        assert_eq!(shown(Some("a\"b")), "\"a\\\"b\"");
    }
}
