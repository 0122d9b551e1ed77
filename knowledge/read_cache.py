"""What a question reads of the indexed chunks (their rows, their documents' outlines), kept in memory for
one version of the index.

The chunks change only through the search service, which reloads the index after each change and so
moves its version (knowledge.index.SearchIndex.version): what was read before a change is dropped with
it. The CLI's changes, as for the index itself, count from the bot's next start."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


class ReadCache(Generic[K, V]):
    """Values by key, read at most once per index version; the `limit` most recently used are kept."""

    def __init__(self, index: Versioned, limit: int) -> None:
        self.index, self.limit = index, limit
        self._values: OrderedDict[K, V] = OrderedDict()
        self._version = -1

    async def get(self, keys: list[K], read: Callable[[list[K]], Awaitable[dict[K, V]]]) -> dict[K, V]:
        """The values of `keys` found, those not kept read by `read` (missing keys: not found)."""
        version = self.index.version
        if version != self._version:
            self._values, self._version = OrderedDict(), version
        kept = self._values
        missing = [key for key in dict.fromkeys(keys) if key not in kept]
        fresh = await read(missing) if missing else {}
        found: dict[K, V] = {}
        for key in keys:
            if key in fresh:
                found[key] = fresh[key]
            elif key in kept:
                found[key] = kept[key]
                kept.move_to_end(key)
        # Read while the index changed: it may predate the change, and is not kept.
        if self.index.version == version and kept is self._values:
            kept.update(fresh)
            while len(kept) > self.limit:
                kept.popitem(last=False)
        return found
