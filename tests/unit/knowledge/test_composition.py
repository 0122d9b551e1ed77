"""Answers composed from a document's tree and its sentences, on a document the référentiel does not
have (a guide to shared gardens): the mechanisms read headings and French wording, not our titles.
The sentences are scored lexically here (no question vector); the chat tests use the real model."""

from __future__ import annotations

import numpy as np

from knowledge.chunking import chunk_document
from knowledge.composition import Composer, Hit, Passage, Shown
from knowledge.excerpts import ExcerptChooser, SentenceVectors
from knowledge.outline import Outline, build_outline
from knowledge.question_kind import Kind, read_question
from knowledge.readers import Document, Section

TITLE = "Le guide des jardins partagés"
SECTIONS = [
    (
        (TITLE, "Un jardin, des usages"),
        "Un jardin partagé est cultivé par les habitants d'un quartier. Le guide range ses outils en trois "
        "ensembles, le sol, l'eau et les semences, chacun décrit par des fiches pratiques.",
    ),
    ((TITLE, "Ensemble sol"), "Ce premier ensemble prend soin de la terre. Il réunit trois fiches."),
    ((TITLE, "Ensemble sol", "Le compost"), "Le compost transforme les déchets verts en engrais."),
    ((TITLE, "Ensemble sol", "Le paillage"), "Le paillage garde l'humidité du sol en été."),
    ((TITLE, "Ensemble sol", "Les buttes"), "Les buttes réchauffent la terre au printemps."),
    ((TITLE, "Ensemble eau"), "Ce deuxième ensemble économise l'eau. Il réunit deux fiches."),
    ((TITLE, "Ensemble eau", "La récupération de pluie"), "Des cuves recueillent l'eau des toits."),
    ((TITLE, "Ensemble eau", "Le goutte-à-goutte"), "Un tuyau percé arrose au pied des plantes."),
    ((TITLE, "Ensemble semences"), "Ce troisième ensemble garde les graines. Il réunit deux fiches."),
    ((TITLE, "Ensemble semences", "La grainothèque"), "Une boîte où chacun dépose et prend des graines."),
    ((TITLE, "Ensemble semences", "Les variétés locales"), "Des légumes adaptés au climat du lieu."),
]
LONG = (
    "Les récoltes se partagent selon des règles fixées ensemble au début de la saison. Chaque membre "
    "donne quelques heures par mois, et les tâches sont affichées sur un tableau près de la cabane. "
    "Les enfants du quartier viennent le mercredi, avec leurs animateurs, planter des radis et des fleurs. "
    "Un goûter clôt chaque séance, quand la météo le permet, sous le grand tilleul. Les outils sont rangés "
    "dans la cabane, dont le code change chaque trimestre. Les arrosoirs restent près de la cuve, et "
    "chacun les remet en place après usage. En hiver, le jardin se repose et les membres se retrouvent "
    "pour préparer les semis du printemps suivant. Pour adhérer, il suffit de remplir le bulletin "
    "disponible à la mairie et de verser une cotisation de dix euros par an."
)


def outline() -> Outline:
    # Through the chunker, as the index stores it: heading-only sections leave no chunk.
    document = Document("jardins.md", TITLE, tuple(Section(path, text) for path, text in SECTIONS))
    chunks = chunk_document(document)
    return build_outline("jardins.md", [(c.heading_path, c.text) for c in chunks])


class NoModel:
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("no sentence is embedded without a question vector")


def composer() -> Composer:
    return Composer(ExcerptChooser(SentenceVectors(NoModel())))


def hit(question: str, *path: str) -> Hit:
    return Hit(Passage("referentiel", "jardins.md", (TITLE, *path)), question)


OUTLINES = {("referentiel", "jardins.md"): outline()}


def test_the_tree_comes_from_the_headings_even_those_without_a_chunk():
    tree = outline()
    root = tree.root
    assert root.title == TITLE and root.lead is not None and root.lead.title == "Un jardin, des usages"
    assert [i.title for i in root.items] == ["Ensemble sol", "Ensemble eau", "Ensemble semences"]
    assert len(root.leaves()) == 7
    water = tree.node((TITLE, "Ensemble eau"))
    assert water is not None and water.gloss == "Ce deuxième ensemble économise l'eau."


def test_question_kinds_are_read_from_french_wording():
    assert read_question("quels sont les trois ensembles d'outils ?").kind is Kind.LIST
    assert read_question("quels sont les trois ensembles d'outils ?").number == 3
    count = read_question("combien y a-t-il de fiches en tout ?")
    assert count.kind is Kind.COUNT and count.counted == "fiches"
    assert read_question("et combien y en a-t-il ?").kind is Kind.COUNT
    assert read_question("combien de temps dure une séance ?").kind is Kind.OTHER
    compare = read_question("Quelle différence entre le compost et le paillage ?")
    assert compare.kind is Kind.COMPARE and compare.sides == ("le compost", "le paillage")
    assert read_question("et la suite ?").kind is Kind.MORE
    assert read_question("c'est quoi un jardin partagé ?").kind is Kind.OTHER
    # Sides then the question (« A ou B, qu'est-ce qui change ? »), and « diff » for « différence ».
    for question in ("Le compost ou le paillage, qu'est-ce qui change ?", "diff entre le compost et le paillage"):
        compare = read_question(question)
        assert compare.kind is Kind.COMPARE and compare.sides is not None, question
        assert [side.lower() for side in compare.sides] == ["le compost", "le paillage"], question


def test_list_questions_are_read_however_they_are_worded():
    for question, listed in [
        ("Quelles sont les différentes formes d'outils ?", "outils"),
        ("Donne-moi la liste des fiches", "fiches"),
        ("Quels types de fiches existent ?", "fiches"),
        ("Les ensembles, c'est lesquels ?", None),
        ("Quelles sont les étapes du jardin ?", "etapes"),
        # Named by their number, in chat style: « c koi les 3 ensembles ».
        ("c koi les 3 ensembles", "ensembles"),
        ("c'est quoi les trois ensembles ?", "ensembles"),
    ]:
        reading = read_question(question)
        assert (reading.kind, reading.listed) == (Kind.LIST, listed), question


def test_a_list_question_gets_the_parent_its_children_and_their_number():
    question = "quels sont les trois ensembles d'outils ?"
    [block] = composer().compose(read_question(question), [hit(question, "Ensemble eau")], OUTLINES).blocks
    assert block.heading_path == (TITLE,) and block.total == 3
    assert [i.title for i in block.items] == ["Ensemble sol", "Ensemble eau", "Ensemble semences"]
    assert [i.size for i in block.items] == [3, 2, 2]
    assert block.items[0].gloss == "Ce premier ensemble prend soin de la terre."
    assert block.noun == "ensembles"


def test_a_question_naming_one_child_gets_that_child():
    question = "quelles fiches composent l'ensemble eau ?"
    [block] = composer().compose(read_question(question), [hit(question, "Ensemble eau")], OUTLINES).blocks
    assert block.heading_path == (TITLE, "Ensemble eau")
    assert [i.title for i in block.items] == ["La récupération de pluie", "Le goutte-à-goutte"]


def test_a_count_is_counted_from_the_tree_and_says_what_was_counted():
    question = "combien y a-t-il de fiches en tout ?"
    [block] = composer().compose(read_question(question), [hit(question, "Un jardin, des usages")], OUTLINES).blocks
    count = block.count
    assert count is not None and count.number == 7 and count.noun == "fiches" and count.within == TITLE
    assert count.parts == (("Ensemble sol", 3), ("Ensemble eau", 2), ("Ensemble semences", 2))


def test_a_count_the_text_states_is_quoted():
    question = "combien de fiches dans l'ensemble sol ?"
    [block] = composer().compose(read_question(question), [hit(question, "Ensemble sol")], OUTLINES).blocks
    assert block.count is not None and block.count.number == 3
    assert block.count.stated == "Il réunit trois fiches."


def test_a_comparison_shows_both_sides_each_cited():
    question = read_question("quelle différence entre le compost et le paillage ?")
    hits = [hit("le compost", "Ensemble sol", "Le compost"), hit("le paillage", "Ensemble sol", "Le paillage")]
    blocks = composer().compose(question, hits, OUTLINES).blocks
    assert [b.side for b in blocks] == ["le compost", "le paillage"]
    assert blocks[0].sentences == ("Le compost transforme les déchets verts en engrais.",)
    assert blocks[1].heading_path[-1] == "Le paillage"


def test_a_long_section_shows_the_sentence_that_answers_whole_not_its_head():
    path = (TITLE, "La vie du jardin")
    tree = build_outline("jardins.md", [(path, LONG)])
    question = "comment adhérer au jardin ?"
    outlines = {("referentiel", "jardins.md"): tree}
    [block] = composer().compose(read_question(question), [hit(question, "La vie du jardin")], outlines).blocks
    answer = "Pour adhérer, il suffit de remplir le bulletin disponible à la mairie et de verser une cotisation de dix euros par an."
    assert answer in block.sentences
    assert len(" ".join(block.sentences)) < len(LONG)
    # A follow-up does not get it again: the other sentences, or nothing.
    again = composer().compose(
        read_question(question),
        [hit(question, "La vie du jardin")],
        outlines,
        Shown(sentences=frozenset(block.sentences)),
    )
    assert answer not in again.blocks[0].sentences


def test_a_comparison_s_sides_are_found_among_the_sections_the_question_found():
    hits = [
        hit("q", "Ensemble sol", "Le paillage"),
        hit("q", "Ensemble sol", "Les buttes"),
        hit("q", "Ensemble sol", "Le compost"),
    ]
    picked = composer().side_hits(("le compost", "le paillage"), hits)
    assert picked is not None
    assert [h.passage.heading_path[-1] for h in picked] == ["Le compost", "Le paillage"]
    assert [h.question for h in picked] == ["le compost", "le paillage"]
    # A side no section's title names: the caller searches it.
    assert composer().side_hits(("le compost", "la tondeuse"), hits) is None


def test_a_number_the_introducing_heading_states_wins_over_counting_the_sections():
    # « Trois saisons au jardin » introduces four sections: the fourth is about the whole year.
    title = "Le calendrier du jardin"
    sections = [
        ((title, "Trois saisons au jardin"), "Le jardin vit trois temps : semer, entretenir, récolter."),
        ((title, "Semer"), "Au printemps, on sème."),
        ((title, "Entretenir"), "En été, on arrose et on désherbe."),
        ((title, "Récolter"), "En automne, on récolte."),
        ((title, "Toute l'année"), "Le compost se nourrit en toute saison."),
    ]
    document = Document("calendrier.md", title, tuple(Section(path, text) for path, text in sections))
    tree = build_outline("calendrier.md", [(c.heading_path, c.text) for c in chunk_document(document)])
    question = "combien y a-t-il de saisons au jardin ?"
    found = Hit(Passage("referentiel", "calendrier.md", (title, "Trois saisons au jardin")), question)
    [block] = composer().compose(read_question(question), [found], {("referentiel", "calendrier.md"): tree}).blocks
    assert block.count is not None and block.count.number == 3
    # The sentence that says it in words, not the heading.
    assert block.count.stated == "Le jardin vit trois temps : semer, entretenir, récolter."


def test_a_section_naming_both_sides_of_a_comparison_is_the_answer_to_it():
    sides = ("le compost", "le paillage")
    assert composer().tells_both(sides, "Le compost nourrit la terre, le paillage la couvre.")
    # One side only, or a word of a side missing: each side is looked for on its own.
    assert not composer().tells_both(sides, "Le compost transforme les déchets verts en engrais.")
    assert not composer().tells_both(("les buttes chaudes", "le paillage"), "Les buttes et le paillage.")
