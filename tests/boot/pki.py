"""A throwaway test CA for the rehearsal (trusted in the VM through vendor-data) and the server
certificates of the fake endpoints that the VM reaches by their real host names."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@dataclass(frozen=True)
class TestCA:
    cert: Path
    key: Path

    @classmethod
    def create(cls, folder: Path) -> TestCA:
        key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opencode-alicloud rehearsal CA (test only)")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        ca = cls(folder / "ca.pem", folder / "ca.key")
        ca.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        ca.key.write_bytes(_pem_key(key))
        return ca

    def issue(self, hosts: list[str], stem: Path) -> tuple[Path, Path]:
        """A server certificate for `hosts`: (cert, key) next to `stem`."""
        ca_key = serialization.load_pem_private_key(self.key.read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
                .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                # Python 3.13 verifies strictly (VERIFY_X509_STRICT): key identifiers are required.
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
        cert_path, key_path = stem.with_suffix(".pem"), stem.with_suffix(".key")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        return cert_path, key_path
