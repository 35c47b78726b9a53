"""The Temporal connection from Temporal's environment configuration: Temporal Cloud with an
API key, mTLS with client certificates, a profile in the config file, and the local
default. (No TLS server runs here, so the handshake itself is not exercised.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.service import TLSConfig

from infra.settings import connect_config


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed client certificate and its key, as a district's CA would issue them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "transfers-worker")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "client.pem", tmp_path / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


def test_nothing_set_is_the_local_dev_server(tmp_path: Path) -> None:
    config = connect_config({"TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml")})
    assert config["target_host"] == "localhost:7233"
    assert not config.get("tls") and not config.get("api_key")


def test_temporal_cloud_with_an_api_key_turns_tls_on(tmp_path: Path) -> None:
    config = connect_config({
        "TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml"),
        "TEMPORAL_ADDRESS": "paramount.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "paramount.a1b2c",
        "TEMPORAL_API_KEY": "an-api-key",
    })
    assert config["target_host"] == "paramount.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "paramount.a1b2c"
    assert config["api_key"] == "an-api-key"
    assert config["tls"] is True or isinstance(config["tls"], TLSConfig)


def test_mtls_reads_the_client_certificate_and_key(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    config = connect_config({
        "TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml"),
        "TEMPORAL_ADDRESS": "temporal.district.example:7233",
        "TEMPORAL_NAMESPACE": "transfers",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.district.example",
    })
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == cert.read_bytes()
    assert tls.client_private_key == key.read_bytes()
    assert tls.domain == "temporal.district.example"
    assert not config.get("api_key")


def test_a_profile_in_the_config_file_and_the_environment_over_it(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    (tmp_path / "temporal.toml").write_text(f"""
[profile.production]
address = "temporal.district.example:7233"
namespace = "transfers"

[profile.production.tls]
client_cert_path = "{cert}"
client_key_path = "{key}"
""")
    environ = {"TEMPORAL_CONFIG_FILE": str(tmp_path / "temporal.toml"),
               "TEMPORAL_PROFILE": "production"}
    config = connect_config(environ)
    assert config["target_host"] == "temporal.district.example:7233"
    assert config["namespace"] == "transfers"
    assert isinstance(config["tls"], TLSConfig)
    assert config["tls"].client_cert == cert.read_bytes()
    config = connect_config({**environ, "TEMPORAL_NAMESPACE": "transfers-staging"})
    assert config["namespace"] == "transfers-staging"


def test_a_missing_certificate_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing.pem"):
        connect_config({
            "TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml"),
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "missing.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "missing.key"),
        })
