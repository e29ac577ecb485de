//! `swtls`: check an agent's TLS set-up against its backends, and make certificates.
//! The work is done by the library (`swtls::check`, `swtls::certs`); this file only reads
//! the arguments (with lexopt) and prints.

use lexopt::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use swtls::certs::{write_deployment, DeploymentOptions, KeyAlg};
use swtls::check::{self, CheckOptions};

const USAGE: &str = "\
usage:
  swtls check [--set KEY=VALUE]... [--json] [--timeout SECONDS]
      Take the configuration as the library does (the SW_AGENT_* and SWTLS_CA_DIR
      environment variables, then every --set in order: a later value wins), show the
      TLS mode and why, describe the CA, client certificate and key files, then connect
      to every backend: TCP, TLS handshake, and a keepAlive round trip (service and
      instance 'swtls-check'). Every problem is printed with its cause and its fix.
      --json prints one JSON object instead. --timeout limits each network step
      (default 10 seconds).
      Exit status: 0 when everything works, 1 when something does not, 2 for a usage error.

  swtls certs --out DIR --server-name NAME [--server-name NAME]... [--rsa] [--pkcs1]
              [--days N] [--client-name CN] [--force]
      Make a new CA, a server certificate whose subjectAltName lists every NAME (DNS
      names or IP addresses agents use to reach the backend) and a client certificate:
        DIR/ca/ca.crt  DIR/ca/client.crt  DIR/ca/client.pem      the agent's ca/ folder
        DIR/server/server.crt  DIR/server/server.key  DIR/server/ca.crt    the backend
      Keys are ECDSA P-256 (--rsa: RSA 2048), PKCS#8 PEM, written with mode 0600.
      --pkcs1 also writes the client key in the traditional form for old agents
      (DIR/ca/client.pkcs1.pem with --rsa, DIR/ca/client.sec1.pem otherwise).
      Certificates are valid for --days days (default 365). Existing files are kept
      unless --force. The CA key is not written: run again for a new set.

  swtls version
  swtls --help
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => cmd_check(&args[1..]),
        Some("certs") => cmd_certs(&args[1..]),
        Some("version" | "--version" | "-V") => {
            println!("{}", version());
            Ok(ExitCode::SUCCESS)
        }
        Some("help" | "--help" | "-h") => {
            print!("{}", help());
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command '{other}'")),
        None => Err("no command given".to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("swtls: {e}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn version() -> String {
    // The library's own version string (swtls_version()).
    unsafe { std::ffi::CStr::from_ptr(swtls::ffi::swtls_version()) }.to_string_lossy().into_owned()
}

fn help() -> String {
    let mut out = format!("swtls {}: TLS set-up checks and certificates for SkyWalking agents\n\n{USAGE}", version());
    out.push_str("\nconfiguration keys (--set KEY=VALUE), their environment variables and defaults:\n");
    for k in swtls::config::KEYS {
        let default = if k.default.is_empty() { "(empty)" } else { k.default };
        out.push_str(&format!("  {:<38} {:<47} {default}\n", k.name, k.env));
    }
    out
}

/// An argument error: lexopt's own message names the option or value at fault.
fn bad(e: lexopt::Error) -> String {
    e.to_string()
}

/// The value of the option just read, as text.
fn text(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value().and_then(|v| v.string()).map_err(bad)
}

fn cmd_check(args: &[String]) -> Result<ExitCode, String> {
    let (mut sets, mut timeout, mut json, mut help_asked) = (Vec::new(), None, false, false);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(bad)? {
        match arg {
            Short('h') | Long("help") => help_asked = true,
            Long("set") => sets.push(text(&mut p)?),
            Long("timeout") => timeout = Some(text(&mut p)?),
            Long("json") => json = true,
            _ => return Err(bad(arg.unexpected())),
        }
    }
    if help_asked {
        print!("{}", help());
        return Ok(ExitCode::SUCCESS);
    }
    let mut opts = CheckOptions::default();
    for s in &sets {
        let (k, v) = s.split_once('=').ok_or_else(|| format!("--set '{s}': expected KEY=VALUE"))?;
        opts.sets.push((k.trim().to_string(), v.to_string()));
    }
    if let Some(t) = timeout {
        let secs: u64 = t
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("--timeout '{t}': expected a whole number of seconds"))?;
        opts.timeout = Duration::from_secs(secs);
    }
    let report = check::run(&opts);
    if json {
        print!("{}", report.json());
    } else {
        print!("{}", report.human());
    }
    Ok(ExitCode::from(report.exit_code()))
}

fn cmd_certs(args: &[String]) -> Result<ExitCode, String> {
    let (mut out, mut names, mut days, mut client_name) = (None, Vec::new(), None, None);
    let (mut rsa, mut pkcs1, mut force, mut help_asked) = (false, false, false, false);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(bad)? {
        match arg {
            Short('h') | Long("help") => help_asked = true,
            Long("out") => out = Some(PathBuf::from(text(&mut p)?)),
            Long("server-name") => names.push(text(&mut p)?),
            Long("days") => days = Some(text(&mut p)?),
            Long("client-name") => client_name = Some(text(&mut p)?),
            Long("rsa") => rsa = true,
            Long("pkcs1") => pkcs1 = true,
            Long("force") => force = true,
            _ => return Err(bad(arg.unexpected())),
        }
    }
    if help_asked {
        print!("{}", help());
        return Ok(ExitCode::SUCCESS);
    }
    let out = out.ok_or("certs: --out DIR is required")?;
    if names.is_empty() {
        return Err("certs: at least one --server-name is required: the DNS names or IP addresses agents \
                    use to reach the backend (e.g. --server-name oap.example.com --server-name 10.0.0.5)"
            .to_string());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut opts = DeploymentOptions::new(&names);
    if rsa {
        opts.key_alg = KeyAlg::Rsa2048;
    }
    opts.traditional_client_key = pkcs1;
    opts.overwrite = force;
    if let Some(d) = days {
        opts.days = d
            .parse()
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(|| format!("--days '{d}': expected a whole number of days, 1 or more"))?;
    }
    if let Some(cn) = client_name {
        opts.client_name = cn;
    }
    match write_deployment(&out, &opts) {
        Ok(set) => {
            let alg = if opts.key_alg == KeyAlg::Rsa2048 { "RSA 2048" } else { "ECDSA P-256" };
            println!("wrote a new CA, server and client certificate set ({alg}, valid {} days):", opts.days);
            for f in &set.files {
                println!("  {:<40} {}{}", f.path.display(), f.what, if f.secret { ", mode 0600" } else { "" });
            }
            println!("server names (subjectAltName): {}", names.join(", "));
            println!("agents: copy {}/ to the agent's ca/ folder (or set SWTLS_CA_DIR to it)", set.agent_dir.display());
            println!(
                "backend: server.crt, server.key, and ca.crt to require client certificates, from {}/",
                set.server_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("swtls certs: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
