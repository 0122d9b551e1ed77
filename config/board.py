"""[board]: the facilitators' web board, served by the bot process; off unless `listen` is set."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from config.listen import Listener, parse_listen, split_listen
from config.reader import TomlReader


@dataclass(frozen=True)
class BoardConfig(Listener):
    # The address people open (the reverse proxy's), written in the login links; empty: http://<listen>.
    public_url: str = ""
    # How long a login lasts: a working day.
    session_hours: float = 10.0

    @property
    def base_url(self) -> str:
        """The public address without its trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = split_listen(self.listen)
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def secure(self) -> bool:
        """Cookies get the Secure flag when people reach the board over https."""
        return self.base_url.startswith("https://")


def parse_board(b: TomlReader) -> BoardConfig:
    listen = parse_listen(b, "127.0.0.1:8470")
    public_url = b.get("public_url", str, BoardConfig.public_url).strip()
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise b.fail("public_url", "attendu une adresse complète, par exemple « https://tableau.example.org »")
        if not listen:
            raise b.fail("public_url", "n'a de sens qu'avec board.listen (le tableau est éteint sans lui)")
    hours = b.get("session_hours", float, BoardConfig.session_hours)
    if not 0 < hours <= 24:
        raise b.fail("session_hours", "doit être compris entre 0 et 24 heures")
    config = BoardConfig(listen=listen, public_url=public_url, session_hours=float(hours))
    b.no_unknown_keys()
    return config
