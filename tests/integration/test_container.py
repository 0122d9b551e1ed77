"""deploy/Containerfile built with podman and run as the README says: `check-config`, then a start against the
test Synapse and an answer to a member, then `podman stop`.

No container registry is reachable from these machines, so `python:3.11-slim` cannot be pulled: the image is
built on a stand-in base made from Debian's own packages (bookworm's Python 3.11, with debootstrap) and given to
`podman build --from`. This proves the Containerfile's own steps, not the official base image. The base and
the image stay in podman's storage between runs: the base is made again only when its recipe changes, and
podman's layer cache rebuilds the dependencies' layer only when pyproject.toml or the Containerfile change, so
a warm run pays a few seconds of build (the package's own layer) and the start.

Where podman cannot run (not installed, not root), the test is skipped with the reason; `make setup-container`
installs what it needs on Debian. Deselect it with `-m "not container"`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from storage.database import DATABASE_FILE
from tests.integration.conftest import person, unique
from tests.integration.test_metrics_synapse import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/manufacture-bot:test"
# The Containerfile's user (useradd --uid): rootful podman maps it to the same uid on the host.
CONTAINER_UID = 10001

# The stand-in base: what python:3.11-slim gives the Containerfile (python, pip, CA certificates), from
# bookworm's packages. A change here names a new base, so a stale one is never reused.
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"
# Left out of the base as the slim image leaves them out: documentation, translations, apt's lists.
TRIMMED = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/lib/apt/lists", "var/cache/apt")
BASE_RECIPE = f"{DEBIAN_SUITE} {BASE_PACKAGES}; trimmed {TRIMMED}; pip unmanaged; python link"
BASE_IMAGE = f"localhost/manufacture-test-base:{hashlib.sha256(BASE_RECIPE.encode()).hexdigest()[:12]}"

# This machine's quirks (notes: containers.md): crun refuses hybrid cgroups where runc copes, and raising the
# default file limits is refused, so the limits are given.
ULIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096")
# HTTPS from a container goes through a proxy that re-signs certificates: pip needs the host's bundle at
# build time. A bind mount at build leaves nothing of it in the image.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def why_podman_cannot_run() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (`make setup-container` installs it on Debian)"
    if os.geteuid() != 0:
        return "the container test runs rootful podman and needs root (rootless needs subuids, not set up here)"
    return None


# Decided at collection: where podman cannot run, not even the session's Synapse is started for it.
_cannot_run = why_podman_cannot_run()
pytestmark = [
    pytest.mark.synapse,
    pytest.mark.container,
    pytest.mark.slow,
    pytest.mark.skipif(_cannot_run is not None, reason=_cannot_run or ""),
]


def podman(*args: str, timeout: float = 120.0, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    runtime = ("--runtime", "runc") if shutil.which("runc") else ()
    result = subprocess.run(
        ["podman", *runtime, *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if check and result.returncode != 0:
        # A build's failing step speaks on stdout; podman's cleanup warnings would bury its error on stderr.
        said = [line for line in (result.stdout + result.stderr).splitlines() if "level=warning" not in line]
        raise AssertionError(f"podman {' '.join(args[:2])} failed ({result.returncode}): " + "\n".join(said[-40:]))
    return result


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def make_base(workdir: Path) -> None:
    """The stand-in for python:3.11-slim, from Debian's packages (about a minute, 150 MB)."""
    rootfs = workdir / "rootfs"
    try:
        command = ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", DEBIAN_SUITE, str(rootfs)]
        made = subprocess.run([*command, DEBIAN_MIRROR], capture_output=True, text=True, timeout=900, check=False)
        assert made.returncode == 0, f"debootstrap failed: {made.stdout[-2000:]}{made.stderr[-2000:]}"
        for folder in TRIMMED:
            for entry in (rootfs / folder).glob("*"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        # The official image's pip installs into its own Python; Debian's refuses without this (PEP 668).
        (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink()
        (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE)
        podman(
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            'CMD ["python3"]',
            "-",
            BASE_IMAGE,
            stdin=tar.stdout,
            timeout=300,
        )
        assert tar.wait(timeout=60) == 0
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def build_image() -> None:
    previous = podman("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    ca = ("--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro") if HOST_CA_BUNDLE.exists() else ()
    podman(
        "build",
        "--from",
        BASE_IMAGE,
        "--file",
        "deploy/Containerfile",
        "--tag",
        IMAGE,
        *ULIMITS,
        *ca,
        ".",
        cwd=ROOT,
        timeout=900,
    )
    current = podman("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    if previous and previous != current:
        # The image of the previous code, now untagged: its dependencies' layers stay shared with the new one.
        podman("rmi", previous, check=False)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    if not image_exists(BASE_IMAGE):
        if shutil.which("debootstrap") is None:
            pytest.skip(f"no base image {BASE_IMAGE} and no debootstrap to make it (`make setup-container`)")
        make_base(tmp_path_factory.mktemp("container-base"))
    build_image()
    return IMAGE


@pytest.fixture
def volumes(tmp_path, indexed_database) -> tuple[Path, Path]:
    """The configuration file and the data folder, as an operator mounts them; the référentiel already indexed:
    this test is about the image, not about embedding the pack."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copy(indexed_database, data / DATABASE_FILE)
    for path in (data, data / DATABASE_FILE):
        os.chown(path, CONTAINER_UID, CONTAINER_UID)
    return tmp_path / "config.toml", data


def write_config(path: Path, homeserver: str, user_id: str, extra: str = "") -> None:
    # As the README's container section has it: data in /data, the password in the environment only.
    path.write_text(f"""{extra}
[matrix]
homeserver = "{homeserver}"
user_id = "{user_id}"
[bot]
data_dir = "/data"
[access]
allowed_inviters = ["@human*:localhost"]
""")
    # Read by the image's user: whatever umask the test process runs under (the bot's own code, run
    # in-process by earlier tests, makes files owner-only), the operator's file is readable.
    path.chmod(0o644)


def mounts(config: Path, data: Path) -> tuple[str, ...]:
    return ("--volume", f"{config}:/config/config.toml:ro", "--volume", f"{data}:/data")


def test_the_image_checks_its_configuration(image, synapse, volumes):
    config, data = volumes
    write_config(config, synapse.url, "@bot:localhost")
    result = podman(
        "run", "--rm", *ULIMITS, "--env", "MANUFACTURE_PASSWORD=x", *mounts(config, data), image, "check-config"
    )
    assert "Configuration valide : /config/config.toml" in result.stdout
    assert "données : /data" in result.stdout
    assert "connexion : mot de passe" in result.stdout

    config.write_text(config.read_text() + 'unknown_key = "x"\n')
    refused = podman("run", "--rm", *ULIMITS, *mounts(config, data), image, "check-config", check=False)
    assert refused.returncode == 2
    assert "access.unknown_key" in refused.stderr and "/config/config.toml" in refused.stderr


async def test_the_container_starts_against_synapse_and_answers_a_member(image, synapse, volumes, tmp_path):
    config, data = volumes
    account = synapse.register(unique("bot"))
    metrics = f"127.0.0.1:{free_port()}"
    write_config(config, synapse.url, account.user_id, f'[metrics]\nlisten = "{metrics}"')
    name = unique("manufacture-test-")
    # --network host: the test Synapse listens on the host's loopback only.
    await asyncio.to_thread(
        podman,
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--log-driver",
        "k8s-file",
        *ULIMITS,
        "--env",
        f"MANUFACTURE_PASSWORD={account.password}",
        *mounts(config, data),
        image,
    )
    try:
        await wait_for_log(name, "Ready as")
        async with person(synapse, tmp_path / "human-store", "human") as human:
            room_id = await human.create_room("Tribu", encrypted=True, invite=(account.user_id,))
            await human.wait_joined(room_id, account.user_id)
            await human.send(room_id, "!question comment garder nos bénévoles motivés dans la durée ?")
            answer = await human.wait_for_message(room_id, account.user_id, contains="Source :", timeout=60)
            assert "bénévole" in answer.body.lower()
        # The operator's view from outside the container: health follows the sync, the answer is counted.
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{metrics}/healthz") as health:
                assert health.status == 200
            async with http.get(f"http://{metrics}/metrics") as scrape:
                assert 'manufacture_answers_total{outcome="answered"} 1.0' in await scrape.text()
        # `podman stop` sends SIGTERM: the bot closes its stores and exits cleanly, well before the kill.
        await asyncio.to_thread(podman, "stop", "--time", "30", name)
        state = await asyncio.to_thread(podman, "inspect", "--format", "{{.State.ExitCode}}", name)
        assert state.stdout.strip() == "0", (await logs(name))[-3000:]
    finally:
        await asyncio.to_thread(podman, "rm", "--force", name, check=False)
    # What the bot wrote belongs to the image's user, in the volume, readable by it alone.
    written = {path.name: path.stat() for path in data.iterdir()}
    assert {"manufacture.db", "session.json", "store"} <= set(written)
    assert {entry.st_uid for entry in written.values()} == {CONTAINER_UID}
    assert all(entry.st_mode & 0o077 == 0 for entry in written.values())


async def logs(name: str) -> str:
    result = await asyncio.to_thread(podman, "logs", name, check=False)
    return result.stdout + result.stderr


async def wait_for_log(name: str, needle: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in (output := await logs(name)):
        running = await asyncio.to_thread(podman, "inspect", "--format", "{{.State.Running}}", name, check=False)
        if time.monotonic() > deadline or running.stdout.strip() != "true":
            raise AssertionError(f"{needle!r} not seen in the container's output: {output[-3000:]}")
        await asyncio.sleep(0.5)
