//! Received frames after the handshake, in arbitrary reads, for both roles and several --max-size: decoder, checker, reassembly and rendering as the session drives them.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::frames_fuzz(data));
