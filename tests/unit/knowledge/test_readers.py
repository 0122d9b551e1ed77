"""Each format reaches the chunker as a title plus sections carrying their heading path."""

from __future__ import annotations

import pytest

from knowledge.readers import UnsupportedFormat, read_document
from tests.unit.knowledge.helpers import make_pdf


def test_markdown_title_heading_path_and_plain_text(tmp_path):
    path = tmp_path / "02-modes-de-faire.md"
    path.write_text(
        "# Les modes de faire\n\nIntroduction du *document*.\n\n"
        "## Coopérer\n\n### Coopérer sans être alignés\n\nOn peut agir avec un [partenaire](https://x.fr) "
        "sans partager tous ses avis.\n\n- premier point\n- second point\n",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "Les modes de faire"
    assert doc.source == "02-modes-de-faire.md"
    by_heading = {s.heading: s for s in doc.sections}
    assert by_heading["Les modes de faire"].text == "Introduction du document."
    assert by_heading["Coopérer"].text == ""  # heading-only: kept here, skipped by the chunker
    leaf = by_heading["Coopérer sans être alignés"]
    assert leaf.heading_path == ("Les modes de faire", "Coopérer", "Coopérer sans être alignés")
    assert "avec un partenaire sans" in leaf.text and "https" not in leaf.text
    assert "- premier point" in leaf.text


def test_markdown_without_h1_takes_title_from_file_name(tmp_path):
    path = tmp_path / "03-le_recit.md"
    path.write_text("## Raconter\n\nUn récit commun.\n", encoding="utf-8")
    doc = read_document(path)
    assert doc.title == "le recit"
    assert doc.sections[0].heading_path == ("le recit", "Raconter")


def test_plain_text_is_one_section_with_paragraphs(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Premier paragraphe\nsur deux lignes.\n\n\nSecond paragraphe.", encoding="utf-8")
    doc = read_document(path)
    assert [s.heading_path for s in doc.sections] == [("notes",)]
    assert doc.sections[0].text == "Premier paragraphe\nsur deux lignes.\n\nSecond paragraphe."


def test_html_headings_become_sections_and_scripts_are_dropped(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Titre onglet</title><script>var x = 1;</script></head><body>"
        "<nav>Menu</nav><h1>Guide des tribus</h1><p>Présentation.</p>"
        "<h2>Rejoindre</h2><p>Écrire à <b>l'équipe</b>.</p><ul><li>un</li><li>deux</li></ul>"
        "<h3>Quitter</h3><div>Il suffit de partir.</div></body></html>",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "Guide des tribus"
    sections = {s.heading: s for s in doc.sections}
    assert sections["Rejoindre"].heading_path == ("Guide des tribus", "Rejoindre")
    assert "Écrire à l'équipe." in sections["Rejoindre"].text
    assert sections["Quitter"].heading_path == ("Guide des tribus", "Rejoindre", "Quitter")
    assert sections["Quitter"].text == "Il suffit de partir."
    everything = " ".join(s.text for s in doc.sections)
    assert "var x" not in everything and "Menu" not in everything


def test_pdf_text_per_page_with_numbered_headings(tmp_path):
    path = tmp_path / "rapport.pdf"
    path.write_bytes(
        make_pdf(
            [
                ["1. Le diagnostic", "Le diagnostic sensible commence par des entretiens."],
                ["2. La gouvernance", "Un comité réunit les élus et les habitants, et", "12 communes y siègent."],
            ],
            title="Rapport d'étape",
        )
    )
    doc = read_document(path)
    assert doc.title == "Rapport d'étape"
    sections = {s.heading: s for s in doc.sections}
    assert sections["1. Le diagnostic"].heading_path == ("Rapport d'étape", "1. Le diagnostic")
    assert "entretiens" in sections["1. Le diagnostic"].text
    assert "comité réunit les élus" in sections["2. La gouvernance"].text
    # A wrapped line starting with a number is body text, not a heading.
    assert "12 communes y siègent." in sections["2. La gouvernance"].text
    assert len(doc.sections) == 2


def test_unsupported_format_is_refused(tmp_path):
    path = tmp_path / "tableur.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(UnsupportedFormat):
        read_document(path)
