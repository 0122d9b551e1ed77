"""Every table module, imported once so that create_all() knows them all."""

from storage import agenda, board, deposits, direct_chats, knowledge, messages, questions, rooms, undecryptable  # noqa: F401
