"""Every table module, imported once so that create_all() knows them all."""
from storage import agenda, deposits, knowledge, messages, questions, rooms  # noqa: F401
