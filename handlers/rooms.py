"""`!salon`: a facilitator tells the bot what kind of room this is (tribe, peer group, facilitators)."""

from __future__ import annotations

from sqlmodel import Session

from config import PEER_ROLES
from handlers.context import CommandContext, RoomInfo
from handlers.help import FACILITATION
from handlers.registry import Command, CommandRegistry
from handlers.replies import BESIDE, Post, Reply, UserError
from handlers.text import quote
from storage.rooms import classify_room, facilitators_room_id, rooms_of_kind

ROLE_ALIASES = {
    "elus": "elus",
    "élus": "elus",
    "elu": "elus",
    "élu": "elus",
    "agents": "agents",
    "agent": "agents",
    "etat": "etat",
    "état": "etat",
    "etat-territorial": "etat",
    "état-territorial": "etat",
    "acteurs": "acteurs",
    "acteur": "acteurs",
    "acteurs-socio-economiques": "acteurs",
}
ROLE_LABELS = {"elus": "élus", "agents": "agents", "etat": "État territorial", "acteurs": "acteurs socio-économiques"}
# The tag of the one message the bot posts in a room it has just joined.
INTRODUCTION_TAG = "introduction"
USAGE = "salon tribu <nom> | salon pairs <élus|agents|état|acteurs> | salon animation"


def parse_room_kind(args: str) -> tuple[str, str, str | None]:
    """'tribu Alimentation' -> ('tribe', 'Alimentation', None); raises UserError with the usage otherwise."""
    word, _, rest = args.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("tribu", "tribe"):
        if not rest:
            raise UserError("Il manque le nom de la tribu, par exemple : `!salon tribu Alimentation`.")
        return "tribe", rest, None
    if word in ("pairs", "pair", "groupe-de-pairs"):
        role = ROLE_ALIASES.get(rest.lower().replace(" ", "-"))
        if role is None:
            raise UserError(
                "Indiquez le rôle du groupe de pairs : élus, agents, état ou acteurs. "
                "Par exemple : `!salon pairs agents`."
            )
        assert role in PEER_ROLES
        return "peer_group", f"Pairs — {ROLE_LABELS[role]}", role
    if word in ("animation", "facilitateurs", "facilitation"):
        return "facilitators", rest or "Animation", None
    raise UserError(f"Je n'ai pas compris. Utilisation : `!{USAGE}`.")


def introduction(room: RoomInfo, bot_name: str) -> Reply:
    """What the bot says once, on joining a room: what it does there and how to address it."""
    kind = "direct" if room.is_direct else room.kind
    return Reply(
        template="rooms/introduction.md.j2",
        context={"kind": kind, "name": room.name, "bot_name": bot_name},
        to=Post(room.room_id),
        tag=INTRODUCTION_TAG,
        txn_key=f"introduction:{room.room_id}",
    )


async def set_room_kind(ctx: CommandContext) -> list[Reply]:
    kind, name, role = parse_room_kind(ctx.args)
    room = ctx.message.room
    facilitators = await ctx.work(_classify, room, kind, name, role)
    labels = {
        "tribe": f"la tribu « {quote(name)} »",
        "peer_group": f"le groupe de pairs des {ROLE_LABELS.get(role or '', '')}",
        "facilitators": "le salon de l'équipe d'animation",
    }
    replies = [Reply(text=f"C'est noté : ce salon est désormais {labels[kind]}.")]
    if kind == "peer_group":
        if room.encrypted:
            replies.append(
                Reply(
                    text="Ce groupe de pairs est confidentiel : rien de ce qui s'y dit ne sera "
                    "repris ailleurs sans l'accord de son auteur.",
                    to=BESIDE,
                )
            )
        else:
            replies.append(Reply(template="rooms/unencrypted_warning.md.j2", context={"name": name}, to=BESIDE))
            if facilitators and facilitators != room.room_id:
                # Only the room's name leaves the room, which is what the facilitators need to act.
                replies.append(
                    Reply(
                        template="rooms/unencrypted_alert.md.j2",
                        context={"name": name},
                        to=Post(facilitators),
                        contains_room_content=False,
                    )
                )
    return replies


def _classify(session: Session, room: RoomInfo, kind: str, name: str, role: str | None) -> str | None:
    """Records the room's kind (one facilitators' room at most); the facilitators' room afterwards."""
    if kind == "facilitators":
        other = next((r for r in rooms_of_kind(session, "facilitators") if r.room_id != room.room_id), None)
        if other:
            raise UserError(
                f"Le salon d'animation est déjà « {quote(other.name)} ». "
                "Changez d'abord son type pour en désigner un autre."
            )
    record = classify_room(session, room.room_id, kind, name, role)
    record.warned_unencrypted = kind == "peer_group" and not room.encrypted
    return facilitators_room_id(session)


SALON = Command(
    name="salon",
    handler=set_room_kind,
    aliases=("room",),
    usage=USAGE,
    facilitators_only=True,
    help="Déclare le type de ce salon : tribu, groupe de pairs (confidentiel) ou salon d'animation.",
    section=FACILITATION,
)


def register(registry: CommandRegistry) -> None:
    registry.add(SALON)
