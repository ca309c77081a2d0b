//! The opening handshake: build the request, read the response, check
//! `Sec-WebSocket-Accept` and the subprotocol, and describe a refusal (status,
//! headers, up to 4 KiB of body, said to be cut when there was more). Returns a
//! `Handshake` value and any bytes that arrived after the response head (frames the
//! server sent at once). Every size the peer gives is checked arithmetic, and the
//! deadline set on the stream bounds the whole handshake, read by read.

use std::io::{self, Read, Write};
use std::time::Instant;

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use crate::connect::Deadline;
use crate::deflate;
use crate::error::{Error, Kind, Refusal};
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
    /// `--compress`: the permessage-deflate offer (unless `-H` sets the header).
    pub compress: Option<deflate::Params>,
}

impl Ask {
    /// The user's own `Sec-WebSocket-Extensions` (`-H`), which is sent as written.
    fn user_extensions(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, v)| v.as_str())
    }

    /// The permessage-deflate offers the request carries: `--compress`, or those in the
    /// user's own header (a response is honoured when it fits one of them).
    pub fn deflate_offers(&self) -> Vec<deflate::Params> {
        match self.user_extensions() {
            Some(v) => deflate::elements(v)
                .into_iter()
                .filter(|(n, _)| n == deflate::NAME)
                .filter_map(|(_, p)| deflate::Params::parse(&p).ok())
                .collect(),
            None => self.compress.into_iter().collect(),
        }
    }
}

impl Ask {
    /// Every value goes into the request head as it is: a CR or LF in one would end
    /// its header line and start another (header injection), and no other control
    /// character (NUL, VT, DEL, ...) may be in a field value either (RFC 9110 5.5: only
    /// visible characters, spaces and tabs). `-H` is checked when parsed; this checks
    /// all of them, `-p` and `--origin` too.
    pub fn check(&self) -> Result<(), Error> {
        let shown = |c: char| format!("U+{:04X}", c as u32);
        if let Some((o, c)) = self
            .origin
            .as_deref()
            .and_then(|o| Some((o, bad_field(o)?)))
        {
            return Err(Error::usage(format!(
                "--origin: expected {FIELD_CHARS}, got {o:?} ({} in it)",
                shown(c)
            )));
        }
        if let Some((p, c)) = self.protocols.iter().find_map(|p| Some((p, bad_field(p)?))) {
            return Err(Error::usage(format!(
                "-p: expected a subprotocol name of {FIELD_CHARS}, got {p:?} ({} in it)",
                shown(c)
            )));
        }
        if let Some((n, v, c)) = self
            .headers
            .iter()
            .find_map(|(n, v)| Some((n, v, bad_field(n).or_else(|| bad_field(v))?)))
        {
            return Err(Error::usage(format!(
                "-H: expected a header of {FIELD_CHARS}, got {:?} ({} in it)",
                format!("{n}: {v}"),
                shown(c)
            )));
        }
        Ok(())
    }
}

/// What a header field value may hold, for messages.
pub const FIELD_CHARS: &str =
    "one line of visible characters, spaces and tabs (no CR, LF, NUL, VT, DEL or other control character; RFC 9110 5.5)";

/// The first character that may not be in a header field value (RFC 9110 5.5:
/// `field-vchar = VCHAR / obs-text`, with SP and HTAB between): any ASCII control
/// (0x00-0x1F and DEL) but HTAB. Bytes past ASCII are obs-text, which is allowed.
pub fn bad_field(v: &str) -> Option<char> {
    v.chars().find(|&c| c.is_ascii_control() && c != '\t')
}

const MAX_HEAD: usize = 64 * 1024;
/// The most of a refused handshake's body that is kept (and shown).
const MAX_BODY: usize = 4096;
/// Raw bytes read of a chunked body: room for the chunk-size lines around `MAX_BODY`.
const MAX_CHUNKED: usize = MAX_BODY + 1024;

/// A header line given by the user (`-H`, or a line `--header-cmd` printed: `what`
/// names which), checked: a token name, a field value without control characters.
pub fn parse_header(h: &str, what: &str) -> Result<(String, String), Error> {
    let Some((name, value)) = h.split_once(':') else {
        return Err(Error::usage(format!(
            "{what}: expected 'Name: value', got {h:?} (no colon)"
        )));
    };
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(Error::usage(format!(
            "{what}: expected 'Name: value' with a token as the name, got {h:?}"
        )));
    }
    if let Some(c) = bad_field(value) {
        return Err(Error::usage(format!(
            "{what}: expected a header value of {}, got {h:?} (U+{:04X} in it)",
            FIELD_CHARS, c as u32
        )));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

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
    if let (Some(offer), None) = (&ask.compress, ask.user_extensions()) {
        headers.push(("Sec-WebSocket-Extensions".into(), offer.header()));
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
    // A user's header replaces one of ours with the same name (except the WebSocket
    // key, which we must know), else it is added: `-H 'X-A: 1' -H 'X-A: 2'` sends both
    // lines, in order, as curl does.
    let ours = headers.len();
    let mut replaced = vec![false; ours];
    for (name, value) in &ask.headers {
        let slot = (0..ours).find(|&i| {
            !replaced[i]
                && headers[i].0.eq_ignore_ascii_case(name)
                && !headers[i].0.eq_ignore_ascii_case("sec-websocket-key")
        });
        match slot {
            Some(i) => {
                replaced[i] = true;
                headers[i] = (name.clone(), value.clone());
            }
            None => headers.push((name.clone(), value.clone())),
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

/// Every line of a list header as one value (RFC 9110 5.3: a recipient may combine
/// repeated lines of a list, in order, with `, `): each trimmed, empty ones left out;
/// `None` when there is no such line.
fn joined(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut lines = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .peekable();
    lines.peek()?;
    let values: Vec<&str> = lines.filter(|v| !v.is_empty()).collect();
    Some(values.join(", "))
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

/// A socket timeout shows as either kind, depending on the platform.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn io_err(e: io::Error, what: &str) -> Error {
    if is_timeout(&e) {
        Error::timeout(format!("{what}: no answer before --connect-timeout"))
    } else {
        Error::handshake(format!("{what}: {e}"))
    }
}

/// Send the request and read the answer. On success returns the handshake and the
/// bytes read past the response head. `deadline` bounds the whole of it: each read
/// waits only what is left (the stream's `set_deadline`), however slowly bytes come.
pub fn perform<S: Read + Write + Deadline>(
    stream: &mut S,
    target: &Target,
    ask: &Ask,
    started: Instant,
    deadline: Instant,
) -> Result<(Handshake, Vec<u8>), Error> {
    ask.check()?;
    let deadline = Some(deadline);
    let (req, key) = request(target, ask);
    stream
        .write_all(&encode_request(&req))
        .and_then(|_| stream.flush())
        .map_err(|e| io_err(e, "sending the handshake request"))?;

    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut searched = 0;
    // Bytes of interim (1xx) responses skipped: they count towards MAX_HEAD, so a
    // server cannot send them without end either (the deadline bounds the time).
    let mut interim = 0usize;
    let too_big = |max: usize, interim: usize| {
        let with = if interim > 0 {
            " (interim 1xx responses included)"
        } else {
            ""
        };
        Error::handshake(format!(
            "expected an HTTP response head of at most {max} bytes{with}, got more"
        ))
    };
    let (response, head_end) = loop {
        match head_end(&buf, searched) {
            Ok(Some(pos)) => {
                let head = parse_response(&buf[..pos])?;
                // RFC 9110 15.2: a client must parse any 1xx responses before the final
                // one (a `100 Continue`, a `103 Early Hints`) and go on reading. A 101 is
                // the final answer here.
                if (100..200).contains(&head.status) && head.status != 101 {
                    interim = interim.saturating_add(pos);
                    buf.drain(..pos);
                    searched = 0;
                    if interim.saturating_add(buf.len()) > MAX_HEAD {
                        return Err(too_big(MAX_HEAD, interim));
                    }
                    continue;
                }
                break (head, pos);
            }
            Ok(None) if interim.saturating_add(buf.len()) > MAX_HEAD => {
                return Err(too_big(MAX_HEAD, interim))
            }
            Ok(None) => searched = buf.len(),
            Err(max) => return Err(too_big(max, interim)),
        }
        let timed_out = || {
            Error::timeout(format!(
                "reading the handshake response: no complete response head before --connect-timeout ({} bytes of it received)",
                buf.len()
            ))
        };
        if let Some(d) = deadline {
            stream.set_deadline(d).map_err(|e| match e.kind {
                Kind::Timeout => timed_out(),
                _ => e,
            })?;
        }
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(timed_out()),
            Err(e) => return Err(io_err(e, "reading the handshake response")),
        };
        if buf.is_empty() && speaks_tls(&chunk[..n]) {
            return Err(Error::handshake(
                "the server answered with TLS: it speaks wss:// on this port (use wss:// instead of ws://)",
            ));
        }
        if n == 0 {
            return Err(Error::handshake(if buf.is_empty() && interim > 0 {
                "the server closed the connection after an interim 1xx response, without its final answer to the handshake".to_string()
            } else if buf.is_empty() {
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
    let rest = buf[head_end..].to_vec();

    if response.status != 101 {
        let mut e = refused(stream, deadline, response, rest);
        if let Some(r) = e.refusal.as_deref_mut() {
            r.request = Some(req.clone());
        }
        return Err(e);
    }
    let fail = |msg: String, response: &HttpHead| {
        let mut e = Error::handshake(msg);
        e.refusal = Some(Box::new(Refusal {
            status: response.status,
            reason: response.reason.clone(),
            headers: response.headers.clone(),
            body: Vec::new(),
            request: Some(req.clone()),
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
    // Repeated lines of a list header are one list (RFC 9110 5.3): a second line naming
    // what was not offered is refused as the same on one line is.
    let protocol = joined(&response.headers, "sec-websocket-protocol");
    if let Some(p) = &protocol {
        let chosen: Vec<String> = p
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if chosen.len() > 1 {
            return Err(fail(
                format!(
                    "expected the server to choose one subprotocol, got {}: {} (RFC 6455 4.1)",
                    chosen.len(),
                    shown_list(&chosen)
                ),
                &response,
            ));
        }
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
    let deflate = match joined(&response.headers, "sec-websocket-extensions").as_deref() {
        None | Some("") => None,
        Some(ext) => Some(agree(ask, ext).map_err(|m| fail(m, &response))?),
    };
    Ok((
        Handshake {
            url: target.url.clone(),
            request: req,
            response,
            protocol,
            deflate,
            elapsed: started.elapsed(),
        },
        rest,
    ))
}

/// The client's reading of the extensions a server chose (RFC 6455 4.1: only ones
/// offered; RFC 7692 7.1: parameters the offer allowed).
fn agree(ask: &Ask, ext: &str) -> Result<deflate::Agreed, String> {
    let offers = ask.deflate_offers();
    let chosen = deflate::elements(ext);
    if chosen.len() > 1 {
        return Err(format!(
            "the server chose {} extensions ({ext:?}); at most permessage-deflate was offered (RFC 6455 4.1)",
            chosen.len()
        ));
    }
    let Some((name, params)) = chosen.into_iter().next() else {
        return Err(format!("expected an extension in {ext:?}"));
    };
    if name != deflate::NAME || offers.is_empty() {
        return Err(format!(
            "the server chose extension {name:?}, which was not offered (RFC 6455 4.1)"
        ));
    }
    let params = deflate::Params::parse(&params)
        .map_err(|e| format!("the server's permessage-deflate response: {e}"))?;
    // The response may answer any of the offers (RFC 7692 5: the server picks one);
    // the first it fits wins, else the first one's complaint is said. An 8-bit window
    // for us (`compress_out` false) is said by the session.
    let mut first_err = None;
    for offer in &offers {
        match deflate::Agreed::client(offer, &params) {
            Ok((agreed, _note)) => return Ok(agreed),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(format!(
        "the server's permessage-deflate response: {}",
        first_err.unwrap_or_default()
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
    /// permessage-deflate, when offered and the server takes it.
    pub deflate: Option<deflate::Agreed>,
    /// Offers declined, and why.
    pub notes: Vec<String>,
}

/// A request that is not a WebSocket upgrade: the 400 response to send, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub response: Vec<u8>,
    pub problem: String,
    /// `--reject`: refused because the user asked for it (a notice, not an error).
    pub asked: bool,
}

/// How `listen` answers upgrade requests.
#[derive(Debug, Clone, Default)]
pub struct ServerOpts {
    /// Take a permessage-deflate offer.
    pub compress: bool,
    /// `--subprotocol`: accept only this one (a client offering others is refused).
    pub subprotocol: Option<String>,
    /// `--header`: extra response headers.
    pub headers: Vec<(String, String)>,
    /// `--reject STATUS [BODY]`: refuse every upgrade so.
    pub reject: Option<(u16, String)>,
}

/// An HTTP answer that refuses the upgrade, with a plain-text body.
fn refusal(status: u16, body: &str, extra: &[(String, String)]) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Refused",
    };
    let mut resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in extra {
        resp.push_str(&format!("{n}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    resp.push_str(body);
    resp.into_bytes()
}

/// The server side: judge a request head (as `head_end` found it) and answer it.
pub fn accept(head: &[u8], opts: &ServerOpts) -> Result<Accepted, Rejected> {
    let compress = opts.compress;
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
    if let Some(v) = get("sec-websocket-version").filter(|v| v != "13") {
        // RFC 6455 4.4: a version the server does not speak gets 426 and the versions
        // it does.
        let body = format!("wsdbg listen: WebSocket version {v} is not spoken here; 13 is\n");
        let response = format!(
            "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n{body}",
            body.len()
        );
        return Err(Rejected {
            response: response.into_bytes(),
            problem: format!("expected \"Sec-WebSocket-Version: 13\", got {v:?} (426)"),
            asked: false,
        });
    }
    if let Some(problem) = problem {
        let body = format!("wsdbg listen: not a WebSocket handshake: {problem}\n");
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n{body}",
            body.len()
        );
        return Err(Rejected {
            response: response.into_bytes(),
            problem,
            asked: false,
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
    if let Some((status, body)) = &opts.reject {
        return Err(Rejected {
            response: refusal(*status, body, &opts.headers),
            problem: format!("refused as asked (--reject {status})"),
            asked: true,
        });
    }
    // Repeated lines of these list headers are one list (RFC 9110 5.3; RFC 6455 11.3.2
    // and 11.3.4 allow them more than once in a request).
    let get_all = |name: &str| {
        let lines: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        joined(&lines, name)
    };
    let offered: Vec<String> = get_all("sec-websocket-protocol")
        .map(|protos| {
            protos
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let protocol = match &opts.subprotocol {
        None => offered.first().cloned(),
        Some(only) if offered.iter().any(|p| p == only) => Some(only.clone()),
        Some(only) => {
            let problem = format!(
                "expected the subprotocol {only:?} to be offered (--subprotocol), got {}",
                shown_list(&offered)
            );
            let body = format!("wsdbg listen: {problem}\n");
            return Err(Rejected {
                response: refusal(400, &body, &opts.headers),
                problem,
                asked: false,
            });
        }
    };
    for (n, v) in &opts.headers {
        resp.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(p) = &protocol {
        resp.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    let (mut agreed, mut notes) = (None, Vec::new());
    if let (true, Some(offers)) = (compress, get_all("sec-websocket-extensions")) {
        let (taken, declined) = deflate::Agreed::server(&offers);
        notes = declined;
        if let Some((params, a)) = taken {
            resp.push_str(&format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                params.header()
            ));
            agreed = Some(a);
        }
    }
    resp.push_str("\r\n");
    Ok(Accepted {
        response: resp.into_bytes(),
        request,
        protocol,
        deflate: agreed,
        notes,
    })
}

/// `relay`: the request sent to the server for a client's upgrade request: the client's
/// path and query after the URL's path (and its query), the client's headers in their
/// order (Origin, cookies, the key, subprotocol and extension offers as it sent them)
/// with `Host` replaced, the URL's userinfo as `Authorization` when the client sent
/// none, and each `-H` replacing the first header of its name, else added.
pub fn relay_request(target: &Target, client: &HttpHead, extra: &[(String, String)]) -> HttpHead {
    let (base, base_q) = target
        .path
        .split_once('?')
        .unwrap_or((target.path.as_str(), ""));
    let (cpath, cq) = client
        .path
        .split_once('?')
        .unwrap_or((client.path.as_str(), ""));
    let mut path = base.trim_end_matches('/').to_string();
    if !cpath.starts_with('/') {
        path.push('/');
    }
    path.push_str(cpath);
    let query: Vec<&str> = [base_q, cq].into_iter().filter(|q| !q.is_empty()).collect();
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    let mut headers: Vec<(String, String)> = client
        .headers
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("host") {
                (n.clone(), target.host_header.clone())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.insert(0, ("Host".into(), target.host_header.clone()));
    }
    if let Some(auth) = &target.authorization {
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization".into(), auth.clone()));
        }
    }
    set_headers(&mut headers, extra);
    HttpHead {
        method: "GET".into(),
        path,
        headers,
        ..HttpHead::default()
    }
}

/// `-H` (and `--header-cmd`'s lines) over a request's headers: each replaces the first
/// header of its name not replaced yet, else it is added.
pub fn set_headers(headers: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    let ours = headers.len();
    let mut replaced = vec![false; ours];
    for (name, value) in extra {
        match (0..ours).find(|&i| !replaced[i] && headers[i].0.eq_ignore_ascii_case(name)) {
            Some(i) => {
                replaced[i] = true;
                headers[i] = (name.clone(), value.clone());
            }
            None => headers.push((name.clone(), value.clone())),
        }
    }
}

/// `--cookie` in `relay`: the jar's cookies after those of the client's `Cookie` header,
/// or in a header of their own when it sent none.
pub fn add_cookies(headers: &mut Vec<(String, String)>, cookies: &str) {
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        Some((_, v)) if !v.trim().is_empty() => {
            v.push_str("; ");
            v.push_str(cookies);
        }
        Some((_, v)) => *v = cookies.to_string(),
        None => headers.push(("Cookie".into(), cookies.to_string())),
    }
}

/// The bytes of a request head.
pub fn request_bytes(head: &HttpHead) -> Vec<u8> {
    encode_request(head)
}

/// The most of a refusal's body `relay` passes on.
const RELAY_MAX_BODY: usize = 1 << 20;

/// `relay`: the server's answer, as it came.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The bytes to give the client: interim 1xx heads, the final head and, for a
    /// refusal, its body (up to 1 MiB).
    pub raw: Vec<u8>,
    /// The final head, parsed.
    pub head: HttpHead,
    /// After a 101: bytes that came after the head (the server's first frames).
    pub early: Vec<u8>,
    /// A refusal's body (what of it came, up to 1 MiB), for the report.
    pub body: Vec<u8>,
}

/// `relay`: send `req` and read the answer as it came, all before `deadline`: every
/// head (1xx included), and a refusal's body as its framing says (Content-Length,
/// chunked, or to the end of the connection), up to 1 MiB. A body that does not come
/// whole in time is passed on as far as it came.
pub fn relay_exchange<S: Read + Write + Deadline>(
    stream: &mut S,
    req: &HttpHead,
    deadline: Instant,
) -> Result<RawAnswer, Error> {
    stream
        .write_all(&encode_request(req))
        .and_then(|_| stream.flush())
        .map_err(|e| io_err(e, "sending the handshake request"))?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    // Where the head being looked for starts (past the interim ones).
    let mut from = 0;
    let mut searched = 0;
    let read = |stream: &mut S, chunk: &mut [u8]| -> Result<usize, io::Error> {
        stream
            .set_deadline(deadline)
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?;
        loop {
            match stream.read(chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    };
    let (head, end) = loop {
        match head_end(&buf[from..], searched) {
            Ok(Some(pos)) => {
                let head = parse_response(&buf[from..from + pos])?;
                if (100..200).contains(&head.status) && head.status != 101 {
                    from += pos;
                    searched = 0;
                    continue;
                }
                break (head, from + pos);
            }
            Ok(None) => searched = buf.len() - from,
            Err(max) => {
                return Err(Error::handshake(format!(
                    "expected an HTTP response head of at most {max} bytes, got more"
                )))
            }
        }
        if buf.len() > MAX_HEAD * 2 {
            return Err(Error::handshake(format!(
                "expected an HTTP response head of at most {MAX_HEAD} bytes (interim 1xx responses included), got more"
            )));
        }
        let n = match read(stream, &mut chunk) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => {
                return Err(Error::timeout(format!(
                    "reading the handshake response: no complete response head before --connect-timeout ({} bytes of it received)",
                    buf.len()
                )))
            }
            Err(e) => return Err(io_err(e, "reading the handshake response")),
        };
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
    if head.status == 101 {
        let early = buf.split_off(end);
        return Ok(RawAnswer {
            raw: buf,
            head,
            early,
            body: Vec::new(),
        });
    }
    let chunked = header(&head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let framing = match header(&head, "content-length").map(str::trim) {
        _ if chunked => Framing::Chunked,
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Framing::Length(v.parse::<u64>().unwrap_or(u64::MAX))
        }
        _ => Framing::Close,
    };
    let done = |body: &[u8]| match framing {
        Framing::Length(n) => body.len() as u64 >= n,
        Framing::Chunked => dechunk(body).1,
        Framing::Close => false,
    };
    while !done(&buf[end..]) && buf.len() - end < RELAY_MAX_BODY {
        match read(stream, &mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if let Framing::Length(n) = framing {
        let keep = usize::try_from(n).map_or(buf.len(), |n| end.saturating_add(n).min(buf.len()));
        buf.truncate(keep);
    }
    let body = match framing {
        Framing::Chunked => dechunk(&buf[end..]).0,
        _ => buf[end..].to_vec(),
    };
    Ok(RawAnswer {
        raw: buf,
        head,
        early: Vec::new(),
        body,
    })
}

/// Bytes that start a TLS record (an alert or a handshake, TLS 1.0 to 1.3) where an
/// HTTP response should be: the server expected `wss://`.
fn speaks_tls(b: &[u8]) -> bool {
    matches!(b, [0x15 | 0x16, 0x03, 0x00..=0x04, ..])
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

/// How a refused handshake's body ends (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// Until the connection closes.
    Close,
}

/// A non-101 answer: read up to 4 KiB of its body, no later than `deadline`, and
/// describe it; a body that was longer, or did not come whole in time, is said to be
/// cut where it was.
fn refused<S: Read + Deadline>(
    stream: &mut S,
    deadline: Option<Instant>,
    response: HttpHead,
    mut raw: Vec<u8>,
) -> Error {
    let chunked = header(&response, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    // A length too big for a u64 is as good as endless.
    let framing = match header(&response, "content-length").map(str::trim) {
        _ if chunked => Framing::Chunked,
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Framing::Length(v.parse::<u64>().unwrap_or(u64::MAX))
        }
        _ => Framing::Close,
    };
    // Read at most this much: one byte past what is kept tells that there was more.
    let limit = match framing {
        Framing::Length(n) => usize::try_from(n).map_or(MAX_BODY, |n| n.min(MAX_BODY)),
        Framing::Chunked => MAX_CHUNKED,
        Framing::Close => MAX_BODY + 1,
    };
    let mut chunk = [0u8; 4096];
    // Why reading stopped before the body's end, if it did.
    let mut stopped: Option<&str> = None;
    while raw.len() < limit && !(framing == Framing::Chunked && dechunk(&raw).1) {
        if deadline.is_some_and(|d| stream.set_deadline(d).is_err()) {
            stopped = Some("no more of it before --connect-timeout");
            break;
        }
        let want = (limit - raw.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => {
                if framing != Framing::Close {
                    stopped = Some("the server closed the connection");
                }
                break;
            }
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                stopped = Some("no more of it before --connect-timeout");
                break;
            }
            Err(_) => {
                stopped = Some("the connection failed");
                break;
            }
        }
    }
    let (mut body, cut) = match framing {
        Framing::Length(n) => {
            raw.truncate(limit);
            let cut = (raw.len() as u64) < n;
            (raw, cut)
        }
        Framing::Chunked => {
            let (body, complete) = dechunk(&raw);
            let cut = !complete || body.len() > MAX_BODY;
            (body, cut)
        }
        Framing::Close => {
            let cut = raw.len() > MAX_BODY || stopped.is_some();
            (raw, cut)
        }
    };
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
    if cut {
        match stopped {
            Some(why) => msg.push_str(&format!(" (body cut at {} bytes: {why})", body.len())),
            None => msg.push_str(&format!(" (body cut at {} bytes)", body.len())),
        }
    }
    let mut e = Error::handshake(msg);
    e.refusal = Some(Box::new(Refusal {
        status,
        reason: response.reason,
        headers: response.headers,
        body,
        request: None,
    }));
    e
}

/// Decode a chunked body as far as it goes: the data, and whether its last chunk
/// came. Sizes are the peer's: all arithmetic on them is checked. Anything that is
/// not chunked encoding is returned as it came (not complete).
fn dechunk(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (if out.is_empty() { raw.to_vec() } else { out }, false);
        };
        let size_str = String::from_utf8_lossy(&rest[..eol]);
        let size_str = size_str.split(';').next().unwrap_or("").trim();
        let Ok(size) = u64::from_str_radix(size_str, 16) else {
            return (raw.to_vec(), false);
        };
        if size == 0 {
            return (out, true);
        }
        let start = eol + 2;
        let have = rest.len() - start;
        // A size past what arrived (2^64 - 1, say) takes what there is.
        let take = usize::try_from(size).map_or(have, |s| s.min(have));
        out.extend_from_slice(&rest[start..start + take]);
        // Past the data and its CRLF, if they are all there.
        match (start + take).checked_add(2) {
            Some(next) if take as u64 == size && next <= rest.len() => rest = &rest[next..],
            _ => return (out, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_request_appends_the_path_and_replaces_host() {
        let client = HttpHead {
            method: "GET".into(),
            path: "/chat?room=1".into(),
            headers: vec![
                ("Host".into(), "relay:9002".into()),
                ("Cookie".into(), "a=1".into()),
                ("Origin".into(), "http://o".into()),
            ],
            ..HttpHead::default()
        };
        for (url, path) in [
            ("ws://s:1/", "/chat?room=1"),
            ("ws://s:1/api/", "/api/chat?room=1"),
            ("ws://s:1/api?k=2", "/api/chat?k=2&room=1"),
        ] {
            let t = crate::target::parse(url).unwrap();
            let extra = [
                ("origin".to_string(), "http://o2".to_string()),
                ("X-A".to_string(), "1".to_string()),
            ];
            let r = relay_request(&t, &client, &extra);
            assert_eq!(r.path, path, "{url}");
            assert_eq!(
                r.headers,
                vec![
                    ("Host".to_string(), "s:1".to_string()),
                    ("Cookie".to_string(), "a=1".to_string()),
                    ("origin".to_string(), "http://o2".to_string()),
                    ("X-A".to_string(), "1".to_string()),
                ]
            );
        }
    }

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
            compress: None,
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
        let whole = dechunk(b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n");
        assert_eq!(whole, (b"hello!".to_vec(), true));
        assert_eq!(dechunk(b"zz"), (b"zz".to_vec(), false));
        assert_eq!(dechunk(b"5\r\nhel"), (b"hel".to_vec(), false));
    }

    #[test]
    fn dechunk_survives_any_size_the_peer_gives() {
        for size in [
            "ffffffffffffffff",
            "fffffffffffffffe",
            "ffffffffffffffffff",
            "-1",
        ] {
            let raw = format!("{size}\r\nabc\r\n0\r\n\r\n");
            let (body, complete) = dechunk(raw.as_bytes());
            assert!(!complete, "{size}");
            assert!(body.len() <= raw.len(), "{size}");
        }
    }

    #[test]
    fn ask_check_refuses_line_breaks_everywhere() {
        let ok = Ask {
            headers: vec![("X-A".into(), "b".into())],
            protocols: vec!["chat".into()],
            origin: Some("http://o".into()),
            compress: None,
        };
        assert!(ok.check().is_ok());
        let cases = [
            (
                Ask {
                    origin: Some("http://o\r\nX-Evil: 1".into()),
                    ..ok.clone()
                },
                "--origin",
            ),
            (
                Ask {
                    protocols: vec!["chat\nX-Evil: 1".into()],
                    ..ok.clone()
                },
                "-p",
            ),
            (
                Ask {
                    headers: vec![("X-A".into(), "b\rc".into())],
                    ..ok.clone()
                },
                "-H",
            ),
            (
                Ask {
                    origin: Some("a\0b".into()),
                    ..ok.clone()
                },
                "--origin",
            ),
            // Issue 16: VT, DEL, ESC and the other controls but HTAB (RFC 9110 5.5).
            (
                Ask {
                    origin: Some("http://o\x0bX".into()),
                    ..ok.clone()
                },
                "--origin",
            ),
            (
                Ask {
                    protocols: vec!["chat\x7f".into()],
                    ..ok.clone()
                },
                "-p",
            ),
            (
                Ask {
                    headers: vec![("X-A".into(), "b\x1b[31m".into())],
                    ..ok.clone()
                },
                "-H",
            ),
            (
                Ask {
                    headers: vec![("X-A".into(), "\x0c".into())],
                    ..ok.clone()
                },
                "-H",
            ),
        ];
        for (ask, opt) in cases {
            let e = ask.check().unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage);
            assert!(e.msg.starts_with(opt), "{opt}: {}", e.msg);
            assert!(
                !e.msg.contains('\n') && !e.msg.contains('\r'),
                "one line: {}",
                e.msg
            );
        }
    }

    #[test]
    fn field_values_allow_tab_and_text_past_ascii() {
        assert_eq!(bad_field("a\tb c ~é\u{85}"), None);
        for c in (0u8..0x20).filter(|&c| c != b'\t').chain([0x7f]) {
            let v = format!("a{}b", c as char);
            assert_eq!(bad_field(&v), Some(c as char), "{c:#x}");
        }
        let ask = Ask {
            headers: vec![("X-A".into(), "a\tb".into())],
            protocols: vec!["chat".into()],
            origin: Some("http://o\té".into()),
            compress: None,
        };
        assert!(ask.check().is_ok());
        let e = Ask {
            origin: Some("a\x0bb".into()),
            ..ask
        }
        .check()
        .unwrap_err();
        assert!(
            e.msg.ends_with("got \"a\\u{b}b\" (U+000B in it)"),
            "{}",
            e.msg
        );
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

    impl Deadline for Canned {
        fn set_deadline(&self, _deadline: Instant) -> Result<(), Error> {
            Ok(())
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
        perform(
            &mut s,
            &t,
            &ask,
            Instant::now(),
            Instant::now() + std::time::Duration::from_secs(5),
        )
        .unwrap_err()
        .msg
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

    /// `perform` against a server that answers `response` (`{ACCEPT}` replaced).
    fn perform_canned(ask: &Ask, response: &str) -> Result<(Handshake, Vec<u8>), Error> {
        let t = crate::target::parse("ws://h/").unwrap();
        let mut s = Canned {
            response: response.to_string(),
            written: Vec::new(),
            reply: None,
        };
        perform(
            &mut s,
            &t,
            ask,
            Instant::now(),
            Instant::now() + std::time::Duration::from_secs(5),
        )
    }

    const UPGRADED: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n";

    /// Issue 16 item 9: repeated `Sec-WebSocket-Protocol` / `-Extensions` lines are one
    /// list (RFC 9110 5.3), checked as one line is (RFC 6455 4.1).
    #[test]
    fn issue16_repeated_list_header_lines_are_joined_before_the_checks() {
        let ask = Ask {
            protocols: vec!["chat".into()],
            compress: Some(deflate::Params::browser_offer()),
            ..Ask::default()
        };
        let cases: &[(&str, &str)] = &[
            (
                "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v3\r\n",
                "expected the server to choose one subprotocol, got 2: \"chat\", \"v3\" (RFC 6455 4.1)",
            ),
            (
                "Sec-WebSocket-Protocol: chat, v3\r\n",
                "expected the server to choose one subprotocol, got 2: \"chat\", \"v3\" (RFC 6455 4.1)",
            ),
            (
                "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n",
                "got 2: \"chat\", \"chat\"",
            ),
            (
                "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: x-evil\r\n",
                "the server chose 2 extensions (\"permessage-deflate, x-evil\")",
            ),
            (
                "Sec-WebSocket-Extensions: permessage-deflate, x-evil\r\n",
                "the server chose 2 extensions (\"permessage-deflate, x-evil\")",
            ),
            (
                "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
                "the server chose 2 extensions",
            ),
        ];
        for (lines, want) in cases {
            let e = perform_canned(&ask, &format!("{UPGRADED}{lines}\r\n")).unwrap_err();
            assert!(e.msg.contains(want), "{lines:?}: {}", e.msg);
            assert_eq!(e.kind, Kind::Handshake);
        }
        // An empty second line adds nothing.
        let lines = "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: \r\nSec-WebSocket-Extensions: \r\nSec-WebSocket-Extensions: permessage-deflate\r\n";
        let (hs, _) = perform_canned(&ask, &format!("{UPGRADED}{lines}\r\n")).unwrap();
        assert_eq!(hs.protocol.as_deref(), Some("chat"));
        assert!(hs.deflate.is_some());
    }

    /// Issue 16 item 9: interim 1xx responses before the 101 are skipped (RFC 9110
    /// 15.2); the frames after the 101 are kept; a 1xx is never the answer, and endless
    /// ones stop at the head limit.
    #[test]
    fn issue16_interim_1xx_responses_are_skipped() {
        let ask = Ask::default();
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n";
        let (hs, rest) = perform_canned(&ask, &format!("{interim}{UPGRADED}\r\nframes")).unwrap();
        assert_eq!(hs.response.status, 101);
        assert_eq!(rest, b"frames");
        // A refusal after a 100 is the refusal.
        let e = perform_canned(
            &ask,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
        )
        .unwrap_err();
        assert_eq!(e.refusal.as_ref().map(|r| r.status), Some(403), "{}", e.msg);
        // Only a 100: the server closed without its final answer.
        let e = perform_canned(&ask, "HTTP/1.1 100 Continue\r\n\r\n").unwrap_err();
        assert!(e.msg.contains("after an interim 1xx response"), "{}", e.msg);
        // 100s without end: the head limit, counted over all of them.
        let many = "HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_HEAD / 20);
        let e = perform_canned(&ask, &many).unwrap_err();
        assert_eq!(
            e.msg,
            format!("expected an HTTP response head of at most {MAX_HEAD} bytes (interim 1xx responses included), got more")
        );
    }

    /// The server side joins repeated offer lines too.
    #[test]
    fn issue16_accept_joins_repeated_offer_lines() {
        let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, c\r\nSec-WebSocket-Extensions: x-other\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let opts = ServerOpts {
            compress: true,
            subprotocol: Some("c".into()),
            headers: Vec::new(),
            reject: None,
        };
        let a = accept(head, &opts).unwrap();
        assert_eq!(a.protocol.as_deref(), Some("c"));
        assert!(a.deflate.is_some());
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
