"""Every agenda template renders, member text shown as text."""

from __future__ import annotations

from pathlib import Path

import handlers
from bot.rendering import Renderer, build_template_environment
from handlers.replies import Reply
from tests.unit.handlers.agenda.samples import AGENDA_TEMPLATE_SAMPLES


def test_every_agenda_template_renders():
    renderer = Renderer(build_template_environment())
    folder = Path(handlers.__file__).parent / "templates" / "agenda"
    names = sorted(f"agenda/{path.name}" for path in folder.glob("*.md.j2"))
    assert names == sorted(AGENDA_TEMPLATE_SAMPLES)
    for name, sample in AGENDA_TEMPLATE_SAMPLES.items():
        rendered = renderer.render(Reply(template=name, context=sample))
        assert rendered.plain.strip() and "{{" not in rendered.plain
    reminder = renderer.render(
        Reply(template="agenda/reminder.md.j2", context=AGENDA_TEMPLATE_SAMPLES["agenda/reminder.md.j2"])
    )
    assert "(rappel envoyé en retard)" in reminder.plain
    digest = renderer.render(
        Reply(template="agenda/digest.md.j2", context=AGENDA_TEMPLATE_SAMPLES["agenda/digest.md.j2"])
    )
    assert "2 rappels" in digest.plain and "📅 Permanence — dans 15 minutes" in digest.plain
    assert "📢 Pensez à l'Agora" in digest.plain and digest.plain.count("(rappel envoyé en retard)") == 1
    assert "&lt;b&gt;" in digest.html
    problems = renderer.render(
        Reply(
            template="agenda/delivery_problem.md.j2",
            context={
                "number": None,
                "title": "",
                "failed": ["!a:x"],
                "unresolved": [],
                "none": False,
                "more": 0,
                "items": [{"number": 4, "title": "A", "none": False}, {"number": 5, "title": "B", "none": True}],
            },
        )
    )
    assert "2 rappels" in problems.plain and "!a:x" in problems.plain and "n°5 (B)" in problems.plain
    broadcast = renderer.render(
        Reply(template="agenda/broadcast.md.j2", context=AGENDA_TEMPLATE_SAMPLES["agenda/broadcast.md.j2"])
    )
    assert "&lt;b&gt;" in broadcast.html  # a facilitator's HTML is shown, not interpreted
