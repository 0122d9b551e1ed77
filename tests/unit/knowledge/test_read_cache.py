"""What a question reads of the chunks is read once per version of the index, and again after a change."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.read_cache import ReadCache


@dataclass
class Index:
    version: int = 0


class Database:
    def __init__(self) -> None:
        self.values = {1: "un", 2: "deux", 3: "trois"}
        self.reads: list[list[int]] = []

    async def read(self, keys: list[int]) -> dict[int, str]:
        self.reads.append(keys)
        return {key: self.values[key] for key in keys if key in self.values}


async def test_known_keys_are_not_read_again_until_the_index_changes():
    index, db = Index(), Database()
    cache: ReadCache[int, str] = ReadCache(index, limit=10)
    assert await cache.get([1, 2], db.read) == {1: "un", 2: "deux"}
    assert await cache.get([2, 3, 9], db.read) == {2: "deux", 3: "trois"}  # 9 does not exist
    assert db.reads == [[1, 2], [3, 9]]
    db.values[2] = "DEUX"
    assert await cache.get([2], db.read) == {2: "deux"} and len(db.reads) == 2
    index.version += 1
    assert await cache.get([2], db.read) == {2: "DEUX"} and db.reads[-1] == [2]


async def test_what_was_read_while_the_index_changed_is_not_kept():
    index, db = Index(), Database()
    cache: ReadCache[int, str] = ReadCache(index, limit=10)

    async def read_during_a_reload(keys: list[int]) -> dict[int, str]:
        found = await db.read(keys)
        index.version += 1  # the document was indexed again meanwhile: this read may be stale
        return found

    assert await cache.get([1], read_during_a_reload) == {1: "un"}
    assert await cache.get([1], db.read) == {1: "un"} and len(db.reads) == 2


async def test_only_the_most_recently_used_are_kept():
    index, db = Index(), Database()
    cache: ReadCache[int, str] = ReadCache(index, limit=2)
    await cache.get([1, 2], db.read)
    await cache.get([1], db.read)  # 1 used again: 2 is now the oldest
    await cache.get([3], db.read)
    await cache.get([1, 3], db.read)
    assert db.reads == [[1, 2], [3]]
    await cache.get([2], db.read)
    assert db.reads[-1] == [2]
