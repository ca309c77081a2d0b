//! The command line: clap derive `Cli` (doc comments are the help), and its check into
//! the values the rest of the program uses. `Cli::command()` also feeds `completions`
//! and the man page. Only validates what the user gave; connects to nothing.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConnectConfig, ListenConfig, Mode, OutConfig, Stdin};
use crate::error::Error;

pub const EXAMPLES: &str = "\
Examples:
  Try it with no server at hand (two terminals):
    wsdbg listen --port 9001
    wsdbg ws://127.0.0.1:9001/
  Poke a server: type lines, see every frame both ways
    wsdbg wss://echo.example.com/
  Send headers and offer subprotocols; -v shows the handshake
    wsdbg -v -H 'Authorization: Bearer TOKEN' -p chat wss://example.com/socket
  Script a session from a file (one command per line)
    wsdbg ws://127.0.0.1:9001/ < session.txt
  Pipe to jq: the text of every message the server sent
    wsdbg --json -x 'hello' -x '/wait' ws://127.0.0.1:9001/ | jq -r 'select(.event==\"message\" and .dir==\"in\") | .text'
  Payloads only, for pipelines
    seq 100 | wsdbg -o payload ws://127.0.0.1:9001/ > echoes.txt
  Test a server's close behaviour: any code, even one the RFC forbids on the wire
    wsdbg -x '/close 4000 bye' ws://127.0.0.1:9001/
    wsdbg -x '/frame close hex=03' ws://127.0.0.1:9001/      (a 1-byte close payload)
  Stay connected: reconnect with backoff, keepalive pings
    wsdbg --reconnect --ping-interval 20 wss://example.com/feed";

/// What the REPL promises, in `--help`.
pub const REPL: &str = "\
REPL (stdin a terminal): every line typed or pasted is one command, in order, and
nothing typed ahead is lost; frames print above the prompt while you type or Tab;
Ctrl-C once says what a second does; Ctrl-D or /quit closes with 1000 and exits
(in listen, Ctrl-D only says so: /quit closes every client and exits).";

/// The end of `--help`: the examples, the commands (from `command::COMMANDS`), where
/// the JSON events are, and the exit codes (from `exit`).
pub fn after_help() -> String {
    let mut names = String::new();
    let mut line_len = 0;
    for (name, _, _) in crate::command::commands_for(false) {
        if line_len + name.len() + 1 > 80 {
            names.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            names.push(' ');
            line_len += 1;
        }
        names.push_str(name);
        line_len += name.len();
    }
    format!(
        "{EXAMPLES}\n\n{REPL}\n\nCommands (REPL, script, -x): a plain line is sent as a text message, a line\n\
         starting with # is a comment; /help lists them (listen has its own):\n{names}\n\n\
         JSON events (--json): every event and field is listed under JSON EVENTS in man wsdbg\n\
         and in the README.\n\n{}",
        crate::exit::help_text()
    )
}

/// `--version`: the version and the TLS backend.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (TLS: rustls 0.23 with the ring provider, webpki roots)"
);

/// A WebSocket client and debugger: shows every frame as it crossed the wire.
#[derive(Debug, Parser)]
#[command(
    name = "wsdbg",
    version = VERSION,
    about,
    after_help = "More options, examples and exit codes: wsdbg --help; commands at the prompt: /help",
    after_long_help = after_help(),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Option<Sub>,

    /// ws://, wss://, http(s):// (mapped to ws(s)://) or host:port/path
    #[arg(value_name = "URL", required = true, value_parser = url_word)]
    pub url: Option<String>,

    #[command(flatten)]
    pub conn: ConnArgs,

    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// A local WebSocket echo server for trying things out (default 127.0.0.1:9001)
    Listen(Box<ListenArgs>),
    /// Check a server's RFC 6455 conformance, one fresh connection per check
    Probe(Box<ProbeArgs>),
    /// Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)
    Relay(Box<RelayArgs>),
    /// Play the client's side of a recording against URL and compare the replies
    Replay(Box<ReplayArgs>),
    /// Print a shell completion script
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to bind: HOST, HOST:PORT, PORT (on 127.0.0.1) or :PORT (every interface)
    #[arg(value_name = "ADDR")]
    pub addr: Option<String>,
    /// Port to listen on (0 picks a free one and prints it)
    #[arg(long)]
    pub port: Option<u16>,
    /// Listen on this Unix socket instead of a port (removed again at exit); clients
    /// reach it as ws+unix:///PATH
    #[arg(long, value_name = "PATH", conflicts_with_all = ["addr", "port"])]
    pub unix: Option<PathBuf>,
    /// Largest message accepted; beyond it close with 1009
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_size: u64,
    /// Serve wss://: certificate chain (PEM); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept permessage-deflate (RFC 7692) when a client offers it, and echo compressed
    #[arg(long)]
    pub compress: bool,
    /// Run this command when a client is connected (repeatable); stdin is not read
    #[arg(short = 'x', long = "execute", value_name = "CMD")]
    pub execute: Vec<String>,
    /// Do not echo what clients send
    #[arg(long)]
    pub no_echo: bool,
    /// Send TEXT to each client once it is connected
    #[arg(long, value_name = "TEXT")]
    pub greet: Option<String>,
    /// Close a client after N messages from it, with CODE (default 1000) and REASON
    #[arg(long, value_name = "N [CODE [REASON]]", num_args = 1..=3)]
    pub close_after: Vec<String>,
    /// Echo MS milliseconds late
    #[arg(long, value_name = "MS")]
    pub delay: Option<u64>,
    /// Do not answer pings (they are still shown)
    #[arg(long)]
    pub no_pong: bool,
    /// Accept only this subprotocol: a client that does not offer it is refused (400)
    #[arg(long, value_name = "NAME")]
    pub subprotocol: Option<String>,
    /// Extra header 'Name: value' in every answer to an upgrade request (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Refuse every upgrade with STATUS (and BODY), to test a client's error path
    #[arg(long, value_name = "STATUS [BODY]", num_args = 1..=2)]
    pub reject: Vec<String>,
    /// Exit when the first client leaves: 0 if its close was clean, else 3 (4 when a
    /// command did not run as written or an /expect failed)
    #[arg(long)]
    pub once: bool,
    /// End (close every client, exit 4) at the first failed /expect
    #[arg(long)]
    pub fail_fast: bool,
    /// Mock server: play the server's side of a recording (--record JSON lines or a
    /// HAR) to each client, comparing what it sends with what the recording's client
    /// sent (no echo; with --once, exit 4 when the client deviated)
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// --replay: original (the recorded pauses before each reply) or fast
    #[arg(long, value_name = "fast|original", default_value = "original", value_parser = ["fast", "original"], requires = "replay")]
    pub timing: String,
    /// --replay: leave what REGEX matches out of the comparison (repeatable)
    #[arg(long, value_name = "REGEX", requires = "replay")]
    pub ignore: Vec<String>,
    /// --replay: leave this field of JSON messages out of the comparison (repeatable)
    #[arg(long, value_name = "PATH", requires = "replay")]
    pub ignore_json: Vec<String>,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// ws://, wss://, http(s):// or host:port/path of the server to check
    #[arg(value_name = "URL")]
    pub url: String,
    /// Run the checks that need an echo server without detecting one
    #[arg(long)]
    pub echo_server: bool,
    /// Seconds each check waits for the server's answer
    ///
    /// Each wait of a check (for a pong, a close, an echo) lasts at most this; every check
    /// has one deadline that covers its writes too, the checks run at once, and the whole
    /// battery ends within 30 s whatever the server does.
    #[arg(long, value_name = "SECS", default_value = "2")]
    pub wait: f64,
    /// Also write the verdicts to FILE as a JUnit XML report (n/a as skipped)
    ///
    /// One testsuite, one testcase per check: a fail is a <failure>, an n/a a <skipped>, a
    /// pass or lenient verdict passes with its observation in <system-out>. The file is
    /// created before the first connection: one that cannot be is a usage error (exit 2).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Connection options, as for the client
    #[command(flatten)]
    pub conn: LinkArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Address to bind: HOST, HOST:PORT, PORT (on 127.0.0.1) or :PORT (every interface)
    #[arg(value_name = "ADDR")]
    pub addr: Option<String>,
    /// ws://, wss://, http(s):// or host:port/path of the server each client is relayed to
    /// (required; alone, the one word is URL)
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Port to listen on (0 picks a free one and prints it)
    #[arg(long)]
    pub port: Option<u16>,
    /// Serve wss:// to the clients: certificate chain (PEM); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Hold every forwarded frame MS milliseconds (latency)
    #[arg(long, value_name = "MS")]
    pub delay: Option<u64>,
    /// Run this command once a pair is open (repeatable); stdin is not read
    #[arg(short = 'x', long = "execute", value_name = "CMD")]
    pub execute: Vec<String>,
    /// Connection options of the upstream leg, as for the client (-H adds or replaces a
    /// header of the client's request)
    #[command(flatten)]
    pub conn: LinkArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// The client's options: how to reach the server ([`LinkArgs`], which `probe` takes too)
/// and what the session does once connected ([`ScriptArgs`]).
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording: --record JSON lines (client, listen, or relay's client leg) or a
    /// HAR file with _webSocketMessages (Chrome, Firefox, Playwright)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The server to replay against
    #[arg(value_name = "URL", value_parser = url_word, required_unless_present = "to_script")]
    pub url: Option<String>,
    /// Print the recording as a script of the command grammar (sends and /expect
    /// lines) instead of running it
    #[arg(long)]
    pub to_script: bool,
    /// Stop at the first reply that differs (close 1000, exit 4)
    #[arg(long)]
    pub fail_fast: bool,
    /// Leave out of the comparison what REGEX matches in a recorded text reply (times,
    /// ids): the reply may have anything REGEX matches there (repeatable)
    #[arg(long, value_name = "REGEX")]
    pub ignore: Vec<String>,
    /// Leave this field out of the comparison of JSON replies (repeatable): a.b,
    /// $.items[0].id, data.*.ts
    #[arg(long, value_name = "PATH")]
    pub ignore_json: Vec<String>,
    /// fast: send each message as soon as the replies before it came; original: with
    /// the recorded pauses between them
    #[arg(long, value_name = "fast|original", default_value = "fast", value_parser = ["fast", "original"])]
    pub timing: String,
    /// Send the handshake headers the recording's client sent (cookies, Origin,
    /// Authorization, subprotocols...; -H wins over them)
    #[arg(long)]
    pub headers_from_recording: bool,
    /// Connection options, as for the client (--close-timeout bounds each reply)
    #[command(flatten)]
    pub conn: LinkArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ConnArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(flatten)]
    pub script: ScriptArgs,
}

/// How to reach a server: the handshake's headers, TLS, the proxy, the timeouts and
/// limits of one connection. Every check of `probe` uses each.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Extra handshake header 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Offer a subprotocol (Sec-WebSocket-Protocol), repeatable
    #[arg(short = 'p', long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Origin header
    #[arg(long, value_name = "URL")]
    pub origin: Option<String>,
    /// Trust the CA certificates in this PEM file (besides the web roots)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server certificate (prints a warning)
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Client certificate chain (PEM) for mutual TLS; needs --key
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// TCP + TLS + handshake deadline in seconds
    #[arg(
        hide_short_help = true,
        long,
        value_name = "SECS",
        default_value = "10"
    )]
    pub connect_timeout: f64,
    /// Seconds to wait for the peer's close reply
    ///
    /// Counted from the last bytes the peer sent, so a peer still delivering is not cut
    /// off. Also the default timeout of /wait.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub close_timeout: f64,
    /// Largest message accepted; beyond it close with 1009
    #[arg(hide_short_help = true, long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_size: u64,
    /// Follow 3xx answers to the handshake (at most 10; wss -> ws refused)
    #[arg(short = 'L', long)]
    pub follow_redirects: bool,
    /// Proxy: http://[user:pass@]host:port, socks5:// or socks5h://
    ///
    /// http:// tunnels with CONNECT; socks5h:// has the proxy resolve names. Without
    /// --proxy, HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY apply.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,
    /// Offer permessage-deflate and show what it did; =PARAMS to ask for more
    ///
    /// Offer permessage-deflate (RFC 7692) the way browsers do
    /// (`client_max_window_bits`), or with the parameters given after `=` as in the
    /// header, e.g. `--compress='server_no_context_takeover; server_max_window_bits=10'`
    /// (also client_no_context_takeover, client_max_window_bits[=N]; bits 8-15).
    /// Frames show the compressed bytes, messages the inflated ones with both sizes.
    #[arg(
        long,
        value_name = "PARAMS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub compress: Option<String>,
    /// Ignore the proxy environment variables
    #[arg(hide_short_help = true, long)]
    pub no_proxy: bool,
    /// Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl's
    ///
    /// Repeatable; ADDR may be a comma-separated list, IPv6 in brackets:
    /// `--resolve example.com:443:127.0.0.1`. Applies to redirects and reconnects too.
    #[arg(hide_short_help = true, long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep
    /// HOST), as curl's
    ///
    /// Repeatable; an empty HOST or PORT matches any, an empty HOST2 or PORT2 keeps it.
    #[arg(hide_short_help = true, long, value_name = "HOST:PORT:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Run CMD (sh -c) before every connection attempt; each line it prints is a header
    ///
    /// For tokens that expire: run again for each reconnect and each redirect hop. A
    /// command that fails or prints a line that is not `Name: value` is an error naming
    /// it, and no connection is tried with stale headers.
    #[arg(hide_short_help = true, long, value_name = "CMD")]
    pub header_cmd: Option<String>,
    /// Send these cookies: 'name=value; ...', or a Netscape cookie file (as curl writes)
    ///
    /// A file's cookies are sent by RFC 6265's rules (domain, path, secure, expiry);
    /// cookies the handshake response or a redirect sets are sent from then on.
    #[arg(long, value_name = "DATA|FILE", hide_short_help = true)]
    pub cookie: Option<String>,
    /// At the end, write every cookie sent or set (Netscape format, as curl's)
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub cookie_jar: Option<PathBuf>,
    /// Use IPv4 addresses only
    #[arg(
        hide_short_help = true,
        short = '4',
        long = "ipv4",
        conflicts_with = "ipv6"
    )]
    pub ipv4: bool,
    /// Use IPv6 addresses only
    #[arg(hide_short_help = true, short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// What a client session does once connected: scripts, lingering, echo, reconnecting.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// Run CMD after connecting (repeatable), then close; stdin is not read
    #[arg(short = 'x', long = "execute", value_name = "CMD")]
    pub execute: Vec<String>,
    /// Script mode: at end of input, stay until the peer closes (or Ctrl-C)
    #[arg(long)]
    pub keep_open: bool,
    /// Script mode: at end of input, close once the peer was quiet for MS
    ///
    /// Quiet counts from the end of input or the last bytes received, whichever is later,
    /// answered or not; 0 closes at once. Without --linger: close once every data message
    /// sent has had at least one data message back and 10 ms pass quietly, or, while some
    /// are unanswered, once the peer has been quiet for 1000 ms. Either way lingering ends
    /// at 10 x MS (10 s without --linger) after the end of input.
    #[arg(long, value_name = "MS")]
    pub linger: Option<u64>,
    /// End the session (close 1000, exit 4) at the first failed /expect
    #[arg(hide_short_help = true, long)]
    pub fail_fast: bool,
    /// Send every input line verbatim as a text message; no commands
    #[arg(short = 'r', long, conflicts_with = "binary")]
    pub raw: bool,
    /// Script mode: stdin is raw bytes, sent as binary messages
    #[arg(short = 'b', long)]
    pub binary: bool,
    /// With --binary: largest binary message made from stdin [default: 65536, or
    /// --max-size when smaller]
    ///
    /// At most --max-size: a message from stdin is never one we would refuse.
    #[arg(hide_short_help = true, long, value_name = "BYTES")]
    pub chunk_size: Option<u64>,
    /// Deliver exactly N received data messages, then close and exit
    ///
    /// The close is 1000; later messages are shown only as frames; the end of input does
    /// not close before the Nth arrived.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,
    /// Send every data message received back as it came (a client-side mirror)
    ///
    /// Text as text and binary as binary, a fragmented one as one frame: for servers that
    /// push, and for Autobahn's client tests.
    #[arg(hide_short_help = true, long)]
    pub echo: bool,
    /// Do not answer pings (the pings are still shown)
    #[arg(hide_short_help = true, long)]
    pub no_auto_pong: bool,
    /// Reconnect with backoff and jitter after a disconnect not asked for
    ///
    /// Exponential backoff from --backoff-min to --backoff-max, with jitter; a failed
    /// first connection is retried too.
    #[arg(long)]
    pub reconnect: bool,
    /// With --reconnect: give up after N failed attempts in a row
    #[arg(hide_short_help = true, long, value_name = "N", requires = "reconnect")]
    pub max_retries: Option<u32>,
    /// With --reconnect: first delay in milliseconds
    #[arg(hide_short_help = true, long, value_name = "MS", default_value_t = 250)]
    pub backoff_min: u64,
    /// With --reconnect: longest delay in milliseconds
    #[arg(
        hide_short_help = true,
        long,
        value_name = "MS",
        default_value_t = 30_000
    )]
    pub backoff_max: u64,
    /// Ping every SECS and show the round trip; no pong by the next = dead
    ///
    /// A connection whose pong has not come back by the next ping is taken as dead:
    /// reconnect with --reconnect, else exit 3.
    #[arg(long, value_name = "SECS")]
    pub ping_interval: Option<f64>,
}

impl ScriptArgs {
    /// Every option at its default, as when none is given (for `probe`, which has none
    /// of them).
    fn defaults() -> ScriptArgs {
        use clap::FromArgMatches;
        let cmd = ScriptArgs::augment_args(clap::Command::new("wsdbg"));
        let m = cmd.get_matches_from(["wsdbg"]);
        ScriptArgs::from_arg_matches(&m).expect("the defaults of ScriptArgs parse")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Every frame both ways, one line each, for people
    Pretty,
    /// One JSON object per line, first key "event"
    Json,
    /// Each received message's payload, one per line (binary as hex)
    Payload,
    /// Each received message's payload as bytes, nothing added
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimestampChoice {
    /// Seconds since start
    Relative,
    /// Wall-clock time, RFC 3339 in UTC with milliseconds
    Wall,
    /// No time column
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct OutArgs {
    /// Output format
    ///
    /// payload writes a text message's own newlines as they are, so a line is one message
    /// only when no message has one; to a terminal it escapes control characters other
    /// than newline and tab as pretty does (ESC, C1, CR: a server cannot drive the
    /// terminal), to a pipe or file it writes the text as it came. For message boundaries
    /// whatever the text, use --json (one line per message, text escaped, C1 controls as
    /// \u009b); -o raw keeps the bytes exactly, with nothing between messages.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Pretty)]
    pub output: OutputFormat,
    /// Same as --output json
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
    /// Colour (NO_COLOR in the environment means never)
    #[arg(hide_short_help = true, long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Pretty output: also print the handshake headers
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none
    ///
    /// With --json every event keeps `t` (seconds since start); `wall` adds `time`.
    #[arg(
        hide_short_help = true,
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = TimestampChoice::Relative
    )]
    pub timestamps: TimestampChoice,
    /// Pretty output: show payloads in full, never cut
    #[arg(hide_short_help = true, long, conflicts_with = "max_payload")]
    pub full: bool,
    /// Also write every event as JSON lines (the --json events) to FILE
    ///
    /// Whatever -o shows on the terminal; the file is a lossless record of the session
    /// (every frame both ways, the handshake, the close).
    #[arg(hide_short_help = true, long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Also write the session as HAR 1.2 to FILE at the end (the handshake, and the
    /// messages in _webSocketMessages as browsers save them)
    #[arg(hide_short_help = true, long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// Pretty output: cut payloads at N bytes (default: text 256, binary 64)
    ///
    /// The full length is still shown after the cut: `… (N bytes)`.
    #[arg(long, value_name = "N")]
    pub max_payload: Option<usize>,
    /// Decode the application protocol inside the frames: auto (from the subprotocol
    /// or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc
    #[arg(hide_short_help = true, long, value_name = "NAME", default_value = "auto", value_parser = proto_word)]
    pub proto: String,
    /// Do not show these (comma-separated, repeatable): heartbeat (the protocol's
    /// keep-alives), ping, pong; they are still received, counted and recorded
    #[arg(hide_short_help = true, long, value_name = "WHAT", value_parser = hide_word)]
    pub hide: Vec<String>,
    /// Show only data messages that match: REGEX (the text, hex for binary, or a
    /// decoded packet), or PATH=VALUE (a JSON field)
    #[arg(hide_short_help = true, long, value_name = "REGEX|PATH=VALUE", value_parser = filter_word)]
    pub filter: Option<String>,
}

impl Cli {
    /// The output format of the command given: `listen` has its own output options.
    pub fn format(&self) -> crate::render::Format {
        match &self.cmd {
            Some(Sub::Listen(a)) => a.out.format(),
            Some(Sub::Probe(a)) => a.out.format(),
            Some(Sub::Relay(a)) => a.out.format(),
            Some(Sub::Replay(a)) => a.out.format(),
            _ => self.out.format(),
        }
    }

    /// Every check of what the user gave, once: the rest of the program sees a
    /// `Config`, never a clap type. Reads the files named (certificates, keys) but
    /// connects to nothing.
    pub fn into_config(self) -> Result<Config, Error> {
        match self.cmd {
            Some(Sub::Completions { shell }) => Ok(Config {
                mode: Mode::Completions(shell),
                out: self.out.config(),
            }),
            Some(Sub::Probe(args)) => {
                let out = args.out.config();
                let wait = timeout("--wait", args.wait)?;
                let conn = ConnArgs {
                    link: args.conn,
                    script: ScriptArgs::defaults(),
                };
                let connect = conn.into_config(&args.url)?;
                Ok(Config {
                    mode: Mode::Probe(Box::new(crate::config::ProbeOptions {
                        session: connect.session,
                        echo_server: args.echo_server,
                        wait,
                        junit: args.junit,
                    })),
                    out,
                })
            }
            Some(Sub::Replay(args)) => {
                let out = args.out.config();
                let name = args.file.display().to_string();
                let cannot = |e: std::io::Error| {
                    Error::usage(format!(
                        "replay: expected a recording (--record JSON lines or a HAR file), could not read {name}: {e}"
                    ))
                };
                // JSON lines (the first line is an event) stream; a HAR is read whole.
                let mut head = String::new();
                {
                    use std::io::{BufRead, Read};
                    let f = std::fs::File::open(&args.file).map_err(cannot)?;
                    let mut r = std::io::BufReader::new(f).take(1 << 20);
                    r.read_line(&mut head).map_err(cannot)?;
                    r.read_to_string(&mut head).ok();
                }
                let lines = head.lines().next().is_some_and(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .is_ok_and(|v| v.get("event").is_some())
                });
                let whole = || -> Result<Vec<crate::replay::Step>, Error> {
                    let text = std::fs::read_to_string(&args.file).map_err(cannot)?;
                    crate::replay::read(&name, &text)
                };
                let within = timeout("--close-timeout", args.conn.close_timeout)?;
                crate::compare::Rules::from_options(&args.ignore, &args.ignore_json)?;
                let timing = match args.timing.as_str() {
                    "original" => crate::replay::Timing::Original,
                    _ => crate::replay::Timing::Fast,
                };
                let mut plan = crate::replay::Plan::new(
                    within,
                    args.ignore.clone(),
                    args.ignore_json.clone(),
                    timing,
                );
                if args.to_script {
                    return Ok(Config {
                        mode: Mode::Print(plan.script(&whole()?)),
                        out,
                    });
                }
                let url = args.url.clone().ok_or_else(|| {
                    Error::usage("replay: expected FILE URL (or --to-script FILE)")
                })?;
                let mut script = ScriptArgs::defaults();
                script.fail_fast = args.fail_fast;
                let conn = ConnArgs {
                    link: args.conn,
                    script,
                };
                let mut connect = conn.into_config(&url)?;
                if args.headers_from_recording {
                    let recorded = if lines {
                        crate::replay::recorded_headers(&head)
                    } else {
                        let text = std::fs::read_to_string(&args.file).map_err(cannot)?;
                        crate::replay::recorded_headers(&text)
                    };
                    let ask = &mut connect.session.ask.headers;
                    for (n, v) in recorded {
                        if !ask.iter().any(|(m, _)| m.eq_ignore_ascii_case(&n)) {
                            ask.push((n, v));
                        }
                    }
                }
                if lines {
                    connect.stdin = Stdin::Replay {
                        file: args.file.clone(),
                        plan,
                    };
                } else {
                    let steps = whole()?;
                    connect.execute = steps.iter().flat_map(|s| plan.commands(s)).collect();
                }
                Ok(Config {
                    mode: Mode::Connect(Box::new(connect)),
                    out,
                })
            }
            Some(Sub::Relay(args)) => {
                let out = args.out.config();
                Ok(Config {
                    mode: Mode::Relay(Box::new(args.into_config()?)),
                    out,
                })
            }
            Some(Sub::Listen(args)) => {
                let out = args.out.config();
                Ok(Config {
                    mode: Mode::Listen(Box::new(args.into_config()?)),
                    out,
                })
            }
            None => {
                let out = self.out.config();
                let url = self.url.as_deref().unwrap_or_default();
                Ok(Config {
                    mode: Mode::Connect(Box::new(self.conn.into_config(url)?)),
                    out,
                })
            }
        }
    }
}

impl RelayArgs {
    fn into_config(self) -> Result<crate::config::RelayConfig, Error> {
        // One word is the URL; two are ADDR URL.
        let (addr, url) =
            match (self.addr, self.url) {
                (Some(a), Some(u)) => (Some(a), u),
                (Some(u), None) => (None, u),
                _ => return Err(Error::usage(
                    "relay: expected [ADDR] URL, got no URL (the server each client is relayed to)",
                )),
            };
        let addr =
            crate::target::bind_addr_or(addr.as_deref(), self.port, crate::target::RELAY_PORT)?;
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some(crate::connect::server_tls_config(c, k)?),
            // clap's `requires` makes sure both or neither are given.
            _ => None,
        };
        if self.conn.compress.is_some() {
            return Err(Error::usage(
                "relay: --compress is not taken: permessage-deflate is agreed end to end by the client and the server",
            ));
        }
        if !self.conn.protocols.is_empty() || self.conn.origin.is_some() {
            return Err(Error::usage(
                "relay: -p and --origin are not taken: the client's own offer is passed on (use -H to replace a header)",
            ));
        }
        if self.conn.follow_redirects {
            return Err(Error::usage(
                "relay: -L is not taken: a redirect is passed to the client as the server gave it",
            ));
        }
        let conn = ConnArgs {
            link: self.conn,
            script: ScriptArgs::defaults(),
        };
        let connect = conn.into_config(&url)?;
        let execute = self
            .execute
            .iter()
            .map(|x| crate::command::parse(x).map_err(|e| Error::usage(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::config::RelayConfig {
            addr,
            tls,
            execute,
            upstream: connect.session,
            delay: self.delay.filter(|&d| d > 0).map(Duration::from_millis),
        })
    }
}

impl ListenArgs {
    fn into_config(self) -> Result<ListenConfig, Error> {
        let addr = crate::target::bind_addr(self.addr.as_deref(), self.port)?;
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some(crate::connect::server_tls_config(c, k)?),
            // clap's `requires` makes sure both or neither are given.
            _ => None,
        };
        let close_after = match self.close_after.as_slice() {
            [] => None,
            [n, rest @ ..] => {
                let n = n.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    Error::usage(format!(
                        "--close-after: expected N [CODE [REASON]] with N at least 1, got {n:?}"
                    ))
                })?;
                let code = match rest.first() {
                    None => 1000,
                    Some(c) => c.parse::<u16>().map_err(|_| {
                        Error::usage(format!(
                            "--close-after: expected N [CODE [REASON]] with CODE 0-65535, got {c:?}"
                        ))
                    })?,
                };
                Some((n, code, rest.get(1).cloned().unwrap_or_default()))
            }
        };
        let reject = match self.reject.as_slice() {
            [] => None,
            [status, rest @ ..] => {
                let status = status
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (200..=599).contains(s) && *s != 101)
                    .ok_or_else(|| {
                        Error::usage(format!(
                            "--reject: expected STATUS [BODY] with an HTTP status 200-599 other than 101, got {status:?}"
                        ))
                    })?;
                Some((status, rest.first().cloned().unwrap_or_default()))
            }
        };
        // `--reject 401 127.0.0.1:0`: clap gives the address to BODY (or REASON); an
        // address there was surely meant as ADDR.
        let looks_like_addr = |v: &str| {
            v.parse::<std::net::SocketAddr>().is_ok()
                || v.parse::<std::net::IpAddr>().is_ok()
                || v == "localhost"
                || v.rsplit_once(':').is_some_and(|(h, p)| {
                    !h.is_empty() && !h.contains(' ') && p.parse::<u16>().is_ok()
                })
        };
        if self.addr.is_none() {
            let trailing = match (self.reject.as_slice(), self.close_after.as_slice()) {
                ([_, body], _) => Some(("--reject STATUS [BODY]", body)),
                (_, [_, _, reason]) => Some(("--close-after N [CODE [REASON]]", reason)),
                _ => None,
            };
            if let Some((opt, v)) = trailing.filter(|(_, v)| looks_like_addr(v)) {
                return Err(Error::usage(format!(
                    "{opt}: expected a body or reason, got {v:?}, which looks like the address: put ADDR before the option (wsdbg listen {v} ...)"
                )));
            }
        }
        let headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(p) = &self.subprotocol {
            if p.is_empty() || p.contains(',') || crate::handshake::bad_field(p).is_some() {
                return Err(Error::usage(format!(
                    "--subprotocol: expected one token, got {p:?}"
                )));
            }
        }
        let execute = self
            .execute
            .iter()
            .map(|x| crate::command::parse(x).map_err(|e| Error::usage(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mock = match &self.replay {
            None => None,
            Some(file) => {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(file).map_err(|e| {
                    Error::usage(format!(
                        "--replay: expected a recording (--record JSON lines or a HAR file), could not read {name}: {e}"
                    ))
                })?;
                let rules = crate::compare::Rules::from_options(&self.ignore, &self.ignore_json)?;
                Some(std::sync::Arc::new(crate::engine::Mock {
                    steps: crate::replay::read(&name, &text)?,
                    rules,
                    timing: match self.timing.as_str() {
                        "fast" => crate::replay::Timing::Fast,
                        _ => crate::replay::Timing::Original,
                    },
                }))
            }
        };
        Ok(ListenConfig {
            addr,
            unix: self.unix,
            tls,
            max_size: self.max_size,
            how: crate::config::ListenBehaviour {
                reflex: crate::engine::Behaviour {
                    // A mock answers as the recording says, not with echoes.
                    echo: !self.no_echo && mock.is_none(),
                    greet: self.greet,
                    close_after,
                    delay: self.delay.map(Duration::from_millis),
                    mock,
                    // Set from the output options (`--proto`) by `app`.
                    proto: None,
                },
                auto_pong: !self.no_pong,
                once: self.once,
                accept: crate::handshake::ServerOpts {
                    compress: self.compress,
                    subprotocol: self.subprotocol,
                    headers,
                    reject,
                },
            },
            execute,
            fail_fast: self.fail_fast,
        })
    }
}

impl ConnArgs {
    fn into_config(self, url: &str) -> Result<ConnectConfig, Error> {
        use crate::connect::{ProxyMode, TlsOpts};
        let ConnArgs { link: l, script: c } = self;
        let target = crate::target::parse(url)?;
        let headers = l
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let tls = if target.tls || l.follow_redirects {
            Some(crate::connect::tls_config(&TlsOpts {
                cacert: l.cacert.clone(),
                insecure: l.insecure,
                cert: l.cert.clone(),
                key: l.key.clone(),
            })?)
        } else {
            None
        };
        // A message from stdin is never larger than one we would take (and a size past
        // memory is refused here, not by a panic or an abort on the input thread).
        let chunk_size = match c.chunk_size {
            Some(0) => {
                return Err(Error::usage(
                    "--chunk-size: expected at least 1 byte, got 0",
                ))
            }
            Some(n) if n > l.max_size => {
                return Err(Error::usage(format!(
                    "--chunk-size: expected at most --max-size ({} bytes), got {n}",
                    l.max_size
                )))
            }
            Some(n) => n,
            None => DEFAULT_CHUNK.min(l.max_size).max(1),
        };
        let chunk_size = usize::try_from(chunk_size).unwrap_or(usize::MAX);
        let ping_interval = match c.ping_interval {
            Some(s) if s > 0.0 => Some(secs("--ping-interval", s)?),
            Some(s) => {
                return Err(Error::usage(format!(
                    "--ping-interval: expected a number of seconds above 0, got {s}"
                )))
            }
            None => None,
        };
        let compress = match l.compress.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(crate::deflate::Params::browser_offer()),
            Some(p) => {
                let p = p
                    .strip_prefix(crate::deflate::NAME)
                    .map_or(p, |rest| rest.trim_start_matches(';'));
                Some(crate::deflate::Params::parse(p).map_err(|e| {
                    Error::usage(format!(
                        "--compress: expected permessage-deflate parameters as in the header: {e}"
                    ))
                })?)
            }
        };
        let ask = crate::handshake::Ask {
            headers,
            protocols: l.protocols,
            origin: l.origin,
            compress,
        };
        // No CR, LF or other control character can get into the request (header
        // injection, RFC 9110 5.5).
        ask.check()?;
        let session = crate::config::Options {
            target,
            ask,
            tls,
            insecure: l.insecure,
            connect_timeout: timeout("--connect-timeout", l.connect_timeout)?,
            close_timeout: timeout("--close-timeout", l.close_timeout)?,
            max_size: l.max_size,
            max_messages: match c.max_messages {
                Some(0) => {
                    return Err(Error::usage(
                        "--max-messages: expected at least 1 message, got 0",
                    ))
                }
                n => n,
            },
            keep_open: c.keep_open,
            linger: c.linger.map(Duration::from_millis),
            script: false,
            fail_fast: c.fail_fast,
            auto_pong: !c.no_auto_pong,
            echo: c.echo,
            // Set from the output options (`--proto`) by `app`.
            keepalive: None,
            reconnect: c.reconnect,
            max_retries: c.max_retries,
            backoff_min: Duration::from_millis(c.backoff_min),
            backoff_max: Duration::from_millis(c.backoff_max),
            follow_redirects: l.follow_redirects,
            proxy: match (&l.proxy, l.no_proxy) {
                (Some(url), _) => ProxyMode::Flag(crate::proxy::parse(url)?),
                (None, true) => ProxyMode::Off,
                (None, false) => ProxyMode::Env,
            },
            header_cmd: l.header_cmd.clone(),
            cookies: match (&l.cookie, &l.cookie_jar) {
                (None, None) => None,
                (None, Some(_)) => Some(crate::cookies::Jar::default()),
                (Some(v), _) if std::path::Path::new(v).is_file() => {
                    let text = std::fs::read_to_string(v).map_err(|e| {
                        Error::usage(format!(
                            "--cookie: expected 'name=value; ...' or a readable cookie file, could not read {v}: {e}"
                        ))
                    })?;
                    Some(crate::cookies::Jar::from_cookie_arg(None, Some((v, &text)))?)
                }
                (Some(v), _) if v.contains('=') => {
                    Some(crate::cookies::Jar::from_cookie_arg(Some(v.trim().to_string()), None)?)
                }
                (Some(v), _) => {
                    return Err(Error::usage(format!(
                        "--cookie: expected 'name=value; ...' or a cookie file, got {v:?} (no such file)"
                    )))
                }
            },
            cookie_jar: l.cookie_jar.clone(),
            route: crate::connect::Route {
                resolve: l
                    .resolve
                    .iter()
                    .map(|v| crate::connect::parse_resolve(v))
                    .collect::<Result<_, _>>()?,
                connect_to: l
                    .connect_to
                    .iter()
                    .map(|v| crate::connect::parse_connect_to(v))
                    .collect::<Result<_, _>>()?,
                family: match (l.ipv4, l.ipv6) {
                    (true, _) => Some(crate::connect::Family::V4),
                    (_, true) => Some(crate::connect::Family::V6),
                    _ => None,
                },
            },
            ping_interval,
        };
        // A malformed -x command sends nothing: it is a usage error here.
        let execute = c
            .execute
            .iter()
            .map(|x| crate::command::parse(x).map_err(|e| Error::usage(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let stdin = if c.binary {
            Stdin::Binary { chunk: chunk_size }
        } else if c.raw {
            Stdin::Lines(crate::input::LineMode::Raw)
        } else {
            Stdin::Lines(crate::input::LineMode::Commands)
        };
        Ok(ConnectConfig {
            session,
            execute,
            stdin,
        })
    }
}

impl OutArgs {
    pub fn format(&self) -> crate::render::Format {
        match (self.json, self.output) {
            (true, _) | (_, OutputFormat::Json) => crate::render::Format::Json,
            (_, OutputFormat::Pretty) => crate::render::Format::Pretty,
            (_, OutputFormat::Payload) => crate::render::Format::Payload,
            (_, OutputFormat::Raw) => crate::render::Format::Raw,
        }
    }

    /// The printer's options; `stdout_is_tty` for `--color auto`.
    pub fn opts(&self, stdout_is_tty: bool) -> crate::render::Opts {
        let default = crate::render::Opts::default();
        let (text_max, hex_max) = match (self.full, self.max_payload) {
            (true, _) => (usize::MAX, usize::MAX),
            (false, Some(n)) => (n, n),
            (false, None) => (default.text_max, default.hex_max),
        };
        crate::render::Opts {
            verbose: self.verbose,
            color: self.color(stdout_is_tty),
            text_max,
            hex_max,
            terminal: stdout_is_tty,
            timestamps: match self.timestamps {
                TimestampChoice::Relative => crate::render::Timestamps::Relative,
                TimestampChoice::Wall => crate::render::Timestamps::Wall,
                TimestampChoice::None => crate::render::Timestamps::None,
            },
        }
    }

    /// The output options, checked.
    pub fn config(&self) -> OutConfig {
        OutConfig {
            format: self.format(),
            tty: self.opts(true),
            pipe: self.opts(false),
            record: self
                .record
                .clone()
                .map(|p| &*Box::leak(p.into_boxed_path())),
            har: self.har.clone().map(|p| &*Box::leak(p.into_boxed_path())),
            // Each was checked when it was parsed (`proto_word`, ...).
            proto: crate::proto::Pick::parse(&self.proto).unwrap_or(crate::proto::Pick::Auto),
            show: Box::leak(Box::new(
                crate::proto::Show::parse(&self.hide, self.filter.as_deref()).unwrap_or_default(),
            )),
        }
    }

    /// Colour is decided once, here.
    pub fn color(&self, stdout_is_tty: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stdout_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// A clap error as the text for stderr: `wsdbg: error: ` and one line saying what was
/// wrong and what was expected, then clap's tips, one per line. `first` is the first
/// argument: a near-miss of a subcommand there (`wsdbg lsten --port 0`) is what went
/// wrong, whatever clap tripped on after it; a subcommand there gives the usage shown.
pub fn usage_error(e: &clap::Error, first: Option<&str>) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut cmd = Cli::command();
    cmd.build();
    let sub = first.and_then(|w| cmd.find_subcommand(w)).cloned();
    let usage = sub.unwrap_or(cmd).render_usage().to_string();
    let usage = usage.lines().next().unwrap_or_default();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(usage).trim();

    let mut msg = Vec::new();
    let mut tips = String::new();
    let near = first.and_then(|w| near_miss(w).map(|m| format!("{w:?}: {m}")));
    let extra = match (e.kind(), e.get(ContextKind::InvalidSubcommand)) {
        (ErrorKind::ArgumentConflict, Some(ContextValue::String(arg))) => Some(format!(
            "unexpected extra argument {arg:?}: wsdbg takes one URL"
        )),
        _ => None,
    };
    if let Some(m) = near.or(extra) {
        msg.push(m);
    } else {
        for line in e.render().to_string().lines() {
            let line = line.trim();
            if line.starts_with("Usage:") {
                break;
            }
            if line.is_empty() || line.starts_with("For more information") {
                continue;
            }
            if line.starts_with("tip:") {
                tips.push_str("  ");
                tips.push_str(line);
                tips.push('\n');
            } else {
                msg.push(line.strip_prefix("error: ").unwrap_or(line).to_string());
            }
        }
    }
    format!(
        "wsdbg: error: {} (expected: {usage}; see --help)\n{tips}",
        msg.join(" ")
    )
}

/// The subcommand names a mistyped word is compared with (`probe` is planned).
pub const SUBCOMMANDS: &[&str] = &["listen", "completions", "probe", "relay", "replay"];

/// The URL argument: a bare word that is a near-miss of a subcommand name (`lsten`) is
/// a usage error, not a host name. Words with a dot, colon or slash are left to the URL
/// rules, so `localhost` and `h:9001` still mean `ws://...`.
fn proto_word(s: &str) -> Result<String, String> {
    crate::proto::Pick::parse(s).map(|_| s.to_string())
}

fn hide_word(s: &str) -> Result<String, String> {
    crate::proto::Show::parse(&[s.to_string()], None).map(|_| s.to_string())
}

fn filter_word(s: &str) -> Result<String, String> {
    crate::proto::Show::parse(&[], Some(s)).map(|_| s.to_string())
}

fn url_word(s: &str) -> Result<String, String> {
    match near_miss(s) {
        Some(msg) => Err(msg),
        None => Ok(s.to_string()),
    }
}

/// `not a URL or a subcommand; did you mean listen? ...` for a near-miss word.
fn near_miss(word: &str) -> Option<String> {
    let name = near_subcommand(word)?;
    if Cli::command().find_subcommand(word).is_some() {
        return None;
    }
    Some(format!(
        "not a URL or a subcommand; did you mean {name}? (for a host of that name: ws://{word}/)"
    ))
}

/// The subcommand `word` is a typo of: a bare word within edit distance 2 of its name.
pub fn near_subcommand(word: &str) -> Option<&'static str> {
    if word.is_empty() || word.contains(['.', ':', '/']) {
        return None;
    }
    let word = word.to_ascii_lowercase();
    SUBCOMMANDS
        .iter()
        .map(|&name| (edit_distance(&word, name), name))
        .filter(|&(d, _)| d <= 2)
        .min()
        .map(|(_, name)| name)
}

/// Levenshtein distance, by chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `--chunk-size` when not given (and `--max-size` is not smaller).
const DEFAULT_CHUNK: u64 = 64 * 1024;

/// `Name: value` from `-H`.
pub fn parse_header(h: &str) -> Result<(String, String), Error> {
    crate::handshake::parse_header(h, "-H")
}

/// Seconds given on the command line, as a duration.
pub fn secs(opt: &str, v: f64) -> Result<Duration, Error> {
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(Error::usage(format!(
            "{opt}: expected a number of seconds from 0 to 1e9, got {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A timeout: as `secs`, and above 0 (a deadline of 0 always fails; nothing could
/// arrive in it).
fn timeout(opt: &str, v: f64) -> Result<Duration, Error> {
    let d = secs(opt, v)?;
    if d.is_zero() {
        return Err(Error::usage(format!(
            "{opt}: expected a number of seconds above 0, got {v}"
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The stderr text for these arguments, which must fail to parse.
    fn usage_text(args: &[&str]) -> String {
        let e = Cli::try_parse_from(args).unwrap_err();
        usage_error(&e, args.get(1).copied())
    }

    #[test]
    fn clap_errors_become_one_line_then_tips() {
        let text = usage_text(&["wsdbg"]);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("wsdbg: error: "), "{text}");
        assert!(text.contains("<URL>"), "{text}");
        let text = usage_text(&["wsdbg", "-o", "xml", "ws://h/"]);
        assert!(text.contains("xml") && text.contains("pretty"), "{text}");
        let text = usage_text(&["wsdbg", "--bogus", "ws://h/"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("wsdbg: error: unexpected argument '--bogus'"));
        assert!(!lines[0].contains("tip"), "{text}");
        assert!(lines[1].starts_with("  tip: "), "{text}");
    }

    #[test]
    fn usage_shown_is_the_subcommands() {
        for (args, usage) in [
            (
                &["wsdbg", "completions", "foo"][..],
                "wsdbg completions <SHELL>",
            ),
            (&["wsdbg", "completions"], "wsdbg completions <SHELL>"),
            (
                &["wsdbg", "listen", "--bogus"],
                "wsdbg listen [OPTIONS] [ADDR]",
            ),
            (&["wsdbg", "--bogus", "ws://h/"], "wsdbg [OPTIONS] <URL>"),
        ] {
            let text = usage_text(args);
            let want = format!("(expected: {usage}; see --help)");
            assert!(
                text.lines().next().unwrap().ends_with(&want),
                "{args:?}: {text}"
            );
        }
    }

    #[test]
    fn an_extra_argument_is_not_called_a_subcommand() {
        let text = usage_text(&["wsdbg", "ws://h/", "extra"]);
        assert!(
            text.starts_with("wsdbg: error: unexpected extra argument \"extra\""),
            "{text}"
        );
        assert!(!text.contains("subcommand"), "{text}");
    }

    #[test]
    fn json_conflicts_with_output() {
        for o in ["pretty", "payload", "json"] {
            let text = usage_text(&["wsdbg", "--json", "-o", o, "ws://h/"]);
            assert!(
                text.contains("--json") && text.contains("--output"),
                "{text}"
            );
        }
        let text = usage_text(&["wsdbg", "listen", "--json", "-o", "pretty"]);
        assert!(text.contains("--json"), "{text}");
    }

    #[test]
    fn header_parsing() {
        assert_eq!(
            parse_header("X-A: b c").unwrap(),
            ("X-A".to_string(), "b c".to_string())
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header(": x").is_err());
    }

    #[test]
    fn json_flag_wins() {
        let cli = Cli::try_parse_from(["wsdbg", "--json", "ws://h/"]).unwrap();
        assert_eq!(cli.out.format(), crate::render::Format::Json);
        let cli = Cli::try_parse_from(["wsdbg", "-o", "payload", "ws://h/"]).unwrap();
        assert_eq!(cli.out.format(), crate::render::Format::Payload);
    }

    #[test]
    fn listen_subcommand() {
        let cli = Cli::try_parse_from(["wsdbg", "listen", "--port", "0"]).unwrap();
        assert!(matches!(cli.cmd, Some(Sub::Listen(a)) if a.port == Some(0)));
        assert!(Cli::try_parse_from(["wsdbg"]).is_err());
    }

    #[test]
    fn near_misses_of_subcommands() {
        for (word, meant) in [
            ("lsten", Some("listen")),
            ("listne", Some("listen")),
            ("Listen", Some("listen")),
            ("lis", None),
            ("completion", Some("completions")),
            ("complete", None),
            ("prob", Some("probe")),
            ("localhost", None),
            ("lsten.example", None),
            ("lsten:9001", None),
            ("lsten/x", None),
            ("", None),
        ] {
            assert_eq!(near_subcommand(word), meant, "{word:?}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }

    #[test]
    fn near_miss_list_has_every_subcommand() {
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(name == "help" || SUBCOMMANDS.contains(&name), "{name}");
        }
    }

    #[test]
    fn a_near_miss_is_a_usage_error_and_a_host_is_not() {
        let e = Cli::try_parse_from(["wsdbg", "lsten"]).unwrap_err();
        assert!(e.to_string().contains("did you mean listen?"), "{e}");
        let cli = Cli::try_parse_from(["wsdbg", "localhost"]).unwrap();
        assert_eq!(cli.url.as_deref(), Some("localhost"));
    }

    #[test]
    fn full_and_max_payload() {
        let opts = |args: &[&str]| {
            let mut all = vec!["wsdbg"];
            all.extend_from_slice(args);
            all.push("ws://h/");
            Cli::try_parse_from(all).map(|c| c.out.opts(false))
        };
        let o = opts(&[]).unwrap();
        assert_eq!((o.text_max, o.hex_max), (256, 64));
        let o = opts(&["--full"]).unwrap();
        assert_eq!((o.text_max, o.hex_max), (usize::MAX, usize::MAX));
        let o = opts(&["--max-payload", "1000"]).unwrap();
        assert_eq!((o.text_max, o.hex_max), (1000, 1000));
        assert!(opts(&["--full", "--max-payload", "9"]).is_err());
        assert!(opts(&["--max-payload", "-1"]).is_err());
        assert!(opts(&["--max-payload", "x"]).is_err());
        let cli = Cli::try_parse_from(["wsdbg", "listen", "--full"]).unwrap();
        let Some(Sub::Listen(a)) = cli.cmd else {
            panic!("listen")
        };
        assert_eq!(a.out.opts(false).text_max, usize::MAX);
    }

    #[test]
    fn secs_bounds() {
        assert!(secs("--close-timeout", -1.0).is_err());
        assert!(secs("--close-timeout", f64::NAN).is_err());
        assert_eq!(secs("--x", 1.5).unwrap(), Duration::from_millis(1500));
        assert!(timeout("--connect-timeout", 0.0).is_err());
        assert_eq!(timeout("--x", 0.25).unwrap(), Duration::from_millis(250));
    }
}
