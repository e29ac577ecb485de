//! `swtls-collector`: a SkyWalking-compatible collector and encoded test messages for
//! the swtls demo. Certificates are made by `swtls certs` (the main crate's tool).

use lexopt::prelude::*;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use swtls_collector::{Collector, CollectorOptions, Event, TlsMode, TlsVersions};

const USAGE: &str = "\
usage:
  swtls-collector serve [--listen ADDR] [--tls-dir DIR] [--mtls | --mtls-optional]
                        [--tls-version 1.2|1.3] [--token TOKEN] [--port-file FILE]
                        [--stream-delay-us N] [--cipher-suite NAME]
      Serve until SIGTERM or Ctrl-C (default --listen 127.0.0.1:11800).
      --tls-dir uses DIR/server.crt and DIR/server.key; --mtls also requires client
      certificates signed by DIR/ca.crt (--mtls-optional lets clients without one in).
      Prints 'listening on ADDR', then one line per thing received.
      --stream-delay-us N waits N microseconds after each client-stream message
      (a slow backend, for tests and benchmarks).
      --cipher-suite NAME accepts only that suite (e.g. TLS13_AES_128_GCM_SHA256), so that
      every client of a benchmark negotiates the same one.
      (`swtls certs --out DIR ...` writes DIR/server/ with these three files.)
  swtls-collector encode-segment --trace T --segment S --service SVC --instance I --out FILE
      Write a protobuf-encoded SegmentObject to FILE.
  swtls-collector encode-ping --service SVC --instance I --out FILE
      Write a protobuf-encoded InstancePingPkg to FILE.
  swtls-collector tls-pipe --tls-dir DIR --ca-dir DIR --cipher-suite NAME
                           [--bytes N] [--write-size N]
      The TLS ceiling of this machine: N bytes (default 1 GiB) in writes of --write-size
      (default 16384) over one TLS 1.3 mutual-TLS connection on loopback, plain rustls on
      both ends (server: DIR/server.crt, server.key, ca.crt; client: the agent's ca folder
      with ca.crt, client.crt, client.pem). Prints one line: RESULT {json}.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("certs") => Err("unknown command 'certs': certificates are made by `swtls certs` now \
             (cargo build --release --features cli --bin swtls)"
            .to_string()),
        Some("serve") => cmd_serve(&args[1..]),
        Some("encode-segment") => cmd_encode_segment(&args[1..]),
        Some("encode-ping") => cmd_encode_ping(&args[1..]),
        Some("tls-pipe") => cmd_tls_pipe(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command '{other}'")),
        None => Err("no command given".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swtls-collector: {e}");
            if e.starts_with("unknown") || e.starts_with("no command") || e.contains("usage") {
                eprint!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}

/// An argument error, with lexopt's own message (it names the option or value at fault).
fn bad(e: lexopt::Error) -> String {
    format!("{e} (see usage)")
}

/// The value of the option just read, as text.
fn text(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value().and_then(|v| v.string()).map_err(bad)
}

fn required(value: Option<String>, flag: &str) -> Result<String, String> {
    value.ok_or_else(|| format!("{flag} is required (see usage)"))
}

/// Reads a command's `--name value` options: the value of each of `names`, in their order
/// (the last one given wins). Anything else is an error naming it.
fn options<const N: usize>(args: &[String], names: [&str; N]) -> Result<[Option<String>; N], String> {
    let mut values = [const { None }; N];
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(bad)? {
        let Some(i) = names.iter().position(|n| matches!(arg, Long(l) if l == *n)) else {
            return Err(bad(arg.unexpected()));
        };
        values[i] = Some(text(&mut p)?);
    }
    Ok(values)
}

fn cmd_encode_segment(args: &[String]) -> Result<(), String> {
    let [trace, segment, service, instance, out] = options(args, ["trace", "segment", "service", "instance", "out"])?;
    let bytes = swtls_collector::proto::encode_segment(
        &required(trace, "--trace")?,
        &required(segment, "--segment")?,
        &required(service, "--service")?,
        &required(instance, "--instance")?,
    );
    write_message(&required(out, "--out")?, &bytes)
}

fn cmd_encode_ping(args: &[String]) -> Result<(), String> {
    let [service, instance, layer, out] = options(args, ["service", "instance", "layer", "out"])?;
    let bytes = swtls_collector::proto::encode_ping(
        &required(service, "--service")?,
        &required(instance, "--instance")?,
        layer.as_deref().unwrap_or(""),
    );
    write_message(&required(out, "--out")?, &bytes)
}

fn write_message(out: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(out, bytes).map_err(|e| format!("writing {out}: {e}"))?;
    println!("wrote {} bytes to {out}", bytes.len());
    Ok(())
}

fn cmd_tls_pipe(args: &[String]) -> Result<(), String> {
    let [tls_dir, ca_dir, suite, bytes, write_size] =
        options(args, ["tls-dir", "ca-dir", "cipher-suite", "bytes", "write-size"])?;
    let number = |flag: &str, value: Option<String>, default: u64| -> Result<u64, String> {
        match value {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{flag}: '{v}' is not a number of bytes")),
        }
    };
    let suite = required(suite, "--cipher-suite")?;
    let r = swtls_collector::tls_pipe(
        std::path::Path::new(&required(tls_dir, "--tls-dir")?),
        std::path::Path::new(&required(ca_dir, "--ca-dir")?),
        &suite,
        number("--bytes", bytes, 1 << 30)?,
        number("--write-size", write_size, 16384)? as usize,
    )
    .map_err(|e| e.to_string())?;
    print_line(&format!(
        "RESULT {{\"bytes\": {}, \"seconds\": {:.6}, \"client_cpu_seconds\": {:.6}, \"server_cpu_seconds\": {:.6}, \"cipher_suite\": \"{}\"}}",
        r.bytes,
        r.elapsed.as_secs_f64(),
        r.client_cpu.as_secs_f64(),
        r.server_cpu.as_secs_f64(),
        r.cipher_suite
    ));
    Ok(())
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::KeepAlive { service, instance, .. } => format!("keepAlive service={service} instance={instance}"),
        Event::InstanceProperties { service, instance } => {
            format!("reportInstanceProperties service={service} instance={instance}")
        }
        Event::Segment(s) => format!(
            "segment trace={} segment={} service={} instance={}",
            s.trace_id, s.segment_id, s.service, s.instance
        ),
        Event::JvmMetrics { service, instance, metrics } => {
            format!("jvmMetrics service={service} instance={instance} metrics={metrics}")
        }
        Event::AgentEvent { name, service, instance, layer } => {
            format!("event name={name} service={service} instance={instance} layer={layer}")
        }
        Event::StreamCompleted { method, messages, bytes } => {
            if method == swtls_collector::methods::SEGMENT_COLLECT {
                format!("stream completed: {messages} segments")
            } else {
                format!("stream completed: {method} {messages} messages {bytes} bytes")
            }
        }
        Event::StreamFailed { method, messages, error } => {
            format!("stream failed: {method} after {messages} messages: {error}")
        }
        Event::Handshake(h) => format!(
            "tls handshake peer={} version={} cipher={} alpn={} sni={} client_cert={}",
            h.peer,
            h.protocol,
            h.cipher_suite,
            h.alpn.as_deref().unwrap_or("-"),
            h.sni.as_deref().unwrap_or("-"),
            if h.client_certs.is_empty() { "no" } else { "yes" }
        ),
        Event::HandshakeFailed(f) => {
            format!("tls handshake failed peer={}: {}", f.peer, f.reason)
        }
        Event::AuthRejected { method } => {
            format!("rejected {method}: invalid authentication token")
        }
        Event::DecodeError { method, error } => format!("decode error on {method}: {error}"),
        Event::Call(c)
            if ![
                swtls_collector::methods::KEEP_ALIVE,
                swtls_collector::methods::REPORT_INSTANCE_PROPERTIES,
                swtls_collector::methods::SEGMENT_COLLECT,
                swtls_collector::methods::JVM_METRIC_COLLECT,
                swtls_collector::methods::EVENT_COLLECT,
            ]
            .contains(&c.method.as_str()) =>
        {
            format!("call {}", c.method)
        }
        Event::Call(_) | Event::Connected { .. } => return None,
    })
}

fn cmd_serve(args: &[String]) -> Result<(), String> {
    let (mut listen, mut tls_dir, mut token, mut port_file) = (None, None, None, None);
    let (mut tls_version, mut delay_us, mut cipher_suite) = (None, None, None);
    let (mut mtls, mut mtls_optional) = (false, false);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(bad)? {
        match arg {
            Long("listen") => listen = Some(text(&mut p)?),
            Long("tls-dir") => tls_dir = Some(PathBuf::from(text(&mut p)?)),
            Long("token") => token = Some(text(&mut p)?),
            Long("port-file") => port_file = Some(PathBuf::from(text(&mut p)?)),
            Long("tls-version") => tls_version = Some(text(&mut p)?),
            Long("stream-delay-us") => delay_us = Some(text(&mut p)?),
            Long("cipher-suite") => cipher_suite = Some(text(&mut p)?),
            Long("mtls") => mtls = true,
            Long("mtls-optional") => mtls_optional = true,
            _ => return Err(bad(arg.unexpected())),
        }
    }
    let listen = resolve_listen(listen.as_deref().unwrap_or("127.0.0.1:11800"))?;
    let mut opts = CollectorOptions::default().listen(listen);
    if let Some(dir) = tls_dir {
        let (cert_chain, key) = (dir.join("server.crt"), dir.join("server.key"));
        opts.tls = if mtls || mtls_optional {
            TlsMode::MutualTls { cert_chain, key, client_ca: dir.join("ca.crt"), require_client_auth: mtls }
        } else {
            TlsMode::Tls { cert_chain, key }
        };
    } else if mtls || mtls_optional {
        return Err("--mtls needs --tls-dir".to_string());
    }
    opts.tls_versions = match tls_version.as_deref() {
        None => TlsVersions::Both,
        Some("1.2") => TlsVersions::Tls12Only,
        Some("1.3") => TlsVersions::Tls13Only,
        Some(v) => return Err(format!("--tls-version: '{v}' is not 1.2 or 1.3")),
    };
    if let Some(token) = token {
        opts = opts.token(token);
    }
    if let Some(name) = cipher_suite {
        opts = opts.cipher_suite(name);
    }
    if let Some(us) = delay_us {
        let us: u64 = us.parse().map_err(|_| format!("--stream-delay-us: '{us}' is not a number of microseconds"))?;
        opts = opts.stream_message_delay(std::time::Duration::from_micros(us));
    }
    opts = opts.on_event(|e| {
        if let Some(line) = describe(e) {
            print_line(&line);
        }
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting tokio: {e}"))?;
    runtime.block_on(async move {
        let collector = Collector::start(opts).await.map_err(|e| e.to_string())?;
        let addr = collector.addr();
        if let Some(file) = &port_file {
            // Write to a temporary name, then rename, so a reader never sees half a port.
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, format!("{}\n", addr.port()))
                .and_then(|_| std::fs::rename(&tmp, file))
                .map_err(|e| format!("writing {}: {e}", file.display()))?;
        }
        print_line(&format!("listening on {addr}"));
        wait_for_signal().await;
        print_line("shutting down");
        collector.shutdown().await;
        Ok::<(), String>(())
    })
}

fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .map_err(|e| format!("--listen '{text}': {e} (want HOST:PORT, e.g. 127.0.0.1:11800 or [::1]:11800)"))?
        .next()
        .ok_or_else(|| format!("--listen '{text}': no address found"))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
