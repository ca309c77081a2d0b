//! wsdbg: a WebSocket client and debugger that shows every frame as it crossed the wire.
//!
//! The layers, top to bottom (dependencies point down):
//! - entry: `main` -> `cli` (clap and its checks) -> `config` (the checked options as
//!   plain data; imports no driver) -> `app` (printers, input thread or REPL, which
//!   driver) -> `exit` (the one place a code is chosen).
//! - drivers, loops that wait on sockets and timers and move bytes: `session` (the
//!   client: connect, redirects, reconnect), `listen` (N clients on one event loop),
//!   `probe` (checks as data), `relay` (pairs: a client and its own connection to the
//!   server, frames forwarded as they came).
//! - session engine, no I/O, the clock passed in: `engine` (commands, `/wait`,
//!   `/expect`, lingering, behaviours, the outcome) over `command` (the grammar);
//!   `compare` (a recorded message against the one that came: `--ignore`,
//!   `--ignore-json`, the diff); `replay` (a recording as steps and as a script);
//!   `flow` (what a connection holds, when a driver stops reading: high-water mark,
//!   server-wide bound).
//! - protocol core, no I/O: `protocol` (one connection: decode, check, reassemble,
//!   closing handshake and its deadlines) over `wire` (frames, opcodes, rules) and
//!   `deflate`; `forward` (one direction of a relayed connection: decode, check, re-mask,
//!   the original bits kept).
//! - network: `connect` (TCP, Unix sockets, TLS, `--resolve`/`--connect-to`,
//!   `--header-cmd`), `proxy`, `handshake`, `transport`, `target`, `cookies` (the jar,
//!   no I/O).
//! - application protocols, no I/O: `proto` (`--proto`: Socket.IO, graphql-ws, STOMP,
//!   SignalR, MQTT, JSON-RPC decoded for display by the output's `proto::View`; their
//!   keep-alives answered by `engine::Reflex`; their commands made by `engine::Script`).
//! - output: `event` (what happened), `render` (pretty, json, payload, raw), `output`,
//!   `repl`, `term`; `events_doc` and `generation` keep the docs in step.

pub mod app;
mod backoff;
pub mod cli;
pub mod command;
pub mod compare;
mod config;
pub mod connect;
pub mod cookies;
pub mod deflate;
mod engine;
pub mod error;
pub mod event;
pub mod events_doc;
pub mod exit;
pub mod flow;
pub mod forward;
pub mod generation;
pub mod handshake;
mod har;
mod input;
mod listen;
mod output;
mod outq;
mod probe;
pub mod proto;
pub mod protocol;
mod proxy;
mod relay;
pub mod render;
mod repl;
mod replay;
mod session;
pub mod target;
mod term;
mod transport;
pub mod wire;
