"""The form as a pure state machine: no database, no Matrix, just (state, event) -> (state, replies)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rendering import Renderer, build_template_environment
from handlers.deposits.form import load_form
from handlers.deposits.machine import (
    CANCELLED,
    CONFIRMED,
    FILLING,
    RECAP,
    Answer,
    Control,
    FormState,
    parse_event,
    start,
    step,
)

FORM = load_form().with_tribes(["Énergie", "Alimentation"])
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
RENDERER = Renderer(build_template_environment())


def begin(confidential=False):
    return start(FORM, {"origin_confidential": confidential}, T0)[0]


def send(state, *texts):
    """Feed messages as a member would type them; returns the last state and the last replies as text."""
    replies = []
    for text in texts:
        state, replies = step(FORM, state, parse_event(text, T0 + timedelta(minutes=1)))
    return state, [RENDERER.render(r).plain for r in replies]


FILL_FOR_ME = [
    "Cantine bio",
    "1",
    "moi",
    "Pays de Lunel",
    "Une cantine qui sert des produits locaux aux écoles.",
    "1, 2",
    "idée",
    "!passer",
    "communauté",
]


def test_start_asks_the_first_question_with_the_intro():
    state, replies = start(FORM, {"origin_confidential": False}, T0)
    text = RENDERER.render(replies[0]).plain
    assert state.current == "title" and state.status == FILLING
    assert "Merci de déposer un projet" in text and "Question 1 —" in text and "titre du projet" in text


def test_a_whole_form_reaches_the_recap_then_confirms():
    state, texts = send(begin(), *FILL_FOR_ME)
    assert state.status == RECAP and state.current is None
    assert "Récapitulatif" in texts[0] and "Des partenaires, Un financement" in texts[0]
    assert "carrier_name" not in state.answers  # only asked for someone else's project
    assert state.answers["needs"] == ["partners", "funding"] and "contact" in state.skipped
    state, replies = send(state, "oui")
    assert state.status == CONFIRMED and replies == []


def test_an_invalid_answer_is_explained_and_the_same_question_asked_again():
    state, texts = send(begin(), "Cantine bio", "1", "moi", "Lunel", "court")
    assert state.current == "description" and "description" not in state.answers
    assert "au moins 20 caractères" in texts[0] and "décrire le projet" in texts[0]
    state, texts = send(state, "Une cantine qui sert des produits locaux aux écoles.", "je sais pas")
    assert state.current == "needs" and "« je sais pas »" in texts[0] and "De quoi le projet" in texts[0]


def test_on_behalf_of_someone_else_asks_their_name_and_contact():
    state, texts = send(begin(), "Cantine bio", "1", "quelqu'un d'autre")
    assert state.current == "carrier_name"
    state, texts = send(state, "Jeanne Dupont", "sais pas")
    assert state.current == "carrier_contact" and "téléphone" in texts[0]
    state, _ = send(state, "jeanne@example.org")
    assert state.answers["carrier_name"] == "Jeanne Dupont" and state.current == "territory"


def test_back_returns_to_the_previous_question_and_keeps_the_answers():
    state, _ = send(begin(), "Cantine bio", "1", "moi")
    state, texts = send(state, "!retour")
    assert state.current == "carrier" and "Réponse actuelle : « Moi-même »" in texts[0]
    state, texts = send(state, "!retour", "!retour", "!retour")
    assert state.current == "title" and "déjà à la première question" in texts[0]
    assert state.answers == {"title": "Cantine bio", "tribe": "Énergie", "carrier": "me"}
    # Answering again moves on to the first question still open, not through every answered one.
    state, _ = send(state, "Cantine bio et locale")
    assert state.current == "territory" and state.answers["title"] == "Cantine bio et locale"


def test_skip_only_on_optional_questions():
    state, texts = send(begin(), "!passer")
    assert state.current == "title" and "obligatoire" in texts[0]
    state, _ = send(state, "Cantine bio", "passer")
    assert state.current == "carrier" and "tribe" in state.skipped and "tribe" not in state.answers


def test_modify_from_the_recap_by_name_number_or_close_label():
    state, _ = send(begin(), *FILL_FOR_ME)
    state, texts = send(state, "!modifier avancement")
    assert state.current == "stage" and state.status == FILLING and "Réponse actuelle : « C'est une idée »" in texts[0]
    state, texts = send(state, "déjà en cours")
    assert state.status == RECAP and state.answers["stage"] == "running" and "Déjà en cours" in texts[0]
    state, _ = send(state, "!modifier 1")
    assert state.current == "title"
    state, _ = send(state, "Cantine", "!modifier territoir")
    assert state.current == "territory"
    state, texts = send(state, "!modifier couleur")
    assert state.current == "territory" and "ne correspond à aucune question" in texts[0]


def test_modify_that_opens_a_new_branch_asks_it_before_the_recap():
    state, _ = send(begin(), *FILL_FOR_ME)
    state, _ = send(state, "!modifier porteur", "2")
    assert state.current == "carrier_name"
    state, texts = send(state, "Jeanne Dupont", "06 12 34 56 78")
    assert state.status == RECAP and "Jeanne Dupont" in texts[0]


def test_recap_waits_for_a_clear_yes():
    state, _ = send(begin(), *FILL_FOR_ME)
    for chat in ("super merci", "non"):
        state, texts = send(state, chat)
        assert state.status == RECAP and "!modifier" in texts[0]


def test_cancel_keeps_the_answers_and_closes():
    state, texts = send(begin(), "Cantine bio", "!annuler")
    assert state.status == CANCELLED and state.answers["title"] == "Cantine bio" and "conservées" in texts[0]
    assert send(state, "oui")[0] is not None and step(FORM, state, Answer("oui", T0))[0].status == CANCELLED


def test_help_explains_the_current_question_and_the_controls():
    state, _ = send(begin(), "Cantine bio")
    state2, texts = send(state, "!aide")
    assert state2.current == state.current and "!retour" in texts[0] and "!passer" in texts[0]
    assert "tribu dont le thème" in texts[0]


def test_confidential_origin_asks_consent_instead_of_visibility():
    state, _ = send(begin(confidential=True), *FILL_FOR_ME[:-1])
    assert state.current == "share_content"
    _, texts = send(state, "!aide")
    assert "espace confidentiel" in texts[0]
    state, _ = send(state, "non")
    assert state.status == RECAP and state.answers["share_content"] is False and "visibility" not in state.answers


def test_state_survives_json():
    state, _ = send(begin(), "Cantine bio", "1", "!retour")
    assert FormState.from_json(state.to_json()) == state


def test_unknown_commands_are_not_the_forms():
    assert parse_event("!agenda", T0) is None
    assert parse_event("!Modifier titre", T0) == Control("modify", T0, "titre")
    assert parse_event("Retour", T0) == Control("back", T0)
    assert parse_event("retour à la terre", T0) == Answer("retour à la terre", T0)


# Property: whatever members type, the machine never crashes and never loses an answer.

ANSWERS = st.sampled_from(
    [
        "Cantine bio",
        "1",
        "2",
        "3",
        "moi",
        "autre",
        "Jeanne",
        "jeanne@example.org",
        "Une cantine qui sert des produits locaux aux écoles.",
        "partenaires et lieu",
        "oui",
        "non",
        "je sais pas",
        "",
        "!!",
        "12 mars 2027",
        "x" * 300,
    ]
)
CONTROLS = st.sampled_from(
    [
        "!retour",
        "!passer",
        "!aide",
        "!modifier titre",
        "!modifier 3",
        "!modifier",
        "!modifier besoins",
        "!valider",
        "retour",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ANSWERS, CONTROLS, st.text(max_size=30)), max_size=40), st.booleans())
def test_random_conversations_never_crash_nor_lose_answers(messages, confidential):
    state = begin(confidential)
    for i, text in enumerate(messages):
        event = parse_event(text, T0 + timedelta(seconds=i))
        if event is None:
            continue  # a command of another module: the form never sees it
        before, asked = dict(state.answers), state.current
        state, replies = step(FORM, state, event)
        assert replies or state.status == CONFIRMED
        for reply in replies:
            RENDERER.render(reply)  # every reply renders
        # Nothing disappears; the only answer that may change is the one to the question just asked.
        for key, value in before.items():
            assert key in state.answers
            if not (isinstance(event, Answer) and key == asked):
                assert state.answers[key] == value, (key, text)
        assert set(state.answers) <= set(FORM.keys())
        if state.status == FILLING:
            assert state.current in FORM
        if not state.is_open:
            break


def test_back_to_a_required_question_shows_its_answer_and_passer_keeps_it():
    state, _ = send(begin(), "Cantine bio", "1")
    state, texts = send(state, "!retour", "!retour")
    assert state.current == "title" and "Réponse actuelle : « Cantine bio »" in texts[0]
    assert "!passer pour la garder" in texts[0]
    state, texts = send(state, "1")  # too short for a title: refused, the answer stays
    assert "un peu court" in texts[0] and state.answers["title"] == "Cantine bio"
    state, texts = send(state, "!passer")
    assert state.current == "carrier" and state.answers["title"] == "Cantine bio" and "title" not in state.skipped


def test_the_counter_says_how_many_questions_remain_and_only_narrows():
    state, texts = send(begin(), "Cantine bio")
    assert "Question 2 — Tribu (encore 7 à 10 questions ensuite, selon vos réponses)" in texts[0]
    state, texts = send(state, "1")
    assert "Question 3 — Porteur du projet (encore 6 à 9 questions" in texts[0]
    state, texts = send(state, "moi")  # no carrier's name nor contact to ask: the range narrows
    assert "Question 4 — Territoire (encore 5 à 6 questions" in texts[0]
    state, texts = send(state, "Pays de Lunel", "Une cantine qui sert des produits locaux aux écoles.", "1, 2")
    assert "Question 7 — Avancement (encore 2 questions ensuite)" in texts[0]
    state, texts = send(state, "idée")
    assert "(encore une question ensuite)" in texts[0]
    state, texts = send(state, "!passer")
    assert "Question 9 — Visibilité (dernière question)" in texts[0]


def test_on_behalf_of_someone_else_the_counter_goes_on_without_jumping():
    state, _ = send(begin(), "Cantine bio", "1")
    state, texts = send(state, "quelqu'un d'autre")
    assert "Question 4 — Nom du porteur (encore 7 à 8 questions" in texts[0]
