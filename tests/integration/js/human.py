"""The Python side of human.mjs: a person on matrix-js-sdk's Rust crypto (Element's), in a Node process.

`make test` installs the Node project beside this file (npm ci); the test fails, rather than
skips, without it: this is the proof that Element's own crypto trusts the bot.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from bot.devtools.local_synapse import RegisteredUser

JS_DIR = Path(__file__).parent
SETUP_HINT = "run `make setup-js` (npm ci in tests/integration/js; needs node and npm)"


class JsError(Exception):
    """human.mjs answered an operation with an error (its JavaScript stack included)."""


class JsHuman:
    def __init__(self, homeserver: str, account: RegisteredUser, log_path: Path) -> None:
        self.homeserver, self.account, self.log_path = homeserver, account, log_path
        self.process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count()

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> "JsHuman":
        node = shutil.which("node")
        assert node, f"node is missing: {SETUP_HINT}"
        assert (JS_DIR / "node_modules" / "matrix-js-sdk").is_dir(), f"matrix-js-sdk is not installed: {SETUP_HINT}"
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                node, str(JS_DIR / "human.mjs"), cwd=JS_DIR, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, limit=2 ** 24)
        await self.call("start", baseUrl=self.homeserver, userId=self.user_id, accessToken=self.account.access_token,
                        deviceId=self.account.device_id, password=self.account.password)
        return self

    async def call(self, op: str, timeout: float = 60.0, **args) -> Any:
        request_id = next(self._ids)
        assert self.process and self.process.stdin and self.process.stdout, "start() opens the pipes"
        self.process.stdin.write((json.dumps({"id": request_id, "op": op, **args}) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise JsError(f"human.mjs ended during {op}; see {self.log_path}")
        answer = json.loads(line)
        assert answer["id"] == request_id, answer
        if "error" in answer:
            raise JsError(answer["error"])
        return answer["result"]

    async def poll(self, op: str, condition: Callable[[Any], bool], what: str, timeout: float = 30.0, **args) -> Any:
        """Asks again until the answer satisfies condition; returns that answer."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.call(op, **args)
            if condition(answer):
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last answer: {answer}")
            await asyncio.sleep(0.3)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            try:
                await self.call("stop", timeout=10)
                await asyncio.wait_for(self.process.wait(), 10)
            except (JsError, asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
                self.process.kill()
                await self.process.wait()
        self.process = None
