//! The `--proto` decoders (Socket.IO, graphql-ws, STOMP, SignalR, MQTT, JSON-RPC): any messages of one connection, both ways.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::proto_fuzz(data));
