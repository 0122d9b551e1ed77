"""deploy/: the systemd unit and the container file say what the README promises, and systemd accepts the unit."""

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "manufacture-bot.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
INSTALLED_COMMAND = "/opt/manufacture-bot/bin/manufacture-bot"


class CaseSensitiveParser(configparser.ConfigParser):
    """systemd keys are case-sensitive; ConfigParser lowercases them unless told otherwise."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def unit() -> configparser.ConfigParser:
    parser = CaseSensitiveParser(interpolation=None, strict=True)
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_runs_the_bot_as_its_own_user_with_secrets_from_a_file():
    service = unit()["Service"]
    assert service["ExecStart"] == f"{INSTALLED_COMMAND} run"
    assert service["User"] == service["Group"] == "manufacture-bot"
    assert service["WorkingDirectory"] == "/var/lib/manufacture-bot"
    assert service["StateDirectory"] == "manufacture-bot" and service["StateDirectoryMode"] == "0700"
    # The password stays out of the unit, which anyone may read.
    assert service["EnvironmentFile"] == "/etc/manufacture-bot/env"
    assert "Environment" not in service and "PASSWORD" not in UNIT.read_text().split("[Service]")[1]
    assert service["Restart"] == "on-failure"
    assert service["UMask"] == "0077"
    assert service["KillSignal"] == "SIGTERM"
    for hardening, value in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
    ]:
        assert service[hardening] == value, hardening
    # The homeserver, the feeds and the metrics listener are all on the network.
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "PrivateNetwork" not in service and "IPAddressDeny" not in service
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_accepts_the_unit(tmp_path):
    # verify checks that ExecStart exists: point it at this checkout's command instead of /opt's.
    command = Path(sys.executable).parent / "manufacture-bot"
    assert command.exists()
    checked = tmp_path / UNIT.name
    checked.write_text(UNIT.read_text().replace(INSTALLED_COMMAND, str(command)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(checked)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    # An unknown or misspelt key is only a warning: any output at all is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def containerfile_instructions() -> list[tuple[str, str]]:
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, argument = line.strip().split(None, 1)  # every instruction here takes an argument
            instructions.append((keyword, argument))
    return instructions


def test_the_container_installs_the_package_and_runs_the_bot_with_data_in_a_volume():
    instructions = containerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    sources = [args.split()[0] for op, args in instructions if op == "COPY"]
    copied = set(sources) - {"pyproject.toml", "README.md"}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert copied == {name.rstrip("*") for name in packages["include"]}
    # The dependencies' layer is made from pyproject.toml alone, before any code is copied.
    assert sources[0] == "pyproject.toml"
    assert ("RUN", "pip install --no-deps /src && rm -rf /src") in instructions
    assert ("VOLUME", '["/data"]') in instructions
    assert ("ENTRYPOINT", '["manufacture-bot"]') in instructions and ("CMD", '["run"]') in instructions
    # Not root: a dedicated user that owns the data volume, and only it.
    assert [args for op, args in instructions if op == "USER"] == ["manufacture"]
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert re.search(r"useradd --system .* manufacture\b", runs)
    assert "chown manufacture:manufacture /data" in runs and "chmod 0700 /data" in runs
