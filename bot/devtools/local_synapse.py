"""A throwaway Synapse homeserver on 127.0.0.1, for the demo, the tests and the benchmarks.

Synapse comes from the `demo` extra. Its config is written as JSON (valid YAML), with
every rate limit lifted unless asked otherwise, so tests measure the bot and not the limiter.
Its folder is owner-only (folders 0700, files 0600) whatever the umask: it holds the registration
secret (an admin account for whoever reads it), the signing key and every account's data.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import ipaddress
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.files import write_owner_only

SERVER_NAME = "localhost"

_LIFTED = {"per_second": 10000, "burst_count": 100000}


def _lifted_rate_limits() -> dict:
    return {
        "rc_message": _LIFTED,
        "rc_registration": _LIFTED,
        "rc_login": {"address": _LIFTED, "account": _LIFTED, "failed_attempts": _LIFTED},
        "rc_joins": {"local": _LIFTED, "remote": _LIFTED},
        "rc_joins_per_room": _LIFTED,
        "rc_invites": {"per_room": _LIFTED, "per_user": _LIFTED, "per_issuer": _LIFTED},
        "rc_room_creation": _LIFTED,
        "rc_key_requests": _LIFTED,
        "rc_3pid_validation": _LIFTED,
        "rc_admin_redaction": _LIFTED,
        "rc_media_create": _LIFTED,
        "rc_reports": _LIFTED,
        "rc_presence": {"per_user": _LIFTED},
        "rc_delayed_event_mgmt": _LIFTED,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Where a server named after an IP (no port) is reached by its peers: no DNS, no .well-known.
FEDERATION_PORT = 8448


def free_loopback_address() -> str:
    """An address of 127.0.0.0/8 whose federation port is free: each server of a federation on loopback is
    named after its own, and parallel test sessions on one machine each pick theirs."""
    for _ in range(200):
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        with socket.socket() as sock:
            try:
                sock.bind((address, FEDERATION_PORT))
            except OSError:
                continue
        return address
    raise RuntimeError(f"no loopback address with port {FEDERATION_PORT} free")


@dataclass(frozen=True)
class Federation:
    """A server's place in a federation on loopback: `address` is both its name and where its federation
    listener is; it federates with `peers` (their addresses) and nobody else."""

    address: str
    peers: tuple[str, ...]


def _self_signed_certificate(directory: Path, address: str) -> tuple[Path, Path]:
    """Peers do not verify it (`federation_verify_certificates: false`), but the listener needs one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "federation.crt", directory / "federation.key"
    write_owner_only(certificate_path, certificate.public_bytes(serialization.Encoding.PEM).decode())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    write_owner_only(key_path, key_pem.decode())
    return certificate_path, key_path


def _federation_config(directory: Path, federation: Federation) -> dict:
    certificate_path, key_path = _self_signed_certificate(directory, federation.address)
    # Synapse's own default list, read from the installed Synapse (so its additions stay), less loopback:
    # a server named after an IP is checked against the block-list only, the allow-list does not help it.
    blocked = importlib.import_module("synapse.config.server").DEFAULT_IP_RANGE_BLOCKLIST
    return {
        "listener": {
            "port": FEDERATION_PORT,
            "bind_addresses": [federation.address],
            "type": "http",
            "tls": True,
            "x_forwarded": False,
            "resources": [{"names": ["federation"], "compress": False}],
        },
        "settings": {
            "tls_certificate_path": str(certificate_path),
            "tls_private_key_path": str(key_path),
            "federation_verify_certificates": False,
            # An empty list would block all federation.
            "federation_domain_whitelist": [federation.address, *federation.peers],
            "ip_range_blacklist": [r for r in blocked if r not in ("127.0.0.0/8", "::1/128")],
            "ip_range_whitelist": ["127.0.0.0/8"],
        },
    }


def start_federating_pair(directory: Path) -> tuple[LocalSynapse, LocalSynapse]:
    """Two Synapses federating with each other (and nobody else) on loopback, started; stop both."""
    first, second = free_loopback_address(), free_loopback_address()
    while second == first:
        second = free_loopback_address()
    home = LocalSynapse(directory / first, federation=Federation(first, (second,))).start()
    try:
        return home, LocalSynapse(directory / second, federation=Federation(second, (first,))).start()
    except BaseException:
        home.stop()
        raise


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


class LocalSynapse:
    """Start with start(), stop with stop(); nothing happens in the constructor."""

    def __init__(
        self,
        directory: Path,
        *,
        lift_rate_limits: bool = True,
        port: int | None = None,
        federation: Federation | None = None,
    ) -> None:
        # Absolute: Synapse runs with its own folder as working directory.
        self.directory = Path(directory).absolute()
        self.lift_rate_limits = lift_rate_limits
        self.port = port
        # None: a server alone, named `localhost`, with no federation listener.
        self.federation = federation
        self.process: subprocess.Popen | None = None
        self.shared_secret = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_name(self) -> str:
        return self.federation.address if self.federation else SERVER_NAME

    def write_config(self) -> Path:
        from signedjson.key import generate_signing_key, write_signing_keys

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.port = self.port or free_port()
        secret_file = self.directory / "registration_secret"
        if not secret_file.exists():
            write_owner_only(secret_file, secrets.token_hex(24))
        self.shared_secret = secret_file.read_text().strip()
        key_path = self.directory / "signing.key"
        if not key_path.exists():
            with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                write_signing_keys(handle, [generate_signing_key("a_demo")])
        federating = _federation_config(self.directory, self.federation) if self.federation else None
        config = {
            "server_name": self.server_name,
            "pid_file": str(self.directory / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                },
                *([federating["listener"]] if federating else []),
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.directory / "homeserver.db")}},
            "media_store_path": str(self.directory / "media"),
            "signing_key_path": str(key_path),
            "report_stats": False,
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "bcrypt_rounds": 4,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "user_directory": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            # Without this a restarted client without a sync token is served a cached /sync.
            "caches": {"sync_response_cache_duration": 0},
            **(_lifted_rate_limits() if self.lift_rate_limits else {}),
            **(federating["settings"] if federating else {}),
        }
        path = self.directory / "homeserver.yaml"
        write_owner_only(path, json.dumps(config, indent=1))  # it holds the registration secret
        return path

    def start(self, timeout: float = 60.0) -> LocalSynapse:
        config_path = self.write_config()
        log = os.fdopen(os.open(self.directory / "synapse.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        env = {**os.environ, "SYNAPSE_NO_TLS": "1"}
        # umask: what Synapse creates as it runs (its database and journal, the media store, the
        # pid file) is born owner-only too.
        with log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(config_path)],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                umask=0o077,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Synapse exited with {self.process.returncode}; see {self.directory / 'synapse.log'}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def register(self, localpart: str, password: str | None = None, admin: bool = False) -> RegisteredUser:
        """Create a user through the shared-secret admin API (registration is closed otherwise)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        # The MAC covers the fields separated by NULs, without a trailing one.
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update("\x00".join([nonce, localpart, password, "admin" if admin else "notadmin"]).encode())
        digest = mac.hexdigest()
        answer = self._request(
            "POST",
            "/_synapse/admin/v1/register",
            {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": digest},
        )
        return RegisteredUser(answer["user_id"], password, answer["access_token"], answer["device_id"])
