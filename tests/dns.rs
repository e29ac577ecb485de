//! Periodic DNS re-resolution: when a backend's name resolves to another address, the
//! connection is replaced and the next calls go to the new address (DESIGN §4). The name
//! is resolved through the `test-hooks` override so that the test controls "DNS".

use bytes::Bytes;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use swtls::{Channel, Config};
use swtls_collector::{methods, proto, BlockingCollector, CollectorOptions};

#[test]
fn calls_follow_the_backend_name_to_its_new_address() {
    let first = BlockingCollector::start(CollectorOptions::plaintext()).unwrap();
    let port = first.addr().port();
    let second =
        BlockingCollector::start(CollectorOptions::plaintext().listen(SocketAddr::from(([127, 0, 0, 2], port))))
            .unwrap();
    let host = "swtls-dns-move.test";
    swtls::testing::set_dns_override(host, &[first.addr()]);
    let mut config = Config::default();
    config.set("collector.backend_service", &format!("{host}:{port}")).unwrap();
    config.set("collector.grpc_channel_check_interval", "1").unwrap();
    // An empty ca folder: plaintext (a missing one set explicitly would be an error).
    let empty = tempfile::tempdir().unwrap();
    config.set("agent.ca_dir", empty.path().to_str().unwrap()).unwrap();
    let ch = Channel::new(&config).unwrap();
    let ping = || Bytes::from(proto::encode_ping("dns", "i", ""));
    ch.unary_blocking(methods::KEEP_ALIVE, ping(), None).unwrap();
    assert_eq!(first.received().pings.len(), 1);
    // The first check (after 1 s) records the address; the name moves after it.
    std::thread::sleep(Duration::from_millis(1500));
    swtls::testing::set_dns_override(host, &[second.addr()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.received().pings.is_empty() && Instant::now() < deadline {
        ch.unary_blocking(methods::KEEP_ALIVE, ping(), None).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!second.received().pings.is_empty(), "calls never reached the new address");
    let before = first.received().pings.len();
    for _ in 0..3 {
        ch.unary_blocking(methods::KEEP_ALIVE, ping(), None).unwrap();
    }
    assert_eq!(first.received().pings.len(), before, "calls went back to the old address");
    assert_eq!(second.received().pings.len(), 4, "{:?}", second.received().pings.len());
}
