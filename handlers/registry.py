"""One explicit registry of what the bot understands: commands, conversation listeners, reactions, redactions.

A command is declared beside its handler, in the handler's module: a `Command` (or a
`CommandNeeding`, when the handler takes something built at start) right under the function, its
help text with it. Each domain package's ``register(registry, ...)`` adds its modules' declarations,
in the order the help lists them; the help text and typo suggestions are generated from what is
registered here, so they can never drift from the code.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import partial
from typing import TYPE_CHECKING, Generic, TypeVar

from handlers.context import CommandContext, PollVote, Reaction, RoomInfo, Services
from handlers.replies import Reply
from knowledge.folding import fold_accents

if TYPE_CHECKING:
    from storage.unit_of_work import UnitOfWork

HandlerResult = Reply | list[Reply] | None
CommandHandler = Callable[[CommandContext], Awaitable[HandlerResult]]
# A listener sees every message not already consumed; it returns None when the message is not its own.
Listener = Callable[[CommandContext], Awaitable[HandlerResult]]
ReactionHandler = Callable[[Reaction, Services], Awaitable[HandlerResult]]
PollHandler = Callable[[PollVote, Services], Awaitable[HandlerResult]]


@dataclass(frozen=True)
class Redaction:
    """An event was redacted (a reaction taken back, say); each handler checks whether it was one of its own."""

    room: RoomInfo
    # Who redacted it: the author, or a moderator.
    sender: str
    redacted_event_id: str
    # The redaction's one unit of database work, as CommandContext.work is a message's.
    work: UnitOfWork = field(kw_only=True)


# A redaction only undoes: its handlers answer nothing.
RedactionHandler = Callable[[Redaction, Services], Awaitable[None]]

EVERYWHERE = None
# What a CommandNeeding's handler takes before the context.
D = TypeVar("D")


@dataclass(frozen=True, kw_only=True)
class CommandDeclaration:
    """What a command says of itself, whatever its handler takes: the help lists it from this, and the
    rights and rooms it is offered in come from it."""

    name: str
    usage: str
    help: str
    aliases: tuple[str, ...] = ()
    facilitators_only: bool = False
    # Room kinds where the command is offered ("tribe", "peer_group", "facilitators", "direct").
    # None: everywhere.
    room_kinds: frozenset[str] | None = EVERYWHERE
    # Shown in the help under this heading.
    section: str = "Général"


@dataclass(frozen=True, kw_only=True)
class Command(CommandDeclaration):
    handler: CommandHandler

    def allowed_in(self, room_kind: str | None, is_direct: bool) -> bool:
        if self.room_kinds is None:
            return True
        return ("direct" in self.room_kinds and is_direct) or (room_kind in self.room_kinds)


@dataclass(frozen=True, kw_only=True)
class CommandNeeding(CommandDeclaration, Generic[D]):
    """A command whose handler takes, before the context, something only the composition root
    builds (the reminder service, the board's links, the registry itself): declared like a
    `Command`, and made one by `bind` when its package registers."""

    handler: Callable[[D, CommandContext], Awaitable[HandlerResult]]

    def bind(self, dependency: D) -> Command:
        declared = {f.name: getattr(self, f.name) for f in fields(CommandDeclaration)}
        return Command(**declared, handler=partial(self.handler, dependency))


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: list[Command] = []
        self._by_word: dict[str, Command] = {}
        # Listeners run before commands: a form in progress owns its thread, controls included.
        self._listeners: list[tuple[str, Listener]] = []
        # Runs when a message is addressed to the bot but is no command (a question, typically).
        self.fallback: CommandHandler | None = None
        self._reactions: list[tuple[str, ReactionHandler]] = []
        self._redactions: list[RedactionHandler] = []
        self._polls: list[tuple[str, PollHandler]] = []

    def add(self, command: Command) -> Command:
        words = {fold_accents(word) for word in (command.name, *command.aliases)}
        for key in words:
            # An accented alias folds onto its own command's name: that is no conflict.
            if key in self._by_word:
                raise ValueError(f"command word {key!r} registered twice")
        for key in words:
            self._by_word[key] = command
        self._commands.append(command)
        return command

    def command(
        self,
        name: str,
        *,
        usage: str,
        help: str,
        aliases: Iterable[str] = (),
        facilitators_only: bool = False,
        room_kinds: Iterable[str] | None = EVERYWHERE,
        section: str = "Général",
    ) -> Callable[[CommandHandler], CommandHandler]:
        """Decorator form of add()."""

        def decorate(handler: CommandHandler) -> CommandHandler:
            self.add(
                Command(
                    name=name,
                    handler=handler,
                    usage=usage,
                    help=help,
                    aliases=tuple(aliases),
                    facilitators_only=facilitators_only,
                    room_kinds=frozenset(room_kinds) if room_kinds is not None else None,
                    section=section,
                )
            )
            return handler

        return decorate

    def add_listener(self, name: str, listener: Listener) -> None:
        self._listeners.append((name, listener))

    def add_reaction_handler(self, tag_prefix: str, handler: ReactionHandler) -> None:
        self._reactions.append((tag_prefix, handler))

    def add_poll_handler(self, tag_prefix: str, handler: PollHandler) -> None:
        """Responses to the bot's polls whose tag starts so (an ended poll is retagged: nobody answers it)."""
        self._polls.append((tag_prefix, handler))

    def add_redaction_handler(self, handler: RedactionHandler) -> None:
        self._redactions.append(handler)

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(self._commands)

    @property
    def listeners(self) -> tuple[tuple[str, Listener], ...]:
        return tuple(self._listeners)

    def find(self, word: str) -> Command | None:
        return self._by_word.get(fold_accents(word))

    def suggest(self, word: str, candidates: Iterable[Command] | None = None) -> str | None:
        """The closest command name to a typo, or None when nothing is close enough."""
        pool = list(candidates) if candidates is not None else self._commands
        words = {fold_accents(w): c.name for c in pool for w in (c.name, *c.aliases)}
        close = difflib.get_close_matches(fold_accents(word), list(words), n=1, cutoff=0.6)
        return words[close[0]] if close else None

    def visible(self, *, is_facilitator: bool, room_kind: str | None, is_direct: bool) -> list[Command]:
        return [
            c
            for c in self._commands
            if (is_facilitator or not c.facilitators_only) and c.allowed_in(room_kind, is_direct)
        ]

    def reaction_handlers(self, tag: str) -> list[ReactionHandler]:
        return [h for prefix, h in self._reactions if tag.startswith(prefix)]

    def poll_handlers(self, tag: str) -> list[PollHandler]:
        return [h for prefix, h in self._polls if tag.startswith(prefix)]

    @property
    def redaction_handlers(self) -> tuple[RedactionHandler, ...]:
        return tuple(self._redactions)
