"""Poll events as the bot writes and reads them (MSC3381, unstable and stable names)."""

from bot.polls import PollResponse, end_content, read_response, start_content
from handlers.replies import Poll, PollChoice

REFERENCE = {"rel_type": "m.reference", "event_id": "$poll"}


def test_a_poll_start_carries_its_answers_and_a_text_fallback():
    content = start_content(Poll("Quelle tribu ?", (PollChoice("1", "Énergie"), PollChoice("2", "Eau")), "t"))
    start = content["org.matrix.msc3381.poll.start"]
    assert start["question"]["org.matrix.msc1767.text"] == "Quelle tribu ?"
    assert start["max_selections"] == 1 and start["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert start["answers"] == [
        {"id": "1", "org.matrix.msc1767.text": "Énergie"},
        {"id": "2", "org.matrix.msc1767.text": "Eau"},
    ]
    assert content["org.matrix.msc1767.text"] == "Quelle tribu ?\n1. Énergie\n2. Eau"


def test_a_poll_end_refers_to_its_poll():
    content = end_content("$poll", "Sondage clos.")
    assert content["m.relates_to"] == REFERENCE and content["org.matrix.msc1767.text"] == "Sondage clos."
    assert "org.matrix.msc3381.poll.end" in content


def test_responses_are_read_in_the_unstable_and_the_stable_names():
    unstable = {"m.relates_to": REFERENCE, "org.matrix.msc3381.poll.response": {"answers": ["2"]}}
    stable = {"m.relates_to": REFERENCE, "m.selections": ["1"]}
    stable_nested = {"m.relates_to": REFERENCE, "m.poll.response": {"answers": ["1"]}}
    assert read_response("org.matrix.msc3381.poll.response", unstable) == PollResponse("$poll", ("2",))
    assert read_response("m.poll.response", stable) == PollResponse("$poll", ("1",))
    assert read_response("m.poll.response", stable_nested) == PollResponse("$poll", ("1",))


def test_anything_else_is_no_response():
    assert read_response("m.room.message", {"m.relates_to": REFERENCE, "m.selections": ["1"]}) is None
    assert read_response("m.poll.response", {"m.selections": ["1"]}) is None
    assert read_response("m.poll.response", {"m.relates_to": {"rel_type": "m.thread", "event_id": "$x"}}) is None
    assert read_response("m.poll.response", {"m.relates_to": REFERENCE, "m.selections": "1"}) is None
