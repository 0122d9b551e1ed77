"""Every deposit template renders, member text shown as text."""

from pathlib import Path

import handlers
from bot.rendering import build_template_environment
from tests.unit.handlers.deposits.samples import DEPOSIT_TEMPLATE_SAMPLES


def test_every_deposit_template_has_a_sample_and_escapes_html():
    env = build_template_environment()
    folder = Path(handlers.__file__).parent / "templates" / "deposits"
    shipped = sorted(f"deposits/{p.name}" for p in folder.glob("*.md.j2"))
    assert shipped == sorted(DEPOSIT_TEMPLATE_SAMPLES)
    for name, context in DEPOSIT_TEMPLATE_SAMPLES.items():
        text = env.get_template(name).render(**context)
        assert text.strip() and "<b>" not in text
