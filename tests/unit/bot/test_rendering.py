"""Every shipped template renders; member text reads exactly as typed, never as Markdown or HTML;
the bot's own Markdown and links still work."""

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from bot.rendering import SHIPPED_TEMPLATES, Renderer, build_template_environment
from handlers.deposits.form import load_form
from handlers.deposits.machine import Answer, FormState, step
from handlers.replies import Reply
from handlers.text import escape_markdown, quote
from tests.unit.bot.board.samples import BOARD_HTML_SAMPLES, EVIL
from tests.unit.template_samples import BOT_WRITTEN, BOT_WRITTEN_EVERYWHERE, SAMPLES

TEMPLATES = sorted(str(p.relative_to(SHIPPED_TEMPLATES)) for p in SHIPPED_TEMPLATES.rglob("*.md.j2"))
# The web board's pages: HTML, autoescaped as HTML by the same environment.
HTML_TEMPLATES = sorted(str(p.relative_to(SHIPPED_TEMPLATES)) for p in SHIPPED_TEMPLATES.rglob("*.html.j2"))

# Tags that only the bot's own Markdown may produce.
FORMATTING = re.compile(r"<(a|img|strong|em|b|i|h[1-6]|ul|ol|li|code|pre|blockquote|table|hr|del|s|script)\b")

HOSTILE = [
    "[Formulaire officiel](https://evil.example/x)",
    "![logo](https://evil.example/i.png)",
    "<https://evil.example/x> et <secours@evil.example>",
    "https://evil.example/x et www.evil.example",
    "**gras** et __gras__, *penché* et _penché_",
    "# Titre",
    "###### Petit titre",
    "Titre\n===",
    "Sous-titre\n---",
    "- un\n- deux",
    "+ un\n* deux",
    "1. un\n2) deux",
    "> citation",
    "---\n***\n_ _ _",
    "<b>gras</b> <script>alert(1)</script> <img src=x onerror=alert(1)>",
    "`code` et ``double``",
    "```python\nprint(1)\n```",
    "~~~\nbloc\n~~~ et ~~barré~~",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "\\*pas gras\\* et C:\\dossier\\",
    "&amp; &copy; &#233;",
    "[ref]\n\n[ref]: https://evil.example/x",
]


@pytest.fixture(scope="module")
def renderer():
    return Renderer(build_template_environment())


@pytest.fixture
def echo(tmp_path):
    """A deployment template that prints one value alone on its line, where line-start Markdown bites."""
    (tmp_path / "echo.md.j2").write_text("{{ text }}")
    return Renderer(build_template_environment(tmp_path))


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_renders(renderer, name):
    assert name in SAMPLES, f"add a sample context for {name} in tests/unit/template_samples.py"
    rendered = renderer.render(Reply(template=name, context=SAMPLES[name]))
    assert rendered.plain.strip() and rendered.html.strip()
    assert "{{" not in rendered.plain and "{%" not in rendered.plain


def test_every_shipped_template_is_markdown_or_html():
    assert set(TEMPLATES) | set(HTML_TEMPLATES) == {
        str(p.relative_to(SHIPPED_TEMPLATES)) for p in SHIPPED_TEMPLATES.rglob("*.j2")
    }


@pytest.mark.parametrize("name", HTML_TEMPLATES)
def test_each_board_page_renders_with_hostile_text_escaped(renderer, name):
    assert name in BOARD_HTML_SAMPLES, f"add a sample context for {name} in tests/unit/bot/board/samples.py"
    html = renderer.env.get_template(name).render(**BOARD_HTML_SAMPLES[name])
    assert html.startswith("<!doctype html>") and "{{" not in html and "{%" not in html
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    if BOARD_HTML_SAMPLES[name]:  # every sample with a context carries EVIL somewhere it is shown
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, EVIL
    # Markdown escaping stays out of HTML: nothing is backslashed.
    assert "\\<" not in html and "\\_" not in html


def test_markdown_templates_keep_markdown_escaping(renderer):
    rendered = renderer.markdown_source(Reply(template="board/link.md.j2", context={"url": "<script>", "minutes": 10}))
    assert "<script>" not in rendered and "\\<script" in rendered


@pytest.mark.parametrize("text", HOSTILE)
def test_member_text_shows_as_typed_in_a_template(echo, text):
    rendered = echo.render(Reply(template="echo.md.j2", context={"text": text}))
    assert not FORMATTING.search(rendered.html), rendered.html
    assert rendered.plain == text


@pytest.mark.parametrize("text", HOSTILE)
def test_member_text_quoted_in_a_sentence_shows_as_typed(renderer, text):
    rendered = renderer.render(Reply(text=f"Je ne connais pas la commande « {quote(text, limit=500)} »."))
    assert not FORMATTING.search(rendered.html), rendered.html
    assert rendered.plain == f"Je ne connais pas la commande « {' '.join(text.split())} »."


def test_raw_html_typed_by_a_member_is_shown_as_text(echo):
    rendered = echo.render(Reply(template="echo.md.j2", context={"text": "<b>gras</b> & <i>x</i>"}))
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;" in rendered.html
    assert rendered.plain == "<b>gras</b> & <i>x</i>"


def test_indented_member_text_becomes_no_code_block(echo):
    rendered = echo.render(Reply(template="echo.md.j2", context={"text": "Voici :\n\n    rm -rf /\n\tfin"}))
    assert "<code>" not in rendered.html and "<pre>" not in rendered.html
    assert "rm -rf /" in rendered.plain


def test_escaping_keeps_ordinary_french_readable():
    ordinary = "C'est l'été : 50 % de réussite (déjà !), rendez-vous à 10h00 ; « super » — n°3, @ana:example.org"
    assert escape_markdown(ordinary) == ordinary
    assert escape_markdown("#hashtag, -5 °C, 2027 est l'année") == "#hashtag, -5 °C, 2027 est l'année"


def test_quote_collapses_whitespace_and_cuts_a_long_text_at_a_word():
    assert quote("  une\n\n  idée   ") == "une idée"
    words = " ".join(f"mot{number}" for number in range(500))
    cut = quote(words, limit=60)
    assert cut.endswith(" …") and len(cut) <= 62
    assert words.startswith(cut.removesuffix(" …") + " ")
    assert quote("x" * 300, limit=60) == "x" * 60 + " …"


def test_quote_escapes_after_cutting():
    assert quote("[lien](https://evil.example)") == "\\[lien\\](https://evil.example)"
    # Cutting first: an escape is never split from the character it protects.
    assert quote("a" * 59 + "*b", limit=60) == "a" * 59 + "\\* …"


def test_a_bot_written_link_is_a_link_and_reads_as_the_url(renderer):
    rendered = renderer.render(
        Reply(
            template="agenda/permanence.md.j2",
            context={
                "days": 60,
                "event": {
                    "title": "Permanence",
                    "when": "mardi 2 mars 2027 à 10h00",
                    "location": "",
                    "link": "https://visio.example.org/permanence?salle=a_b",
                },
            },
        )
    )
    assert '<a href="https://visio.example.org/permanence?salle=a_b">' in rendered.html
    assert "Lien : https://visio.example.org/permanence?salle=a_b" in rendered.plain


@pytest.mark.parametrize("link", ["javascript:alert(1)", "[Visio](https://evil.example/x)", "salle 3 <b>"])
def test_the_link_filter_makes_no_link_of_anything_but_a_web_address(renderer, link):
    rendered = renderer.render(
        Reply(
            template="agenda/permanence.md.j2",
            context={"days": 60, "event": {"title": "Permanence", "when": "mardi", "location": "", "link": link}},
        )
    )
    assert "<a " not in rendered.html and f"Lien : {link}" in rendered.plain


def test_bare_urls_in_bot_text_are_not_linkified(renderer):
    rendered = renderer.render(Reply(text="Lien : https://visio.example.org/permanence"))
    assert "<a " not in rendered.html and "https://visio.example.org/permanence" in rendered.plain


def test_trusted_markdown_stays_markdown(renderer):
    rendered = renderer.render(Reply(template="help/command.md.j2", context=SAMPLES["help/command.md.j2"]))
    assert "<code>!aide [commande]</code>" in rendered.html and "\\" not in rendered.html


def _hostile(value, bot_written: set[str], text: str):
    """The sample with member text in every string the bot does not write itself."""
    if isinstance(value, dict):
        return {k: v if k in bot_written else _hostile(v, bot_written, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_hostile(v, bot_written, text) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                f.name: _hostile(getattr(value, f.name), bot_written, text)
                for f in dataclasses.fields(value)
                if isinstance(getattr(value, f.name), str)
            },
        )
    # Empty strings stay empty, so each template takes the same branches as with its sample.
    return text if isinstance(value, str) and value else value


ONE_LINE_HOSTILE = "# **Gras** [Formulaire officiel](https://evil.example/x) <b>x</b> `code` | ~~barré~~ _"


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_shows_member_text_as_text(renderer, name):
    bot_written = BOT_WRITTEN_EVERYWHERE | BOT_WRITTEN.get(name, set())
    benign = renderer.render(Reply(template=name, context=SAMPLES[name]))
    hostile = renderer.render(Reply(template=name, context=_hostile(SAMPLES[name], bot_written, ONE_LINE_HOSTILE)))
    for tag in set(FORMATTING.findall(hostile.html)):
        assert hostile.html.count(f"<{tag}") <= benign.html.count(f"<{tag}"), (tag, hostile.html)
    assert "evil.example" not in "".join(re.findall(r'href="[^"]*"', hostile.html))
    if hostile.plain != benign.plain:
        assert ONE_LINE_HOSTILE in hostile.plain or ONE_LINE_HOSTILE.lower() in hostile.plain, hostile.plain


def test_an_answer_that_matches_no_choice_is_echoed_as_text(renderer):
    form = load_form()
    choice = next(f for f in form.fields if f.type == "choice")
    state = FormState(current=choice.key)
    _, [reply] = step(form, state, Answer(text="[Moi](https://evil.example/x)", at=datetime.now(UTC)))
    rendered = renderer.render(reply)
    assert "<a " not in rendered.html and "« [Moi](https://evil.example/x) »" in rendered.plain


def test_markdown_becomes_html_and_plain_drops_markers(renderer):
    rendered = renderer.render(Reply(text="**Gras**, `code` et *source* ou _note_ ; a*b reste, snake_case aussi"))
    assert "<strong>Gras</strong>" in rendered.html and "<code>code</code>" in rendered.html
    assert rendered.plain == "Gras, code et source ou note ; a*b reste, snake_case aussi"


@pytest.mark.parametrize(
    "url", ["https://tableau.example.org/connexion?jeton=ab__cd_ef_gh*i*", "https://x.example/_a_/__b__/`c`"]
)
def test_a_bot_given_link_reads_whole_in_the_plain_body(renderer, url):
    rendered = renderer.render(Reply(template="board/link.md.j2", context={"url": url, "minutes": 10}))
    assert url in rendered.plain.split()


def test_a_code_span_keeps_its_underscores_in_the_plain_body(renderer):
    rendered = renderer.render(Reply(text="Tapez `!depot __init__` puis *ok*"))
    assert rendered.plain == "Tapez !depot __init__ puis ok"


def test_a_deployment_can_override_a_template(tmp_path):
    (tmp_path / "rooms").mkdir()
    (tmp_path / "rooms" / "unencrypted_alert.md.j2").write_text("Salon {{ name }} à chiffrer.")
    renderer = Renderer(build_template_environment(tmp_path))
    assert (
        renderer.render(Reply(template="rooms/unencrypted_alert.md.j2", context={"name": "X"})).plain
        == "Salon X à chiffrer."
    )


def test_the_configured_prefix_is_written_in_every_command_the_bot_names():
    renderer = Renderer(build_template_environment(), command_prefix="?")
    text = renderer.render(Reply(text="Tapez `!aide`, ou `!deposer` pour commencer.")).plain
    assert text == "Tapez ?aide, ou ?deposer pour commencer."
    recap = renderer.render(Reply(template="deposits/abandoned.md.j2", context={"days": "7", "title": "!aide"})).plain
    assert "?mes-depots" in recap and "?deposer" in recap
    # A member's own « `!x` » stays as typed: their backticks are escaped, so no command span is made.
    assert (
        "« `!x` »"
        in renderer.render(Reply(template="deposits/abandoned.md.j2", context={"days": "7", "title": "`!x`"})).plain
    )
