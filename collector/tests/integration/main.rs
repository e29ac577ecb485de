//! Integration tests of the collector: one test binary, several modules.

mod common;

mod binary;
mod blocking;
mod certs;
mod plaintext;
mod tls_modes;
