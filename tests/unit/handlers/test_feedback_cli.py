"""`manufacture-bot feedback`: the report, from the database of the config's data folder."""

import json

from bot.cli import main
from config import DatabaseConfig
from storage.database import open_database
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion

CONFIG = """
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:t"

[bot]
data_dir = "{data_dir}"
"""


def test_the_report_counts_answers_forwarded_questions_and_each_persons_vote(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data_dir=tmp_path / "data"), encoding="utf-8")
    db = open_database(tmp_path / "data", DatabaseConfig())
    with db.session() as session:
        session.add(
            AnswerRecord(
                id=1, room_id="!r:t", asker="@ana:t", question="Qui contacter ?", answered=True, heading="Contacts"
            )
        )
        session.add(AnswerRecord(id=2, room_id="!peers:t", asker="@ana:t", answered=False, confidential=True))
        session.add(ForwardedQuestion(room_id="!r:t", asker="@ana:t", question="Un local ?", event_id="$q"))
        for vote in ("up", "down"):  # Ana changed her mind: her latest vote counts
            session.add(AnswerFeedback(answer_id=1, user_id="@ana:t", vote=vote))
    db.close()

    assert main(["feedback", "--json", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["questions"], report["answered"], report["abstained"]) == (2, 1, 1)
    assert (report["forwarded"], report["forwarded_answered"], report["up"], report["down"]) == (1, 0, 0, 1)
    assert report["sections"] == [{"heading": "Contacts", "answers": 1, "up": 0, "down": 1}]
    assert report["disliked"] == [{"question": "Qui contacter ?", "heading": "Contacts"}]

    assert main(["feedback", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "Questions posées : 2 — répondues 1, sans réponse 1 (dont transmises 1, traitées 0)" in text
    assert "« Qui contacter ? » → Contacts" in text


def test_a_bad_config_is_reported_like_every_command(tmp_path, capsys):
    assert main(["feedback", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "Erreur de configuration" in (err := capsys.readouterr().err) and "introuvable" in err


def test_the_export_is_an_evaluation_set_of_shared_rooms_only(tmp_path, capsys):
    from bench.answer_eval import load_questions
    from storage.direct_chats import DirectChat
    from storage.rooms import RoomRecord

    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data_dir=tmp_path / "data"), encoding="utf-8")
    db = open_database(tmp_path / "data", DatabaseConfig())
    with db.session() as session:
        session.add(RoomRecord(room_id="!tribe:t", kind="tribe"))
        session.add(RoomRecord(room_id="!peers:t", kind="peer_group"))
        session.add(DirectChat(room_id="!dm:t", user_id="@ana:t"))
        answers = [
            ("!tribe:t", "C'est quoi une tribu ?", "Les tribus"),
            ("!tribe:t", "c'est quoi une TRIBU ?", "Les tribus"),  # the same question again: once
            ("!tribe:t", "Qui anime l'alliance ?", "Les cercles de la communauté"),
            ("!tribe:t", "Un vote à égalité ?", "L'Agora"),
            # Written where its author agreed to nothing beyond the room: never exported.
            ("!dm:t", "Mon projet secret ?", "Déposer un projet"),
        ]
        for number, (room, question, heading) in enumerate(answers, 1):
            session.add(
                AnswerRecord(id=number, room_id=room, asker="@ana:t", question=question, answered=True, heading=heading)
            )
        session.add(
            AnswerRecord(id=9, room_id="!peers:t", asker="@ana:t", answered=True, heading="X", confidential=True)
        )
        for answer_id, user, vote in [
            (1, "@ana:t", "up"),
            (2, "@bob:t", "up"),
            (3, "@ana:t", "down"),
            (5, "@ana:t", "up"),
            (9, "@ana:t", "up"),
        ]:
            session.add(AnswerFeedback(answer_id=answer_id, user_id=user, vote=vote))
        session.add(AnswerFeedback(answer_id=4, user_id="@ana:t", vote="up"))
        session.add(AnswerFeedback(answer_id=4, user_id="@bob:t", vote="down"))
        forwarded = [
            ("!tribe:t", "Un local pour la tribu ?", "Oui, à la maison des associations."),
            ("!tribe:t", "Encore sans réponse ?", None),
            ("!dm:t", "Ma commune peut-elle ?", "Oui, en privé."),
        ]
        for room, question, answer in forwarded:
            session.add(
                ForwardedQuestion(room_id=room, asker="@ana:t", question=question, event_id="$q", answer=answer)
            )
    db.close()

    output = tmp_path / "feedback.jsonl"
    assert main(["feedback", "export", "--output", str(output), "--config", str(config)]) == 0
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(r["origin"], r["question"], r.get("expected"), r.get("avoid")) for r in rows] == [
        ("vote", "C'est quoi une tribu ?", ["Les tribus"], None),
        ("vote", "Qui anime l'alliance ?", None, ["Les cercles de la communauté"]),
        ("vote", "Un vote à égalité ?", None, None),
        ("forwarded", "Un local pour la tribu ?", None, None),
    ]
    assert rows[2]["up"] == rows[2]["down"] == 1
    assert rows[3]["reference"] == "Oui, à la maison des associations."
    assert "secret" not in output.read_text() and "Ma commune" not in output.read_text()
    # The benchmark reads it as it is.
    questions = load_questions(output)
    assert [q.kind for q in questions] == ["feedback"] * 4
    assert questions[0].expected == ("Les tribus",) and questions[1].avoid == ("Les cercles de la communauté",)
