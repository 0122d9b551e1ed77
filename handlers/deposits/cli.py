"""`manufacture-bot deposits list|export`: the deposits for people and for other tools.

The JSON shape is a contract (see export.py); it reads the database directly, which WAL mode
allows while the bot runs. A mistake in the config or the form file is a ConfigError, which
bot/cli.py's main() prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from config.cli import add_config_option, config_from
from handlers.deposits.export import deposit_rows, to_csv, to_json
from handlers.deposits.form import FormDef, load_form
from handlers.deposits.records import STATUS_LABELS
from storage.database import open_database
from storage.deposits import list_deposits


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deposits = subparsers.add_parser("deposits", help="Dépôts de projets : liste et export.")
    actions = deposits.add_subparsers(dest="deposits_action", required=True)

    listing = actions.add_parser("list", help="Lister les dépôts.")
    listing.add_argument("--json", action="store_true", help="Sortie JSON (même format que l'export).")
    add_config_option(listing)
    listing.set_defaults(func=_list)

    export = actions.add_parser("export", help="Exporter les dépôts (CSV ou JSON).")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", "-o", help="Fichier de sortie (par défaut : la sortie standard).")
    add_config_option(export)
    export.set_defaults(func=_export)


def _form_and_rows(args: argparse.Namespace) -> tuple[FormDef, list[dict[str, Any]]]:
    config = config_from(args)
    form = load_form(config.deposits.form_path)
    db = open_database(config.data_dir, config.database)
    try:
        with db.session() as session:
            return form, deposit_rows(list_deposits(session), form.keys())
    finally:
        db.close()


def _list(args: argparse.Namespace) -> int:
    _, rows = _form_and_rows(args)
    if args.json:
        print(to_json(rows))
        return 0
    if not rows:
        print("Aucun dépôt.")
        return 0
    for row in rows:
        title = row["title"] if row["content_shared"] else "(contenu non partagé)"
        print(
            f"{row['reference']}  {row['created_at'][:10]}  {STATUS_LABELS.get(row['status'], row['status']):<11}  "
            f"{row['tribe'] or '-':<20}  {title}"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    form, rows = _form_and_rows(args)
    data = to_json(rows).encode("utf-8") + b"\n" if args.format == "json" else to_csv(rows, form)
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
