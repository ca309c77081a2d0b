//! Received frames with permessage-deflate agreed (RFC 7692): any window bits, with and without context takeover, both roles, several --max-size; what has RSV1 goes through the inflater, which a peer controls (bombs, corrupt streams, a window larger than agreed).
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::inflate_fuzz(data));
