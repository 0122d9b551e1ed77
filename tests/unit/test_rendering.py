"""Every shipped template renders with a sample context; HTML from users is escaped."""

import pytest

from bot.rendering import SHIPPED_TEMPLATES, Renderer, build_template_environment
from handlers.replies import Reply
from tests.unit.template_samples import SAMPLES

TEMPLATES = sorted(str(p.relative_to(SHIPPED_TEMPLATES)) for p in SHIPPED_TEMPLATES.rglob("*.j2"))


@pytest.fixture(scope="module")
def renderer():
    return Renderer(build_template_environment())


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_renders(renderer, name):
    assert name in SAMPLES, f"add a sample context for {name} in tests/unit/template_samples.py"
    rendered = renderer.render(Reply(template=name, context=SAMPLES[name]))
    assert rendered.plain.strip() and rendered.html.strip()
    assert "{{" not in rendered.plain and "{%" not in rendered.plain


def test_user_html_is_escaped_in_templates_and_text(renderer):
    hostile = "<img src=x onerror=alert(1)>"
    rendered = renderer.render(Reply(template="rooms/unencrypted_alert.md.j2", context={"name": hostile}))
    assert "<img" not in rendered.html and "&lt;img" in rendered.html
    assert hostile in rendered.plain
    assert "<img" not in renderer.render(Reply(text=hostile)).html


def test_markdown_becomes_html_and_plain_drops_markers(renderer):
    rendered = renderer.render(Reply(text="**Gras**, `code` et *source* ou _note_ ; a*b reste, snake_case aussi"))
    assert "<strong>Gras</strong>" in rendered.html and "<code>code</code>" in rendered.html
    assert rendered.plain == "Gras, code et source ou note ; a*b reste, snake_case aussi"


def test_bare_links_become_clickable(renderer):
    rendered = renderer.render(Reply(text="Lien : https://visio.example.org/permanence"))
    assert '<a href="https://visio.example.org/permanence">' in rendered.html


def test_a_deployment_can_override_a_template(tmp_path):
    (tmp_path / "rooms").mkdir()
    (tmp_path / "rooms" / "unencrypted_alert.md.j2").write_text("Salon {{ name }} à chiffrer.")
    renderer = Renderer(build_template_environment(tmp_path))
    assert renderer.render(Reply(template="rooms/unencrypted_alert.md.j2", context={"name": "X"})).plain == "Salon X à chiffrer."
