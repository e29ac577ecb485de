#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| swtls::testing::fuzz::env_loader(data));
