"""`manufacture-bot personal-data USER export|erase`: a member's rights exercised by a facilitator or the
operator, for a request received outside Matrix (an e-mail, a letter).

The same queries as `!mes-donnees` and `!oublier` (storage/personal_data.py). What is done is logged
with counts only, never the content. The bot is not reached from here: the erasure prints the deposit
references the facilitators should be told of.
"""

from __future__ import annotations

import argparse
import logging
import sys

from config.cli import add_config_option, config_from
from handlers.deposits.records import local_date
from storage.database import open_database
from storage.personal_data import erase, inventory
from storage.time import utcnow

log = logging.getLogger(__name__)


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = subparsers.add_parser(
        "personal-data", help="Données personnelles d'un membre : export ou effacement (demande hors Matrix)."
    )
    command.add_argument("user", help="identifiant Matrix du membre (@nom:serveur)")
    # bot/cli.py logs it to stderr: what was done, by counts, is the operator's record of the request.
    command.set_defaults(log_to_stderr=True)
    actions = command.add_subparsers(dest="personal_data_action", required=True)

    export = actions.add_parser("export", help="Tout ce que le bot garde sur ce membre, en JSON.")
    export.add_argument("--output", "-o", help="Fichier de sortie (par défaut : la sortie standard).")
    add_config_option(export)
    export.set_defaults(func=_export)

    forget = actions.add_parser("erase", help="Effacer tout ce que le bot garde sur ce membre.")
    forget.add_argument(
        "--remove-deposits",
        action="store_true",
        help="supprimer aussi ses dépôts (par défaut : ils restent, sans son nom ni ses coordonnées)",
    )
    forget.add_argument("--yes", action="store_true", help="ne pas demander de confirmation")
    add_config_option(forget)
    forget.set_defaults(func=_erase)


def _checked_user(user: str) -> str:
    if not user.startswith("@") or ":" not in user:
        raise SystemExit(f"« {user} » n'est pas un identifiant Matrix (@nom:serveur).")
    return user


def _export(args: argparse.Namespace) -> int:
    user = _checked_user(args.user)
    config = config_from(args)
    db = open_database(config.data_dir, config.database)
    try:
        with db.session() as session:
            held = inventory(session, user, utcnow())
    finally:
        db.close()
    data = held.to_json()
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    log.info("Personal data exported from the command line (%d items)", held.total)
    tz = config.bot.tz
    for kind in held.kinds:
        if kind.count and kind.first and kind.last:
            when = f"du {local_date(kind.first, tz)} au {local_date(kind.last, tz)}"
            print(f"{kind.label} : {kind.count} ({when})", file=sys.stderr)
    return 0


def _erase(args: argparse.Namespace) -> int:
    user = _checked_user(args.user)
    config = config_from(args)
    if not args.yes:
        what = "et ses dépôts" if args.remove_deposits else "(ses dépôts restent, anonymisés)"
        try:
            answer = input(f"Effacer tout ce que le bot garde sur {user} {what} ? Tapez « oui » : ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "oui":
            print("Rien n'a été effacé.")
            return 1
    db = open_database(config.data_dir, config.database)
    try:
        with db.session() as session:
            erased = erase(session, user, remove_deposits=args.remove_deposits)
            session.commit()
    finally:
        db.close()
    log.info(
        "Personal data erased from the command line: %d rows, %d deposit(s) anonymised, %d removed",
        erased.total,
        len(erased.anonymised),
        len(erased.removed),
    )
    if not erased.total:
        print("Le bot ne gardait rien sur ce membre.")
    for label, count in erased.lines():
        print(f"{label} : {count}")
    for references, done in (
        (erased.anonymised, "anonymisé"),
        (erased.removed, "supprimé"),
        (erased.carrier_erased, "sans le nom ni le contact de son porteur"),
    ):
        for reference in references:
            print(f"Dépôt {reference} : {done} (à signaler à l'équipe d'animation, par sa seule référence).")
    return 0
