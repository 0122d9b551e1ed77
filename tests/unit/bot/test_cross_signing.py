"""The bot's cross-signing identity, against a homeserver that checks what Synapse checks."""

import json
import logging
import stat

import pytest
from Crypto.Signature import eddsa

from bot.cross_signing import (
    KEYS_FILE,
    CrossSigning,
    CrossSigningError,
    Identity,
    SigningKey,
    State,
    describe,
    from_unpadded_b64,
    load_identity,
    save_identity,
    signable_bytes,
    unpadded_b64,
)

USER = "@bot:example.org"
PASSWORD = "secret-password"


def verify(public: str, obj: dict, signature: str) -> None:
    key = eddsa.import_public_key(from_unpadded_b64(public))
    eddsa.new(key, "rfc8032").verify(signable_bytes(obj), from_unpadded_b64(signature))


class Response:
    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body = status, body

    async def json(self, content_type=None) -> dict:
        return self.body

    def release(self) -> None:
        pass


class Homeserver:
    """The cross-signing endpoints as Synapse answers them: a first upload needs no authentication,
    a replacement needs the password, a signature over anything but the stored device is refused
    (with a 200), and every signature is verified."""

    def __init__(self) -> None:
        self.devices: dict[str, dict] = {}
        self.master: dict | None = None
        self.self_signing: dict | None = None
        self.calls: list[str] = []
        self.uia_session = "uia-1"
        # What a replacement asks for: the password on Synapse's own logins.
        self.uia_flows: list[dict] = [{"stages": ["m.login.password"]}]
        self.uia_params: dict = {}

    def add_device(self, device_id: str) -> None:
        self.devices[device_id] = {
            "user_id": USER,
            "device_id": device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {
                f"curve25519:{device_id}": unpadded_b64(b"c" * 32),
                f"ed25519:{device_id}": unpadded_b64(b"e" * 32),
            },
            "signatures": {USER: {f"ed25519:{device_id}": "self-signature"}},
        }

    def public(self, key: dict) -> str:
        return next(iter(key["keys"].values()))

    def handle(self, path: str, body: dict) -> Response:
        endpoint = path.removeprefix("/_matrix/client/v3/")
        self.calls.append(endpoint)
        if endpoint == "keys/query":
            wanted = body["device_keys"][USER]
            answer: dict[str, object] = {
                "device_keys": {USER: {d: k for d, k in self.devices.items() if not wanted or d in wanted}}
            }
            if self.master:
                answer["master_keys"] = {USER: self.master}
                answer["self_signing_keys"] = {USER: self.self_signing}
            return Response(200, answer)
        if endpoint == "keys/device_signing/upload":
            return self.device_signing(body)
        if endpoint == "keys/signatures/upload":
            return self.signatures(body)
        raise AssertionError(f"unexpected call {path}")

    def device_signing(self, body: dict) -> Response:
        master, self_signing = body["master_key"], body["self_signing_key"]
        replacing = self.master is not None and (master, self_signing) != (self.master, self.self_signing)
        if replacing:
            auth = body.get("auth")
            if auth != {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": USER},
                "password": PASSWORD,
                "session": self.uia_session,
            }:
                return Response(401, {"session": self.uia_session, "flows": self.uia_flows, "params": self.uia_params})
        assert master["usage"] == ["master"] and self_signing["usage"] == ["self_signing"]
        verify(self.public(master), self_signing, self_signing["signatures"][USER][f"ed25519:{self.public(master)}"])
        self.master, self.self_signing = master, self_signing
        return Response(200, {})

    def signatures(self, body: dict) -> Response:
        assert self.self_signing is not None, "a device signed before any self-signing key was uploaded"
        failures = {}
        for device_id, signed in body[USER].items():
            stored = self.devices[device_id]
            ssk = self.public(self.self_signing)
            if signable_bytes(signed) != signable_bytes(stored):
                failures[device_id] = {"errcode": "M_INVALID_SIGNATURE", "error": "Key does not match"}
                continue
            verify(ssk, stored, signed["signatures"][USER][f"ed25519:{ssk}"])
            stored["signatures"][USER][f"ed25519:{ssk}"] = signed["signatures"][USER][f"ed25519:{ssk}"]
        return Response(200, {"failures": {USER: failures}} if failures else {})

    def device_signed(self, device_id: str) -> bool:
        if self.self_signing is None:
            return False
        ssk = self.public(self.self_signing)
        signature = self.devices[device_id]["signatures"][USER].get(f"ed25519:{ssk}")
        if signature is None:
            return False
        verify(ssk, self.devices[device_id], signature)
        return True


class Client:
    """What CrossSigning uses of nio's AsyncClient."""

    def __init__(self, server: Homeserver, device_id: str) -> None:
        self.server, self.user_id, self.device_id, self.access_token = server, USER, device_id, "token"

    async def send(self, method, path, data=None, headers=None):
        assert method == "POST" and headers["Authorization"] == "Bearer token"
        return self.server.handle(path, json.loads(data))


@pytest.fixture
def server():
    homeserver = Homeserver()
    homeserver.add_device("DEVICE1")
    return homeserver


def test_signatures_match_the_specs_signing_json_examples():
    # The appendix « Signing JSON » of the Matrix specification: its key, and its two signed objects.
    key = SigningKey(from_unpadded_b64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"))
    assert key.public == "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"
    assert key.sign("domain", {})["signatures"]["domain"][key.key_id] == (
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
    )
    signed = key.sign("domain", {"two": "Two", "one": 1, "unsigned": {"age": 3}, "signatures": {"other": {"k": "s"}}})
    assert signed["signatures"] == {
        "other": {"k": "s"},
        "domain": {
            key.key_id: ("KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw")
        },
    }
    assert "unsigned" not in signed


async def test_first_start_creates_the_identity_and_signs_the_device(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    status = await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    assert status.state is State.SIGNED and status.device_signed
    assert server.device_signed("DEVICE1")
    identity = load_identity(tmp_path)
    assert status.server_master == identity.master.public == server.public(server.master)
    assert stat.S_IMODE((tmp_path / KEYS_FILE).stat().st_mode) == 0o600
    # The first upload went through without a password, and no seed reached a log line.
    assert "keys/device_signing/upload" in server.calls
    for seed in (identity.master.seed, identity.self_signing.seed):
        assert unpadded_b64(seed) not in caplog.text
    assert unpadded_b64(identity.master.seed) not in repr(identity)


async def test_a_restart_on_the_same_device_changes_nothing(server, tmp_path):
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    master = server.master
    server.calls.clear()
    status = await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    assert status.state is State.SIGNED
    assert server.calls == ["keys/query"] and server.master == master


async def test_a_new_device_after_a_revoked_session_keeps_the_identity(server, tmp_path):
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    master = server.master
    server.add_device("DEVICE2")
    server.calls.clear()
    status = await CrossSigning(Client(server, "DEVICE2"), tmp_path).ensure()
    assert status.state is State.SIGNED
    assert server.master == master and server.device_signed("DEVICE2")
    assert "keys/device_signing/upload" not in server.calls


async def test_lost_keys_are_not_replaced_at_start_and_the_log_says_what_to_do(server, tmp_path, caplog):
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    master = server.master
    (tmp_path / KEYS_FILE).unlink()
    server.add_device("DEVICE2")
    status = await CrossSigning(Client(server, "DEVICE2"), tmp_path).ensure()
    assert status.state is State.KEYS_LOST and not status.device_signed
    assert server.master == master and not (tmp_path / KEYS_FILE).exists()
    assert "manufacture-bot crypto reset" in caplog.text and KEYS_FILE in caplog.text
    assert "crypto reset" in describe(status, tmp_path / KEYS_FILE)


async def test_reset_makes_a_new_identity_with_the_password(server, tmp_path):
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    old = load_identity(tmp_path)
    status = await CrossSigning(Client(server, "DEVICE1"), tmp_path, PASSWORD).reset()
    new = load_identity(tmp_path)
    assert status.state is State.SIGNED
    assert new.master.public != old.master.public and status.server_master == new.master.public
    assert server.public(server.master) == new.master.public and server.device_signed("DEVICE1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEYS_FILE]


async def test_reset_without_the_password_keeps_the_identity_as_it_was(server, tmp_path):
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    before = (tmp_path / KEYS_FILE).read_text()
    master = server.master
    with pytest.raises(CrossSigningError, match="MANUFACTURE_PASSWORD"):
        await CrossSigning(Client(server, "DEVICE1"), tmp_path).reset()
    assert server.master == master and (tmp_path / KEYS_FILE).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEYS_FILE]


async def test_an_oidc_homeserver_asking_for_an_approval_gets_the_steps_by_hand(server, tmp_path):
    """MAS-backed homeservers (Tchap is moving to OIDC) never take a password: the operator approves
    the reset once in the account's page, then starts the bot again; the error says so in French."""
    await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    master = server.master
    server.uia_flows = [{"stages": ["m.oauth"]}]
    server.uia_params = {"m.oauth": {"url": "https://compte.example.org/reset-cross-signing"}}
    with pytest.raises(CrossSigningError) as caught:
        await CrossSigning(Client(server, "DEVICE1"), tmp_path, PASSWORD).reset()
    assert "https://compte.example.org/reset-cross-signing" in str(caught.value)
    assert "redémarrez le bot" in str(caught.value) and "crypto reset" in str(caught.value)
    assert server.master == master


async def test_a_refused_signature_is_an_error_although_the_answer_is_200(server, tmp_path):
    client = Client(server, "DEVICE1")
    await CrossSigning(client, tmp_path).ensure()
    server.add_device("DEVICE2")
    stored_device = server.devices["DEVICE2"]
    # The device the bot signs is not the one the server holds (its keys changed in between).
    handle = server.handle

    def tampered(path, body):
        answer = handle(path, body)
        if path.endswith("keys/query") and "DEVICE2" in answer.body["device_keys"][USER]:
            answer.body["device_keys"][USER]["DEVICE2"] = {**stored_device, "algorithms": ["other"]}
        return answer

    server.handle = tampered
    with pytest.raises(CrossSigningError, match="Key does not match"):
        await CrossSigning(Client(server, "DEVICE2"), tmp_path).ensure()


async def test_an_identity_kept_but_never_published_is_published_as_it_is(server, tmp_path):
    identity = Identity.generate()
    save_identity(tmp_path / KEYS_FILE, identity)
    status = await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    assert status.state is State.SIGNED and server.public(server.master) == identity.master.public


async def test_a_damaged_keys_file_is_an_error_that_names_it(server, tmp_path):
    short = unpadded_b64(b"x" * 16)
    (tmp_path / KEYS_FILE).write_text(json.dumps({"master_seed": short, "self_signing_seed": short}))
    with pytest.raises(CrossSigningError, match=KEYS_FILE):
        await CrossSigning(Client(server, "DEVICE1"), tmp_path).ensure()
    assert server.master is None
