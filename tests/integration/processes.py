"""The bot as an operator runs it: `manufacture-bot run` in a child process, with its configuration file."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time


def write_toml(path, synapse, account, data_dir, extra: str = "") -> None:
    """A configuration file; `extra` is more TOML appended as it is."""
    path.write_text(f'''
[matrix]
homeserver = "{synapse.url}"
user_id = "{account.user_id}"
password = "{account.password}"
[bot]
data_dir = "{data_dir}"
[access]
allowed_inviters = ["@human*:localhost"]
{extra}''')


class BotProcess:
    """`manufacture-bot run` in a child process. Its output is read all along by a thread: a bot
    writing into a full pipe that nobody reads would block, and ignore SIGTERM with it."""

    def __init__(self, config_path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # opened with stdout=PIPE
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)[-3000:]

    def wait_for_line(self, needle: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{needle!r} not seen; output: {self.output()}")
            time.sleep(0.05)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code; on a timeout the process is killed and its output shown."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"no exit {timeout:.0f} s after SIGTERM; output: {self.output()}") from None

    def kill_if_running(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
