"""The board's pages, one module per group: login, deposits, questions, agenda, usage."""
