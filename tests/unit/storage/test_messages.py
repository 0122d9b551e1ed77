"""The bot's sent messages, found by the start of their tag on both databases."""

from __future__ import annotations

from sqlmodel import select

from storage.database import Database
from storage.messages import SentMessage, end_polls, tag_starts_with


def test_a_tag_prefix_finds_exactly_the_messages_it_starts(db: Database) -> None:
    tags = [
        "choice:1",
        "choice:22",
        "choice-ask:1",
        "choice",
        "choicf:3",
        "answer:5",
        "ended-poll:choice:3",
        "Choice:4",
    ]
    with db.session() as session:
        for number, tag in enumerate(tags):
            session.add(SentMessage(event_id=f"$e{number}", room_id="!r:h", tag=tag))
        session.commit()
        found = session.exec(select(SentMessage.tag).where(tag_starts_with(session, "choice:"))).all()
        assert sorted(found) == ["choice:1", "choice:22"]
        assert sorted(room for room, _ in end_polls(session, "choice-ask:")) == ["!r:h"]
        session.commit()
        assert "ended-poll:choice-ask:1" in session.exec(select(SentMessage.tag)).all()
