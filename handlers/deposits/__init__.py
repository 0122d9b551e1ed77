"""Project deposits (« déposer un projet à la Manufacture »): a conversational form whose state
is saved after every step, numbered deposits, facilitators' follow-up and export.

The lead wires: register(registry) at start, check_idle_drafts(services) from the scheduler,
and register_cli(subparsers) from handlers.deposits.cli in bot/cli.py.
"""

from __future__ import annotations

from handlers.deposits.conversation import (
    cancel_deposit,
    form_listener,
    on_recap_reaction,
    resume_deposit,
    start_deposit,
)
from handlers.deposits.facilitation import deposit_command, list_command, mine_command
from handlers.deposits.idle import check_idle_drafts
from handlers.deposits.sharing import share_command
from handlers.registry import CommandRegistry

SECTION = "Dépôts de projets"

__all__ = ["check_idle_drafts", "register"]


def register(registry: CommandRegistry) -> None:
    # The registry folds accents, so « !déposer » and « !dépôts » already reach these commands;
    # registering the accented spellings as aliases would count as duplicates.
    registry.command(
        "deposer",
        usage="deposer",
        help="Déposer un projet à la Manufacture, pour vous ou pour quelqu'un d'autre : je vous pose "
        "les questions une à une, en message privé.",
        section=SECTION,
    )(start_deposit)
    registry.command(
        "reprendre",
        usage="reprendre",
        help="Reprendre votre dernier dépôt annulé ou interrompu, là où vous en étiez.",
        section=SECTION,
    )(resume_deposit)
    registry.command(
        "annuler",
        usage="annuler",
        help="Annuler votre dépôt en cours (vos réponses restent conservées).",
        section=SECTION,
    )(cancel_deposit)
    registry.command(
        "mes-depots",
        usage="mes-depots",
        help="Voir vos dépôts de projets et leur suivi, ainsi que vos dépôts non terminés.",
        section=SECTION,
    )(mine_command)
    registry.command(
        "partager",
        usage="partager <référence>",
        help="Pour un dépôt fait dans un espace confidentiel dont vous aviez gardé le contenu pour vous : "
        "le transmettre à l'équipe d'animation.",
        section=SECTION,
    )(share_command)
    registry.command(
        "depots",
        usage="depots [statut] [tribu] | depots export",
        help="Lister les dépôts (filtrés par statut : nouveau, en-etude, accompagne, clos, et par tribu), "
        "ou les exporter en CSV.",
        facilitators_only=True,
        room_kinds={"facilitators"},
        section=SECTION,
    )(list_command)
    registry.command(
        "depot",
        usage="depot <référence> [statut <statut> [commentaire]]",
        help="Voir un dépôt, ou changer son statut (son auteur en est prévenu).",
        facilitators_only=True,
        room_kinds={"facilitators"},
        section=SECTION,
    )(deposit_command)
    # Listeners run before commands: inside a form's thread, !retour, !passer, !aide… are the form's.
    registry.add_listener("deposits", form_listener)
    registry.add_reaction_handler("deposit-recap:", on_recap_reaction)
