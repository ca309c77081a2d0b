//! The checked configuration: plain data that `cli` makes from the command line and the
//! drivers (`session`, `listen`, `probe`) read. It imports no driver, so no driver
//! imports `cli`, and `cli` imports no driver.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use crate::connect;
use crate::engine;
use crate::handshake::{Ask, ServerOpts};
use crate::target::Target;

/// The checked command line.
pub struct Config {
    pub mode: Mode,
    pub out: OutConfig,
}

pub enum Mode {
    Connect(Box<ConnectConfig>),
    Listen(Box<ListenConfig>),
    Probe(Box<ProbeOptions>),
    Relay(Box<RelayConfig>),
    Completions(clap_complete::Shell),
    /// Text to print and exit 0 (`replay --to-script`).
    Print(String),
}

/// How output looks: the format, and the printer's options on a terminal and not.
#[derive(Debug, Clone, Copy)]
pub struct OutConfig {
    pub format: crate::render::Format,
    pub tty: crate::render::Opts,
    pub pipe: crate::render::Opts,
    /// `--record FILE`: every event as JSON lines there too (a path that lives as long
    /// as the process, so the options stay `Copy`).
    pub record: Option<&'static std::path::Path>,
    /// `--har FILE`: the session as HAR 1.2, written at the end.
    pub har: Option<&'static std::path::Path>,
    /// `--proto`: the application protocol shown inside the frames.
    pub proto: crate::proto::Pick,
    /// `--hide`, `--filter`: what is not shown.
    pub show: &'static crate::proto::Show,
}

impl OutConfig {
    /// The printer's options for an output that is (or is not) a terminal.
    pub fn opts(&self, is_tty: bool) -> crate::render::Opts {
        if is_tty {
            self.tty
        } else {
            self.pipe
        }
    }
}

/// The client, checked.
pub struct ConnectConfig {
    pub session: Options,
    /// `-x` commands, parsed: a malformed one is a usage error before connecting.
    pub execute: Vec<crate::command::Command>,
    /// How stdin is read in script mode.
    pub stdin: Stdin,
}

#[derive(Debug, Clone)]
pub enum Stdin {
    /// One command per line (or, `--raw`, one text message per line).
    Lines(crate::input::LineMode),
    /// `--binary`: raw bytes, one message per read of at most this many bytes.
    Binary { chunk: usize },
    /// `replay` of `--record` JSON lines: the file is read as the session goes, each
    /// step made into its commands (`replay::Plan`), so a large one streams.
    Replay {
        file: std::path::PathBuf,
        plan: crate::replay::Plan,
    },
}

/// `listen`, checked.
pub struct ListenConfig {
    pub addr: std::net::SocketAddr,
    /// `--unix PATH`: listen on this Unix socket instead.
    pub unix: Option<std::path::PathBuf>,
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    pub max_size: u64,
    /// What it does on its own (echo, `--greet`, `--reject`, ...).
    pub how: ListenBehaviour,
    /// `-x` commands, parsed.
    pub execute: Vec<crate::command::Command>,
    /// `--fail-fast`: the first failed `/expect` ends the server.
    pub fail_fast: bool,
}

/// What `listen` does on its own: the behaviour flags.
#[derive(Debug, Clone, Default)]
pub struct ListenBehaviour {
    /// Per connection: echo (not with `--no-echo`), `--greet`, `--close-after`,
    /// `--delay`.
    pub reflex: engine::Behaviour,
    /// Answer pings (not with `--no-pong`).
    pub auto_pong: bool,
    /// `--once`: exit when the first client leaves, with its close's status.
    pub once: bool,
    /// How upgrade requests are answered (`--subprotocol`, `--header`, `--reject`,
    /// `--compress`).
    pub accept: ServerOpts,
}

/// `relay`, checked: where to accept clients, and how to reach the server for each.
pub struct RelayConfig {
    pub addr: std::net::SocketAddr,
    /// `--tls-cert`/`--tls-key`: serve `wss://` to the clients.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The upstream leg: the URL, `-H` (in `ask.headers`), TLS, proxy, the timeouts and
    /// `--max-size`. The rest of the client's options do not apply.
    pub upstream: Options,
    /// `--delay MS`: hold every forwarded frame this long.
    pub delay: Option<Duration>,
    /// `-x CMD`: the script, instead of stdin.
    pub execute: Vec<crate::command::Command>,
}

/// Everything the session needs to know, checked.
#[derive(Clone)]
pub struct Options {
    pub target: Target,
    pub ask: Ask,
    pub tls: Option<Arc<ClientConfig>>,
    pub insecure: bool,
    pub connect_timeout: Duration,
    pub close_timeout: Duration,
    pub max_size: u64,
    pub max_messages: Option<u64>,
    pub keep_open: bool,
    /// `--linger MS`; `None`: the contract's default rules (see `engine`).
    pub linger: Option<Duration>,
    /// Script mode (not the REPL): a command that did not run as written makes the
    /// exit status 4.
    pub script: bool,
    /// `--fail-fast`: a failed `/expect` closes (1000) and ends the session.
    pub fail_fast: bool,
    pub auto_pong: bool,
    /// `--echo`: send every data message received back as it came.
    pub echo: bool,
    /// `--proto`: the protocol whose keep-alives are answered (Engine.IO's ping...),
    /// set from the output options by `app`; `None` answers nothing.
    pub keepalive: Option<crate::proto::Pick>,
    /// `--reconnect`: after a disconnect the user did not ask for, try again.
    pub reconnect: bool,
    /// Give up after this many failed attempts in a row.
    pub max_retries: Option<u32>,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub ping_interval: Option<Duration>,
    /// `-L`: follow 3xx answers to the handshake.
    pub follow_redirects: bool,
    pub proxy: connect::ProxyMode,
    /// `--resolve`, `--connect-to`, `-4`/`-6`.
    pub route: connect::Route,
    /// `--header-cmd CMD`: run before every connection attempt; its lines are headers.
    pub header_cmd: Option<String>,
    /// `--cookie`: the cookies to send (and those responses set, as the session goes).
    pub cookies: Option<crate::cookies::Jar>,
    /// `--cookie-jar FILE`: where the cookies are written at the end.
    pub cookie_jar: Option<std::path::PathBuf>,
}

impl Options {
    /// What the session engine follows.
    pub fn engine(&self) -> engine::Config {
        engine::Config {
            side: engine::Side::Client,
            script: self.script,
            timeout: self.close_timeout,
            linger: self.linger,
            keep_open: self.keep_open,
            max_messages: self.max_messages,
            fail_fast: self.fail_fast,
            max_size: self.max_size,
        }
    }
}

/// What `probe` needs: the client's connection options, and whether the server echoes.
pub struct ProbeOptions {
    pub session: Options,
    /// `--echo-server`: run the checks that need an echo without detecting it.
    pub echo_server: bool,
    /// How long each wait of a check lasts (`--wait`).
    pub wait: Duration,
    /// `--junit FILE`: write the verdicts there as a JUnit XML report.
    pub junit: Option<std::path::PathBuf>,
}
