"""Turns a Reply's text or template into the two bodies of a Matrix message.

Templates produce Markdown. Every value a template prints is Markdown-escaped unless it says
otherwise (``|trusted`` for Markdown the bot wrote, ``|link`` for a URL the bot gives), so what
members typed reads exactly as typed: no link, heading or bold can be slipped into the bot's
message. markdown-it runs with raw HTML disabled and without linkify: a URL typed by a member
stays text, and a bot-given link is an explicit autolink.
The plain-text body is the Markdown source minus its markers and escapes: readable as it is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markdown_it import MarkdownIt
from markupsafe import Markup

from handlers.replies import Reply
from handlers.text import escape_markdown

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent / "handlers" / "templates"

# What a CommonMark autolink may hold: no spaces, no angle brackets.
_WEB_URL = re.compile(r"https?://[^\s<>]+", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedMessage:
    plain: str
    html: str


@pass_eval_context
def escape_value(eval_ctx: EvalContext, value: object) -> object:
    """Jinja's finalize: what a Markdown template prints is text, unless a filter marked it as
    Markdown. An HTML template (autoescaped) gets Jinja's HTML escaping instead, untouched here."""
    if eval_ctx.autoescape:
        return value
    return value if isinstance(value, Markup) else escape_markdown(str(value))


def trusted(markdown: object) -> Markup:
    """Markdown the bot itself wrote (a command's usage, a form's help): printed as Markdown."""
    return Markup(str(markdown))


def link(url: object) -> Markup:
    """A URL the bot gives (a configured video link, say) as a link; anything else stays text."""
    text = str(url).strip()
    return Markup(f"<{text}>" if _WEB_URL.fullmatch(text) else escape_markdown(text))


def build_template_environment(override_dir: Path | None = None) -> Environment:
    """One environment for every template; a deployment's own directory wins over the shipped one."""
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    loaders.append(FileSystemLoader(str(SHIPPED_TEMPLATES)))
    # Markdown templates (*.md.j2) are not HTML-escaped: escape_value is their escaping. The web
    # board's HTML templates (*.html.j2) are autoescaped as HTML.
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html.j2"], default=False, default_for_string=False),
        finalize=escape_value,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(trusted=trusted, link=link)
    return env


# A command the bot names, as it writes them everywhere (templates, handlers' text, the form
# file): in a code span, after « ! ». Member text cannot make one: its backticks are escaped.
_COMMAND_SPAN = re.compile(r"(?<!\\)`!(?=\w)")


class Renderer:
    def __init__(self, env: Environment, command_prefix: str = "!") -> None:
        """`command_prefix`: the configured prefix, written in every command the bot names. This is
        its one home: handlers, templates and the form file all write commands with « ! »."""
        self.env = env
        self.command_prefix = command_prefix
        self.markdown = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])

    def markdown_source(self, reply: Reply) -> str:
        if reply.template is not None:
            source = self.env.get_template(reply.template).render(**reply.context).strip()
        else:
            # Text replies are Markdown written by handlers, which quote() whatever a member typed.
            source = (reply.text or "").strip()
        if self.command_prefix != "!":
            source = _COMMAND_SPAN.sub(lambda _: "`" + self.command_prefix, source)
        return source

    def render(self, reply: Reply) -> RenderedMessage:
        return self._rendered(self.markdown_source(reply))

    @functools.lru_cache(maxsize=256)  # noqa: B019  # one Renderer lives as long as the process
    def _rendered(self, source: str) -> RenderedMessage:
        # The same Markdown comes back often (the help, a form's questions): markdown-it took 3 ms on it.
        return RenderedMessage(plain=plain_text(source), html=self.markdown.render(source).strip())


# A backslash escape (CommonMark: before any ASCII punctuation), set aside while markers go.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_SET_ASIDE = 0xE000  # private use: escaped characters wait there, out of the markers' way
_SET_ASIDE_CHAR = re.compile("[\ue000-\ue07f]")
_STRONG = re.compile(r"(\*\*|__|`)")
# A single * or _ around words (emphasis), not one inside a word or standing alone.
_EMPHASIS = re.compile(r"(?<![\w*_])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*_])")
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>", re.IGNORECASE)
_CODE_SPAN = re.compile(r"`([^`]+)`")


def _set_aside(text: str) -> str:
    """Characters a link or a code span holds literally: no later pass may read them as markers."""
    return "".join(chr(_SET_ASIDE + ord(c)) if c in "*_`" else c for c in text)


def plain_text(markdown_source: str) -> str:
    """The fallback body: the Markdown minus the markers a person would trip over and minus the
    escapes, so member text reads as typed."""
    text = _ESCAPED.sub(lambda m: chr(_SET_ASIDE + ord(m.group(1))), markdown_source)
    # A link's underscores are part of the address (a login token holds « __ » one time in a few).
    text = _AUTOLINK.sub(lambda m: _set_aside(m.group(1)), text)
    text = _CODE_SPAN.sub(lambda m: _set_aside(m.group(1)), text)
    text = _EMPHASIS.sub(r"\1", _STRONG.sub("", text))
    return _SET_ASIDE_CHAR.sub(lambda m: chr(ord(m.group(0)) - _SET_ASIDE), text)
