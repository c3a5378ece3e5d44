#![no_main]
//! Thin wrapper: the body is `trailwarden::fuzzing::filter_match` (also run by the corpus regression test).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailwarden::fuzzing::filter_match(data));
