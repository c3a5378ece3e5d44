#![no_main]
//! Thin wrapper: the body is `trailwarden::fuzzing::config_item` (also run by the corpus regression test).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailwarden::fuzzing::config_item(data));
