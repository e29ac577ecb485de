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

#[test]
fn stream_message_delay_slows_streams_and_can_be_changed_while_running() {
    use crate::common::client_stream;
    let collector =
        Collector::start_blocking(CollectorOptions::plaintext().stream_message_delay(Duration::from_millis(40)))
            .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ch = rt.block_on(connect(collector.addr(), None)).unwrap();
    let five = || (0..5).map(|_| bytes::Bytes::from_static(b"m")).collect::<Vec<_>>();
    let started = std::time::Instant::now();
    let reply = rt.block_on(client_stream(&ch, methods::ECHO_COLLECT, five(), None)).unwrap();
    assert_eq!(&reply[..], b"5 5");
    assert!(started.elapsed() >= Duration::from_millis(200), "5 messages x 40 ms: {:?}", started.elapsed());
    collector.set_stream_message_delay(Duration::ZERO);
    let started = std::time::Instant::now();
    rt.block_on(client_stream(&ch, methods::ECHO_COLLECT, five(), None)).unwrap();
    assert!(started.elapsed() < Duration::from_millis(200), "no delay any more: {:?}", started.elapsed());
    // Unary calls are never delayed.
    collector.set_stream_message_delay(Duration::from_secs(60));
    let started = std::time::Instant::now();
    rt.block_on(unary(&ch, methods::ECHO_UNARY, "x", None)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
