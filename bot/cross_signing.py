"""The bot's own cross-signing identity, so that Element counts its device as « signed by its owner ».

Without it Element marks every message of the bot « Encrypted by a device not verified by its
owner », and a member who excludes insecure devices (MSC4153) no longer gives the bot the keys of
their messages, nor reads its answers. matrix-nio has no cross-signing: the master and
self-signing keys are Ed25519 seeds kept in data_dir (KEYS_FILE, owner-only), and the self-signing
key signs each device the bot logs in as, so a new device after a revoked session keeps the
identity members already know. The seeds never reach a log.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from Crypto.Signature import eddsa
from nio import AsyncClient
from nio.api import Api

log = logging.getLogger(__name__)

KEYS_FILE = "cross_signing.json"
API = "/_matrix/client/v3"


class CrossSigningError(Exception):
    """The homeserver refused a step; worded (in French) for the person running the bot."""


def unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def from_unpadded_b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signable_bytes(obj: dict) -> bytes:
    """What a Matrix signature covers: the canonical JSON of the object without its signatures."""
    return Api.to_canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}).encode()


@dataclass(frozen=True)
class SigningKey:
    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32))

    @property
    def public(self) -> str:
        return unpadded_b64(eddsa.import_private_key(self.seed).public_key().export_key(format="raw"))

    @property
    def key_id(self) -> str:
        return f"ed25519:{self.public}"

    def sign(self, user_id: str, obj: dict) -> dict:
        """A copy of obj with this key's signature added beside those it already has."""
        signature = eddsa.new(eddsa.import_private_key(self.seed), "rfc8032").sign(signable_bytes(obj))
        signatures = {user: dict(keys) for user, keys in obj.get("signatures", {}).items()}
        signatures.setdefault(user_id, {})[self.key_id] = unpadded_b64(signature)
        return {**{k: v for k, v in obj.items() if k != "unsigned"}, "signatures": signatures}

    def __repr__(self) -> str:
        # A dataclass would print the seed: keep it out of any log or traceback.
        return f"SigningKey({self.key_id})"


@dataclass(frozen=True)
class Identity:
    """The bot account's master key and the self-signing key it certifies."""

    master: SigningKey
    self_signing: SigningKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(SigningKey.generate(), SigningKey.generate())

    def public_keys(self, user_id: str) -> dict:
        """The body of /keys/device_signing/upload: both public keys, the self-signing one certified by the master."""
        master = {"user_id": user_id, "usage": ["master"], "keys": {self.master.key_id: self.master.public}}
        self_signing = {
            "user_id": user_id,
            "usage": ["self_signing"],
            "keys": {self.self_signing.key_id: self.self_signing.public},
        }
        return {"master_key": master, "self_signing_key": self.master.sign(user_id, self_signing)}


def load_identity(data_dir: Path) -> Identity | None:
    path = data_dir / KEYS_FILE
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
        return Identity(
            SigningKey(from_unpadded_b64(stored["master_seed"])),
            SigningKey(from_unpadded_b64(stored["self_signing_seed"])),
        )
    except (ValueError, KeyError, TypeError):
        raise CrossSigningError(f"Le fichier {path} est illisible : remettez-le depuis une sauvegarde.") from None


def save_identity(path: Path, identity: Identity) -> None:
    """Written whole or not at all, readable by the bot's user only: these seeds are the bot's identity."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {
                "master_seed": unpadded_b64(identity.master.seed),
                "self_signing_seed": unpadded_b64(identity.self_signing.seed),
            },
            handle,
        )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _only_key(published: dict | None) -> str | None:
    """The public key of a cross-signing key object as /keys/query returns it."""
    if not published:
        return None
    return next(iter(published.get("keys", {}).values()), None)


class State(Enum):
    SIGNED = "signed"  # the device is signed by the identity kept in data_dir
    UNSIGNED = "unsigned"  # the identity is ours but this device is not signed yet
    NO_IDENTITY = "no_identity"  # the account has no cross-signing identity yet
    KEYS_LOST = "keys_lost"  # the account's identity is not the one kept in data_dir


@dataclass(frozen=True)
class Status:
    user_id: str
    device_id: str
    server_master: str | None
    server_self_signing: str | None
    local_master: str | None
    local_self_signing: str | None
    device_signed: bool

    @property
    def state(self) -> State:
        if self.server_master is None:
            return State.NO_IDENTITY
        if (self.local_master, self.local_self_signing) != (self.server_master, self.server_self_signing):
            return State.KEYS_LOST
        return State.SIGNED if self.device_signed else State.UNSIGNED


KEYS_LOST_ADVICE = (
    "The account's cross-signing identity (master key {server}) is not the one kept in {path}: restore that file "
    "from a backup and restart, or run `manufacture-bot crypto reset` to make a new identity (members who "
    "verified the bot will see that its identity changed). Until then the bot's device stays unsigned."
)


# Homeservers whose logins moved to OIDC (MAS; Tchap is moving there) ask for an approval given in
# the account's management page instead of a password (MSC4312's m.oauth, formerly this unstable name).
APPROVAL_STAGES = ("m.oauth", "org.matrix.cross_signing_reset")


def approval_advice(challenge: dict, flows: list[list[str]], what: str) -> str:
    """How the operator does by hand, once, what the bot cannot: for an OIDC homeserver, approve the
    reset in the account's management page, then start the bot again within the minutes allowed."""
    stage = next((s for flow in flows for s in flow if s in APPROVAL_STAGES), None)
    if stage is not None:
        url = (challenge.get("params", {}).get(stage) or {}).get("url")
        where = f"sur {url}" if url else "dans la page de gestion du compte du bot (chez son fournisseur d'identité)"
        return (
            f"Le serveur demande une approbation pour {what} : connectez-vous une fois en tant que le bot {where}, "
            "autorisez la réinitialisation de son identité cryptographique (« reset cross-signing »), puis, dans "
            "les minutes qui suivent, redémarrez le bot (ou lancez `manufacture-bot crypto reset`)."
        )
    return (
        f"Le serveur demande, pour {what}, une authentification que le bot ne sait pas faire "
        f"({', '.join('/'.join(f) for f in flows) or 'aucune'}) : il faudrait l'approuver depuis la gestion du "
        "compte du bot, puis redémarrer le bot."
    )


class CrossSigning:
    """Cross-signing for the account the client is logged in as (user id, device id, access token set)."""

    def __init__(self, client: AsyncClient, data_dir: Path, password: str = "") -> None:
        self.client, self.data_dir, self.password = client, data_dir, password

    @property
    def keys_path(self) -> Path:
        return self.data_dir / KEYS_FILE

    async def ensure(self) -> Status:
        """At start, after the device keys are uploaded: create the identity if the account has none,
        sign this device if it is not yet. A lost identity is never replaced here: only reset() does."""
        identity = load_identity(self.data_dir)
        status = await self.status(identity)
        if status.state is State.NO_IDENTITY:
            if identity is None:
                identity = Identity.generate()
                # Kept before it is published: an identity on the server whose seeds we lost cannot sign.
                save_identity(self.keys_path, identity)
            await self._publish(identity, replacing=False)
            log.info("Cross-signing identity created for %s (master key %s)", status.user_id, identity.master.public)
            status = await self.status(identity)
        if status.state is State.KEYS_LOST:
            log.warning(KEYS_LOST_ADVICE.format(server=status.server_master, path=self.keys_path))
            return status
        if status.state is State.UNSIGNED:
            assert identity is not None  # UNSIGNED: the account's identity is the one kept here
            await self._sign_device(identity)
            log.info("Device %s signed with the cross-signing identity", status.device_id)
            status = await self.status(identity)
        return status

    async def reset(self) -> Status:
        """A new identity replacing the account's current one (the homeserver asks for the password)."""
        identity = Identity.generate()
        # Until the homeserver takes the new keys, the stored ones stay the identity's.
        pending = self.keys_path.with_name(KEYS_FILE + ".new")
        save_identity(pending, identity)
        try:
            await self._publish(identity, replacing=True)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        os.replace(pending, self.keys_path)
        log.info("Cross-signing identity replaced for %s (master key %s)", self.client.user_id, identity.master.public)
        await self._sign_device(identity)
        return await self.status(identity)

    async def status(self, identity: Identity | None = None) -> Status:
        identity = identity or load_identity(self.data_dir)
        user_id, device_id = self.client.user_id, self.client.device_id
        assert device_id is not None, "cross-signing needs a logged-in client"
        answer = await self._post("keys/query", {"device_keys": {user_id: [device_id]}})
        server_self_signing = _only_key(answer.get("self_signing_keys", {}).get(user_id))
        device = answer.get("device_keys", {}).get(user_id, {}).get(device_id) or {}
        signed_with = set(device.get("signatures", {}).get(user_id, {}))
        return Status(
            user_id=user_id,
            device_id=device_id,
            server_master=_only_key(answer.get("master_keys", {}).get(user_id)),
            server_self_signing=server_self_signing,
            local_master=identity.master.public if identity else None,
            local_self_signing=identity.self_signing.public if identity else None,
            device_signed=bool(server_self_signing) and f"ed25519:{server_self_signing}" in signed_with,
        )

    async def _publish(self, identity: Identity, *, replacing: bool) -> None:
        body = identity.public_keys(self.client.user_id)
        status, answer = await self._call("keys/device_signing/upload", body)
        if status == 401 and "flows" in answer:
            status, answer = await self._call(
                "keys/device_signing/upload", {**body, "auth": self._password_auth(answer, replacing)}
            )
        if status != 200:
            raise CrossSigningError(
                f"Le serveur refuse les clés de signature croisée : {status} "
                f"{answer.get('errcode', '')} {answer.get('error', '')}".rstrip()
            )

    def _password_auth(self, challenge: dict, replacing: bool) -> dict:
        flows = [flow.get("stages", []) for flow in challenge.get("flows", [])]
        what = "remplacer l'identité du bot" if replacing else "publier l'identité du bot"
        if ["m.login.password"] not in flows:
            raise CrossSigningError(approval_advice(challenge, flows, what))
        if not self.password:
            raise CrossSigningError(
                f"Le serveur demande le mot de passe du bot pour {what} : donnez-le une fois, le temps d'un "
                "démarrage (ou de `manufacture-bot crypto reset`), par la variable MANUFACTURE_PASSWORD, puis "
                "retirez-la : le bot ne le garde nulle part."
            )
        return {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.client.user_id},
            "password": self.password,
            "session": challenge.get("session"),
        }

    async def _sign_device(self, identity: Identity) -> None:
        user_id, device_id = self.client.user_id, self.client.device_id
        answer = await self._post("keys/query", {"device_keys": {user_id: [device_id]}})
        # Exactly what the homeserver holds: a signature over anything else is refused.
        device = answer.get("device_keys", {}).get(user_id, {}).get(device_id)
        if device is None:
            raise CrossSigningError(
                f"Les clés de l'appareil {device_id} ne sont pas encore sur le serveur : impossible de le signer."
            )
        signed = identity.self_signing.sign(user_id, device)
        answer = await self._post("keys/signatures/upload", {user_id: {device_id: signed}})
        # Refusals come back as 200 with a failures entry.
        failure = answer.get("failures", {}).get(user_id, {}).get(device_id)
        if failure:
            raise CrossSigningError(
                f"Le serveur refuse la signature de l'appareil {device_id} : "
                f"{failure.get('errcode', '')} {failure.get('error', '')}".rstrip()
            )

    async def _post(self, path: str, body: dict) -> dict:
        status, answer = await self._call(path, body)
        if status != 200:
            raise CrossSigningError(
                f"Le serveur a répondu {status} à {path} : "
                f"{answer.get('errcode', '')} {answer.get('error', '')}".rstrip()
            )
        return answer

    async def _call(self, path: str, body: dict) -> tuple[int, dict]:
        response = await self.client.send(
            "POST",
            f"{API}/{path}",
            json.dumps(body),
            headers={"Authorization": f"Bearer {self.client.access_token}", "Content-Type": "application/json"},
        )
        try:
            answer = await response.json(content_type=None)
        except ValueError:  # not JSON: a proxy's error page, say; the status tells what happened
            answer = {}
        finally:
            response.release()
        return response.status, answer if isinstance(answer, dict) else {}


VERDICTS = {
    State.SIGNED: "Tout va bien : l'appareil du bot est signé par son identité ; Element n'affiche aucun "
    "avertissement sur ses messages.",
    State.UNSIGNED: "L'appareil n'est pas encore signé : le bot le signe à son prochain démarrage.",
    State.NO_IDENTITY: "Le compte n'a pas encore d'identité de signature croisée : le bot la crée à son prochain "
    "démarrage.",
    State.KEYS_LOST: "L'identité du compte n'est pas celle gardée dans {path} (clés perdues ?). Restaurez ce "
    "fichier depuis une sauvegarde puis redémarrez le bot, ou créez une nouvelle identité avec "
    "`manufacture-bot crypto reset` : les membres qui avaient vérifié le bot verront alors que son "
    "identité a changé.",
}


def describe(status: Status, keys_path: Path) -> str:
    """What `manufacture-bot crypto status` prints, for the person running the bot."""
    return "\n".join(
        [
            f"Compte : {status.user_id} (appareil {status.device_id})",
            f"  identité sur le serveur (clé maîtresse) : {status.server_master or 'aucune'}",
            f"  identité gardée dans {keys_path} : {status.local_master or 'aucune'}",
            f"  appareil signé par l'identité : {'oui' if status.device_signed else 'non'}",
            VERDICTS[status.state].format(path=keys_path),
        ]
    )
