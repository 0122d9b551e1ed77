"""The running bot loads none of the development tools: a production install may lack Synapse, and
the demo can change without touching what `manufacture-bot run` executes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def devtools_loaded_after(code: str, tmp_path: Path) -> list[str]:
    """The bot.devtools modules in sys.modules once `code` has run in a fresh interpreter."""
    report = tmp_path / "loaded.json"
    script = (
        f"{code}\n"
        "import json, pathlib, sys\n"
        f"pathlib.Path({str(report)!r}).write_text("
        "json.dumps(sorted(name for name in sys.modules if name.startswith('bot.devtools'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text())


def test_the_bot_and_its_run_command_import_nothing_from_devtools(tmp_path):
    # `run` goes as far as reading its configuration: by then cmd_run has imported all it uses.
    absent = str(tmp_path / "absent.toml")
    loaded = devtools_loaded_after(
        f"import bot.app, bot.cli\nassert bot.cli.main(['run', '--config', {absent!r}]) == 2\n", tmp_path
    )
    assert loaded == []


def test_the_check_would_see_devtools_if_the_bot_imported_them(tmp_path):
    loaded = devtools_loaded_after("import bot.cli\nimport bot.devtools.demo\n", tmp_path)
    assert "bot.devtools.demo" in loaded
    assert "bot.devtools.local_synapse" in loaded
