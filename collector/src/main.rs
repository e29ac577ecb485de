//! `swtls-collector`: a SkyWalking-compatible collector and encoded test messages for
//! the swtls demo. Certificates are made by `swtls certs` (the main crate's tool).

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

/// Parsed `--flag value` / `--switch` arguments.
struct Args {
    pairs: Vec<(String, Option<String>)>,
}

impl Args {
    /// `with_value` lists the flags that take a value; `switches` those that do not.
    fn parse(args: &[String], with_value: &[&str], switches: &[&str]) -> Result<Args, String> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            if with_value.contains(&name.as_str()) {
                let value = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| format!("{name} needs a value (see usage)"))?,
                };
                pairs.push((name, Some(value)));
            } else if switches.contains(&name.as_str()) && inline.is_none() {
                pairs.push((name, None));
            } else {
                return Err(format!("unknown argument '{a}' (see usage)"));
            }
        }
        Ok(Args { pairs })
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.value(name).ok_or_else(|| format!("{name} is required (see usage)"))
    }

    fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }
}

fn cmd_encode_segment(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--trace", "--segment", "--service", "--instance", "--out"], &[])?;
    let bytes = swtls_collector::proto::encode_segment(
        args.required("--trace")?,
        args.required("--segment")?,
        args.required("--service")?,
        args.required("--instance")?,
    );
    let out = args.required("--out")?;
    std::fs::write(out, &bytes).map_err(|e| format!("writing {out}: {e}"))?;
    println!("wrote {} bytes to {out}", bytes.len());
    Ok(())
}

fn cmd_encode_ping(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--service", "--instance", "--layer", "--out"], &[])?;
    let bytes = swtls_collector::proto::encode_ping(
        args.required("--service")?,
        args.required("--instance")?,
        args.value("--layer").unwrap_or(""),
    );
    let out = args.required("--out")?;
    std::fs::write(out, &bytes).map_err(|e| format!("writing {out}: {e}"))?;
    println!("wrote {} bytes to {out}", bytes.len());
    Ok(())
}

fn cmd_tls_pipe(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--tls-dir", "--ca-dir", "--cipher-suite", "--bytes", "--write-size"], &[])?;
    let number = |flag: &str, default: u64| -> Result<u64, String> {
        match args.value(flag) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{flag}: '{v}' is not a number of bytes")),
        }
    };
    let suite = args.required("--cipher-suite")?;
    let r = swtls_collector::tls_pipe(
        std::path::Path::new(args.required("--tls-dir")?),
        std::path::Path::new(args.required("--ca-dir")?),
        suite,
        number("--bytes", 1 << 30)?,
        number("--write-size", 16384)? as usize,
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
    let args = Args::parse(
        args,
        &["--listen", "--tls-dir", "--token", "--port-file", "--tls-version", "--stream-delay-us", "--cipher-suite"],
        &["--mtls", "--mtls-optional"],
    )?;
    let listen = resolve_listen(args.value("--listen").unwrap_or("127.0.0.1:11800"))?;
    let mut opts = CollectorOptions::default().listen(listen);
    if let Some(dir) = args.value("--tls-dir") {
        let dir = PathBuf::from(dir);
        let (cert_chain, key) = (dir.join("server.crt"), dir.join("server.key"));
        opts.tls = if args.has("--mtls") || args.has("--mtls-optional") {
            TlsMode::MutualTls {
                cert_chain,
                key,
                client_ca: dir.join("ca.crt"),
                require_client_auth: args.has("--mtls"),
            }
        } else {
            TlsMode::Tls { cert_chain, key }
        };
    } else if args.has("--mtls") || args.has("--mtls-optional") {
        return Err("--mtls needs --tls-dir".to_string());
    }
    opts.tls_versions = match args.value("--tls-version") {
        None => TlsVersions::Both,
        Some("1.2") => TlsVersions::Tls12Only,
        Some("1.3") => TlsVersions::Tls13Only,
        Some(v) => return Err(format!("--tls-version: '{v}' is not 1.2 or 1.3")),
    };
    if let Some(token) = args.value("--token") {
        opts = opts.token(token);
    }
    if let Some(name) = args.value("--cipher-suite") {
        opts = opts.cipher_suite(name);
    }
    if let Some(us) = args.value("--stream-delay-us") {
        let us: u64 = us.parse().map_err(|_| format!("--stream-delay-us: '{us}' is not a number of microseconds"))?;
        opts = opts.stream_message_delay(std::time::Duration::from_micros(us));
    }
    opts = opts.on_event(|e| {
        if let Some(line) = describe(e) {
            print_line(&line);
        }
    });
    let port_file = args.value("--port-file").map(PathBuf::from);

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
