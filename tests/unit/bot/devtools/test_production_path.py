"""The running bot loads none of the development tools: a production install may lack Synapse, and
the demo can change without touching what `manufacture-bot run` executes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

DEVTOOLS_LOADED = "sorted(name for name in sys.modules if name.startswith('bot.devtools'))"


def test_the_bot_and_its_run_command_import_nothing_from_devtools(tmp_path):
    # `run` goes as far as reading its configuration: by then cmd_run has imported all it uses. The same
    # interpreter then imports the demo, so the check is seen to see devtools when they are loaded (one
    # interpreter start instead of two: importing the bot is most of this test's time).
    absent, report = str(tmp_path / "absent.toml"), tmp_path / "loaded.json"
    script = (
        "import json, pathlib, sys\n"
        "import bot.app, bot.cli\n"
        f"assert bot.cli.main(['run', '--config', {absent!r}]) == 2\n"
        f"by_the_bot = {DEVTOOLS_LOADED}\n"
        "import bot.devtools.demo\n"
        f"pathlib.Path({str(report)!r}).write_text(json.dumps([by_the_bot, {DEVTOOLS_LOADED}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    by_the_bot, after_the_demo = json.loads(report.read_text())
    assert by_the_bot == []
    assert "bot.devtools.demo" in after_the_demo
    assert "bot.devtools.local_synapse" in after_the_demo
