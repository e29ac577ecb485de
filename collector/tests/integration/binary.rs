use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use swtls_collector::methods;
use swtls_collector::proto::{encode_ping, SegmentObject};

use crate::common::{client_config, client_stream, connect, tls, unary, BOTH};

const BIN: &str = env!("CARGO_BIN_EXE_swtls-collector");

fn wait_line(rx: &mpsc::Receiver<String>, pred: impl Fn(&str) -> bool, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if pred(&line) {
                    return line;
                }
            }
            Err(_) => panic!("line not seen; got {seen:?}"),
        }
    }
}

#[test]
fn usage_errors() {
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    let out = Command::new(BIN).args(["serve", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
    let out = Command::new(BIN).args(["encode-ping", "--service", "s"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--instance is required"));
    let out = Command::new(BIN).args(["certs"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("swtls certs"));
}

#[test]
fn encode_segment_writes_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seg.bin");
    let st = Command::new(BIN)
        .args(["encode-segment", "--trace", "T1", "--segment", "S1", "--service", "svc", "--instance", "i1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let seg = <SegmentObject as prost::Message>::decode(&std::fs::read(&out).unwrap()[..]).unwrap();
    assert_eq!((seg.trace_id.as_str(), seg.trace_segment_id.as_str()), ("T1", "S1"));
    assert_eq!((seg.service.as_str(), seg.service_instance.as_str()), ("svc", "i1"));
}

#[tokio::test]
async fn serve_mtls_with_token() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    swtls_collector::certs::CertSet::generate(&ca_dir, &["localhost", "127.0.0.1", "::1"]).unwrap();

    let port_file = dir.path().join("port");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--mtls", "--token", "tok", "--tls-dir"])
        .arg(&ca_dir)
        .arg("--port-file")
        .arg(&port_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let listening = wait_line(&rx, |l| l.starts_with("listening on "), &mut seen);
    let addr: std::net::SocketAddr = listening["listening on ".len()..].parse().unwrap();
    let port: u16 = std::fs::read_to_string(&port_file).unwrap().trim().parse().unwrap();
    assert_eq!(port, addr.port());

    let cfg =
        client_config(&ca_dir.join("ca.crt"), Some((&ca_dir.join("client.crt"), &ca_dir.join("client.pem"))), BOTH);
    let ch = connect(addr, tls(cfg, "localhost")).await.unwrap();
    unary(&ch, methods::KEEP_ALIVE, encode_ping("svc", "inst", ""), Some("tok")).await.unwrap();
    let seg_file = dir.path().join("seg.bin");
    assert!(Command::new(BIN)
        .args(["encode-segment", "--trace", "T", "--segment", "S", "--service", "svc", "--instance", "inst", "--out"])
        .arg(&seg_file)
        .output()
        .unwrap()
        .status
        .success());
    let seg = Bytes::from(std::fs::read(&seg_file).unwrap());
    client_stream(&ch, methods::SEGMENT_COLLECT, vec![seg.clone(), seg.clone(), seg], Some("tok")).await.unwrap();
    unary(&ch, methods::JVM_METRIC_COLLECT, swtls_collector::proto::encode_jvm_metrics("svc", "inst", 2), Some("tok"))
        .await
        .unwrap();
    let start = swtls_collector::proto::encode_event("Start", "svc", "inst", "GENERAL");
    client_stream(&ch, methods::EVENT_COLLECT, vec![start.into()], Some("tok")).await.unwrap();
    let bad = unary(&ch, methods::ECHO_UNARY, "x", Some("nope")).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::Unauthenticated);

    wait_line(&rx, |l| l == "keepAlive service=svc instance=inst", &mut seen);
    wait_line(&rx, |l| l == "segment trace=T segment=S service=svc instance=inst", &mut seen);
    wait_line(&rx, |l| l == "stream completed: 3 segments", &mut seen);
    wait_line(&rx, |l| l == "jvmMetrics service=svc instance=inst metrics=2", &mut seen);
    wait_line(&rx, |l| l == "event name=Start service=svc instance=inst layer=GENERAL", &mut seen);
    wait_line(&rx, |l| l.contains("invalid authentication token"), &mut seen);

    assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "collector did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
