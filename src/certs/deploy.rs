//! Certificate sets written to disk: the test layout ([`CertSet`]) and the deployment
//! layout of `swtls certs` ([`write_deployment`]).

use super::ca::{random_serial, san, Ca, CertOptions, Issued};
use super::{CertError as Error, KeyAlg, KeyFormat, DAY};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Files of a generated certificate set: the layout of a SkyWalking agent's `ca/`
/// folder (`ca.crt`, `client.crt`, `client.pem`) plus the server's material.
#[derive(Clone, Debug)]
pub struct CertSet {
    /// The folder the files were written to.
    pub dir: PathBuf,
    /// `ca.crt`: the root CA certificate.
    pub ca_cert: PathBuf,
    /// `ca.key`: the CA key, PKCS#8 PEM.
    pub ca_key: PathBuf,
    /// `server.crt`: the server certificate chain.
    pub server_cert: PathBuf,
    /// `server.key`: the server key, PKCS#8 PEM.
    pub server_key: PathBuf,
    /// `client.crt`: the client certificate chain.
    pub client_cert: PathBuf,
    /// `client.pem`: the client key, PKCS#8 PEM.
    pub client_key: PathBuf,
    /// The CA itself, to issue more certificates.
    pub ca: Ca,
    /// The server certificate and key.
    pub server: Issued,
    /// The client certificate and key.
    pub client: Issued,
}

impl CertSet {
    /// Generates a CA (CN `swtls test CA <random hex>`, unique per set), a server
    /// certificate whose SANs are `server_names` (IP addresses as IP SANs, the rest
    /// as DNS names; CN = the first name) and a client certificate (CN
    /// `swtls-client`), all ECDSA P-256, and writes them into `dir` (created if
    /// missing).
    pub fn generate(dir: &Path, server_names: &[&str]) -> Result<CertSet, Error> {
        CertSet::generate_with(dir, server_names, KeyAlg::EcdsaP256)
    }

    /// Like [`CertSet::generate`] with the given key algorithm for all three keys.
    pub fn generate_with(dir: &Path, server_names: &[&str], alg: KeyAlg) -> Result<CertSet, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
        let now = SystemTime::now();
        let ca = Ca::with_options(
            &CertOptions::new(format!("swtls test CA {}", hex(&random_serial()?[..6])))
                .validity(now - DAY, now + 3650 * DAY)
                .key_alg(alg),
        )?;
        let cn = server_names.first().copied().unwrap_or("localhost");
        let server = ca.issue_server(&CertOptions::new(cn).sans(server_names).key_alg(alg))?;
        let client = ca.issue_client(&CertOptions::new("swtls-client").key_alg(alg))?;
        let set = CertSet {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.pem"),
            ca,
            server,
            client,
        };
        set.ca.write_cert(&set.ca_cert)?;
        set.ca.key.write_pem(&set.ca_key, KeyFormat::Pkcs8)?;
        set.server.write_chain(&set.server_cert)?;
        set.server.key.write_pem(&set.server_key, KeyFormat::Pkcs8)?;
        set.client.write_chain(&set.client_cert)?;
        set.client.key.write_pem(&set.client_key, KeyFormat::Pkcs8)?;
        Ok(set)
    }
}

/// What [`write_deployment`] makes (the options of `swtls certs`).
#[derive(Clone, Debug)]
pub struct DeploymentOptions {
    /// Names agents use to reach the backend: DNS names or IP addresses (IPv6 may be
    /// bracketed). All go into the server certificate's subjectAltName; the first is also
    /// its CN. At least one.
    pub server_names: Vec<String>,
    /// Algorithm of all three keys: ECDSA P-256 (default) or RSA 2048.
    pub key_alg: KeyAlg,
    /// Also write the client key in its traditional form (`client.pkcs1.pem` for RSA,
    /// `client.sec1.pem` for ECDSA) for agents that cannot read PKCS#8.
    pub traditional_client_key: bool,
    /// Validity of the server and client certificates, in days from now (the CA gets ten
    /// years, or longer if needed).
    pub days: u32,
    /// Subject CN of the client certificate.
    pub client_name: String,
    /// Replace files that already exist (otherwise that is an error and nothing is written).
    pub overwrite: bool,
}

impl DeploymentOptions {
    /// ECDSA P-256, 365 days, client CN `skywalking-agent`, no traditional key, no overwrite.
    pub fn new(server_names: &[&str]) -> DeploymentOptions {
        DeploymentOptions {
            server_names: server_names.iter().map(|s| s.to_string()).collect(),
            key_alg: KeyAlg::EcdsaP256,
            traditional_client_key: false,
            days: 365,
            client_name: "skywalking-agent".to_string(),
            overwrite: false,
        }
    }
}

/// One file written by [`write_deployment`].
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub path: PathBuf,
    /// What it is, in words.
    pub what: &'static str,
    /// A private key (written with mode 0600 on Unix).
    pub secret: bool,
}

/// A certificate set written in the deployment layout:
///
/// ```text
/// DIR/ca/ca.crt          CA certificate              -> the agent's ca/ folder
/// DIR/ca/client.crt      client certificate          -> the agent's ca/ folder
/// DIR/ca/client.pem      client key, PKCS#8          -> the agent's ca/ folder
/// DIR/ca/client.pkcs1.pem | client.sec1.pem          (only with traditional_client_key)
/// DIR/server/server.crt  server certificate          -> the backend (OAP)
/// DIR/server/server.key  server key, PKCS#8          -> the backend
/// DIR/server/ca.crt      CA certificate, to verify agents' client certificates
/// ```
///
/// The CA's private key is not written: the set is complete as it is, and a CA key left
/// on disk could issue certificates the backend trusts. Run again for a new set.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub dir: PathBuf,
    /// The agent's `ca/` folder (`DIR/ca`).
    pub agent_dir: PathBuf,
    /// The backend's folder (`DIR/server`).
    pub server_dir: PathBuf,
    pub files: Vec<WrittenFile>,
    pub ca: Ca,
    pub server: Issued,
    pub client: Issued,
}

/// Generates a CA, a server certificate for `opts.server_names` and a client certificate,
/// and writes them into `dir` in the [`Deployment`] layout. Everything is generated before
/// anything is written; existing files are an error unless `opts.overwrite`.
pub fn write_deployment(dir: &Path, opts: &DeploymentOptions) -> Result<Deployment, Error> {
    if opts.server_names.is_empty() {
        return Err(Error::new(
            "at least one server name is needed: the DNS names or IP addresses agents use to reach the backend",
        ));
    }
    if opts.days == 0 {
        return Err(Error::new("the certificates must be valid for at least one day"));
    }
    if !matches!(opts.key_alg, KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 | KeyAlg::Rsa2048) && opts.traditional_client_key {
        return Err(Error::new(format!("a {:?} key has no traditional (PKCS#1/SEC1) form", opts.key_alg)));
    }
    for name in &opts.server_names {
        // What a client can check the certificate against: a DNS name (a leading `*.`
        // wildcard allowed) or an IP address.
        let bare = name.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(name);
        let dns = bare.strip_prefix("*.").unwrap_or(bare);
        if rustls_pki_types::ServerName::try_from(dns).is_err() {
            return Err(Error::new(format!("'{name}' is not a valid DNS name or IP address for a server certificate")));
        }
        san(name)?;
    }
    let agent_dir = dir.join("ca");
    let server_dir = dir.join("server");
    let traditional = opts.key_alg.traditional_format();
    let mut plan: Vec<(&Path, &'static str, &'static str, bool)> = vec![
        (agent_dir.as_path(), "ca.crt", "CA certificate (agent: trusts the backend)", false),
        (&agent_dir, "client.crt", "client certificate (agent)", false),
        (&agent_dir, "client.pem", "client key, PKCS#8 (agent)", true),
    ];
    if opts.traditional_client_key {
        plan.push(match traditional {
            KeyFormat::Pkcs1 => {
                (&agent_dir, "client.pkcs1.pem", "client key, RSA PKCS#1 (for agents that cannot read PKCS#8)", true)
            }
            _ => (&agent_dir, "client.sec1.pem", "client key, SEC1 EC (for agents that cannot read PKCS#8)", true),
        });
    }
    plan.extend([
        (server_dir.as_path(), "server.crt", "server certificate (backend)", false),
        (&server_dir, "server.key", "server key, PKCS#8 (backend)", true),
        (&server_dir, "ca.crt", "CA certificate (backend: verifies agents' client certificates)", false),
    ]);
    if !opts.overwrite {
        let existing: Vec<String> =
            plan.iter().map(|(d, n, _, _)| d.join(n)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
        if !existing.is_empty() {
            return Err(Error::new(format!(
                "refusing to overwrite existing files: {} (remove them or choose another folder; \
                 swtls certs --force replaces them)",
                existing.join(", ")
            )));
        }
    }

    let now = SystemTime::now();
    let leaf_end = now + DAY * opts.days;
    let ca_end = (now + 3650 * DAY).max(leaf_end + DAY);
    let ca = Ca::with_options(
        &CertOptions::new(format!("swtls CA {}", hex(&random_serial()?[..6])))
            .validity(now - DAY, ca_end)
            .key_alg(opts.key_alg),
    )?;
    let names: Vec<&str> = opts.server_names.iter().map(String::as_str).collect();
    let leaf_start = now - Duration::from_secs(3600);
    let server =
        ca.issue_server(&CertOptions::new(names[0]).sans(&names).validity(leaf_start, leaf_end).key_alg(opts.key_alg))?;
    let client = ca.issue_client(
        &CertOptions::new(opts.client_name.clone()).validity(leaf_start, leaf_end).key_alg(opts.key_alg),
    )?;

    let mut files = Vec::new();
    for (dir, name, what, secret) in plan {
        let path = dir.join(name);
        match name {
            "ca.crt" => ca.write_cert(&path)?,
            "client.crt" => client.write_chain(&path)?,
            "client.pem" => client.key.write_pem(&path, KeyFormat::Pkcs8)?,
            "client.pkcs1.pem" | "client.sec1.pem" => client.key.write_pem(&path, traditional)?,
            "server.crt" => server.write_chain(&path)?,
            _ => server.key.write_pem(&path, KeyFormat::Pkcs8)?,
        }
        files.push(WrittenFile { path, what, secret });
    }
    Ok(Deployment { dir: dir.to_path_buf(), agent_dir, server_dir, files, ca, server, client })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
