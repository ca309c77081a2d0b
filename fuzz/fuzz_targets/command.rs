//! One input line (REPL, script mode, -x) through the command grammar.
//! The harness and its invariants: fuzz/src/lib.rs (also run on stable by tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsdbg_fuzz::command_fuzz(data));
