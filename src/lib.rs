//! wsdbg: a WebSocket client and debugger that shows every frame as it crossed the wire.

pub mod app;
pub mod cli;
pub mod command;
pub mod connect;
pub mod error;
pub mod event;
pub mod handshake;
pub mod input;
pub mod listen;
pub mod output;
pub mod render;
pub mod session;
pub mod target;
pub mod transport;
pub mod wire;
pub mod backoff;
pub mod repl;
pub mod term;
pub mod generation;
