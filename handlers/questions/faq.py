"""The FAQ as the facilitators keep it: entries listed, an answer rewritten, an entry removed.

The chat and the board add entries by answering a forwarded question (`!repondre <n°> --faq`,
handlers/questions/queue.py: only once the answer is delivered); the web board edits and removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Services
from handlers.delivery import check_length
from handlers.replies import UserError
from storage.knowledge import faq_entries


@dataclass(frozen=True)
class FaqEntry:
    source: str
    question: str
    answer: str


async def list_faq(services: Services) -> list[FaqEntry]:
    entries = await services.units.run(faq_entries)
    return [FaqEntry(source, question, answer) for source, question, answer in entries]


async def _entry(services: Services, source: str) -> FaqEntry:
    found = next((e for e in await list_faq(services) if e.source == source), None)
    if found is None:
        raise UserError("Cette entrée de la FAQ n'existe plus.")
    return found


async def edit_faq(services: Services, source: str, answer: str) -> FaqEntry:
    """A new answer to an entry's question: the same question keeps its place (its source name)."""
    if services.search is None:
        raise UserError("La recherche est désactivée : la FAQ ne peut pas être modifiée.")
    answer = answer.strip()
    if not answer:
        raise UserError("La réponse est vide : pour retirer l'entrée, utilisez « Retirer ».")
    # The FAQ's answer is what the bot says in the chat: no longer than a message may be.
    check_length(services, answer, "La réponse est trop longue")
    entry = await _entry(services, source)
    await services.search.add_faq(entry.question, answer)
    return FaqEntry(entry.source, entry.question, answer)


async def remove_faq(services: Services, source: str) -> FaqEntry:
    if services.search is None:
        raise UserError("La recherche est désactivée : la FAQ ne peut pas être modifiée.")
    entry = await _entry(services, source)
    await services.search.remove_faq(source)
    return entry
