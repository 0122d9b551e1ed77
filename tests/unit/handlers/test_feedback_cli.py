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
