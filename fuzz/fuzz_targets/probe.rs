#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploy_fuzz::probe(data));
