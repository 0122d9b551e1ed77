"""The reply holds the answer: lists with their items, counts with their number, comparisons with both
sides, the sentence that answers whole; follow-ups move on. Asserted on the text a member reads."""

import re

from tests.unit.handlers.questions.world import TRIBE
from tests.unit.stand_ins import ANA

FAMILIES = ["Famille engagement", "Famille transversalité", "Famille coopération", "Famille valeur"]
COOPERATION = [
    "Coopérer sans être alignés",
    "Les dispositifs de réflexivité",
    "Participer ou coopérer",
    "Manager par la coopération",
    "La culture du risque partagé",
    "Jouer le temps et le territoire",
]
FOUR_FAMILIES = (
    "le référentiel les range en quatre familles, l'engagement, la transversalité, la coopération et la valeur"
)


def sources(text: str) -> list[str]:
    return re.findall(r"Source : (.+)", text)


def listed(text: str) -> list[str]:
    """The items of a list, as the plain body shows them (« - Title : gloss »)."""
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


async def test_a_list_question_gets_every_item_of_the_parent(app):
    [reply] = await app.say(ANA, TRIBE, "!q quelles sont les quatre familles de balises ?")
    text = reply.body
    items = listed(text)
    assert [item.split(" (")[0] for item in items] == FAMILIES
    assert "4 familles" in text and "Famille engagement (6)" in text
    # Each family comes with its first sentence, whole.
    assert all(item.endswith(".") for item in items)
    assert sources(text) == ["Les balises du référentiel"]


async def test_a_question_about_one_child_gets_that_child_and_its_own_children(app):
    [reply] = await app.say(ANA, TRIBE, "!q quelles balises composent la famille coopération ?")
    text = reply.body
    assert [item.split(" : ")[0] for item in listed(text)] == COOPERATION
    assert "6 balises" in text and "Famille valeur" not in text
    assert sources(text) == ["Les balises du référentiel › Famille coopération"]


async def test_a_count_gets_the_number_and_says_what_was_counted(app):
    [reply] = await app.say(ANA, TRIBE, "!q combien y a-t-il de balises en tout ?")
    text = reply.body
    assert "23 balises en tout" in text and "en 4 familles" in text
    assert "Famille transversalité (5)" in text and "Compté d'après les sections" in text
    # A number the text states is quoted with its sentence.
    [stated] = await app.say(ANA, TRIBE, "!q combien de permanences en 2023 ?")
    assert "11 permanences" in stated.body and "onze permanences" in stated.body


async def test_a_comparison_shows_both_sides_each_cited(app):
    [reply] = await app.say(ANA, TRIBE, "!q quelle différence entre la journée Agora et les journées entre pairs ?")
    text = reply.body
    assert sources(text) == [
        "Le parcours territoires pilotes › L'Agora",
        "Le parcours territoires pilotes › Les journées entre pairs",
    ]
    assert text.index("journée plénière") < text.index("trois demi-journées en visioconférence")


async def test_the_sentence_that_answers_is_never_cut(app):
    [reply] = await app.say(ANA, TRIBE, "!q c'est quoi une balise ?")
    assert FOUR_FAMILIES in reply.body
    [phases] = await app.say(ANA, TRIBE, "!q quelles sont les deux phases du parcours ?")
    text = phases.body
    assert "d'abord les fondamentaux et le diagnostic, puis le passage à l'action" in text
    assert [item.split(" : ")[0] for item in listed(text)] == [
        "La première phase du parcours",
        "La seconde phase du parcours",
    ]


async def test_a_follow_up_in_the_thread_answers_the_new_part_then_says_there_is_no_more(app):
    assert await app.say(ANA, TRIBE, "Une question sur les balises") == []
    root = app.last_event_id
    [first] = await app.say(ANA, TRIBE, "!q c'est quoi une balise ?", thread_root=root)
    [count] = await app.say(ANA, TRIBE, "et combien y en a-t-il ?", thread_root=root)
    assert app.tag(count).startswith("answer:")
    assert "23 balises" in count.body and FOUR_FAMILIES not in count.body
    # More of the count: what was counted, each family with its first sentence.
    [more] = await app.say(ANA, TRIBE, "et la suite ?", thread_root=root)
    assert [item.split(" (")[0] for item in listed(more.body)] == FAMILIES
    assert "23 balises" not in more.body
    [done] = await app.say(ANA, TRIBE, "et encore ?", thread_root=root)
    assert "n'en dit pas plus" in done.body and "transmette" in done.body
    assert done.body not in (first.body, count.body, more.body)


async def test_a_long_list_is_summarised_and_its_rest_comes_in_the_thread(app):
    assert await app.say(ANA, TRIBE, "Une question sur les modes de faire") == []
    root = app.last_event_id
    [first] = await app.say(ANA, TRIBE, "!q quels sont les modes de faire ?", thread_root=root)
    shown = listed(first.body)
    assert 3 <= len(shown) < 11 and "demandez-moi « la suite »" in first.body
    # Never cut mid-item: each item is its title and a whole sentence.
    assert all(item.rstrip().endswith((".", "?", "!")) for item in shown)
    [rest] = await app.say(ANA, TRIBE, "et la suite ?", thread_root=root)
    following = listed(rest.body)
    assert len(shown) + len(following) == 11 and not set(shown) & set(following)
    assert "Financer autrement" in rest.body and "demandez-moi" not in rest.body
    [done] = await app.say(ANA, TRIBE, "et encore ?", thread_root=root)
    assert "n'en dit pas plus" in done.body


async def test_a_follow_up_the_first_section_has_no_more_for_gets_the_next_one(app):
    [first] = await app.say(ANA, TRIBE, "!q c'est quand la permanence ?")
    [after] = await app.say(ANA, TRIBE, "et comment la rejoindre ?", reply_to=first.event_id)
    assert "lien de connexion" in after.body and sources(after.body) != sources(first.body)


async def test_a_follow_up_asking_the_difference_gets_the_other_side(app):
    assert await app.say(ANA, TRIBE, "Une question sur l'Agora") == []
    root = app.last_event_id
    [first] = await app.say(ANA, TRIBE, "!q c'est quoi l'Agora ?", thread_root=root)
    assert sources(first.body) == ["Le parcours territoires pilotes › L'Agora"]
    [other] = await app.say(ANA, TRIBE, "et la différence avec les journées entre pairs ?", thread_root=root)
    # The Agora was shown: the new part is the other side.
    assert sources(other.body) == ["Le parcours territoires pilotes › Les journées entre pairs"]
    assert "trois demi-journées" in other.body and "journée plénière" not in other.body


async def test_a_count_finds_its_number_where_the_text_gives_it(app):
    # The number is in the second of two level sections, not in the first one's document tree.
    [alliance] = await app.say(ANA, TRIBE, "!q combien d'organisations compte l'alliance ?")
    assert "1400 organisations" in alliance.body and "6 organisations" not in alliance.body
    # What is counted is one of the document's sections by name: its siblings are no count of it.
    [comap] = await app.say(ANA, TRIBE, "!q combien y a-t-il de communautés apprenantes ?")
    assert "Quatre COMAP existent" in comap.body and "5 communautés" not in comap.body
    # « Trois sont consacrées à la méthode… Une quatrième est thématique »: four in all.
    [days] = await app.say(ANA, TRIBE, "!q combien de journées d'approfondissement y a-t-il ?")
    assert days.body.startswith("4 journées") and "Une quatrième est thématique" in days.body


async def test_a_list_told_in_a_sections_sentences_is_that_section(app):
    # « Elle combine trois outils : … »: the sentence that lists them, not the parcours' sections.
    [tools] = await app.say(ANA, TRIBE, "!q quels outils combine la seconde phase du parcours ?")
    assert "trois outils : un accompagnement de terrain" in tools.body
    assert sources(tools.body) == ["Le parcours territoires pilotes › La seconde phase du parcours"]
    # A section named for what is listed is read whole, its last item included.
    [circles] = await app.say(ANA, TRIBE, "!q quels sont les cercles de la communauté ?")
    assert "noyau initial" in circles.body and "cœur d'écosystème" in circles.body
    assert listed(circles.body) == []


async def test_a_b_then_what_changes_is_a_comparison(app):
    [reply] = await app.say(ANA, TRIBE, "!q accompagnement en cohorte ou expérimental, qu'est-ce qui change ?")
    assert len(sources(reply.body)) == 2
    assert "plusieurs territoires" in reply.body and "un seul territoire" in reply.body
