"""[retention]: how long the bot keeps each kind of record, by purpose (issue 20). The defaults are here,
once; a daily job (and `manufacture-bot purge`) deletes what is older."""

from __future__ import annotations

from dataclasses import dataclass

from config.reader import TomlReader


@dataclass(frozen=True)
class RetentionConfig:
    # Done events of the inbox: only recognise an event a sync brings twice, which happens within days.
    handled_events_days: int = 30
    # The bot's own messages (and offers to forward a question): votes, replies and follow-ups need
    # them for a while after they were posted.
    sent_messages_days: int = 90
    # Questions, answers given, votes and answered forwarded questions (12 months); the usage page
    # keeps their weekly counts, without ids.
    questions_days: int = 365
    # Abandoned, cancelled and finished deposit forms (6 months).
    drafts_days: int = 183
    # Reminders that went out (or were skipped, cancelled), and who scheduled them (12 months).
    reminders_days: int = 365


# Shorter than the bot needs to recognise an event again or let a vote on an answer count.
_MINIMUM_DAYS = {
    "handled_events_days": 7,
    "sent_messages_days": 7,
    "questions_days": 7,
    "drafts_days": 7,
    "reminders_days": 7,
}


def parse_retention(r: TomlReader) -> RetentionConfig:
    values: dict[str, int] = {}
    for name, minimum in _MINIMUM_DAYS.items():
        days = r.get(name, int, getattr(RetentionConfig, name))
        if days < minimum:
            raise r.fail(name, f"doit valoir au moins {minimum} jours")
        values[name] = days
    config = RetentionConfig(**values)
    if config.questions_days < config.sent_messages_days:
        # A vote on an answer goes with the answer: the answer must outlive the message voted on.
        raise r.fail("questions_days", f"doit valoir au moins sent_messages_days ({config.sent_messages_days} jours)")
    r.no_unknown_keys()
    return config
