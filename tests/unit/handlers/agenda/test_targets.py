"""Room targets: what facilitators type, and the rooms it means when a reminder goes out."""

from __future__ import annotations

import pytest

from handlers.agenda.targets import parse_targets, resolve_targets, split_targets
from handlers.replies import UserError
from storage.rooms import RoomRecord
from tests.unit.handlers.agenda.harness import ANIM, FACILITATORS, PEER, TRIBES


def test_target_syntax():
    assert split_targets("Agora ce soir -> tribus, #atelier:exemple.org") == (
        "Agora ce soir",
        ("tribus", "#atelier:exemple.org"),
    )
    assert split_targets("a -> b ne compte pas -> pairs animation") == ("a -> b ne compte pas", ("pairs", "animation"))
    assert split_targets("sans salon") == ("sans salon", ("tous",))
    assert parse_targets("Tribu, !abc:exemple.org") == ("tribus", "!abc:exemple.org")
    with pytest.raises(UserError, match="inconnu"):
        parse_targets("cuisine")
    with pytest.raises(UserError, match="pas un salon valide"):
        parse_targets("#sans-serveur")
    with pytest.raises(UserError, match="Aucun salon"):
        split_targets("message ->  ")


def test_kind_words_mean_the_rooms_of_that_kind_now_and_never_a_direct_chat(harness):
    with harness.db.session() as session:
        # Marked direct, whatever its kind: a broadcast never lands in a member's private chat.
        session.add(RoomRecord(room_id="!a-dm:x", kind="tribe", is_direct=True))
    with harness.db.session() as session:
        assert resolve_targets(["tribus"], session, {}) == (list(TRIBES), [])
        assert resolve_targets(["animation", "pairs"], session, {}) == ([FACILITATORS, PEER], [])
        # "tous" is tribes and peer groups, each room once even when also named by its id.
        assert resolve_targets(["!t2:x", "tous"], session, {}) == (["!t2:x", "!p1:x", "!t1:x"], [])
        assert resolve_targets(
            ["#connu:x", "#inconnu:x", "!ailleurs:x"], session, {"#connu:x": "!t1:x", "#inconnu:x": None}
        ) == (["!t1:x", "!ailleurs:x"], ["#inconnu:x"])


async def test_aliases_resolve_through_config_then_the_bot_hook(harness):
    asked: list[str] = []

    async def directory_lookup(alias: str) -> str | None:
        asked.append(alias)
        return "!ext:x" if alias == "#externe:x" else None

    service = harness.service(resolve_alias=directory_lookup)
    await service.broadcast_now("Bonjour", ("#atelier:x", "#externe:x"), ANIM)
    assert [room for room, _, _ in harness.poster.attempts] == ["!t2:x", "!ext:x"]
    assert asked == ["#externe:x"]  # the configured alias needs no lookup
    with pytest.raises(UserError, match="introuvable"):
        await service.check_targets(("#absent:x",))
