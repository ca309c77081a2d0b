//! The input grammar shared by the REPL, script mode and `-x`: one line, one `Command`.
//! Pure: no I/O (a `/file` path is not read here), no printing. The `/help` text and the
//! REPL's completion come from the same table, `COMMANDS`.

use std::path::PathBuf;
use std::time::Duration;

use crate::wire::OpCode;

/// A raw frame exactly as asked with `/frame`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub opcode: OpCode,
    pub fin: bool,
    pub rsv: [bool; 3],
    /// `mask=0|1`; `None`: as the role asks (a client masks, a server does not), or
    /// masked when `key=` is given.
    pub mask: Option<bool>,
    /// A fixed masking key (`key=`); `None` means a fresh random one when `mask` is set.
    pub key: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

/// A message in an application protocol's framing (`--proto`), made by the engine
/// (which hands out the ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speak {
    /// `/emit [ack] [/NAMESPACE] EVENT [ARG...]`: a Socket.IO EVENT, each ARG JSON (or
    /// a bare word, as a string); `ack` asks for an acknowledgement (an id is handed out).
    Emit {
        namespace: Option<String>,
        event: String,
        args: Vec<serde_json::Value>,
        ack: bool,
    },
    /// `/gql init`: graphql-transport-ws' connection_init; `/gql [vars=JSON] QUERY`: a
    /// `subscribe` with an id handed out.
    Gql {
        query: Option<String>,
        variables: Option<serde_json::Value>,
    },
    /// `/mqtt connect [CLIENT_ID] [v5]`: an MQTT CONNECT (3.1.1, or 5.0 with `v5`;
    /// keep-alive off).
    MqttConnect { client_id: String, v5: bool },
    /// `/publish TOPIC [qos=N] PAYLOAD`: an MQTT PUBLISH (a packet id handed out for
    /// QoS 1 and 2).
    Publish {
        topic: String,
        qos: u8,
        payload: Vec<u8>,
    },
    /// `/subscribe TOPIC [qos=N]`: an MQTT SUBSCRIBE.
    Subscribe { topic: String, qos: u8 },
    /// `/stomp COMMAND [name:value]... [BODY]`: a STOMP frame (headers escaped as 1.2
    /// wants, the NUL at its end).
    Stomp {
        command: String,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// `/signalr`: the SignalR JSON hub protocol's handshake (with its 0x1E).
    SignalrHandshake,
    /// `/invoke TARGET [ARG...]`: a SignalR Invocation (an invocationId handed out).
    Invoke {
        target: String,
        args: Vec<serde_json::Value>,
    },
    /// `/rpc METHOD [PARAMS]`: a JSON-RPC 2.0 request (an id handed out).
    Rpc {
        method: String,
        params: Option<serde_json::Value>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A plain line, a `//` line, or `/text TEXT`.
    Text(String),
    /// `/emit`, `/gql`: a message of the protocol's own.
    Speak(Speak),
    Binary(Vec<u8>),
    /// `/text compress=0|1 TEXT`, `/binary compress=0|1 HEX`: one message sent
    /// compressed (RSV1) or not, whatever the default (permessage-deflate).
    Deflate {
        binary: bool,
        payload: Vec<u8>,
        compress: bool,
    },
    File(PathBuf),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// `/close` alone sends 1000 with no reason.
    Close {
        code: u16,
        reason: String,
    },
    Frame(RawFrame),
    Sleep(Duration),
    /// `timeout: None` means `--close-timeout`.
    Wait {
        n: u64,
        timeout: Option<Duration>,
    },
    Reconnect,
    Info,
    Quit,
    Help,
    /// `/expect [next] WHAT [within MS]`: wait for a matching event among those not
    /// yet consumed (`next`: check only the next one of its kind); `within: None` means
    /// `--close-timeout`.
    Expect {
        what: Expect,
        within: Option<Duration>,
        next: bool,
    },
    /// A `#` comment or a blank line: nothing.
    Comment,
    /// `listen`: list the clients.
    Clients,
    /// `listen`: send to this client only, or to all (`None`).
    To(Option<u64>),
    /// `listen`: close one client's connection.
    Kick {
        id: u64,
        code: u16,
        reason: String,
    },
    /// `relay`: `/to client|server|both`: the leg of the selected pair that commands go
    /// to (toward the client, toward the server, or both).
    Leg(LegPick),
    /// `relay`: drop both TCP connections of the selected pair, with no close frame.
    Cut,
}

/// `relay`'s `/to client|server|both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegPick {
    Client,
    Server,
    Both,
}

impl LegPick {
    /// Does a command go to this leg?
    pub fn takes(self, leg: crate::event::Leg) -> bool {
        matches!(
            (self, leg),
            (LegPick::Both, _)
                | (LegPick::Client, crate::event::Leg::Client)
                | (LegPick::Server, crate::event::Leg::Server)
        )
    }
}

/// The commands of one side: a client has no `/clients`, `/to`, `/kick`; `listen` has
/// no `/reconnect`.
pub fn commands_for(
    listen: bool,
) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    COMMANDS.iter().filter(move |(name, _, _)| {
        let listen_only = matches!(*name, "/clients" | "/to" | "/kick");
        if *name == "/cut" {
            // relay only.
            false
        } else if listen {
            *name != "/reconnect"
        } else {
            !listen_only
        }
    })
}

/// What `/expect` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The next data message is text matching this regex (checked when parsed).
    Text(String),
    /// The next data message is binary with exactly these bytes.
    Binary(Vec<u8>),
    /// The peer's close frame (with this code, when given).
    Close(Option<u16>),
    /// A pong.
    Pong,
    /// The next data message is JSON text whose field at the dotted `path` equals
    /// `value` (JSON, or else a string).
    Json { path: String, value: String },
    /// The next data message is this recorded one, as `compare::Rules` says (`ignore`:
    /// regexes, `ignore_json`: JSON paths): what `replay` expects.
    Equal {
        binary: bool,
        payload: Vec<u8>,
        ignore: Vec<String>,
        ignore_json: Vec<String>,
    },
}

impl Expect {
    /// As the user wrote it, for messages: `text /hi/`, `close 1000`.
    pub fn describe(&self) -> String {
        match self {
            Expect::Text(re) => format!("text /{re}/"),
            Expect::Binary(b) => {
                let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("binary {}", hex.join(""))
            }
            Expect::Close(Some(c)) => format!("close {c}"),
            Expect::Close(None) => "close".to_string(),
            Expect::Pong => "pong".to_string(),
            Expect::Json { path, value } => format!("json {path} {value}"),
            Expect::Equal {
                binary: true,
                payload,
                ..
            } => {
                let hex: String = payload
                    .iter()
                    .take(32)
                    .map(|x| format!("{x:02x}"))
                    .collect();
                let more = if payload.len() > 32 { "..." } else { "" };
                format!("equal binary {hex}{more}")
            }
            Expect::Equal { payload, .. } => {
                let t = String::from_utf8_lossy(payload);
                let cut: String = t.chars().take(60).collect();
                let more = if cut.len() < t.len() { "..." } else { "" };
                format!("equal text {cut:?}{more}")
            }
        }
    }
}

impl Command {
    /// Only `listen` runs it.
    pub fn listen_only(&self) -> Option<&'static str> {
        match self {
            Command::Clients => Some("/clients"),
            Command::To(_) => Some("/to"),
            Command::Kick { .. } => Some("/kick"),
            Command::Leg(_) => Some("/to"),
            Command::Cut => Some("/cut"),
            _ => None,
        }
    }
}

/// A malformed command: which one, the expected form, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// `/close`
    pub command: String,
    /// `/close [CODE [REASON]] with CODE 0-65535`
    pub expected: String,
    /// what the user typed that did not fit
    pub found: String,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The command name is what was typed (`/a<ESC>b`): shown escaped, one line.
        write!(
            f,
            "{}: expected {}, got {:?}",
            self.command.escape_debug(),
            self.expected,
            self.found
        )
    }
}

impl std::error::Error for CommandError {}

/// (name, usage, one-line summary) for every command, in `/help` order.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "/text",
        "/text [compress=0|1] TEXT",
        "send TEXT (may be empty) as a text message",
    ),
    (
        "/binary",
        "/binary [compress=0|1] HEX",
        "send a binary message given in hex (00 ff 10 or 00ff10)",
    ),
    (
        "/file",
        "/file PATH",
        "send the file's bytes as one binary message",
    ),
    (
        "/ping",
        "/ping [TEXT]",
        "send a ping; its pong shows the round-trip time",
    ),
    ("/pong", "/pong [TEXT]", "send an unsolicited pong"),
    (
        "/close",
        "/close [CODE [REASON]]",
        "start the closing handshake (default 1000)",
    ),
    (
        "/frame",
        "/frame OPCODE [fin=0|1] [rsv=BBB] [mask=0|1] [key=HEX8] [hex=HEX] [PAYLOAD]",
        "send one raw frame exactly as asked (fragments, broken frames)",
    ),
    (
        "/sleep",
        "/sleep MS",
        "wait MS milliseconds, still printing what arrives",
    ),
    (
        "/wait",
        "/wait [N] [TIMEOUT_MS]",
        "wait until N data messages (default 1) not yet consumed are there, or the timeout",
    ),
    (
        "/reconnect",
        "/reconnect",
        "drop the connection and connect again",
    ),
    (
        "/info",
        "/info",
        "show handshake, subprotocol, counters and uptime",
    ),
    ("/quit", "/quit", "close with 1000 and exit"),
    (
        "/expect",
        "/expect [next] text RE|binary HEX|close [CODE]|pong|json PATH VALUE|equal ... [within MS]",
        "wait for a matching event not yet consumed (next: only the next one); a timeout makes the exit status 4",
    ),
    (
        "/clients",
        "/clients",
        "listen: list the clients (id, peer, path, subprotocol, age, frames)",
    ),
    (
        "/to",
        "/to ID|all",
        "listen: send what follows to this client only, or to all",
    ),
    (
        "/kick",
        "/kick ID [CODE [REASON]]",
        "listen: close this client's connection (default 1000)",
    ),
    (
        "/cut",
        "/cut",
        "relay: drop both TCP connections of the selected pair, no close frame",
    ),
    (
        "/emit",
        "/emit [ack] [/NAMESPACE] EVENT [ARG...]",
        "Socket.IO: send an EVENT (ARGs JSON); ack asks for an acknowledgement, shown with its RTT",
    ),
    (
        "/gql",
        "/gql init | /gql [vars=JSON] QUERY",
        "GraphQL over WebSocket: connection_init, or subscribe to QUERY (ids handed out)",
    ),
    (
        "/mqtt",
        "/mqtt connect [CLIENT_ID] [v5]",
        "MQTT: send CONNECT (3.1.1, or 5.0), keep-alive off",
    ),
    (
        "/publish",
        "/publish TOPIC [qos=N] PAYLOAD",
        "MQTT: send PUBLISH (a packet id handed out for QoS 1 and 2)",
    ),
    (
        "/subscribe",
        "/subscribe TOPIC [qos=N]",
        "MQTT: send SUBSCRIBE (a packet id handed out)",
    ),
    (
        "/stomp",
        "/stomp COMMAND [name:value]... [BODY]",
        "STOMP: send a frame (CONNECT, SUBSCRIBE, SEND, ...), escaped, NUL-ended",
    ),
    (
        "/signalr",
        "/signalr",
        "SignalR: send the JSON hub protocol handshake (ends with 0x1E)",
    ),
    (
        "/invoke",
        "/invoke TARGET [ARG...]",
        "SignalR: send an Invocation (ARGs JSON; an invocationId handed out)",
    ),
    (
        "/rpc",
        "/rpc METHOD [PARAMS]",
        "JSON-RPC 2.0: send a request (an id handed out); its response shows the RTT",
    ),
    ("/help", "/help", "list the commands"),
];

/// Lines printed after the command table by `/help`.
const HELP_NOTES: &[&str] = &[
    "A line not starting with / is sent as a text message; // sends one starting with /.",
    "A line starting with # is a comment, and a blank line does nothing.",
    "/close sends any CODE 0-65535, even one RFC 6455 forbids on the wire (with a warning).",
    "/frame OPCODE: text, binary, cont, ping, pong, close or 0-15.",
    "/frame defaults: fin=1 rsv=000 mask=1 and a random key; options come first, in any order.",
    "/frame PAYLOAD runs from the first other word to the end of the line; or use hex=.",
    "/wait TIMEOUT_MS defaults to --close-timeout; N is at least 1.",
    "/expect equal [ignore=REGEX]... [ignore-json=PATH]... text TEXT|binary HEX: the message replay recorded.",
    "compress=0|1 (with --compress): send this message uncompressed or compressed.",
];

/// Usages longer than this get their summary on the next line in `/help`.
const HELP_COLUMN: usize = 28;

const CLOSE_EXPECTED: &str = "/close [CODE [REASON]] with CODE 0-65535";
const BINARY_EXPECTED: &str =
    "/binary HEX with two hex digits per byte, spaces allowed between bytes";
const SLEEP_EXPECTED: &str = "/sleep MS with MS a whole number of milliseconds";
const WAIT_EXPECTED: &str =
    "/wait [N] [TIMEOUT_MS] with N a whole number at least 1 and TIMEOUT_MS in milliseconds";

/// A `#` comment or a blank line (only spaces and tabs): does nothing.
pub fn is_comment(line: &str) -> bool {
    line.starts_with('#') || line.bytes().all(|b| b == b' ' || b == b'\t')
}

/// The text a plain line sends: the line itself when it does not start with `/`, the
/// line less one `/` when it starts with `//`; `None` for a command or a comment. Script
/// mode uses it to send plain lines without building a `Command`.
pub fn plain_text(line: &str) -> Option<&str> {
    if is_comment(line) {
        return None;
    }
    match line.strip_prefix('/') {
        None => Some(line),
        Some(rest) if rest.starts_with('/') => Some(rest),
        Some(_) => None,
    }
}

/// Parse one input line (without its line ending; a trailing `\r` is dropped).
///
/// Grammar decisions beyond the contract:
/// - The command name runs from `/` to the first space and is case-sensitive; `/text`,
///   `/file`, `/ping` and `/pong` take the rest after that one space verbatim (so
///   `/text  a` sends `" a"`, and `/text` alone sends `""`).
/// - `/close` skips spaces before CODE; REASON is the rest after the one space that ends CODE.
/// - `/binary` takes space-separated groups, each an even number of hex digits
///   (`00 ff 10`, `00ff10`, `00FF 10`); `0 1` is an error rather than a guess.
/// - `/frame` words are separated by runs of spaces; PAYLOAD starts at the first word that
///   is not `fin=`/`rsv=`/`mask=`/`key=`/`hex=` and runs verbatim to the end of the line.
/// - `/wait 0` is an error: N is at least 1.
/// - `/reconnect`, `/info`, `/quit`, `/help` accept trailing whitespace, nothing else.
pub fn parse(line: &str) -> Result<Command, CommandError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if is_comment(line) {
        return Ok(Command::Comment);
    }
    if let Some(text) = plain_text(line) {
        return Ok(Command::Text(text.to_owned()));
    }
    let rest = &line[1..];
    let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
    match name {
        "text" | "binary" if compress_flag(args).is_some() => {
            let (compress, rest) = compress_flag(args).unwrap_or((false, args));
            let binary = name == "binary";
            let payload = if binary {
                parse_binary(rest)?
            } else {
                rest.as_bytes().to_vec()
            };
            Ok(Command::Deflate {
                binary,
                payload,
                compress,
            })
        }
        "text" => Ok(Command::Text(args.to_owned())),
        "binary" => parse_binary(args).map(Command::Binary),
        "file" if args.is_empty() => Err(error("/file", "/file PATH", args)),
        "file" => Ok(Command::File(PathBuf::from(args))),
        "ping" => Ok(Command::Ping(args.as_bytes().to_vec())),
        "pong" => Ok(Command::Pong(args.as_bytes().to_vec())),
        "close" => parse_close(args),
        "frame" => parse_frame(args).map(Command::Frame),
        "sleep" => parse_sleep(args),
        "wait" => parse_wait(args),
        "expect" => parse_expect(args),
        "reconnect" => no_args("/reconnect", args, Command::Reconnect),
        "info" => no_args("/info", args, Command::Info),
        "quit" => no_args("/quit", args, Command::Quit),
        "help" => no_args("/help", args, Command::Help),
        "clients" => no_args("/clients", args, Command::Clients),
        "to" => parse_to(args),
        "kick" => parse_kick(args),
        "cut" => no_args("/cut", args, Command::Cut),
        "emit" => parse_emit(args),
        "gql" => parse_gql(args),
        "mqtt" => parse_mqtt(args),
        "publish" => parse_publish(args),
        "subscribe" => parse_subscribe(args),
        "stomp" => parse_stomp(args),
        "signalr" => no_args("/signalr", args, Command::Speak(Speak::SignalrHandshake)),
        "invoke" => match args.trim().split_once(' ').unwrap_or((args.trim(), "")) {
            ("", _) => Err(error(
                "/invoke",
                "/invoke TARGET [ARG...] with each ARG JSON or a word",
                args,
            )),
            (target, rest) => Ok(Command::Speak(Speak::Invoke {
                target: target.to_string(),
                args: json_words(rest),
            })),
        },
        "rpc" => parse_rpc(args),
        _ => {
            let command = format!("/{name}");
            let names: Vec<&str> = COMMANDS.iter().map(|(name, _, _)| *name).collect();
            let expected = format!("one of {} (see /help)", names.join(" "));
            Err(error(&command, &expected, &command))
        }
    }
}

/// The `/help` text of one side (`listen` or the client): one line per command it
/// takes, then notes on plain lines and `/frame`. Every line, the last included, ends
/// with `\n`.
/// A command's one-line summary on one side: what differs on listen's.
pub fn summary_for(listen: bool, name: &str, summary: &'static str) -> &'static str {
    match (listen, name) {
        (true, "/quit") => "close every client (1001) and exit",
        (true, "/info") => "list the clients, as /clients",
        (true, "/frame") => "send one raw frame exactly as asked (unmasked by default)",
        _ => summary,
    }
}

pub fn help_text(listen: bool) -> String {
    let width = commands_for(listen)
        .map(|(_, usage, _)| usage.len())
        .filter(|len| *len <= HELP_COLUMN)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, usage, summary) in commands_for(listen) {
        let summary = summary_for(listen, name, summary);
        if usage.len() <= width {
            out.push_str(&format!("  {usage:<width$}  {summary}\n"));
        } else {
            out.push_str(&format!("  {usage}\n  {:<width$}  {summary}\n", ""));
        }
    }
    out.push('\n');
    for note in HELP_NOTES {
        out.push_str(note);
        out.push('\n');
    }
    out
}

fn error(command: &str, expected: &str, found: &str) -> CommandError {
    CommandError {
        command: command.to_owned(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

fn no_args(command: &str, args: &str, ok: Command) -> Result<Command, CommandError> {
    if args.trim().is_empty() {
        Ok(ok)
    } else {
        Err(error(
            command,
            &format!("{command} with no arguments"),
            args,
        ))
    }
}

/// The first word of `s` (up to one space) and what follows that space.
fn split_word(s: &str) -> (&str, &str) {
    s.split_once(' ').unwrap_or((s, ""))
}

/// A decimal number made of ASCII digits only (no sign, no spaces); `None` on overflow.
fn decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Hex digits, two per byte, nothing else; `None` on an odd count or a non-hex character.
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi << 4 | lo).ok()
        })
        .collect()
}

fn parse_binary(args: &str) -> Result<Vec<u8>, CommandError> {
    let mut bytes = Vec::new();
    for group in args.split_ascii_whitespace() {
        let Some(group_bytes) = hex_bytes(group) else {
            return Err(error("/binary", BINARY_EXPECTED, group));
        };
        bytes.extend(group_bytes);
    }
    Ok(bytes)
}

/// `compress=0 ` or `compress=1 ` at the start of `/text` or `/binary` arguments: the
/// flag and the rest.
fn compress_flag(args: &str) -> Option<(bool, &str)> {
    let (word, rest) = args.split_once(' ').unwrap_or((args, ""));
    match word {
        "compress=0" => Some((false, rest)),
        "compress=1" => Some((true, rest)),
        _ => None,
    }
}

fn parse_close(args: &str) -> Result<Command, CommandError> {
    let args = args.trim_start_matches(' ');
    if args.is_empty() {
        return Ok(Command::Close {
            code: 1000,
            reason: String::new(),
        });
    }
    let (code, reason) = split_word(args);
    let Some(code) = decimal::<u16>(code) else {
        return Err(error("/close", CLOSE_EXPECTED, code));
    };
    Ok(Command::Close {
        code,
        reason: reason.to_owned(),
    })
}

fn parse_sleep(args: &str) -> Result<Command, CommandError> {
    let mut words = args.split_ascii_whitespace();
    let ms = words.next().unwrap_or("");
    let Some(ms) = decimal::<u64>(ms) else {
        return Err(error("/sleep", SLEEP_EXPECTED, ms));
    };
    if let Some(extra) = words.next() {
        return Err(error("/sleep", SLEEP_EXPECTED, extra));
    }
    Ok(Command::Sleep(Duration::from_millis(ms)))
}

const EXPECT_EXPECTED: &str =
    "/expect [next] text REGEX|binary HEX|close [CODE]|pong|json PATH VALUE|equal ... [within MS]";
const EQUAL_EXPECTED: &str =
    "/expect equal [ignore=REGEX]... [ignore-json=PATH]... text TEXT|binary HEX";

/// `/expect equal [ignore=REGEX]... [ignore-json=PATH]... text TEXT|binary HEX`.
fn parse_equal(rest: &str) -> Result<Expect, CommandError> {
    let (mut ignore, mut ignore_json) = (Vec::new(), Vec::new());
    let mut rest = rest.trim_start_matches(' ');
    loop {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Some(r) = word.strip_prefix("ignore=") {
            ignore.push(r.to_string());
        } else if let Some(p) = word.strip_prefix("ignore-json=") {
            ignore_json.push(p.to_string());
        } else {
            break;
        }
        rest = after.trim_start_matches(' ');
    }
    if let Err(why) = crate::compare::Rules::parse(&ignore, &ignore_json) {
        return Err(error(
            "/expect",
            &format!("{EQUAL_EXPECTED} with {why}"),
            rest,
        ));
    }
    let (kind, data) = rest.split_once(' ').unwrap_or((rest, ""));
    let (binary, payload) = match kind {
        "text" => (false, data.as_bytes().to_vec()),
        "binary" => (
            true,
            parse_binary(data).map_err(|e| CommandError {
                command: "/expect".into(),
                expected: format!("{EQUAL_EXPECTED} with two hex digits per byte"),
                found: e.found,
            })?,
        ),
        _ => return Err(error("/expect", EQUAL_EXPECTED, rest)),
    };
    Ok(Expect::Equal {
        binary,
        payload,
        ignore,
        ignore_json,
    })
}

fn parse_expect(args: &str) -> Result<Command, CommandError> {
    let args = args.trim_start_matches(' ');
    let (next, args) = match args.strip_prefix("next ") {
        Some(rest) => (true, rest.trim_start_matches(' ')),
        None => (false, args),
    };
    // An optional `within MS` at the very end.
    let (body, within) = match args.rsplit_once(" within ") {
        Some((b, ms)) if decimal::<u64>(ms.trim()).is_some() => {
            (b, decimal::<u64>(ms.trim()).map(Duration::from_millis))
        }
        _ => match args.strip_prefix("within ") {
            Some(_) => return Err(error("/expect", EXPECT_EXPECTED, args)),
            None => (args, None),
        },
    };
    let (kind, rest) = body.split_once(' ').unwrap_or((body, ""));
    let what = match kind {
        "text" => {
            if let Err(e) = regex::Regex::new(rest) {
                let why = e.to_string();
                let why = why.lines().last().unwrap_or("").trim();
                return Err(error(
                    "/expect",
                    &format!("/expect text REGEX with a valid regex ({why})"),
                    rest,
                ));
            }
            Expect::Text(rest.to_string())
        }
        "binary" => Expect::Binary(parse_binary(rest).map_err(|e| CommandError {
            command: "/expect".into(),
            expected: "/expect binary HEX with two hex digits per byte".into(),
            found: e.found,
        })?),
        "close" if rest.trim().is_empty() => Expect::Close(None),
        "close" => match decimal::<u16>(rest.trim()) {
            Some(c) => Expect::Close(Some(c)),
            None => {
                return Err(error(
                    "/expect",
                    "/expect close [CODE] with CODE 0-65535",
                    rest,
                ))
            }
        },
        "pong" if rest.trim().is_empty() => Expect::Pong,
        "json" => match rest.trim().split_once(' ') {
            Some((path, value)) if !path.is_empty() && !value.trim().is_empty() => Expect::Json {
                path: path.to_string(),
                value: value.trim().to_string(),
            },
            _ => {
                return Err(error(
                    "/expect",
                    "/expect json PATH VALUE (a dotted path)",
                    rest,
                ))
            }
        },
        "equal" => parse_equal(rest)?,
        _ => return Err(error("/expect", EXPECT_EXPECTED, body)),
    };
    Ok(Command::Expect { what, within, next })
}

const EMIT_EXPECTED: &str = "/emit [ack] [/NAMESPACE] EVENT [ARG...] with each ARG JSON or a word";
const GQL_EXPECTED: &str = "/gql init, or /gql [vars=JSON] QUERY";

/// JSON values one after another (`1 "two" {"three": 3}`); a word that is not JSON is a
/// string.
fn json_words(mut s: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return out;
        }
        let mut it = serde_json::Deserializer::from_str(s).into_iter::<serde_json::Value>();
        match it.next() {
            Some(Ok(v)) => {
                let at = it.byte_offset();
                out.push(v);
                s = &s[at..];
            }
            _ => {
                let end = s.find(char::is_whitespace).unwrap_or(s.len());
                out.push(serde_json::Value::String(s[..end].to_string()));
                s = &s[end..];
            }
        }
    }
}

fn parse_emit(args: &str) -> Result<Command, CommandError> {
    let mut rest = args.trim();
    let ack = match rest.strip_prefix("ack ") {
        Some(r) => {
            rest = r.trim_start();
            true
        }
        None => false,
    };
    let mut namespace = None;
    if rest.starts_with('/') {
        let (ns, r) = rest.split_once(' ').unwrap_or((rest, ""));
        namespace = Some(ns.to_string());
        rest = r.trim_start();
    }
    let (event, r) = rest.split_once(' ').unwrap_or((rest, ""));
    if event.is_empty() {
        return Err(error("/emit", EMIT_EXPECTED, args));
    }
    Ok(Command::Speak(Speak::Emit {
        namespace,
        event: event.to_string(),
        args: json_words(r),
        ack,
    }))
}

fn parse_gql(args: &str) -> Result<Command, CommandError> {
    let rest = args.trim();
    if rest == "init" {
        return Ok(Command::Speak(Speak::Gql {
            query: None,
            variables: None,
        }));
    }
    let (variables, query) = match rest.strip_prefix("vars=") {
        Some(r) => {
            let mut it = serde_json::Deserializer::from_str(r).into_iter::<serde_json::Value>();
            match it.next() {
                Some(Ok(v)) if v.is_object() => {
                    let at = it.byte_offset();
                    (Some(v), r[at..].trim())
                }
                _ => {
                    return Err(error(
                        "/gql",
                        &format!("{GQL_EXPECTED} (vars= a JSON object)"),
                        r,
                    ))
                }
            }
        }
        None => (None, rest),
    };
    if query.is_empty() {
        return Err(error("/gql", GQL_EXPECTED, args));
    }
    Ok(Command::Speak(Speak::Gql {
        query: Some(query.to_string()),
        variables,
    }))
}

const MQTT_EXPECTED: &str = "/mqtt connect [CLIENT_ID] [v5]";
const PUBLISH_EXPECTED: &str = "/publish TOPIC [qos=0|1|2] PAYLOAD";
const SUBSCRIBE_EXPECTED: &str = "/subscribe TOPIC [qos=0|1|2]";

fn parse_mqtt(args: &str) -> Result<Command, CommandError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        ["connect", rest @ ..] if rest.len() <= 2 => {
            let v5 = rest.contains(&"v5");
            let id = rest
                .iter()
                .find(|w| **w != "v5")
                .copied()
                .unwrap_or("wsdbg");
            Ok(Command::Speak(Speak::MqttConnect {
                client_id: id.to_string(),
                v5,
            }))
        }
        _ => Err(error("/mqtt", MQTT_EXPECTED, args)),
    }
}

/// `qos=N` as the first word of `s`, if it is there: N, and the rest.
fn qos_word<'a>(s: &'a str, command: &str, expected: &str) -> Result<(u8, &'a str), CommandError> {
    let s = s.trim_start();
    match s.strip_prefix("qos=") {
        None => Ok((0, s)),
        Some(r) => {
            let (n, rest) = r.split_once(' ').unwrap_or((r, ""));
            match n {
                "0" | "1" | "2" => Ok((n.as_bytes()[0] - b'0', rest)),
                _ => Err(error(command, expected, n)),
            }
        }
    }
}

fn parse_publish(args: &str) -> Result<Command, CommandError> {
    let (topic, rest) = args
        .trim_start()
        .split_once(' ')
        .unwrap_or((args.trim(), ""));
    if topic.is_empty() {
        return Err(error("/publish", PUBLISH_EXPECTED, args));
    }
    let (qos, payload) = qos_word(rest, "/publish", PUBLISH_EXPECTED)?;
    Ok(Command::Speak(Speak::Publish {
        topic: topic.to_string(),
        qos,
        payload: payload.as_bytes().to_vec(),
    }))
}

fn parse_subscribe(args: &str) -> Result<Command, CommandError> {
    let (topic, rest) = args
        .trim_start()
        .split_once(' ')
        .unwrap_or((args.trim(), ""));
    if topic.is_empty() {
        return Err(error("/subscribe", SUBSCRIBE_EXPECTED, args));
    }
    let (qos, rest) = qos_word(rest, "/subscribe", SUBSCRIBE_EXPECTED)?;
    if !rest.trim().is_empty() {
        return Err(error("/subscribe", SUBSCRIBE_EXPECTED, rest));
    }
    Ok(Command::Speak(Speak::Subscribe {
        topic: topic.to_string(),
        qos,
    }))
}

const STOMP_EXPECTED: &str = "/stomp COMMAND [name:value]... [BODY]";
const RPC_EXPECTED: &str = "/rpc METHOD [PARAMS] with PARAMS a JSON array or object";

fn parse_stomp(args: &str) -> Result<Command, CommandError> {
    let mut rest = args.trim_start();
    let (command, r) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() || !command.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(error("/stomp", STOMP_EXPECTED, args));
    }
    rest = r.trim_start();
    let mut headers = Vec::new();
    loop {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        match word.split_once(':') {
            Some((n, v)) if !n.is_empty() && !word.is_empty() => {
                headers.push((n.to_string(), v.to_string()));
                rest = after.trim_start();
            }
            _ => break,
        }
    }
    Ok(Command::Speak(Speak::Stomp {
        command: command.to_ascii_uppercase(),
        headers,
        body: rest.to_string(),
    }))
}

fn parse_rpc(args: &str) -> Result<Command, CommandError> {
    let (method, rest) = args.trim().split_once(' ').unwrap_or((args.trim(), ""));
    if method.is_empty() {
        return Err(error("/rpc", RPC_EXPECTED, args));
    }
    let params = match rest.trim() {
        "" => None,
        p => match serde_json::from_str::<serde_json::Value>(p) {
            Ok(v) if v.is_array() || v.is_object() => Some(v),
            _ => return Err(error("/rpc", RPC_EXPECTED, p)),
        },
    };
    Ok(Command::Speak(Speak::Rpc {
        method: method.to_string(),
        params,
    }))
}

const TO_EXPECTED: &str = "/to ID|all with ID a client number (see /clients)";
const KICK_EXPECTED: &str = "/kick ID [CODE [REASON]] with ID a client number and CODE 0-65535";

fn parse_to(args: &str) -> Result<Command, CommandError> {
    match args.trim() {
        "all" | "*" => Ok(Command::To(None)),
        "client" => Ok(Command::Leg(LegPick::Client)),
        "server" => Ok(Command::Leg(LegPick::Server)),
        "both" => Ok(Command::Leg(LegPick::Both)),
        word => match decimal::<u64>(word) {
            Some(id) if id >= 1 => Ok(Command::To(Some(id))),
            _ => Err(error("/to", TO_EXPECTED, word)),
        },
    }
}

fn parse_kick(args: &str) -> Result<Command, CommandError> {
    let args = args.trim_start_matches(' ');
    let (word, rest) = args.split_once(' ').unwrap_or((args, ""));
    let id = match decimal::<u64>(word) {
        Some(id) if id >= 1 => id,
        _ => return Err(error("/kick", KICK_EXPECTED, word)),
    };
    let (code, reason) = match parse_close(rest)? {
        Command::Close { code, reason } => (code, reason),
        _ => (1000, String::new()),
    };
    Ok(Command::Kick { id, code, reason })
}

fn parse_wait(args: &str) -> Result<Command, CommandError> {
    let mut words = args.split_ascii_whitespace();
    let n = match words.next() {
        None => 1,
        Some(word) => match decimal::<u64>(word) {
            Some(n) if n >= 1 => n,
            _ => return Err(error("/wait", WAIT_EXPECTED, word)),
        },
    };
    let timeout = match words.next() {
        None => None,
        Some(word) => match decimal::<u64>(word) {
            Some(ms) => Some(Duration::from_millis(ms)),
            None => return Err(error("/wait", WAIT_EXPECTED, word)),
        },
    };
    if let Some(extra) = words.next() {
        return Err(error("/wait", WAIT_EXPECTED, extra));
    }
    Ok(Command::Wait { n, timeout })
}

fn frame_error(expected: &str, found: &str) -> CommandError {
    error("/frame", expected, found)
}

fn parse_opcode(word: &str) -> Result<OpCode, CommandError> {
    let opcode = match word {
        "cont" | "continuation" => Some(OpCode::Continue),
        "text" => Some(OpCode::Text),
        "binary" => Some(OpCode::Binary),
        "close" => Some(OpCode::Close),
        "ping" => Some(OpCode::Ping),
        "pong" => Some(OpCode::Pong),
        _ => decimal::<u8>(word)
            .filter(|n| *n <= 15)
            .map(OpCode::from_u8),
    };
    opcode.ok_or_else(|| {
        frame_error(
            "/frame OPCODE with OPCODE text, binary, cont, ping, pong, close or 0-15",
            word,
        )
    })
}

/// `0` or `1` as a bool.
fn bit(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn parse_frame(args: &str) -> Result<RawFrame, CommandError> {
    let (word, mut rest) = split_word(args.trim_start_matches(' '));
    let opcode = parse_opcode(word)?;
    let mut fin = None;
    let mut rsv = None;
    let mut mask = None;
    let mut key: Option<(&str, [u8; 4])> = None;
    let mut hex = None;
    let mut payload = "";
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        let (word, after) = split_word(rest);
        let Some((name, value)) = word
            .split_once('=')
            .filter(|(name, _)| ["fin", "rsv", "mask", "key", "hex"].contains(name))
        else {
            payload = rest;
            break;
        };
        let duplicate = match name {
            "fin" => fin.is_some(),
            "rsv" => rsv.is_some(),
            "mask" => mask.is_some(),
            "key" => key.is_some(),
            _ => hex.is_some(),
        };
        if duplicate {
            return Err(frame_error(&format!("{name}= at most once"), word));
        }
        match name {
            "fin" => fin = Some(bit(value).ok_or_else(|| frame_error("fin=0 or fin=1", word))?),
            "mask" => mask = Some(bit(value).ok_or_else(|| frame_error("mask=0 or mask=1", word))?),
            "rsv" => {
                let bits: Option<Vec<bool>> = value
                    .chars()
                    .map(|c| match c {
                        '0' => Some(false),
                        '1' => Some(true),
                        _ => None,
                    })
                    .collect();
                let bits = bits.and_then(|bits| <[bool; 3]>::try_from(bits).ok());
                rsv = Some(bits.ok_or_else(|| {
                    frame_error("rsv=BBB with three 0/1 digits for RSV1, RSV2, RSV3", word)
                })?);
            }
            "key" => {
                let bytes = hex_bytes(value).and_then(|bytes| <[u8; 4]>::try_from(bytes).ok());
                let bytes =
                    bytes.ok_or_else(|| frame_error("key=HEX8 with exactly 8 hex digits", word))?;
                key = Some((word, bytes));
            }
            _ => {
                hex = Some(hex_bytes(value).ok_or_else(|| {
                    frame_error("hex=HEX with two hex digits per byte and no spaces", word)
                })?);
            }
        }
        rest = after;
    }
    if let Some((word, _)) = key.filter(|_| mask == Some(false)) {
        return Err(frame_error("key=HEX8 only with mask=1", word));
    }
    let mask = mask.or(key.map(|_| true));
    let payload = match hex {
        Some(_) if !payload.is_empty() => {
            return Err(frame_error("hex=HEX or PAYLOAD, not both", payload));
        }
        Some(bytes) => bytes,
        None => payload.as_bytes().to_vec(),
    };
    Ok(RawFrame {
        opcode,
        fin: fin.unwrap_or(true),
        rsv: rsv.unwrap_or([false; 3]),
        mask,
        key: key.map(|(_, bytes)| bytes),
        payload,
    })
}

// -- the REPL's keys and entries: what they mean (the REPL only reads and hands over) --

/// What an entry the line editor returned holds: a paste of several lines is several
/// commands, one per line, in order (`\r\n` and `\r` end a line too). A single line
/// is itself.
pub fn entry_lines(entry: &str) -> Vec<&str> {
    let entry = entry.strip_suffix('\n').unwrap_or(entry);
    let mut out = Vec::new();
    for line in entry.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.extend(line.split('\r'));
    }
    out
}

/// What Ctrl-D on an empty line means in the REPL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtrlD {
    /// End of input: the client closes with 1000 and exits, as at the end of a script.
    EndOfInput,
    /// `listen` goes on serving (a server is not stopped by a stray key): this notice
    /// says how to stop it, and the line editor keeps reading.
    Notice(&'static str),
}

pub fn ctrl_d(listen: bool) -> CtrlD {
    if listen {
        CtrlD::Notice("Ctrl-D does not stop listen: /quit closes every client and exits")
    } else {
        CtrlD::EndOfInput
    }
}

/// The REPL's first line: how to get help and how to leave.
pub fn repl_greeting(listen: bool) -> &'static str {
    if listen {
        "/help lists the commands; /quit (or Ctrl-C twice) closes every client and exits"
    } else {
        "/help lists the commands; Ctrl-D or /quit closes with 1000 and exits"
    }
}

/// Said after a first Ctrl-C: what a second does.
pub fn ctrl_c_hint(listen: bool) -> &'static str {
    if listen {
        "press Ctrl-C again to close every client and exit (/quit does the same)"
    } else {
        "press Ctrl-C again to close and exit (Ctrl-D or /quit does the same)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(line: &str) -> Command {
        match parse(line) {
            Ok(command) => command,
            Err(e) => panic!("{line:?} should parse, got error: {e}"),
        }
    }

    fn err(line: &str) -> CommandError {
        match parse(line) {
            Ok(command) => panic!("{line:?} should fail, parsed as {command:?}"),
            Err(e) => e,
        }
    }

    fn frame(line: &str) -> RawFrame {
        match ok(line) {
            Command::Frame(frame) => frame,
            other => panic!("{line:?} should be a frame, got {other:?}"),
        }
    }

    fn text(s: &str) -> Command {
        Command::Text(s.to_owned())
    }

    // Plain lines, `//`, line endings.

    #[test]
    fn issue17_a_pasted_entry_is_one_command_per_line() {
        let cases: &[(&str, &[&str])] = &[
            ("/ping a", &["/ping a"]),
            ("", &[""]),
            ("/ping a\n/close 4000", &["/ping a", "/close 4000"]),
            ("/ping a\n/close 4000\n", &["/ping a", "/close 4000"]),
            ("a\r\nb\r\nc", &["a", "b", "c"]),
            ("a\rb", &["a", "b"]),
            ("a\n\nb", &["a", "", "b"]),
        ];
        for (entry, want) in cases {
            let got = entry_lines(entry);
            assert_eq!(got, *want, "{entry:?}");
        }
    }

    #[test]
    fn issue17_ctrl_d_and_the_greeting_per_side() {
        assert_eq!(ctrl_d(false), CtrlD::EndOfInput);
        assert!(matches!(ctrl_d(true), CtrlD::Notice(n) if n.contains("/quit")));
        for listen in [false, true] {
            assert!(repl_greeting(listen).contains("/help"));
            assert!(repl_greeting(listen).contains("/quit"));
            assert!(ctrl_c_hint(listen).contains("Ctrl-C again"));
        }
    }
    #[test]
    fn plain_line_is_text() {
        assert_eq!(ok("hello world"), text("hello world"));
    }

    #[test]
    fn empty_line_is_nothing() {
        // Contract: a blank line does nothing; `/text` alone sends an empty message.
        assert_eq!(ok(""), Command::Comment);
        assert_eq!(ok("/text"), text(""));
    }

    #[test]
    fn plain_line_keeps_spaces() {
        assert_eq!(ok("  a  b "), text("  a  b "));
    }

    #[test]
    fn double_slash_drops_one_slash() {
        assert_eq!(ok("//help"), text("/help"));
        assert_eq!(ok("//"), text("/"));
        assert_eq!(ok("///x"), text("//x"));
    }

    #[test]
    fn trailing_cr_is_dropped_once() {
        assert_eq!(ok("hi\r"), text("hi"));
        assert_eq!(ok("hi\r\r"), text("hi\r"));
        assert_eq!(ok("\r"), Command::Comment);
        assert_eq!(ok("/quit\r"), Command::Quit);
        assert_eq!(ok("/text a\r"), text("a"));
    }

    #[test]
    fn unicode_plain_line() {
        assert_eq!(ok("héllo ✓ 🎉"), text("héllo ✓ 🎉"));
    }

    // Unknown commands.

    #[test]
    fn unknown_command() {
        let e = err("/nope x");
        assert_eq!(e.command, "/nope");
        assert_eq!(e.found, "/nope");
        assert!(e.expected.starts_with("one of /text /binary /file"));
        assert!(e.expected.ends_with("/help (see /help)"));
    }

    #[test]
    fn bare_slash_is_unknown_command() {
        let e = err("/");
        assert_eq!(e.command, "/");
        assert_eq!(e.found, "/");
    }

    #[test]
    fn command_names_are_case_sensitive() {
        assert_eq!(err("/TEXT a").command, "/TEXT");
    }

    #[test]
    fn name_ends_at_space_not_tab() {
        assert_eq!(err("/text\ta").command, "/text\ta");
    }

    // /text

    #[test]
    fn text_command() {
        assert_eq!(ok("/text hello world"), text("hello world"));
    }

    #[test]
    fn expect_forms() {
        let exp = |line: &str| match ok(line) {
            Command::Expect { what, within, .. } => (what, within),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            exp("/expect text ^hello wor.d$"),
            (Expect::Text("^hello wor.d$".into()), None)
        );
        assert_eq!(
            exp("/expect text a b within 250"),
            (Expect::Text("a b".into()), Some(Duration::from_millis(250)))
        );
        assert_eq!(exp("/expect binary 00 ff").0, Expect::Binary(vec![0, 0xff]));
        assert_eq!(exp("/expect close").0, Expect::Close(None));
        assert_eq!(exp("/expect close 1002").0, Expect::Close(Some(1002)));
        assert_eq!(exp("/expect pong within 10").0, Expect::Pong);
        assert_eq!(
            exp("/expect json user.name \"bob\"").0,
            Expect::Json {
                path: "user.name".into(),
                value: "\"bob\"".into()
            }
        );
        for (line, found) in [
            ("/expect text (", "("),
            ("/expect close abc", "abc"),
            ("/expect json onlypath", "onlypath"),
            ("/expect frame", "frame"),
            ("/expect binary zz", "zz"),
        ] {
            let e = err(line);
            assert_eq!(
                (e.command.as_str(), e.found.as_str()),
                ("/expect", found),
                "{line}"
            );
        }
    }

    #[test]
    fn compress_flag_on_text_and_binary() {
        assert_eq!(
            ok("/text compress=0 a b"),
            Command::Deflate {
                binary: false,
                payload: b"a b".to_vec(),
                compress: false
            }
        );
        assert_eq!(
            ok("/binary compress=1 00 ff"),
            Command::Deflate {
                binary: true,
                payload: vec![0, 0xff],
                compress: true
            }
        );
        // Only 0 or 1; anything else is the text itself.
        assert_eq!(ok("/text compress=2 x"), text("compress=2 x"));
        assert_eq!(err("/binary compress=1 zz").found, "zz");
    }

    #[test]
    fn text_command_empty() {
        assert_eq!(ok("/text"), text(""));
        assert_eq!(ok("/text "), text(""));
    }

    #[test]
    fn text_command_keeps_rest_verbatim() {
        assert_eq!(ok("/text  a b "), text(" a b "));
        assert_eq!(ok("/text /quit"), text("/quit"));
    }

    // /binary

    #[test]
    fn binary_spaced() {
        assert_eq!(ok("/binary 00 ff 10"), Command::Binary(vec![0, 0xff, 0x10]));
    }

    #[test]
    fn binary_unspaced_mixed_case() {
        assert_eq!(ok("/binary 00Ff10"), Command::Binary(vec![0, 0xff, 0x10]));
    }

    #[test]
    fn binary_groups_and_extra_spaces() {
        assert_eq!(
            ok("/binary   dead  BEEF\t01 "),
            Command::Binary(vec![0xde, 0xad, 0xbe, 0xef, 0x01])
        );
    }

    #[test]
    fn binary_empty() {
        assert_eq!(ok("/binary"), Command::Binary(vec![]));
        assert_eq!(ok("/binary   "), Command::Binary(vec![]));
    }

    #[test]
    fn binary_odd_digits_error() {
        let e = err("/binary 00 fff");
        assert_eq!(e.command, "/binary");
        assert_eq!(e.found, "fff");
        assert_eq!(e.expected, BINARY_EXPECTED);
    }

    #[test]
    fn binary_split_byte_error() {
        assert_eq!(err("/binary 0 1").found, "0");
    }

    #[test]
    fn binary_non_hex_error() {
        assert_eq!(err("/binary 00 zz 10").found, "zz");
        assert_eq!(err("/binary 0x10").found, "0x10");
    }

    #[test]
    fn binary_non_ascii_error() {
        assert_eq!(err("/binary 0é").found, "0é");
        assert_eq!(err("/binary ９９").found, "９９");
    }

    // /file

    #[test]
    fn file_command() {
        assert_eq!(
            ok("/file data.bin"),
            Command::File(PathBuf::from("data.bin"))
        );
    }

    #[test]
    fn file_path_with_spaces() {
        assert_eq!(
            ok("/file my file.bin"),
            Command::File(PathBuf::from("my file.bin"))
        );
    }

    #[test]
    fn file_missing_path_error() {
        let e = err("/file");
        assert_eq!(e.command, "/file");
        assert_eq!(e.expected, "/file PATH");
        assert_eq!(e.found, "");
        assert_eq!(err("/file ").found, "");
    }

    // /ping, /pong

    #[test]
    fn ping_empty_and_with_text() {
        assert_eq!(ok("/ping"), Command::Ping(vec![]));
        assert_eq!(ok("/ping hi there"), Command::Ping(b"hi there".to_vec()));
    }

    #[test]
    fn pong_empty_and_with_text() {
        assert_eq!(ok("/pong"), Command::Pong(vec![]));
        assert_eq!(ok("/pong é"), Command::Pong("é".as_bytes().to_vec()));
    }

    // /close

    #[test]
    fn close_default() {
        let expected = Command::Close {
            code: 1000,
            reason: String::new(),
        };
        assert_eq!(ok("/close"), expected);
        assert_eq!(ok("/close  "), expected);
    }

    #[test]
    fn close_code() {
        assert_eq!(
            ok("/close 1001"),
            Command::Close {
                code: 1001,
                reason: String::new()
            }
        );
    }

    #[test]
    fn close_code_and_reason_verbatim() {
        assert_eq!(
            ok("/close 4000 going  away "),
            Command::Close {
                code: 4000,
                reason: "going  away ".to_owned()
            }
        );
    }

    #[test]
    fn close_any_code_in_range() {
        for (line, code) in [
            ("/close 0", 0),
            ("/close 1005", 1005),
            ("/close 65535", 65535),
        ] {
            assert_eq!(
                ok(line),
                Command::Close {
                    code,
                    reason: String::new()
                }
            );
        }
    }

    #[test]
    fn close_bad_code_error_message() {
        assert_eq!(
            err("/close abc").to_string(),
            r#"/close: expected /close [CODE [REASON]] with CODE 0-65535, got "abc""#
        );
    }

    #[test]
    fn close_code_out_of_range_error() {
        assert_eq!(err("/close 65536").found, "65536");
        assert_eq!(
            err("/close 99999999999999999999999").found,
            "99999999999999999999999"
        );
        assert_eq!(err("/close -1").found, "-1");
        assert_eq!(err("/close +1000").found, "+1000");
    }

    // /frame

    #[test]
    fn frame_defaults() {
        assert_eq!(
            frame("/frame text"),
            RawFrame {
                opcode: OpCode::from(1),
                fin: true,
                rsv: [false; 3],
                mask: None,
                key: None,
                payload: vec![],
            }
        );
    }

    #[test]
    fn frame_opcode_names() {
        for (name, opcode) in [
            ("cont", 0),
            ("continuation", 0),
            ("text", 1),
            ("binary", 2),
            ("close", 8),
            ("ping", 9),
            ("pong", 10),
        ] {
            assert_eq!(
                frame(&format!("/frame {name}")).opcode,
                OpCode::from(opcode),
                "{name}"
            );
        }
    }

    #[test]
    fn frame_opcode_numbers() {
        assert_eq!(frame("/frame 0").opcode, OpCode::from(0));
        assert_eq!(frame("/frame 3").opcode, OpCode::from(3));
        assert_eq!(frame("/frame 15").opcode, OpCode::from(15));
    }

    #[test]
    fn frame_missing_opcode_error() {
        let e = err("/frame");
        assert_eq!(e.command, "/frame");
        assert_eq!(e.found, "");
        assert!(e
            .expected
            .contains("OPCODE text, binary, cont, ping, pong, close or 0-15"));
    }

    #[test]
    fn frame_bad_opcode_error() {
        assert_eq!(err("/frame 16").found, "16");
        assert_eq!(err("/frame 300").found, "300");
        assert_eq!(err("/frame txt hi").found, "txt");
        assert_eq!(err("/frame fin=0").found, "fin=0");
    }

    #[test]
    fn frame_payload_rest_verbatim() {
        assert_eq!(frame("/frame text hello  world ").payload, b"hello  world ");
    }

    #[test]
    fn frame_options_then_payload() {
        let f = frame("/frame cont fin=0 rsv=101 mask=1 key=0A0b0c0D hi fin=1");
        assert_eq!(
            f,
            RawFrame {
                opcode: OpCode::from(0),
                fin: false,
                rsv: [true, false, true],
                mask: Some(true),
                key: Some([0x0a, 0x0b, 0x0c, 0x0d]),
                payload: b"hi fin=1".to_vec(),
            }
        );
    }

    #[test]
    fn frame_options_any_order_and_spaces() {
        let f = frame("/frame  binary   mask=0  fin=0   rsv=010");
        assert_eq!(
            f,
            RawFrame {
                opcode: OpCode::from(2),
                fin: false,
                rsv: [false, true, false],
                mask: Some(false),
                key: None,
                payload: vec![],
            }
        );
    }

    #[test]
    fn frame_rsv_order() {
        assert_eq!(frame("/frame text rsv=100").rsv, [true, false, false]);
        assert_eq!(frame("/frame text rsv=001").rsv, [false, false, true]);
    }

    #[test]
    fn frame_hex_payload() {
        assert_eq!(
            frame("/frame binary hex=00FF10").payload,
            vec![0, 0xff, 0x10]
        );
        assert_eq!(frame("/frame binary hex=").payload, Vec::<u8>::new());
    }

    #[test]
    fn frame_non_option_word_starts_payload() {
        assert_eq!(frame("/frame text fin hi").payload, b"fin hi");
        assert_eq!(frame("/frame text a=b").payload, b"a=b");
        assert_eq!(frame("/frame text FIN=0").payload, b"FIN=0");
    }

    #[test]
    fn frame_bad_fin_error() {
        let e = err("/frame text fin=2");
        assert_eq!(e.found, "fin=2");
        assert_eq!(e.expected, "fin=0 or fin=1");
        assert_eq!(err("/frame text fin=").found, "fin=");
    }

    #[test]
    fn frame_bad_mask_error() {
        let e = err("/frame text mask=yes");
        assert_eq!(e.found, "mask=yes");
        assert_eq!(e.expected, "mask=0 or mask=1");
    }

    #[test]
    fn frame_bad_rsv_error() {
        for word in ["rsv=1", "rsv=0000", "rsv=102", "rsv=", "rsv=1é0"] {
            let e = err(&format!("/frame text {word}"));
            assert_eq!(e.found, word);
            assert!(e.expected.starts_with("rsv=BBB"), "{}", e.expected);
        }
    }

    #[test]
    fn frame_bad_key_error() {
        for word in [
            "key=0102030",
            "key=010203040",
            "key=0102030g",
            "key=",
            "key=0102 0304",
        ] {
            let e = err(&format!("/frame text {word}"));
            assert!(word.starts_with(&e.found), "{word} vs {}", e.found);
            assert!(e.expected.starts_with("key=HEX8"), "{}", e.expected);
        }
    }

    #[test]
    fn frame_key_with_mask_0_error() {
        let e = err("/frame text key=01020304 mask=0");
        assert_eq!(e.found, "key=01020304");
        assert_eq!(e.expected, "key=HEX8 only with mask=1");
        assert_eq!(err("/frame text mask=0 key=01020304").found, "key=01020304");
    }

    #[test]
    fn frame_bad_hex_error() {
        let e = err("/frame binary hex=abc");
        assert_eq!(e.found, "hex=abc");
        assert!(e.expected.starts_with("hex=HEX"));
        assert_eq!(err("/frame binary hex=zz").found, "hex=zz");
    }

    #[test]
    fn frame_hex_and_payload_error() {
        let e = err("/frame binary hex=00 more text");
        assert_eq!(e.found, "more text");
        assert_eq!(e.expected, "hex=HEX or PAYLOAD, not both");
    }

    #[test]
    fn frame_duplicate_option_error() {
        let e = err("/frame text fin=0 fin=0");
        assert_eq!(e.found, "fin=0");
        assert_eq!(e.expected, "fin= at most once");
        assert_eq!(err("/frame text hex=00 hex=").expected, "hex= at most once");
        assert_eq!(
            err("/frame text key=00000000 key=00000000").found,
            "key=00000000"
        );
    }

    #[test]
    fn frame_error_display() {
        assert_eq!(
            err("/frame text fin=x").to_string(),
            r#"/frame: expected fin=0 or fin=1, got "fin=x""#
        );
    }

    // /sleep

    #[test]
    fn sleep_command() {
        assert_eq!(ok("/sleep 250"), Command::Sleep(Duration::from_millis(250)));
        assert_eq!(ok("/sleep 0"), Command::Sleep(Duration::ZERO));
        assert_eq!(
            ok("/sleep 18446744073709551615"),
            Command::Sleep(Duration::from_millis(u64::MAX))
        );
    }

    #[test]
    fn sleep_missing_error() {
        let e = err("/sleep");
        assert_eq!(e.found, "");
        assert_eq!(e.expected, SLEEP_EXPECTED);
    }

    #[test]
    fn sleep_bad_number_error() {
        assert_eq!(err("/sleep 1.5").found, "1.5");
        assert_eq!(
            err("/sleep 18446744073709551616").found,
            "18446744073709551616"
        );
        assert_eq!(err("/sleep -1").found, "-1");
    }

    #[test]
    fn sleep_extra_error() {
        assert_eq!(err("/sleep 10 20").found, "20");
    }

    // /wait

    #[test]
    fn wait_default() {
        assert_eq!(
            ok("/wait"),
            Command::Wait {
                n: 1,
                timeout: None
            }
        );
    }

    #[test]
    fn wait_n() {
        assert_eq!(
            ok("/wait 3"),
            Command::Wait {
                n: 3,
                timeout: None
            }
        );
    }

    #[test]
    fn wait_n_and_timeout() {
        assert_eq!(
            ok("/wait 2 1500"),
            Command::Wait {
                n: 2,
                timeout: Some(Duration::from_millis(1500))
            }
        );
    }

    #[test]
    fn wait_zero_error() {
        let e = err("/wait 0");
        assert_eq!(e.found, "0");
        assert_eq!(e.expected, WAIT_EXPECTED);
    }

    #[test]
    fn wait_bad_number_error() {
        assert_eq!(err("/wait x").found, "x");
        assert_eq!(err("/wait 1 soon").found, "soon");
    }

    #[test]
    fn wait_extra_error() {
        assert_eq!(err("/wait 1 2 3").found, "3");
    }

    // No-argument commands.

    #[test]
    fn no_argument_commands() {
        assert_eq!(ok("/reconnect"), Command::Reconnect);
        assert_eq!(ok("/info"), Command::Info);
        assert_eq!(ok("/quit"), Command::Quit);
        assert_eq!(ok("/help"), Command::Help);
        assert_eq!(ok("/quit  "), Command::Quit);
    }

    #[test]
    fn no_argument_commands_extra_error() {
        for name in ["reconnect", "info", "quit", "help"] {
            let e = err(&format!("/{name} now"));
            assert_eq!(e.command, format!("/{name}"));
            assert_eq!(e.expected, format!("/{name} with no arguments"));
            assert_eq!(e.found, "now");
        }
    }

    // COMMANDS and /help.

    #[test]
    fn relay_commands() {
        for (line, want) in [
            ("/to client", Command::Leg(LegPick::Client)),
            ("/to server", Command::Leg(LegPick::Server)),
            ("/to both", Command::Leg(LegPick::Both)),
            ("/cut", Command::Cut),
        ] {
            assert_eq!(parse(line).unwrap(), want, "{line}");
        }
        assert_eq!(parse("/cut now").unwrap_err().command, "/cut");
        assert!(LegPick::Both.takes(crate::event::Leg::Client));
        assert!(!LegPick::Server.takes(crate::event::Leg::Client));
        // /cut is relay's only: not in the client's or listen's /help.
        assert!(!help_text(false).contains("/cut") && !help_text(true).contains("/cut"));
    }

    #[test]
    fn protocol_commands() {
        assert_eq!(
            parse(r#"/emit ack /admin chat "hi there" {"a": [1, 2]} 3 word"#).unwrap(),
            Command::Speak(Speak::Emit {
                namespace: Some("/admin".into()),
                event: "chat".into(),
                args: vec![
                    serde_json::json!("hi there"),
                    serde_json::json!({"a": [1, 2]}),
                    serde_json::json!(3),
                    serde_json::json!("word"),
                ],
                ack: true,
            })
        );
        assert_eq!(
            parse("/gql vars={\"n\": 1} subscription { t(n: $n) }").unwrap(),
            Command::Speak(Speak::Gql {
                query: Some("subscription { t(n: $n) }".into()),
                variables: Some(serde_json::json!({"n": 1})),
            })
        );
        assert!(matches!(
            parse("/gql init").unwrap(),
            Command::Speak(Speak::Gql { query: None, .. })
        ));
        for bad in ["/emit", "/gql", "/gql vars=[1] q"] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.expected.starts_with("/emit") || e.expected.starts_with("/gql"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn commands_table_matches_usage() {
        let names: Vec<&str> = COMMANDS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(
            names,
            [
                "/text",
                "/binary",
                "/file",
                "/ping",
                "/pong",
                "/close",
                "/frame",
                "/sleep",
                "/wait",
                "/reconnect",
                "/info",
                "/quit",
                "/expect",
                "/clients",
                "/to",
                "/kick",
                "/cut",
                "/emit",
                "/gql",
                "/mqtt",
                "/publish",
                "/subscribe",
                "/stomp",
                "/signalr",
                "/invoke",
                "/rpc",
                "/help"
            ]
        );
        for (name, usage, summary) in COMMANDS {
            assert!(
                *usage == *name || usage.starts_with(&format!("{name} ")),
                "{usage}"
            );
            assert!(!summary.is_empty());
        }
        assert_eq!(
            COMMANDS[6].1,
            "/frame OPCODE [fin=0|1] [rsv=BBB] [mask=0|1] [key=HEX8] [hex=HEX] [PAYLOAD]"
        );
    }

    #[test]
    fn every_command_name_is_recognised() {
        for (name, _, _) in COMMANDS {
            if let Err(e) = parse(name) {
                assert_ne!(e.found, *name, "{name} is not parsed");
            }
        }
    }

    #[test]
    fn help_lists_every_usage_aligned() {
        let help = help_text(false);
        assert!(help.ends_with('\n'));
        for (_, usage, summary) in commands_for(false) {
            assert!(help.contains(usage), "{usage}");
            assert!(help.contains(summary), "{summary}");
        }
        assert!(
            !help.contains("/kick"),
            "the client's /help lists listen's commands"
        );
        assert!(help.contains("//"));
        let column = help
            .lines()
            .find(|line| line.starts_with("  /text"))
            .and_then(|line| line.find("send"));
        let quit = help
            .lines()
            .find(|line| line.starts_with("  /quit"))
            .and_then(|line| line.find("close"));
        assert!(column.is_some());
        assert_eq!(column, quit);
    }

    #[test]
    fn each_side_lists_its_own_commands() {
        let listen = help_text(true);
        for name in ["/clients", "/to", "/kick", "/expect"] {
            assert!(listen.contains(name), "{name}");
        }
        assert!(!listen.contains("/reconnect"));
        assert!(listen.contains("close every client (1001)"));
        let client = help_text(false);
        assert!(client.contains("/reconnect"));
        assert!(!client.contains("/clients"));
    }

    #[test]
    fn comments_and_blank_lines_do_nothing() {
        for line in ["# a comment", "#", "", "   ", "\t", "#/close 1000"] {
            assert_eq!(parse(line), Ok(Command::Comment), "{line:?}");
            assert_eq!(plain_text(line), None, "{line:?}");
        }
        assert_eq!(parse("/text"), Ok(Command::Text(String::new())));
        assert_eq!(parse("/text # x"), Ok(Command::Text("# x".into())));
        assert_eq!(parse(" #x"), Ok(Command::Text(" #x".into())));
    }

    #[test]
    fn expect_next_is_parsed() {
        match parse("/expect next text ^a$ within 20") {
            Ok(Command::Expect { what, within, next }) => {
                assert_eq!(what, Expect::Text("^a$".into()));
                assert_eq!(within, Some(Duration::from_millis(20)));
                assert!(next);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("/expect text next"),
            Ok(Command::Expect { next: false, .. })
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(line in any::<String>()) {
            let _ = parse(&line);
        }

        #[test]
        fn parse_never_panics_on_commands(
            name in prop::sample::select(COMMANDS.iter().map(|(name, _, _)| *name).collect::<Vec<_>>()),
            args in "[ -~é\t]{0,40}",
        ) {
            let _ = parse(&format!("{name} {args}"));
        }

        #[test]
        fn plain_lines_round_trip(line in any::<String>()) {
            prop_assume!(!line.starts_with('/') && !line.ends_with('\r') && !is_comment(&line));
            prop_assert_eq!(parse(&line), Ok(Command::Text(line.clone())));
        }

        #[test]
        fn double_slash_round_trips(rest in any::<String>()) {
            prop_assume!(!rest.ends_with('\r'));
            prop_assert_eq!(parse(&format!("//{rest}")), Ok(Command::Text(format!("/{rest}"))));
        }

        #[test]
        fn binary_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64), spaced in any::<bool>()) {
            let sep = if spaced { " " } else { "" };
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(parse(&format!("/binary {}", hex.join(sep))), Ok(Command::Binary(bytes)));
        }

        #[test]
        fn frame_hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64), key in any::<[u8; 4]>()) {
            let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let parsed = parse(&format!("/frame 2 key={key_hex} hex={hex}"));
            prop_assert_eq!(parsed, Ok(Command::Frame(RawFrame {
                opcode: OpCode::from(2),
                fin: true,
                rsv: [false; 3],
                mask: Some(true),
                key: Some(key),
                payload: bytes,
            })));
        }

        #[test]
        fn close_round_trips(code in any::<u16>(), reason in "[^\r]*") {
            prop_assert_eq!(
                parse(&format!("/close {code} {reason}")),
                Ok(Command::Close { code, reason })
            );
        }
    }
}
