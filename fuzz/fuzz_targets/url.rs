//! A URL from the command line, or a Location header a server sent for a redirect.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::url_fuzz(data));
