//! wsdbg: a WebSocket client and debugger that shows every frame as it crossed the wire.

pub mod app;
pub mod backoff;
pub mod cli;
pub mod command;
pub mod connect;
pub mod deflate;
pub mod error;
pub mod event;
pub mod events_doc;
pub mod exit;
pub mod generation;
pub mod handshake;
pub mod input;
pub mod listen;
pub mod output;
pub mod outq;
pub mod probe;
pub mod protocol;
pub mod proxy;
pub mod render;
pub mod repl;
pub mod session;
pub mod target;
pub mod term;
pub mod transport;
pub mod wire;
