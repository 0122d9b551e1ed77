"""Every table module, imported once so that create_all() knows them all."""

from storage import (  # noqa: F401
    agenda,
    board,
    deposits,
    direct_chats,
    knowledge,
    messages,
    questions,
    retention,
    rooms,
    undecryptable,
)
