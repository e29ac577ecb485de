//! The reporter (`Channel::report`, flush, close, counters) against real collectors on
//! loopback, mostly over mutual TLS: delivery and counters, full queues, flush and close,
//! and the fault cases of issue 4 (backend absent then appearing, killed and restarted, one
//! of three down then two, a refused token, a slow backend, a name that does not resolve).
//!
//! Every test samples the counters from another thread while it runs and checks the
//! invariant `queued = acknowledged + dropped + pending` and the byte bound of the queue in
//! every sample, and compares what was acknowledged with what the collectors recorded.

mod common;
use common::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use swtls::{Channel, LogLevel, Stats, Status, TlsMode};
use swtls_collector::{BlockingCollector, CollectorOptions};

const COLLECT: &str = methods::SEGMENT_COLLECT;

/// A segment whose segment id is `id` (the collector records it).
fn segment(id: &str) -> Vec<u8> {
    swtls_collector::proto::encode_segment("trace", id, "svc", "inst")
}

#[track_caller]
fn assert_invariant(s: &Stats) {
    assert_eq!(
        s.queued,
        s.acknowledged + s.dropped_queue_full + s.dropped_closed + s.dropped_server_error + s.pending,
        "queued = acknowledged + dropped + pending does not hold: {s:?}"
    );
    assert!(s.sent <= s.queued && s.acknowledged + s.dropped_server_error <= s.sent, "{s:?}");
}

/// Samples `channel.stats()` in a loop on its own thread until stopped, checking the
/// invariant and the queue's byte bound in every sample.
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<AtomicU64>,
    max_bytes: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(channel: &Channel, byte_bound: u64) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicU64::new(0));
        let max_bytes = Arc::new(AtomicU64::new(0));
        let (c, st, n, mb) = (channel.clone(), stop.clone(), samples.clone(), max_bytes.clone());
        let thread = thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let s = c.stats();
                assert_invariant(&s);
                assert!(s.queued_bytes <= byte_bound, "queued_bytes {} over the bound {byte_bound}", s.queued_bytes);
                mb.fetch_max(s.queued_bytes, Ordering::Relaxed);
                n.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(200));
            }
        });
        Sampler { stop, samples, max_bytes, thread: Some(thread) }
    }

    /// Stops sampling; returns (samples taken, largest queued_bytes seen).
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("the invariant or the byte bound failed in a sample");
        let n = self.samples.load(Ordering::Relaxed);
        assert!(n > 0, "no sample taken");
        (n, self.max_bytes.load(Ordering::Relaxed))
    }
}

/// Segment ids the collectors recorded, with how often each arrived.
fn received_ids<'a>(servers: impl IntoIterator<Item = &'a BlockingCollector>) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for s in servers {
        for seg in s.received().segments {
            *ids.entry(seg.segment_id).or_insert(0) += 1;
        }
    }
    ids
}

/// What a fault test checks at the end: the invariant, nothing delivered twice (at most
/// once), only reported messages received, everything acknowledged received, and nothing
/// received that was not sent.
#[track_caller]
fn assert_delivery(s: &Stats, ids: &HashMap<String, usize>, prefix: &str) {
    assert_invariant(s);
    if let Some((id, n)) = ids.iter().find(|(_, n)| **n > 1) {
        panic!("segment {id} arrived {n} times (at most once broken); {s:?}");
    }
    assert!(ids.keys().all(|id| id.starts_with(prefix)), "unexpected segments: {ids:?}");
    let got = ids.len() as u64;
    assert!(
        s.acknowledged <= got && got <= s.acknowledged + s.dropped_server_error + s.pending,
        "received {got} while {s:?}"
    );
}

fn mtls_config(certs: &Certs, backends: &str, extra: &[(&str, &str)]) -> swtls::Config {
    let dir = certs.set.dir.clone();
    config(backends, &dir, extra)
}

/// A port nothing listens on (bound, then released), to start a collector on later.
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn mtls_server_at(certs: &Certs, addr: SocketAddr) -> BlockingCollector {
    BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).listen(addr)).unwrap()
}

/// Runs `f` on `threads` threads; panics if they have not all returned within `limit`
/// (a reporter that blocked on the network would never return while the backend stalls).
fn on_threads<T: Send + 'static>(
    threads: usize,
    limit: Duration,
    f: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let f = f.clone();
            thread::spawn(move || f(t))
        })
        .collect();
    let deadline = std::time::Instant::now() + limit;
    while !handles.iter().all(|h| h.is_finished()) {
        assert!(
            std::time::Instant::now() < deadline,
            "reporting threads did not return within {limit:?}: report() blocked"
        );
        thread::sleep(Duration::from_millis(5));
    }
    handles.into_iter().map(|h| h.join().expect("a reporting thread panicked")).collect()
}

#[test]
fn report_and_flush_deliver_everything_and_the_counters_match() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    // Room for everything: this test is about delivery, not drops.
    let channel =
        Channel::new(&mtls_config(&certs, &server.target(), &[("swtls.report_queue_messages", "5000")])).unwrap();
    assert_eq!(channel.tls_mode(), TlsMode::MutualTls);
    let s = channel.stats();
    assert_eq!((s.queued, s.pending, s.acknowledged), (0, 0, 0));
    let sampler = Sampler::start(&channel, 16 << 20);
    let c = channel.clone();
    let sizes = on_threads(4, Duration::from_secs(60), move |t| {
        let mut bytes = 0u64;
        for i in 0..500 {
            let m = segment(&format!("m-{t}-{i}"));
            bytes += m.len() as u64;
            c.report(COLLECT, &m).unwrap();
        }
        bytes
    });
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    let (samples, _) = sampler.finish();
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!((s.queued, s.sent, s.acknowledged, s.pending, s.dropped()), (2000, 2000, 2000, 0, 0), "{s:?}");
    assert_eq!(s.bytes_sent, sizes.iter().sum::<u64>());
    assert_eq!((s.queued_bytes, s.failed_streams, s.connect_failures), (0, 0, 0), "{s:?}");
    assert_eq!(s.tls_mode, TlsMode::MutualTls);
    assert_eq!(s.backend.to_string(), server.target());
    let ids = received_ids([&server]);
    assert_eq!(ids.len(), 2000);
    assert!(ids.values().all(|n| *n == 1));
    for t in 0..4 {
        for i in 0..500 {
            assert!(ids.contains_key(&format!("m-{t}-{i}")), "m-{t}-{i} missing");
        }
    }
    let got = server.received();
    assert_eq!(got.stream_messages, 2000);
    assert_eq!(got.streams_failed, 0);
    assert!(got.tls_handshakes_ok >= 1 && got.handshakes.iter().all(|h| !h.client_certs.is_empty()));
    assert!(samples > 5, "{samples} samples");
    // Nothing pending: a flush returns at once, and so does one on an unused method.
    channel.flush_blocking(Some(Duration::from_millis(1))).unwrap();
}

#[test]
fn a_full_queue_drops_and_counts_while_the_backend_stalls_and_report_never_waits() {
    let certs = Certs::new();
    // The backend reads one message per stream, then nothing for an hour.
    let server = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, true).stream_message_delay(Duration::from_secs(3600)),
    )
    .unwrap();
    let bound = 64 * 1024;
    let channel = Channel::new(&mtls_config(
        &certs,
        &server.target(),
        &[("swtls.report_queue_messages", "100"), ("swtls.report_queue_bytes", "65536")],
    ))
    .unwrap();
    let sampler = Sampler::start(&channel, bound);
    let c = channel.clone();
    // Each thread reports 2,000 messages of 1 KiB; every call must return.
    let results = on_threads(4, Duration::from_secs(60), move |t| {
        let (mut ok, mut full) = (0u64, 0u64);
        for i in 0..2000 {
            let mut m = segment(&format!("s-{t}-{i}"));
            m.resize(1024, 0);
            match c.report(COLLECT, &m) {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert_eq!(e.status, Status::ResourceExhausted, "{}", e.message);
                    assert!(e.message.contains("swtls.report_queue_messages=100"), "{}", e.message);
                    full += 1;
                }
            }
        }
        (ok, full)
    });
    let (ok, full): (u64, u64) = results.iter().fold((0, 0), |(a, b), (o, f)| (a + o, b + f));
    let (_, max_bytes) = sampler.finish();
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!(s.queued, 8000);
    assert_eq!(s.dropped_queue_full, full, "every RESOURCE_EXHAUSTED is counted, nothing else: {s:?}");
    assert_eq!(s.queued - s.dropped_queue_full, ok);
    // What is held: at most one queue's worth on the stalled stream and one in the queue.
    assert!(s.pending <= 200 && s.pending == ok, "{s:?}");
    assert!(s.queued_bytes <= bound && max_bytes <= bound, "{s:?}");
    assert!(full >= 8000 - 200, "{s:?}");
    // Flushing cannot succeed while the backend stalls: it says so, and keeps the messages.
    let e = channel.flush_blocking(Some(Duration::from_millis(300))).unwrap_err();
    assert_eq!(e.status, Status::DeadlineExceeded, "{}", e.message);
    assert!(e.message.contains(&format!("{} pending", s.pending)), "{}", e.message);
    // Close gives up after its timeout: the rest is dropped because closed.
    let e = channel.close_blocking(Some(Duration::from_millis(200))).unwrap_err();
    assert_eq!(e.status, Status::DeadlineExceeded, "{}", e.message);
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!((s.pending, s.queued_bytes, s.dropped_closed), (0, 0, ok), "{s:?}");
    assert!(received_ids([&server]).len() <= 2, "one message per stream was read");
}

#[test]
fn a_slow_backend_fills_the_queue_then_catches_up() {
    let certs = Certs::new();
    let server = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, true).stream_message_delay(Duration::from_millis(5)),
    )
    .unwrap();
    let channel = Channel::new(&mtls_config(
        &certs,
        &server.target(),
        &[("swtls.report_queue_messages", "20"), ("swtls.report_queue_bytes", "1048576")],
    ))
    .unwrap();
    let sampler = Sampler::start(&channel, 1 << 20);
    let c = channel.clone();
    let accepted = on_threads(4, Duration::from_secs(60), move |t| {
        (0..500).filter(|i| c.report(COLLECT, &segment(&format!("w-{t}-{i}"))).is_ok()).count() as u64
    });
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    sampler.finish();
    let s = channel.stats();
    let accepted: u64 = accepted.iter().sum();
    assert_invariant(&s);
    assert_eq!((s.queued, s.pending, s.dropped_server_error), (2000, 0, 0), "{s:?}");
    assert!(s.dropped_queue_full > 0, "a 20-message queue in front of a 200 msgs/s backend must overflow: {s:?}");
    assert_eq!(s.acknowledged, accepted);
    let ids = received_ids([&server]);
    assert_delivery(&s, &ids, "w-");
    assert_eq!(ids.len() as u64, accepted, "everything accepted was delivered");
}

#[test]
fn backend_absent_at_start_then_appearing_on_its_port() {
    let certs = Certs::new();
    let addr = free_addr();
    let channel =
        Channel::new(&mtls_config(&certs, &addr.to_string(), &[("collector.grpc_channel_check_interval", "1")]))
            .unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    for i in 0..50 {
        channel.report(COLLECT, &segment(&format!("late-{i}"))).unwrap();
    }
    let e = channel.flush_blocking(Some(Duration::from_millis(500))).unwrap_err();
    assert_eq!(e.status, Status::DeadlineExceeded, "{}", e.message);
    assert!(e.message.contains("50 pending"), "{}", e.message);
    assert!(e.message.contains("cannot connect to the backend"), "the last failure is named: {}", e.message);
    let s = channel.stats();
    assert_eq!((s.pending, s.sent, s.dropped()), (50, 0, 0), "nothing was sent, nothing lost: {s:?}");
    assert!(s.connect_failures >= 1 && s.failed_streams >= 1, "{s:?}");
    // The backend appears; the reporter's backoff brings it there (at most 1 s apart here).
    let server = mtls_server_at(&certs, addr);
    for i in 50..80 {
        channel.report(COLLECT, &segment(&format!("late-{i}"))).unwrap();
    }
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.acknowledged, s.pending, s.dropped()), (80, 80, 0, 0), "{s:?}");
    let ids = received_ids([&server]);
    assert_delivery(&s, &ids, "late-");
    assert_eq!(ids.len(), 80);
}

#[test]
fn backend_killed_mid_stream_and_restarted() {
    let certs = Certs::new();
    let addr = free_addr();
    let mut first = Some(mtls_server_at(&certs, addr));
    let channel =
        Channel::new(&mtls_config(&certs, &addr.to_string(), &[("collector.grpc_channel_check_interval", "1")]))
            .unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    let c = channel.clone();
    let reporting = thread::spawn(move || {
        for i in 0..1500 {
            let _ = c.report(COLLECT, &segment(&format!("k-{i}")));
            if i % 10 == 0 {
                thread::sleep(Duration::from_millis(2));
            }
        }
    });
    // Kill the backend while messages stream to it, and bring it back on the same port.
    assert!(first.as_ref().unwrap().wait_until(Duration::from_secs(20), |r| r.segments.len() >= 200));
    let killed = first.take().unwrap();
    let before: Vec<_> = killed.received().segments;
    killed.shutdown();
    thread::sleep(Duration::from_millis(300));
    let second = mtls_server_at(&certs, addr);
    reporting.join().unwrap();
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.pending), (1500, 0), "{s:?}");
    assert!(s.reconnects >= 1, "{s:?}");
    let mut ids = received_ids([&second]);
    for seg in before {
        *ids.entry(seg.segment_id).or_insert(0) += 1;
    }
    assert_delivery(&s, &ids, "k-");
    assert!(second.received().segments.len() > 100, "reporting resumed on the restarted backend");
}

#[test]
fn connections_cut_while_idle_lose_nothing() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let channel = Channel::new(&mtls_config(&certs, &server.target(), &[])).unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    for round in 0..3 {
        for i in 0..100 {
            channel.report(COLLECT, &segment(&format!("i-{round}-{i}"))).unwrap();
        }
        channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
        // The server (or a load balancer) closes the idle connection.
        assert!(server.disconnect_all() >= 1);
        // Let the client see the connection close. (A stream that starts on it in the
        // same instant may have written messages into the dead connection: those are
        // dropped and counted, never sent twice.)
        thread::sleep(Duration::from_millis(100));
    }
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.acknowledged, s.dropped()), (300, 300, 0), "{s:?}");
    assert!(s.reconnects >= 2, "{s:?}");
    let ids = received_ids([&server]);
    assert_delivery(&s, &ids, "i-");
    assert_eq!(ids.len(), 300);
}

/// Channels on `backends` until one starts on backend `want` (the start is random).
fn channel_starting_on(certs: &Certs, backends: &str, want: usize, extra: &[(&str, &str)]) -> Channel {
    for _ in 0..200 {
        let c = Channel::new(&mtls_config(certs, backends, extra)).unwrap();
        if c.stats().backend_index == want {
            return c;
        }
    }
    panic!("no channel started on backend {want} of {backends} in 200 tries: the start is not random");
}

#[test]
fn one_of_three_backends_down_then_two_and_unary_follows_the_reporter() {
    let certs = Certs::new();
    let mut servers: Vec<Option<BlockingCollector>> = (0..3).map(|_| Some(mtls_server(&certs))).collect();
    let list = servers.iter().map(|s| s.as_ref().unwrap().target()).collect::<Vec<_>>().join(",");
    let channel = Channel::new(&mtls_config(&certs, &list, &[("collector.grpc_channel_check_interval", "1")])).unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    let mut dead = Vec::new();
    for round in 0..3 {
        for i in 0..100 {
            channel.report(COLLECT, &segment(&format!("r-{round}-{i}"))).unwrap();
        }
        channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
        let s = channel.stats();
        let current = s.backend_index;
        assert!(!dead.contains(&current), "round {round}: still on a dead backend: {s:?}");
        let server = servers[current].as_ref().unwrap();
        // Unary calls go to the backend the reporter uses.
        channel.unary_blocking(methods::KEEP_ALIVE, ping("svc", &format!("round-{round}")), None).unwrap();
        assert_eq!(server.received().pings.last().unwrap().1, format!("round-{round}"));
        let round_ids: Vec<_> = server
            .received()
            .segments
            .into_iter()
            .filter(|g| g.segment_id.starts_with(&format!("r-{round}-")))
            .collect();
        assert_eq!(round_ids.len(), 100, "round {round}: all on backend {current}");
        if round < 2 {
            // Down goes the backend in use.
            servers[current].take().unwrap().shutdown();
            dead.push(current);
            thread::sleep(Duration::from_millis(100));
        }
    }
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.acknowledged, s.pending, s.dropped()), (300, 300, 0, 0), "{s:?}");
    assert!(s.backend_switches >= 2, "{s:?}");
    let alive: Vec<_> = servers.iter().flatten().collect();
    assert_eq!(alive.len(), 1);
    assert_eq!(s.backend.to_string(), alive[0].target());
}

#[test]
fn a_backend_that_refuses_the_token_is_left_for_one_that_accepts_it() {
    let certs = Certs::new();
    let refusing = BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).token("other")).unwrap();
    let accepting =
        BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).token("s3cret")).unwrap();
    let list = format!("{},{}", refusing.target(), accepting.target());
    let logs = capture_logs(LogLevel::Warn);
    let channel = channel_starting_on(&certs, &list, 0, &[("agent.authentication", "s3cret")]);
    let sampler = Sampler::start(&channel, 16 << 20);
    for i in 0..200 {
        channel.report(COLLECT, &segment(&format!("t-{i}"))).unwrap();
    }
    let flushed = channel.flush_blocking(Some(Duration::from_secs(20)));
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.pending), (200, 0), "{s:?}");
    // Messages written to the refused stream are dropped (never sent twice); the flush says so.
    match flushed {
        Ok(()) => assert_eq!(s.dropped_server_error, 0, "{s:?}"),
        Err(e) => {
            assert_eq!(e.status, Status::Unauthenticated, "{}", e.message);
            assert!(
                e.message.contains("dropped") && e.message.contains("invalid authentication token"),
                "{}",
                e.message
            );
            assert!(s.dropped_server_error > 0, "{s:?}");
        }
    }
    assert_eq!(s.acknowledged + s.dropped_server_error, 200, "{s:?}");
    assert!(s.failed_streams >= 1 && s.backend_switches >= 1 && s.backend_index == 1, "{s:?}");
    assert!(refusing.received().auth_rejected >= 1);
    assert!(refusing.received().segments.is_empty());
    let ids = received_ids([&accepting]);
    assert_delivery(&s, &ids, "t-");
    assert_eq!(ids.len() as u64, s.acknowledged);
    // Once moved, everything reaches the accepting backend.
    for i in 200..300 {
        channel.report(COLLECT, &segment(&format!("t-{i}"))).unwrap();
    }
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    let s = channel.stats();
    assert_eq!((s.queued, s.pending, s.acknowledged + s.dropped_server_error), (300, 0, 300), "{s:?}");
    let ids = received_ids([&accepting]);
    assert_delivery(&s, &ids, "t-");
    assert_eq!(ids.len() as u64, s.acknowledged);
    assert!((200..300).all(|i| ids.contains_key(&format!("t-{i}"))));
    channel.unary_blocking(methods::KEEP_ALIVE, ping("svc", "after-token"), None).unwrap();
    assert_eq!(accepting.received().pings.len(), 1, "unary calls follow the reporter to the accepting backend");
    assert!(!logs.matching("backend switched from").is_empty(), "{:?}", logs.lines.lock().unwrap());
    assert!(
        logs.matching("UNAUTHENTICATED").iter().any(|l| l.contains(&refusing.target())),
        "{:?}",
        logs.lines.lock().unwrap()
    );
    // The token is never logged.
    assert!(logs.matching("s3cret").is_empty());
}

#[test]
fn a_single_backend_refusing_the_token_drops_nothing_silently() {
    let certs = Certs::new();
    let server = BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).token("right")).unwrap();
    let channel = Channel::new(&mtls_config(&certs, &server.target(), &[("agent.authentication", "wrong")])).unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    for i in 0..50 {
        channel.report(COLLECT, &segment(&format!("x-{i}"))).unwrap();
    }
    let e = channel.flush_blocking(Some(Duration::from_secs(3))).unwrap_err();
    assert!(matches!(e.status, Status::Unauthenticated | Status::DeadlineExceeded), "{e:?}");
    assert!(e.message.contains("UNAUTHENTICATED"), "the refusal is named: {}", e.message);
    sampler.finish();
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!(s.acknowledged, 0, "{s:?}");
    assert!(s.failed_streams >= 1, "{s:?}");
    assert!(server.received().segments.is_empty());
    // Close has nothing to deliver, or gives up on what is still queued.
    if let Err(e) = channel.close_blocking(Some(Duration::from_millis(100))) {
        assert_eq!(e.status, Status::DeadlineExceeded, "{}", e.message);
    }
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!((s.pending, s.dropped_closed + s.dropped_server_error), (0, 50), "{s:?}");
}

#[test]
fn a_name_that_does_not_resolve() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    // Alone: nothing can be delivered; the failure names the host.
    let channel = Channel::new(&mtls_config(&certs, "no-such-host.invalid:11800", &[])).unwrap();
    let sampler = Sampler::start(&channel, 16 << 20);
    for i in 0..20 {
        channel.report(COLLECT, &segment(&format!("n-{i}"))).unwrap();
    }
    let e = channel.flush_blocking(Some(Duration::from_millis(500))).unwrap_err();
    assert_eq!(e.status, Status::DeadlineExceeded, "{}", e.message);
    assert!(e.message.contains("cannot resolve the backend host 'no-such-host.invalid'"), "{}", e.message);
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.queued, s.pending, s.sent), (20, 20, 0), "{s:?}");
    assert!(s.connect_failures >= 1, "{s:?}");
    let e = channel.close_blocking(Some(Duration::from_millis(100))).unwrap_err();
    assert_eq!(e.status, Status::DeadlineExceeded);
    let s = channel.stats();
    assert_invariant(&s);
    assert_eq!((s.pending, s.dropped_closed), (0, 20), "{s:?}");
    // Next to a good backend: everything arrives there.
    let list = format!("no-such-host.invalid:11800,{}", server.target());
    let channel = channel_starting_on(&certs, &list, 0, &[]);
    let sampler = Sampler::start(&channel, 16 << 20);
    for i in 0..20 {
        channel.report(COLLECT, &segment(&format!("n-{i}"))).unwrap();
    }
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap();
    sampler.finish();
    let s = channel.stats();
    assert_eq!((s.acknowledged, s.dropped(), s.backend_index), (20, 0, 1), "{s:?}");
    let ids = received_ids([&server]);
    assert_delivery(&s, &ids, "n-");
    assert_eq!(ids.len(), 20);
}

#[test]
fn close_flushes_then_every_call_says_closed_and_the_counters_stay() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let channel = Channel::new(&mtls_config(&certs, &server.target(), &[])).unwrap();
    for i in 0..300 {
        channel.report(COLLECT, &segment(&format!("c-{i}"))).unwrap();
    }
    channel.close_blocking(Some(Duration::from_secs(20))).unwrap();
    let s = channel.stats();
    assert_eq!((s.queued, s.acknowledged, s.pending, s.dropped()), (300, 300, 0, 0), "{s:?}");
    assert_eq!(received_ids([&server]).len(), 300, "close delivered everything before returning");
    assert!(channel.is_closed());
    let closed = [Status::Closed];
    assert_err(channel.report(COLLECT, b"x"), closed[0], &["closed"]);
    assert_err(channel.report("/other.Service/m", b"x"), closed[0], &["closed"]);
    assert_err(channel.flush_blocking(None), closed[0], &["closed"]);
    assert_err(channel.close_blocking(None), closed[0], &["closed"]);
    assert_err(channel.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None), closed[0], &["closed"]);
    assert!(matches!(channel.open_stream(COLLECT, None), Err(e) if e.status == Status::Closed));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(channel.stats(), s, "the final counters stay");
    assert_eq!(server.received().segments.len(), 300);
}

#[test]
fn close_with_nothing_reported_and_a_bad_method() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let channel = Channel::new(&mtls_config(&certs, &server.target(), &[])).unwrap();
    assert_err(channel.report("no-slash", b"x"), Status::InvalidMethod, &["no-slash", "/package.Service/Method"]);
    let s = channel.stats();
    assert_eq!(s.queued, 0, "a rejected method is not counted");
    channel.close_blocking(Some(Duration::from_millis(100))).unwrap();
    assert_eq!(server.received().connections, 0, "nothing to deliver: no connection was made");
}

#[test]
fn state_changes_are_logged() {
    let certs = Certs::new();
    let other = Certs::new();
    // A backend whose certificate this agent does not trust, and a good one.
    let untrusted = BlockingCollector::start(CollectorOptions::from_cert_set(&other.set, true)).unwrap();
    let good = mtls_server(&certs);
    let list = format!("{},{}", untrusted.target(), good.target());
    let logs = capture_logs(LogLevel::Info);
    let channel = channel_starting_on(
        &certs,
        &list,
        0,
        &[("swtls.report_queue_messages", "5"), ("collector.grpc_channel_check_interval", "1")],
    );
    for i in 0..5 {
        channel.report(COLLECT, &segment(&format!("l-{i}"))).unwrap();
    }
    // The queue is full until the reporter got past the untrusted backend: drops are logged
    // once for the burst, not once per message.
    let mut drops = 0;
    for i in 0..200 {
        if channel.report(COLLECT, &segment(&format!("d-{i}"))).is_err() {
            drops += 1;
        }
    }
    channel.flush_blocking(Some(Duration::from_secs(20))).unwrap_or(());
    let s = channel.stats();
    assert_invariant(&s);
    let all = || format!("{:#?}", logs.lines.lock().unwrap());
    let handshake = logs.matching(&format!("connecting to {} failed", untrusted.target()));
    assert!(!handshake.is_empty(), "{}", all());
    assert!(handshake[0].contains("TLS_UNKNOWN_ISSUER"), "the log says why: {}", handshake[0]);
    let switched = logs.matching(&format!("backend switched from {} to {}", untrusted.target(), good.target()));
    assert!(!switched.is_empty(), "{}", all());
    assert!(!logs.matching(&format!("connected to {}", good.target())).is_empty(), "{}", all());
    // The untrusted backend, then the backoff, keep the 5-message queue full far longer
    // than 200 reports take.
    assert!(drops > 0, "{s:?}");
    assert_eq!(s.dropped_queue_full, drops);
    let dropped = logs.matching("the report queue is full");
    assert_eq!(dropped.len(), 1, "rate-limited: one line for {drops} drops: {}", all());
    assert!(dropped[0].contains(COLLECT) && dropped[0].contains("dropped"), "{}", dropped[0]);
    let lines = logs.lines.lock().unwrap();
    let level = |frag: &str| lines.iter().find(|(_, m)| m.contains(frag)).map(|(l, _)| *l);
    assert_eq!(level("backend switched from"), Some(LogLevel::Warn));
    assert_eq!(level(&format!("connected to {}", good.target())), Some(LogLevel::Info));
}

#[test]
fn queue_bounds_are_configurable_and_checked() {
    let mut c = swtls::Config::default();
    assert_err(
        c.set("swtls.report_queue_messages", "0"),
        Status::ConfigInvalidValue,
        &["swtls.report_queue_messages", "'0'"],
    );
    assert_err(
        c.set("swtls.report_queue_bytes", "lots"),
        Status::ConfigInvalidValue,
        &["swtls.report_queue_bytes", "'lots'"],
    );
    // A message larger than the whole byte bound is refused with a message saying so.
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let channel =
        Channel::new(&mtls_config(&certs, &server.target(), &[("swtls.report_queue_bytes", "2048")])).unwrap();
    assert_err(
        channel.report(COLLECT, &[0u8; 4096]),
        Status::ResourceExhausted,
        &["4096-byte", "larger than the whole report queue", "swtls.report_queue_bytes=2048"],
    );
    let s = channel.stats();
    assert_eq!((s.queued, s.dropped_queue_full, s.queued_bytes), (1, 1, 0), "{s:?}");
}
