//! Generates the collector's SkyWalking message types (`skywalking.v3`, see
//! proto/skywalking_v3.proto) with prost-build.
//!
//! The .proto file is parsed by `protox`, a protobuf compiler written in Rust, and its
//! descriptors handed to prost-build (`compile_fds`), so building the collector needs no
//! `protoc` on the machine. Both are build dependencies of the collector only (a test and
//! demo tool), never of the swtls library.

fn main() {
    const PROTO: &str = "proto/skywalking_v3.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"]).unwrap_or_else(|e| panic!("{PROTO}: {e}"));
    prost_build::Config::new()
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("generating the Rust code of {PROTO}: {e}"));
}
