#![no_main]
//! Thin wrapper: the body is `trailwarden::fuzzing::log_file` (also run by the corpus regression test).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailwarden::fuzzing::log_file(data));
