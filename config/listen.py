"""A loopback web listener's address ("host:port"), shared by [metrics] and [board]."""

from __future__ import annotations

from dataclasses import dataclass

from config.reader import TomlReader


def split_listen(listen: str) -> tuple[str, int]:
    """("127.0.0.1", 9464) from "127.0.0.1:9464", ("::1", 9464) from "[::1]:9464"; ValueError otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(listen)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(listen)
    return host, int(port)


def parse_listen(reader: TomlReader, example: str) -> str:
    """The section's `listen` key, checked; empty when absent (the listener is off)."""
    listen = reader.get("listen", str, "").strip()
    if listen:
        try:
            split_listen(listen)
        except ValueError:
            raise reader.fail("listen", f"attendu « hôte:port », par exemple « {example} »") from None
    return listen


@dataclass(frozen=True)
class Listener:
    # "host:port" ("[::1]:9464" for IPv6); empty: no listener.
    listen: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.listen)

    @property
    def host(self) -> str:
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return split_listen(self.listen)[1]
