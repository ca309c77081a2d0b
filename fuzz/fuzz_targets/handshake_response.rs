//! Any answer to the client's upgrade request (a 101, a refusal with a chunked or endless body, garbage), in arbitrary reads, then the frames after a 101.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::handshake_fuzz(data));
