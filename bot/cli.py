"""`manufacture-bot`: run the bot, check a config, try the demo, and the domain tools."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from config import ConfigError, default_config_path, load_config


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # nio and the HTTP stack are chatty at INFO and may log event content at DEBUG.
    for noisy in ("nio", "aiohttp", "peewee", "apscheduler", "httpx", "bm25s"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=default_config_path(), metavar="PATH",
                        help="fichier de configuration TOML (défaut : $MANUFACTURE_CONFIG ou config.toml)")


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.instance_lock import AlreadyRunning
    from bot.matrix_bot import StartupError

    config = load_config(args.config)
    setup_logging(config.bot.log_level)
    try:
        asyncio.run(build_app(config).run())
    except (StartupError, AlreadyRunning) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"Configuration valide : {args.config}")
    print(f"  serveur : {config.matrix.homeserver} ({config.matrix.user_id})")
    print(f"  données : {config.data_dir}")
    print(f"  salons déclarés : {len(config.rooms)} ; événements récurrents : {len(config.agenda.recurring)} ; "
          f"flux d'agenda : {len(config.agenda.feeds)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(Path(args.dir), chat=args.chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.demo import run_chat_only

    return run_chat_only(Path(args.dir))


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

    chat = sub.add_parser("chat", help="discuter avec le bot de la démo depuis le terminal (démo déjà lancée)")
    chat.add_argument("--dir", default="demo-data", help="dossier de la démo (défaut : demo-data)")
    chat.set_defaults(func=cmd_chat)

    from handlers.agenda.cli import register_cli as agenda_cli
    from handlers.deposits.cli import register_cli as deposits_cli
    from handlers.feedback_cli import register_cli as feedback_cli
    from knowledge.cli import register_cli as knowledge_cli

    for register_cli in (knowledge_cli, feedback_cli, deposits_cli, agenda_cli):
        register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or sys.argv[1:])])
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"Erreur de configuration — {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
