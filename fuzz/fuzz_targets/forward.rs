//! One direction of `wsdbg relay` (`forward::Forward`): frames from either peer, in arbitrary reads, forwarded as they arrive.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::forward_fuzz(data));
