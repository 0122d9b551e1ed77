"""What every sub-command shares: the --config option and reading the file it names.

A ConfigError raised by any sub-command reaches bot/cli.py's main(), which prints it one way.
"""

from __future__ import annotations

import argparse

from config import Config, default_config_path, load_config

CONFIG_HELP = "fichier de configuration TOML (défaut : $MANUFACTURE_CONFIG ou config.toml)"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=default_config_path(), metavar="PATH", help=CONFIG_HELP)


def config_from(args: argparse.Namespace) -> Config:
    return load_config(args.config)
