"""An aiohttp application served inside the bot's own event loop (the metrics and the board)."""

from __future__ import annotations

from aiohttp import web


class LocalListener:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def start(self, application: web.Application, host: str, port: int) -> None:
        """Raises OSError (port taken, address unknown) with nothing left open."""
        # handle_signals=False: the bot's own handlers stop it; aiohttp's would end the loop under it.
        runner = web.AppRunner(application, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
