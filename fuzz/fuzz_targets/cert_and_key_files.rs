#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| swtls::testing::fuzz::cert_and_key_files(data));
