"""`manufacture-bot`: run the bot, check a config, try the demo, and the domain tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.log_setup import setup_logging
from config import Config, ConfigError
from config.agenda import check_local_feeds
from config.cli import add_config_option, config_from
from handlers.deposits.form import load_form


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.instance_lock import AlreadyRunning
    from bot.matrix_bot import StartupError
    from storage.database import DatabaseUnavailable, UnknownSchema

    config = config_from(args)
    setup_logging(config.bot.log_level)
    try:
        asyncio.run(build_app(config).run())
    # The database's own words say what to do (another release, a server down): no traceback to read.
    except (StartupError, AlreadyRunning, UnknownSchema, DatabaseUnavailable) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = config_from(args)
    form = load_form(config.deposits.form_path)  # the bot reads it at start: a mistake there stops it too
    check_local_feeds(config.agenda, config.path)
    print(f"Configuration valide : {args.config}")
    print(f"  serveur : {config.matrix.homeserver} ({config.matrix.user_id})")
    print(f"  connexion : {_login_summary(config)}")
    print(f"  données : {config.data_dir}")
    print(
        f"  salons déclarés : {len(config.rooms)} ; événements récurrents : {len(config.agenda.recurring)} ; "
        f"flux d'agenda : {len(config.agenda.feeds)}"
    )
    print(f"  formulaire de dépôt : {form.path} ({len(form.fields)} questions)")
    return 0


def _login_summary(config: Config) -> str:
    """How the next start will log in: what the operator checks after setting a variable."""
    from bot.session import load_session

    matrix = config.matrix
    if matrix.uses_access_token:
        device = f", appareil {matrix.device_id}" if matrix.device_id else ""
        return f"jeton d'accès{device} (variable MANUFACTURE_ACCESS_TOKEN ou clé matrix.access_token)"
    stored = load_session(config.data_dir)
    if stored is not None and stored.user_id == matrix.user_id:
        return f"session gardée dans {config.data_dir} (appareil {stored.device_id})"
    if matrix.password:
        return "mot de passe, pour la première connexion (variable MANUFACTURE_PASSWORD ou clé matrix.password)"
    return (
        "aucune pour l'instant : donnez MANUFACTURE_PASSWORD (ou MANUFACTURE_ACCESS_TOKEN) avant `manufacture-bot run`"
    )


RESET_WARNING = (
    "Une nouvelle identité de signature croisée va remplacer celle du compte {user} : les membres qui "
    "ont vérifié le bot verront que son identité a changé. Tapez « oui » pour continuer : "
)


def cmd_crypto(args: argparse.Namespace) -> int:
    from bot.cross_signing import CrossSigningError, State, describe
    from bot.instance_lock import AlreadyRunning, InstanceLock
    from bot.session import load_session

    config = config_from(args)
    session = load_session(config.data_dir)
    if session is None or session.user_id != config.matrix.user_id:
        print(
            f"Erreur : le bot ne s'est pas encore connecté en tant que {config.matrix.user_id} (pas de session "
            f"dans {config.data_dir}) : lancez-le une fois avec `manufacture-bot run`.",
            file=sys.stderr,
        )
        return 2
    lock = InstanceLock(config.data_dir)
    if args.crypto_action == "reset":
        try:
            # The bot reads its keys at start: replacing them under a starting bot would split the identity.
            lock.acquire()
        except AlreadyRunning:
            print(
                f"Erreur : le bot tourne sur {config.data_dir} : arrêtez-le avant de changer son identité.",
                file=sys.stderr,
            )
            return 2
    try:
        if args.crypto_action == "reset" and not _confirmed(RESET_WARNING.format(user=session.user_id)):
            print("Rien n'a changé.")
            return 1
        status, keys_path = asyncio.run(_crypto(config, session, args.crypto_action))
    except CrossSigningError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    finally:
        lock.release()
    print(describe(status, keys_path))
    return 0 if status.state is State.SIGNED else 1


def _confirmed(question: str) -> bool:
    try:
        return input(question).strip().lower() == "oui"
    except EOFError:
        return False


async def _crypto(config, session, action: str):
    from nio import AsyncClient, AsyncClientConfig

    from bot.cross_signing import CrossSigning

    # The bot's account, but not its device's store: the CLI signs with the identity, it never decrypts.
    client = AsyncClient(config.matrix.homeserver, session.user_id, config=AsyncClientConfig(encryption_enabled=False))
    client.restore_login(session.user_id, session.device_id, session.access_token)
    try:
        signing = CrossSigning(client, config.data_dir, config.matrix.password)
        return await (signing.reset() if action == "reset" else signing.status()), signing.keys_path
    finally:
        await client.close()


def cmd_db(args: argparse.Namespace) -> int:
    from storage.database import Database, DatabaseUnavailable, UnknownSchema, head_revision, schema_history

    config = config_from(args)
    if args.db_action == "history":
        for revision in schema_history():
            print(f"{revision.id} — {revision.summary.splitlines()[0]}")
        return 0
    db = Database.from_config(config)
    try:
        if args.db_action == "current":
            current = db.revision()
            if current is None:
                print(
                    f"La base {db.shown()} n'a pas encore d'historique de migrations "
                    "(elle en recevra un à la prochaine ouverture)."
                )
                return 1
            print(
                f"Révision actuelle : {current}"
                + (" (à jour)" if current == head_revision() else f" ; la dernière est {head_revision()}")
            )
            return 0
        upgrade = db.create_all()
    except (UnknownSchema, DatabaseUnavailable) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    finally:
        db.close()
    if upgrade is None:
        print(f"La base est à jour (révision {head_revision()}).")
    else:
        print(
            f"Base mise à jour de la révision {upgrade.before} à {upgrade.after}."
            + (f" Copie d'avant la mise à jour : {upgrade.copy}" if upgrade.copy else "")
        )
    return 0


RESTORE_WARNING = (
    "La sauvegarde {source} ({contents}) va remplacer la base, la session et le magasin de clés de "
    "{data_dir}. Tapez « oui » pour continuer : "
)


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, back_up

    config = config_from(args)
    try:
        contents = back_up(config.data_dir, Path(args.destination), config.database)
    except BackupError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    print(f"Sauvegarde faite dans {args.destination} : {contents.describe()}.")
    if not contents.cross_signing:
        print(
            f"(Pas encore de clés de signature croisée dans {config.data_dir} : elles y seront après le "
            "premier démarrage ; refaites alors une sauvegarde.)"
        )
    if contents.note:
        # Incomplete: a script running the backup must notice.
        print(f"Attention : {contents.note}", file=sys.stderr)
        return 1
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, describe_backup, restore
    from bot.instance_lock import AlreadyRunning

    config = config_from(args)
    source = Path(args.source)
    try:
        contents = describe_backup(source)
        if not args.yes and not _confirmed(
            RESTORE_WARNING.format(source=source, contents=contents.describe(), data_dir=config.data_dir)
        ):
            print("Rien n'a changé.")
            return 1
        restored = restore(source, config.data_dir, config.database)
    except BackupError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    except AlreadyRunning:
        print(
            f"Erreur : le bot tourne sur {config.data_dir} : arrêtez-le avant de restaurer une sauvegarde.",
            file=sys.stderr,
        )
        return 2
    print(
        f"Sauvegarde restaurée dans {config.data_dir} : {contents.describe()}. "
        "Au prochain démarrage, le bot reprend avec le même appareil."
    )
    if restored.note:
        print(f"Attention : {restored.note}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.devtools.demo import run_demo

    return run_demo(Path(args.dir), chat=args.chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.devtools.demo import run_chat_only

    return run_chat_only(Path(args.dir), args.user)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manufacture-bot", description="Le bot Matrix de la Manufacture.")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="lance le bot (commande par défaut)")
    add_config_option(run)
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="vérifie un fichier de configuration")
    add_config_option(check)
    check.set_defaults(func=cmd_check_config)

    demo = sub.add_parser("demo", help="démarre un serveur Matrix local jetable, le bot et des salons de démonstration")
    demo.add_argument("--dir", default="demo-data", help="dossier de la démo (défaut : demo-data)")
    demo.add_argument("--chat", action="store_true", help="discuter avec le bot depuis ce terminal")
    demo.set_defaults(func=cmd_demo)

    crypto = sub.add_parser("crypto", help="identité de signature croisée du bot (ce qu'Element vérifie)")
    crypto_actions = crypto.add_subparsers(dest="crypto_action", required=True)
    status = crypto_actions.add_parser("status", help="l'identité du compte et si l'appareil du bot est signé")
    add_config_option(status)
    reset = crypto_actions.add_parser("reset", help="crée une nouvelle identité (demande confirmation)")
    add_config_option(reset)
    crypto.set_defaults(func=cmd_crypto)

    db = sub.add_parser("db", help="la base de données : mise à jour de son schéma, révision, historique")
    db_actions = db.add_subparsers(dest="db_action", required=True)
    for action, help_text in (
        ("upgrade", "met la base à jour (SQLite : une copie est faite avant)"),
        ("current", "la révision où en est la base"),
        ("history", "les révisions du schéma, de la plus ancienne à la plus récente"),
    ):
        add_config_option(db_actions.add_parser(action, help=help_text))
    db.set_defaults(func=cmd_db)

    backup = sub.add_parser("backup", help="sauvegarde la base, la session et les clés, même bot en marche")
    backup.add_argument("destination", metavar="DEST", help="dossier neuf (ou vide) où écrire la sauvegarde")
    add_config_option(backup)
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="remet une sauvegarde en place (bot arrêté ; demande confirmation)")
    restore.add_argument("source", metavar="SRC", help="dossier d'une sauvegarde faite par `manufacture-bot backup`")
    restore.add_argument("--yes", action="store_true", help="ne pas demander de confirmation")
    add_config_option(restore)
    restore.set_defaults(func=cmd_restore)

    chat = sub.add_parser("chat", help="discuter avec le bot de la démo depuis le terminal (démo déjà lancée)")
    chat.add_argument("--dir", default="demo-data", help="dossier de la démo (défaut : demo-data)")
    chat.add_argument(
        "--user", default=None, help="parler en tant que ce membre de la démo : alice, bob (défaut : demo)"
    )
    chat.set_defaults(func=cmd_chat)

    from handlers.agenda.cli import register_cli as agenda_cli
    from handlers.deposits.cli import register_cli as deposits_cli
    from handlers.feedback_cli import register_cli as feedback_cli
    from handlers.personal_data.cli import register_cli as personal_data_cli
    from handlers.retention import register_cli as retention_cli
    from knowledge.cli import register_cli as knowledge_cli

    for register_cli in (knowledge_cli, feedback_cli, deposits_cli, agenda_cli, personal_data_cli, retention_cli):
        register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or sys.argv[1:])])
    if getattr(args, "log_to_stderr", False):
        # A command whose acts are an operator's record (personal data): logged as the bot logs.
        setup_logging("INFO")
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"Erreur de configuration — {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
