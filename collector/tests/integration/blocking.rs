use std::time::Duration;

use swtls_collector::proto::encode_ping;
use swtls_collector::{methods, Collector, CollectorOptions};

use crate::common::{connect, unary};

#[test]
fn blocking_collector_from_plain_code() {
    let collector = Collector::start_blocking(CollectorOptions::plaintext()).unwrap();
    let addr = collector.addr();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ch = connect(addr, None).await.unwrap();
        unary(&ch, methods::KEEP_ALIVE, encode_ping("svc", "inst", ""), None).await.unwrap();
    });
    assert!(collector.wait_until(Duration::from_secs(2), |r| r.pings.len() == 1));
    collector.clear();
    assert!(collector.received().pings.is_empty());
    drop(collector);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn blocking_collector_inside_a_runtime() {
    let collector = Collector::start_blocking(CollectorOptions::plaintext()).unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.received().unary_calls, 1);
    collector.shutdown();
}

#[test]
fn bind_error_names_the_address() {
    let first = Collector::start_blocking(CollectorOptions::plaintext()).unwrap();
    let err = Collector::start_blocking(CollectorOptions::plaintext().listen(first.addr())).unwrap_err();
    assert!(err.message().contains(&first.addr().to_string()), "{err}");
}
