"""Turns a Reply's text or template into the two bodies of a Matrix message.

Templates produce Markdown. Autoescape is on, so user content interpolated into a template
cannot inject HTML; markdown-it runs with raw HTML disabled for the same reason.
The plain-text body is the Markdown source with entities decoded: readable as it is.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt

from handlers.replies import Reply

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent / "handlers" / "templates"


@dataclass(frozen=True)
class RenderedMessage:
    plain: str
    html: str


def build_template_environment(override_dir: Path | None = None) -> Environment:
    """One environment for every template; a deployment's own directory wins over the shipped one."""
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    loaders.append(FileSystemLoader(str(SHIPPED_TEMPLATES)))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    return env


class Renderer:
    def __init__(self, env: Environment) -> None:
        self.env = env
        # Bare URLs (a video-call link, say) become links: not every client linkifies plain text.
        self.markdown = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": True}).enable(
            ["table", "strikethrough", "linkify"])

    def markdown_source(self, reply: Reply) -> str:
        if reply.template is not None:
            return self.env.get_template(reply.template).render(**reply.context).strip()
        # Plain text replies are trusted Markdown written by handlers; escape nothing but raw HTML,
        # which markdown-it already refuses to pass through.
        return (reply.text or "").strip()

    def render(self, reply: Reply) -> RenderedMessage:
        source = self.markdown_source(reply)
        return RenderedMessage(plain=plain_text(source), html=self.markdown.render(source).strip())


_STRONG = re.compile(r"(\*\*|__|`)")
# A single * or _ around words (emphasis), not one inside a word or standing alone.
_EMPHASIS = re.compile(r"(?<![\w*_])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*_])")


def plain_text(markdown_source: str) -> str:
    """The fallback body: the Markdown minus the markers a person would trip over."""
    return _EMPHASIS.sub(r"\1", _STRONG.sub("", html.unescape(markdown_source)))
