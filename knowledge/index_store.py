"""The search index on disk, so that a start loads it instead of rebuilding it.

Building a collection's BM25 index (stems and character n-grams) and vocabulary from its texts
takes about 20 s and 1 GB at 50,000 chunks; loading what a previous start saved takes well under
a second, and the arrays are memory-mapped, so only the pages a search touches are in memory.

Each collection has one folder, valid for one key: the collection, the embedding model, the
analyzer's settings and a fingerprint of its chunks in the database (ids, sources, content hashes).
A collection whose key changed is rebuilt, the others are loaded as they are. A missing, truncated
or unreadable file is a cache miss, never an error: the database stays the source of truth.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.lexical import LexicalIndex
from knowledge.normalise import Vocabulary

log = logging.getLogger(__name__)

# Bump when what is written here changes shape: every saved collection is then rebuilt once.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class StoredCollection:
    ids: np.ndarray  # chunk ids in row order (memory-mapped)
    matrix: np.ndarray  # (n, dim) float32 (memory-mapped)
    lexical: LexicalIndex
    vocabulary: Vocabulary
    # Sentence vectors (m, dim) float32, the sentences of row i at [starts[i], starts[i + 1]); None
    # when the collection was indexed without them (knowledge.index.SearchIndex, multi-vector chunks).
    sentences: np.ndarray | None = None
    sentence_starts: np.ndarray | None = None


class IndexStore:
    """The folder of saved collection indexes (owner-only, like everything in data_dir)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, collection: str, key: str, lexical: LexicalIndex) -> StoredCollection | None:
        """The collection saved under `key`, or None when absent, stale or damaged."""
        path = self._path(collection)
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("key") != key:
                return None
            ids = np.load(path / "ids.npy", mmap_mode="r")
            matrix = np.load(path / "vectors.npy", mmap_mode="r")
            size = manifest["size"]
            if ids.shape != (size,) or matrix.shape != (size, manifest["dim"]) or matrix.dtype != np.float32:
                raise ValueError(f"arrays of {ids.shape} and {matrix.shape} for {size} chunks")
            lexical.load(path / "bm25", size)
            vocabulary = Vocabulary.from_json(json.loads((path / "vocabulary.json").read_text(encoding="utf-8")))
            sentences = starts = None
            if manifest.get("sentences") is not None:
                sentences = np.load(path / "sentences.npy", mmap_mode="r")
                starts = np.load(path / "sentence_starts.npy", mmap_mode="r")
                if sentences.shape != (manifest["sentences"], manifest["dim"]) or starts.shape != (size,):
                    raise ValueError(f"sentence arrays of {sentences.shape} and {starts.shape}")
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file only costs a rebuild
            log.warning("Saved search index of a collection is unreadable (%s): rebuilt", type(exc).__name__)
            return None
        return StoredCollection(ids, matrix, lexical, vocabulary, sentences, starts)

    def save(
        self,
        collection: str,
        key: str,
        ids: np.ndarray,
        matrix: np.ndarray,
        lexical: LexicalIndex,
        vocabulary: Vocabulary,
        sentences: np.ndarray | None = None,
        sentence_starts: np.ndarray | None = None,
    ) -> None:
        """Write the collection beside its old copy, then swap folders: a crash midway leaves the
        old copy or none, never a mix. Temporary names carry the process id, so that `ask` on the
        data_dir of a running bot never writes into the bot's files."""
        path = self._path(collection)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.new-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        np.save(staging / "ids.npy", np.asarray(ids, dtype=np.int64))
        np.save(staging / "vectors.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        lexical.save(staging / "bm25")
        (staging / "vocabulary.json").write_text(json.dumps(vocabulary.to_json(), ensure_ascii=False), encoding="utf-8")
        manifest = {"key": key, "size": len(ids), "dim": int(matrix.shape[1])}
        if sentences is not None and sentence_starts is not None:
            np.save(staging / "sentences.npy", np.ascontiguousarray(sentences, dtype=np.float32))
            np.save(staging / "sentence_starts.npy", np.asarray(sentence_starts, dtype=np.int64))
            manifest["sentences"] = len(sentences)
        # The manifest last: its key vouches for the files written before it.
        (staging / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        _owner_only(staging)
        retired = path.with_name(f"{path.name}.old-{os.getpid()}")
        shutil.rmtree(retired, ignore_errors=True)
        if path.exists():
            os.replace(path, retired)
        os.replace(staging, path)
        shutil.rmtree(retired, ignore_errors=True)

    def keep_only(self, collections: list[str]) -> None:
        """Remove the saved indexes of collections that have no chunks any more, and what an
        interrupted save left (a temporary folder an hour old belongs to no running save)."""
        if not self.folder.is_dir():
            return
        wanted = {self._path(c).name for c in collections}
        for entry in self.folder.iterdir():
            if "." in entry.name:
                if time.time() - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)
            elif entry.name not in wanted:
                shutil.rmtree(entry, ignore_errors=True)

    def _path(self, collection: str) -> Path:
        # Collection names hold « : » (« tribu:nord »): a digest makes a portable folder name.
        return self.folder / hashlib.sha256(collection.encode("utf-8")).hexdigest()[:20]


def index_key(collection: str, embedder: str, analyzer: str, fingerprint: str) -> str:
    return hashlib.sha256(
        json.dumps([FORMAT_VERSION, collection, embedder, analyzer, fingerprint]).encode()
    ).hexdigest()


def _owner_only(folder: Path) -> None:
    """np.save and bm25s create files with the process umask; data_dir files are 0600."""
    for parent, subfolders, files in os.walk(folder):
        for name in subfolders:
            os.chmod(Path(parent) / name, 0o700)
        for name in files:
            os.chmod(Path(parent) / name, 0o600)
