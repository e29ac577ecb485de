use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message as _;
use swtls_collector::proto::{encode_event, encode_jvm_metrics, encode_ping, encode_segment, ProfileTaskCommandQuery};
use swtls_collector::{methods, CallKind, Collector, CollectorOptions, SegmentSummary};
use tonic::Code;

use crate::common::{client_stream, connect, unary};

#[tokio::test]
async fn keep_alive_and_segments_are_recorded() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();

    let reply = unary(&ch, methods::KEEP_ALIVE, encode_ping("svc-a", "inst-1", "GENERAL"), None).await.unwrap();
    assert!(reply.is_empty(), "Commands {{}} encodes as nothing");
    unary(&ch, methods::REPORT_INSTANCE_PROPERTIES, Bytes::from_static(b"\x0a\x03abc"), None).await.unwrap();

    let segments: Vec<Bytes> =
        (0..5).map(|i| encode_segment(&format!("t{i}"), &format!("s{i}"), "svc-a", "inst-1").into()).collect();
    let reply = client_stream(&ch, methods::SEGMENT_COLLECT, segments, None).await.unwrap();
    assert!(reply.is_empty());

    let r = collector.received();
    assert_eq!(r.pings, vec![("svc-a".to_string(), "inst-1".to_string())]);
    assert_eq!(r.instance_properties, 1);
    assert_eq!(r.segments.len(), 5);
    assert_eq!(
        r.segments[3],
        SegmentSummary {
            trace_id: "t3".into(),
            segment_id: "s3".into(),
            service: "svc-a".into(),
            instance: "inst-1".into(),
        }
    );
    assert_eq!(r.streams_completed, 1);
    assert_eq!(r.stream_messages, 5);
    assert_eq!(r.unary_calls, 2);
    assert_eq!(r.calls_to(methods::SEGMENT_COLLECT), 1);
    assert_eq!(r.calls[2].kind, CallKind::ClientStreaming);
    assert!(r.calls[0].peer.is_some());
    assert_eq!(r.connections, 1);
    assert_eq!(r.tls_handshakes_ok + r.tls_handshakes_failed, 0);
    collector.shutdown().await;
}

#[tokio::test]
async fn the_java_agents_other_services_are_decoded_or_answered() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();

    let reply = unary(&ch, methods::JVM_METRIC_COLLECT, encode_jvm_metrics("svc-j", "inst-j", 3), None).await.unwrap();
    assert!(reply.is_empty(), "Commands {{}} encodes as nothing");
    let events: Vec<Bytes> = vec![
        encode_event("Start", "svc-j", "inst-j", "GENERAL").into(),
        encode_event("Shutdown", "svc-j", "inst-j", "GENERAL").into(),
    ];
    assert!(client_stream(&ch, methods::EVENT_COLLECT, events, None).await.unwrap().is_empty());
    // What the agent polls and streams besides: answered with no commands.
    let query =
        ProfileTaskCommandQuery { service: "svc-j".into(), service_instance: "inst-j".into(), last_command_time: 7 };
    let reply = unary(&ch, methods::PROFILE_TASK_COMMANDS, query.encode_to_vec(), None).await.unwrap();
    assert!(reply.is_empty());
    unary(&ch, methods::PROFILE_TASK_FINISH, Bytes::new(), None).await.unwrap();
    client_stream(&ch, methods::PROFILE_COLLECT_SNAPSHOT, vec![Bytes::from_static(b"\x0a\x01t")], None).await.unwrap();

    // A body that is not a JVMMetricCollection is refused and counted.
    let bad = unary(&ch, methods::JVM_METRIC_COLLECT, Bytes::from_static(b"\x12\xff"), None).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    let r = collector.received();
    assert_eq!(r.jvm_metrics, vec![("svc-j".to_string(), "inst-j".to_string(), 3)]);
    let names: Vec<_> = r.events.iter().map(|(n, s, i)| (n.as_str(), s.as_str(), i.as_str())).collect();
    assert_eq!(names, vec![("Start", "svc-j", "inst-j"), ("Shutdown", "svc-j", "inst-j")]);
    assert_eq!(r.calls_to(methods::PROFILE_TASK_COMMANDS), 1);
    assert_eq!(r.streams_completed, 2);
    assert_eq!(r.decode_errors, 1);
    collector.shutdown().await;
}

#[tokio::test]
async fn echo_helpers() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();

    let body = Bytes::from_static(b"\x00\x01hello\xff");
    assert_eq!(unary(&ch, methods::ECHO_UNARY, body.clone(), None).await.unwrap(), body);

    let big = unary(&ch, methods::ECHO_BIG, "100000", None).await.unwrap();
    assert_eq!(big.len(), 100_000);

    let t = Instant::now();
    let slow = unary(&ch, methods::ECHO_SLOW, "150", None).await.unwrap();
    assert_eq!(slow, Bytes::from_static(b"150"));
    assert!(t.elapsed() >= Duration::from_millis(150));

    let counted = client_stream(
        &ch,
        methods::ECHO_COLLECT,
        vec![Bytes::from_static(b"abc"), Bytes::from_static(b""), Bytes::from_static(b"defg")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(counted, Bytes::from_static(b"3 7"));

    let none = unary(&ch, methods::ECHO_METADATA, "", None).await.unwrap();
    assert!(none.is_empty());
    let some = unary(&ch, methods::ECHO_METADATA, "", Some("tok-1")).await.unwrap();
    assert_eq!(some, Bytes::from_static(b"tok-1"));

    let bad = unary(&ch, methods::ECHO_BIG, "lots", None).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    let missing = unary(&ch, "/swtls.test.Echo/nope", "", None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unimplemented);
    let missing = unary(&ch, "/no.such.Service/x", "", None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unimplemented);

    let bad_ping = unary(&ch, methods::KEEP_ALIVE, Bytes::from_static(b"\xff\xff\xff"), None).await.unwrap_err();
    assert_eq!(bad_ping.code(), Code::InvalidArgument);
    assert_eq!(collector.received().decode_errors, 1);
}

#[tokio::test]
async fn response_larger_than_50_mib() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();
    let n = 51 * 1024 * 1024;
    let big = unary(&ch, methods::ECHO_BIG, n.to_string(), None).await.unwrap();
    assert_eq!(big.len(), n);
}

#[tokio::test]
async fn slow_call_hits_client_deadline() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(Bytes::from_static(b"2000"));
    req.set_timeout(Duration::from_millis(100));
    let t = Instant::now();
    let err = grpc
        .unary(req, http::uri::PathAndQuery::from_static(methods::ECHO_SLOW), swtls_collector::BytesCodec)
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled), "{err:?}");
    let r = collector.received();
    assert_eq!(r.calls[0].grpc_timeout.as_deref().map(|t| t.ends_with('m') || t.ends_with('u')), Some(true));
}

#[tokio::test]
async fn token_is_enforced() {
    let collector = Collector::start(CollectorOptions::plaintext().token("secret")).await.unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();

    for token in [None, Some("wrong"), Some("")] {
        let err = unary(&ch, methods::KEEP_ALIVE, encode_ping("s", "i", ""), token).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(err.message(), "invalid authentication token");
    }
    let err = client_stream(&ch, methods::SEGMENT_COLLECT, vec![encode_segment("t", "s", "a", "b").into()], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    unary(&ch, methods::KEEP_ALIVE, encode_ping("s", "i", ""), Some("secret")).await.unwrap();
    let r = collector.received();
    assert_eq!(r.auth_rejected, 4);
    assert_eq!(r.pings.len(), 1);
    assert_eq!(r.segments.len(), 0);
    assert_eq!(r.calls.last().unwrap().authentication.as_deref(), Some("secret"));
}

#[tokio::test]
async fn disconnect_all_and_shutdown() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let addr = collector.addr();
    let ch = connect(addr, None).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.open_connections(), 1);
    assert_eq!(collector.disconnect_all(), 1);
    // The channel reconnects by itself.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match unary(&ch, methods::ECHO_UNARY, "y", None).await {
            Ok(b) => {
                assert_eq!(b, Bytes::from_static(b"y"));
                break;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no reconnect: {e:?}"),
        }
    }
    assert_eq!(collector.received().connections, 2);

    collector.shutdown().await;
    let err = unary(&ch, methods::ECHO_UNARY, "z", None).await.unwrap_err();
    assert!(matches!(err.code(), Code::Unavailable | Code::Cancelled | Code::Unknown), "{err:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn events_reach_the_hook() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let collector =
        Collector::start(CollectorOptions::plaintext().on_event(move |e| sink.lock().unwrap().push(format!("{e:?}"))))
            .await
            .unwrap();
    let ch = connect(collector.addr(), None).await.unwrap();
    unary(&ch, methods::KEEP_ALIVE, encode_ping("svc", "inst", ""), None).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|e| e.starts_with("Connected")), "{seen:?}");
    assert!(seen.iter().any(|e| e.starts_with("KeepAlive")), "{seen:?}");
}

#[tokio::test]
async fn restart_on_the_same_port() {
    let collector = Collector::start(CollectorOptions::plaintext()).await.unwrap();
    let addr = collector.addr();
    let ch = connect(addr, None).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    collector.shutdown().await;
    let again = Collector::start(CollectorOptions::plaintext().listen(addr)).await.unwrap();
    assert_eq!(again.addr(), addr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while unary(&ch, methods::ECHO_UNARY, "y", None).await.is_err() {
        assert!(Instant::now() < deadline, "channel did not reconnect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(again.received().unary_calls, 1);
}
