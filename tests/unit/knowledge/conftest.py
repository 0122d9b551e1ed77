"""The small folder of documents the ingestion and index tests work on: one of each format, and a
file of a format that is not read."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.helpers import make_pdf


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(
        "# Alpha\n\n## Un\n\nLe jardin partagé.\n\n## Deux\n\nLa mobilité douce.\n", encoding="utf-8"
    )
    (folder / "b.txt").write_text("Les tiers-lieux du territoire.", encoding="utf-8")
    (folder / "c.html").write_text("<h1>Gamma</h1><h2>Eau</h2><p>La gestion de l'eau.</p>", encoding="utf-8")
    (folder / "d.pdf").write_bytes(make_pdf([["1. Énergie", "Les réseaux de chaleur."]]))
    (folder / "ignored.xlsx").write_bytes(b"PK")
    return folder
