"""Test certificates, never committed: made with the `cryptography` package (a private CA,
a server certificate for localhost and 127.0.0.1, and a client certificate), and the
SkyWalking script's v1 certificates made with its openssl commands (ScriptCertSet)."""

import datetime
import ipaddress
import subprocess
from pathlib import Path
from typing import List

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class CertSet:
    """A private CA with a server certificate (localhost, 127.0.0.1) and a client
    certificate, written to ``dir``: ca.crt, server.crt, server.key, client.crt, client.pem."""

    def __init__(self, dir: Path, ca_name: str = "swtls python test CA") -> None:
        dir.mkdir(parents=True, exist_ok=True)
        self.dir = dir
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=365)
        ca_key = _key()
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name(ca_name))
            .issuer_name(_name(ca_name))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )

        def leaf(cn: str, usage: x509.ObjectIdentifier, sans: List[x509.GeneralName]):
            key = _key()
            builder = (
                x509.CertificateBuilder()
                .subject_name(_name(cn))
                .issuer_name(ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start)
                .not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            )
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            return key, builder.sign(ca_key, hashes.SHA256())

        server_key, server = leaf(
            "localhost",
            ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        )
        client_key, client = leaf("swtls-python-agent", ExtendedKeyUsageOID.CLIENT_AUTH, [])
        self.ca_cert = dir / "ca.crt"
        self.server_cert = dir / "server.crt"
        self.server_key = dir / "server.key"
        self.client_cert = dir / "client.crt"
        self.client_key = dir / "client.pem"
        _write_cert(self.ca_cert, ca)
        _write_cert(self.server_cert, server)
        _write_key(self.server_key, server_key)
        _write_cert(self.client_cert, client)
        _write_key(self.client_key, client_key)

    def agent_dir(self, path: Path, files: List[str]) -> Path:
        """A ca folder for the agent holding the named files of this set."""
        path.mkdir(parents=True, exist_ok=True)
        for f in files:
            (path / f).write_bytes((self.dir / f).read_bytes())
            (path / f).chmod(0o600)
        return path


def _openssl(dir: Path, *args: str) -> None:
    r = subprocess.run(["openssl", *args], cwd=dir, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr}")


class ScriptCertSet:
    """The certificates SkyWalking's documented key-generation script makes, with its openssl
    commands (as tests/legacy_certs.rs does): a CA with CN=localhost, and X.509 v1 leaves
    without extensions (``openssl x509 -req`` with no extension file), the name only in the
    subject CN: the server's CN=localhost, the client's ``client_cn``. Keys are converted
    to PKCS#8 for the agent, as the script does. Files in ``dir``: ca.crt, ca.key,
    server.crt, server.key, server.pem, client.crt, client.key, client.pem."""

    def __init__(self, dir: Path, client_cn: str = "skywalking-agent") -> None:
        dir.mkdir(parents=True, exist_ok=True)
        self.dir = dir
        _openssl(dir, "genrsa", "-out", "ca.key", "2048")
        _openssl(dir, "req", "-new", "-x509", "-days", "365", "-key", "ca.key", "-out", "ca.crt",
                 "-subj", "/CN=localhost")
        for name, cn in (("server", "localhost"), ("client", client_cn)):
            _openssl(dir, "genrsa", "-out", f"{name}.key", "2048")
            _openssl(dir, "req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
            _openssl(dir, "x509", "-req", "-days", "365", "-in", f"{name}.csr", "-CA", "ca.crt",
                     "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.crt")
            _openssl(dir, "pkcs8", "-topk8", "-nocrypt", "-in", f"{name}.key", "-out", f"{name}.pem")
        self.ca_cert = dir / "ca.crt"
        self.server_cert = dir / "server.crt"
        self.server_key = dir / "server.pem"
        self.client_cert = dir / "client.crt"
        self.client_key = dir / "client.pem"

    def version(self, name: str) -> str:
        """The ``Version:`` line openssl prints for a certificate of the set."""
        out = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(self.dir / name)],
                             capture_output=True, text=True, check=True).stdout
        return next((line.strip() for line in out.splitlines() if line.strip().startswith("Version:")), "")

    def agent_dir(self, path: Path) -> Path:
        """An agent ca folder: ca.crt, client.crt and client.pem of this set."""
        path.mkdir(parents=True, exist_ok=True)
        for f in ("ca.crt", "client.crt", "client.pem"):
            (path / f).write_bytes((self.dir / f).read_bytes())
            (path / f).chmod(0o600)
        return path
