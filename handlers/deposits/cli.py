"""`manufacture-bot deposits list|export`: the deposits for people and for other tools.

The JSON shape is a contract (see export.py); it reads the database directly, which WAL mode
allows while the bot runs.
"""
from __future__ import annotations

import argparse
import sys

from config import default_config_path
from handlers.deposits.export import deposit_rows, to_csv, to_json
from handlers.deposits.form import load_form
from handlers.deposits.records import STATUS_LABELS

def register_cli(subparsers: argparse._SubParsersAction) -> None:
    deposits = subparsers.add_parser("deposits", help="Dépôts de projets : liste et export.")
    actions = deposits.add_subparsers(dest="deposits_action", required=True)

    listing = actions.add_parser("list", help="Lister les dépôts.")
    listing.add_argument("--json", action="store_true", help="Sortie JSON (même format que l'export).")
    _config_argument(listing)
    listing.set_defaults(func=_list)

    export = actions.add_parser("export", help="Exporter les dépôts (CSV ou JSON).")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", "-o", help="Fichier de sortie (par défaut : la sortie standard).")
    _config_argument(export)
    export.set_defaults(func=_export)


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=default_config_path(), metavar="PATH",
                        help="Fichier de configuration (par défaut : $MANUFACTURE_CONFIG ou config.toml).")


def _rows(config_path: str) -> list[dict]:
    # Imported here so `--help` works without the bot's heavier modules.
    from config import load_config
    from storage.database import Database
    from storage.deposits import list_deposits

    config = load_config(config_path)
    form = load_form(config.deposits.form_path)
    db = Database.in_dir(config.data_dir)
    try:
        db.create_all()
        with db.session() as session:
            return deposit_rows(list_deposits(session), form.keys())
    finally:
        db.close()


def _load(config_path: str) -> list[dict] | None:
    from config import ConfigError

    try:
        return _rows(config_path)
    except ConfigError as exc:  # FormError included: both name the file and the key
        print(f"Erreur de configuration : {exc}", file=sys.stderr)
        return None


def _list(args: argparse.Namespace) -> int:
    rows = _load(args.config)
    if rows is None:
        return 2
    if args.json:
        print(to_json(rows))
        return 0
    if not rows:
        print("Aucun dépôt.")
        return 0
    for row in rows:
        title = row["title"] if row["content_shared"] else "(contenu non partagé)"
        print(f"{row['reference']}  {row['created_at'][:10]}  {STATUS_LABELS.get(row['status'], row['status']):<11}  "
              f"{row['tribe'] or '-':<20}  {title}")
    return 0


def _export(args: argparse.Namespace) -> int:
    rows = _load(args.config)
    if rows is None:
        return 2
    data = to_json(rows).encode("utf-8") + b"\n" if args.format == "json" else to_csv(rows)
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
