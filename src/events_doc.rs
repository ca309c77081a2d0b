//! The JSON events, documented once. The README's event table (between its
//! `<!-- events:begin -->` / `<!-- events:end -->` markers) and the man page's JSON EVENTS
//! section are rendered from [`EVENTS`] and [`COMMON`]; `tests/docs.rs` renders one sample
//! of every `Event` variant through the JSON printer and fails when an event or key it
//! emits is missing here, or when something here is never emitted.
//! Text only: the printers do not read this, and nothing here does I/O.

/// One key of an event's JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key; `parent.key` for a key of a nested object (after its parent in the list).
    pub key: &'static str,
    /// What it holds; backticks mark literal values. Empty when the key says it all.
    pub doc: &'static str,
    /// An object with the fields of this other event (`info`'s `handshake`).
    pub like: Option<&'static str>,
}

/// One event: its `event` name, when it is printed, and its keys besides [`COMMON`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDoc {
    pub name: &'static str,
    pub meaning: &'static str,
    pub fields: &'static [Field],
}

const fn f(key: &'static str, doc: &'static str) -> Field {
    Field {
        key,
        doc,
        like: None,
    }
}

const fn like(key: &'static str, doc: &'static str, event: &'static str) -> Field {
    Field {
        key,
        doc,
        like: Some(event),
    }
}

/// Keys that any event may carry, besides its own.
pub const COMMON: &[Field] = &[
    f(
        "t",
        "seconds since wsdbg started, to the microsecond (the client stamps what one read \
         from the socket brought with the time of that read, and what it sends with the \
         time of that pass of its loop); on every event",
    ),
    f(
        "time",
        "with `--timestamps wall`: the wall clock, RFC 3339 in UTC with milliseconds; on every event",
    ),
    f(
        "client",
        "`listen` and `relay`: the number of the client (in `relay`, the pair) an event is about, 1, 2, ...",
    ),
    f(
        "leg",
        "`relay` only, on `frame`, `close`, `disconnected` and the errors of one connection: `client` (between the client and wsdbg) or `server` (between wsdbg and URL); `dir` is as wsdbg sees that leg",
    ),
];

/// Every event of the JSON output, in the order a session meets them.
pub const EVENTS: &[EventDoc] = &[
    EventDoc {
        name: "check",
        meaning: "`probe`: one conformance check and its verdict",
        fields: &[
            f("name", "what was checked, e.g. `reserved opcode 3`"),
            f("rfc", "the rule, e.g. `RFC 6455 5.2`"),
            f("expected", "what the RFC asks of the server"),
            f("observed", "what the server did"),
            f(
                "verdict",
                "`pass`, `fail` (it broke: a wrong pong, no close reply, a hang), `lenient` (it tolerated the violation, or failed the connection without the code asked for) or `n/a`",
            ),
            f("elapsed_ms", "how long the check took"),
        ],
    },
    EventDoc {
        name: "expect",
        meaning: "an `/expect` was checked: what was expected, and what came",
        fields: &[
            f("what", "the expectation, as written: `text /REGEX/`, `close 1000`, ..."),
            f("ok", "true when it was met; false makes the exit status 4"),
            f(
                "got",
                "what came (the message, the close frame), or `nothing before the timeout`",
            ),
            f(
                "diff",
                "only when a recorded message (`equal`: `replay`, `listen --replay`) came otherwise: how, in lines: the JSON paths that differ (`$.a: recorded 1, got 2`), else a word diff (`[-old-]{+new+}`)",
            ),
        ],
    },
    EventDoc {
        name: "listening",
        meaning: "`listen` (or `relay`) is bound and accepting (its first line)",
        fields: &[
            f("addr", "the address it listens on, `HOST:PORT`"),
            f("tls", "true when it serves `wss://`"),
        ],
    },
    EventDoc {
        name: "client",
        meaning: "`listen` and `relay`: a client connected (after its handshake; in `relay`, once the server's 101 was passed to it) or left",
        fields: &[
            f("peer", "the client's address"),
            f("connected", "true when it connected, false when it left"),
            f("path", "on connect: the path of its upgrade request"),
            f(
                "headers",
                "on connect: its request headers, `[[name, value], ...]` in wire order",
            ),
            f(
                "protocol",
                "on connect: the subprotocol chosen, when there is one",
            ),
        ],
    },
    EventDoc {
        name: "connecting",
        meaning: "before each connection attempt and each redirect hop",
        fields: &[f("url", "where wsdbg is going")],
    },
    EventDoc {
        name: "handshake",
        meaning: "the opening handshake succeeded",
        fields: &[
            f("url", "the URL connected to"),
            f("request", "the upgrade request as sent"),
            f("request.method", "`GET`"),
            f("request.path", "the request target"),
            f("request.headers", "[[name, value], ...] in wire order"),
            f("response", "the server's answer"),
            f("response.status", "`101`"),
            f("response.reason", "the reason phrase"),
            f("response.headers", "[[name, value], ...]"),
            f("protocol", "the negotiated subprotocol, or null"),
            f(
                "extensions",
                "the extensions agreed, parameters parsed: `[{\"name\": \"permessage-deflate\", \"params\": {\"server_max_window_bits\": 12}}]`, or `[]`",
            ),
            f(
                "elapsed_ms",
                "from the start of the TCP connect to the 101 response",
            ),
        ],
    },
    EventDoc {
        name: "frame",
        meaning: "one frame as it crossed the wire, either way",
        fields: &[
            f("dir", "`in` or `out`"),
            f(
                "opcode",
                "`text`, `binary`, `continuation`, `close`, `ping`, `pong`, or the number of a reserved opcode",
            ),
            f("fin", "bool"),
            f("rsv", "RSV1-3 as [bool, bool, bool]"),
            f("masked", "bool"),
            f("mask_key", "the masking key, 8 hex digits, or null"),
            f("len", "payload length in bytes"),
            f("hex", "the unmasked payload in lowercase hex"),
            f("text", "the payload, only when it is valid UTF-8"),
            f(
                "code",
                "close frames only: the close code, or null when the payload is shorter than 2 bytes",
            ),
            f("reason", "close frames only: the reason"),
        ],
    },
    EventDoc {
        name: "message",
        meaning: "a complete data message, after its last fragment (inflated)",
        fields: &[
            f("dir", "`in` or `out`"),
            f("type", "`text` or `binary`"),
            f("len", "length in bytes (inflated, when it came compressed)"),
            f("frames", "how many frames carried it"),
            f(
                "compressed",
                "true when it crossed the wire compressed (permessage-deflate, RSV1)",
            ),
            f(
                "wire_len",
                "its payload bytes on the wire: the compressed size, or `len`",
            ),
            f("text", "the text of a text message"),
            f(
                "hex",
                "instead of `text`: the payload of a binary message, or of a text message that is not valid UTF-8, in lowercase hex",
            ),
            f(
                "proto",
                "with `--proto` (auto by default), when the message held packets of the protocol: `{name, type, ...fields, summary}` (`{\"name\":\"socketio\",\"type\":\"EVENT\",\"event\":\"chat\",\"args\":[...]}`; a packet that does not parse: `type` `broken` with `expected`), or for several in one message `{name, type: \"batch\", packets: [...]}`",
            ),
            f("proto.name", "the protocol: `socketio`, `graphql-ws`, `stomp`, `signalr`, `mqtt`, `jsonrpc`"),
            f("proto.type", "the packet type: `EVENT`, `ACK`, `open`, `ping`, `next`, `SEND`, `PUBLISH`, `request`, ..., or `broken`"),
            f("proto.summary", "the packet in a line, as pretty output shows it"),
            f("proto.engine", "Socket.IO: the Engine.IO packet (`open`, `ping`, `pong`, `message`, ...)"),
            f("proto.namespace", "Socket.IO: the namespace (`/` by default)"),
            f("proto.event", "Socket.IO: the event name of an EVENT"),
            f("proto.args", "Socket.IO: the arguments of an EVENT or ACK (binary attachments as `{\"_binary\": HEX}`)"),
        ],
    },
    EventDoc {
        name: "pong",
        meaning: "a pong that answers a ping wsdbg sent",
        fields: &[
            f("rtt_ms", "the round-trip time"),
            f("len", "payload length in bytes"),
            f("text", "the payload, when it is not empty and is valid UTF-8"),
        ],
    },
    EventDoc {
        name: "close",
        meaning: "the closing handshake ended, or wsdbg stopped waiting for the reply",
        fields: &[
            f(
                "code",
                "the close code of the initiator's frame, or null when it had none",
            ),
            f("reason", "the reason of the initiator's frame"),
            f(
                "sent",
                "what our close frame said, or null when we sent none",
            ),
            f("sent.code", "the close code, or null"),
            f("sent.reason", ""),
            f(
                "received",
                "what the peer's close frame said, or null when none arrived",
            ),
            f("received.code", "the close code, or null"),
            f("received.reason", ""),
            f("initiator", "`local` or `remote`: who sent the first close frame"),
            f(
                "clean",
                "true when both close frames were exchanged and ours was written",
            ),
            f(
                "reply_ms",
                "how long the answer to the first close frame took, or null when none came",
            ),
        ],
    },
    EventDoc {
        name: "disconnected",
        meaning: "the TCP connection is gone",
        fields: &[
            f("code", "`1006` when no close frame was received"),
            f("reason", "what ended it"),
        ],
    },
    EventDoc {
        name: "reconnect",
        meaning: "`--reconnect`: the next attempt is scheduled",
        fields: &[
            f("attempt", "1, 2, ..."),
            f("delay_ms", "the wait before it"),
        ],
    },
    EventDoc {
        name: "error",
        meaning: "something failed; also written to stderr as one line",
        fields: &[
            f(
                "kind",
                "`usage`, `connect`, `tls`, `handshake`, `protocol`, `io` or `timeout`",
            ),
            f("message", "what went wrong"),
            f(
                "rule",
                "protocol errors: the rule broken, e.g. `RFC 6455 5.2`",
            ),
            f("status", "a refused handshake: the HTTP status"),
            f("headers", "a refused handshake: [[name, value], ...]"),
            f(
                "body",
                "a refused handshake: the body as text, at most 4 KiB, invalid UTF-8 replaced by U+FFFD",
            ),
            f("body_hex", "the same body as hex, when it is not valid UTF-8"),
            f("request", "a refused handshake: the upgrade request as sent"),
            f("request.method", "`GET`"),
            f("request.path", "the request target"),
            f("request.headers", "[[name, value], ...] in wire order"),
        ],
    },
    EventDoc {
        name: "warning",
        meaning: "worth knowing but not an error (e.g. `-k`, or a close code the RFC forbids, sent on purpose); also written to stderr",
        fields: &[f("message", "")],
    },
    EventDoc {
        name: "redirect",
        meaning: "`-L`: a 3xx answer to the handshake, followed",
        fields: &[
            f("hop", "1, 2, ... (at most 10)"),
            f("status", "the HTTP status"),
            f("location", "the URL followed, resolved against the request's"),
            f("headers", "the response's [[name, value], ...]"),
            f("request", "the upgrade request that got this answer"),
            f("request.method", "`GET`"),
            f("request.path", "the request target"),
            f("request.headers", "[[name, value], ...] in wire order"),
        ],
    },
    EventDoc {
        name: "clients",
        meaning: "`listen`: the answer to `/clients` (and `/info`): the clients connected now",
        fields: &[
            f(
                "clients",
                "one object per client, by id ([] when none): `id`, `peer` (IP:PORT), `path`, `protocol` (or null), `uptime_ms`, `frames_in`, `frames_out`, `selected` (`/to` picked it)",
            ),
        ],
    },
    EventDoc {
        name: "summary",
        meaning: "`probe`: the counts of the verdicts, after the last check",
        fields: &[
            f("checks", "how many checks ran"),
            f("pass", "checks passed"),
            f("fail", "checks failed (exit 4 when any)"),
            f("lenient", "checks the server tolerated"),
            f("n/a", "checks that could not run"),
            f("elapsed_ms", "the whole battery's time"),
        ],
    },
    EventDoc {
        name: "notice",
        meaning: "text asked for (`/help`, `/clients`) or a step worth a line",
        fields: &[f("message", "")],
    },
    EventDoc {
        name: "info",
        meaning: "the answer to `/info`",
        fields: &[
            f("state", "the connection state: `open`"),
            f("url", "the URL connected to, or null"),
            f("protocol", "the negotiated subprotocol, or null"),
            f(
                "peer",
                "the address connected to, IP:PORT (what `--resolve`, `--connect-to`, `-4`/`-6` chose); absent over a Unix socket",
            ),
            f(
                "extensions",
                "the agreed extension as its header says it (`permessage-deflate; ...`), or null",
            ),
            f("uptime_ms", "time since the connection opened"),
            f("frames_in", "frames received"),
            f("frames_out", "frames sent"),
            f("bytes_in", "bytes received, frame headers included"),
            f("bytes_out", "bytes sent, frame headers included"),
            f("messages_in", "data messages received"),
            f("messages_out", "data messages sent"),
            f("last_rtt_ms", "the last ping round trip, or null"),
            like(
                "handshake",
                "the fields of the `handshake` event, or null",
                "handshake",
            ),
        ],
    },
];

/// The documentation of event `name`.
pub fn event(name: &str) -> Option<&'static EventDoc> {
    EVENTS.iter().find(|e| e.name == name)
}

/// Whether `path` (`request.method`, `handshake.request.path`, ...) is a documented key of
/// event `name`, following [`Field::like`] into the event it names. [`COMMON`] keys count
/// at the top level.
pub fn documents(name: &str, path: &str) -> bool {
    let Some(ev) = event(name) else {
        return false;
    };
    if COMMON.iter().any(|c| c.key == path) {
        return true;
    }
    ev.fields.iter().any(|fl| {
        fl.key == path
            || fl.like.is_some_and(|other| {
                path.strip_prefix(fl.key)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| other != name && documents(other, rest))
            })
    })
}

/// How an output format marks code and escapes text (Markdown here, roff in
/// `generation`).
pub struct Markup {
    /// A key or a literal value.
    pub code: fn(&str) -> String,
    /// Any other text.
    pub text: fn(&str) -> String,
}

/// Prose with `backtick` spans: spans through `code`, the rest through `text`.
pub fn prose(m: &Markup, s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                (m.code)(part)
            } else {
                (m.text)(part)
            }
        })
        .collect()
}

/// `a` (doc), `b` {`c`, `d` (doc)}, ...: the keys of one level, nested objects in braces.
fn fields_at(m: &Markup, fields: &[Field], prefix: &str) -> String {
    let mut parts = Vec::new();
    for fl in fields {
        let Some(key) = fl.key.strip_prefix(prefix) else {
            continue;
        };
        if key.contains('.') {
            continue;
        }
        let mut s = (m.code)(key);
        if !fl.doc.is_empty() {
            s.push_str(&(m.text)(" ("));
            s.push_str(&prose(m, fl.doc));
            s.push_str(&(m.text)(")"));
        }
        let inner = fields_at(m, fields, &format!("{}.", fl.key));
        if !inner.is_empty() {
            s.push_str(&(m.text)(" {"));
            s.push_str(&inner);
            s.push_str(&(m.text)("}"));
        }
        parts.push(s);
    }
    parts.join(&(m.text)(", "))
}

/// One event's keys as one line of the given markup.
pub fn fields_line(m: &Markup, ev: &EventDoc) -> String {
    fields_at(m, ev.fields, "")
}

/// The sentence about [`COMMON`] keys.
pub fn common_line(m: &Markup) -> String {
    let mut s = (m.text)("Besides its own keys, an event carries ");
    let parts: Vec<String> = (0..COMMON.len())
        .map(|i| fields_at(m, &COMMON[i..=i], ""))
        .collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            s.push_str(&rest.join(&(m.text)(", ")));
            s.push_str(&(m.text)(" and "));
            s.push_str(last);
        }
        _ => s.push_str(&parts.concat()),
    }
    s.push_str(&(m.text)("."));
    s
}

fn md_code(s: &str) -> String {
    format!("`{s}`")
}

/// Markdown table cells: a `|` would end the cell.
fn md_text(s: &str) -> String {
    s.replace('|', "\\|")
}

const MARKDOWN: Markup = Markup {
    code: md_code,
    text: md_text,
};

/// The README's event table and the sentence about common keys (between its
/// `<!-- events:begin -->` / `<!-- events:end -->` markers).
pub fn markdown() -> String {
    let mut out = String::from("| event | when | fields |\n| --- | --- | --- |\n");
    for ev in EVENTS {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            ev.name,
            prose(&MARKDOWN, ev.meaning),
            fields_line(&MARKDOWN, ev)
        ));
    }
    out.push('\n');
    out.push_str(&common_line(&MARKDOWN));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_unique_and_nested_keys_follow_their_parent() {
        for (i, ev) in EVENTS.iter().enumerate() {
            assert!(
                EVENTS[..i].iter().all(|e| e.name != ev.name),
                "{} twice",
                ev.name
            );
            for (j, fl) in ev.fields.iter().enumerate() {
                let before = &ev.fields[..j];
                assert!(
                    before.iter().all(|b| b.key != fl.key),
                    "{}.{} twice",
                    ev.name,
                    fl.key
                );
                if let Some((parent, _)) = fl.key.rsplit_once('.') {
                    assert!(
                        before.iter().any(|b| b.key == parent),
                        "{}.{} before its parent",
                        ev.name,
                        fl.key
                    );
                }
                if let Some(other) = fl.like {
                    assert!(event(other).is_some(), "{}.{}: no {other}", ev.name, fl.key);
                }
                assert!(!COMMON.iter().any(|c| c.key == fl.key), "{}", fl.key);
            }
        }
    }

    #[test]
    fn documents_follows_nesting_and_like() {
        assert!(documents("handshake", "request.method"));
        assert!(documents("handshake", "t"));
        assert!(!documents("handshake", "request.nope"));
        assert!(!documents("handshake", "method"));
        assert!(!documents("nope", "t"));
        assert!(documents("info", "handshake.request.method"));
        assert!(!documents("info", "handshake.nope"));
        assert!(!documents("handshake", "handshake.url"));
    }

    #[test]
    fn markdown_nests_objects_and_marks_code() {
        let md = markdown();
        assert!(
            md.contains("`request` (the upgrade request as sent) {`method` (`GET`), `path`"),
            "{md}"
        );
        assert!(md.contains("| `frame` |"), "{md}");
    }
}
