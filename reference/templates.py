"""Mustache templates for custom payloads and webhook URLs (contract §6).

pystache renders. In front of it sits a small scanner that walks the tags the
way pystache's parser does (same delimiters, same tag boundaries) and refuses,
with the 1-based line and column of the offending tag, what pystache would
either render silently (an unclosed `{{name`, an empty `{{}}`, a partial) or
crash on (`{{=<%=}}`), as well as the section mismatches it reports only by
character offset.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pystache
from pystache.parser import ParsingError

from reference.exceptions import TemplateSyntaxError

__all__ = ["check_template", "render_template"]

_DEFAULT_DELIMITERS = ("{{", "}}")
# The type characters pystache's parser knows, besides "=" and "{".
_TAG_TYPES = frozenset("!>&/#^")
# What follows an opening delimiter and its spaces: "=", "{", a type or a name.
_SIGIL = re.compile(r"\s*(.?)", re.DOTALL)
# The start of a broken tag worth quoting: up to a space, quote, comma or brace.
_WORD = re.compile(r"\s*\{?[^\s\"',{}]*")
# contract §6 (Mustache: "a non-whitespace character sequence"); braces are refused
# too, since in a JSON body they only ever come from a mistyped tag.
_BAD_NAME = re.compile(r"[\s{}]")
# contract §6: `{{x}}` escapes exactly the characters the Mustache spec lists;
# pystache's default (html.escape) would also turn `'` into `&#x27;`.
_HTML_ESCAPES = str.maketrans({"&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;"})


def check_template(source: str) -> None:
    """Raise `TemplateSyntaxError` (with line and column) unless `source` parses."""
    _compile(source)


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render `source` against `context` with Mustache semantics (contract §6).

    Raises `TemplateSyntaxError` when the template does not parse.
    """
    rendered: str = _JsonRenderer().render(_compile(source), _to_context(context))
    return rendered


@functools.lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    """The pystache parse tree of a template, once the scanner accepts it.

    Cached: the same template renders for every call of its webhook.
    """
    checked = _check(source)
    try:
        return pystache.parse(checked, raise_on_mismatch=True)
    except ParsingError as exc:  # the scanner refuses these first; kept as a net
        info = getattr(exc, "info", None)  # only recent pystache says where
        position = info.position if info is not None else 0
        raise _error(checked, position, str(exc)) from None


class _JsonRenderer(pystache.Renderer):  # type: ignore[misc]  # pystache has no types
    """pystache configured for contract §6: no partials, JSON-style values."""

    def __init__(self) -> None:
        super().__init__(escape=_escape, missing_tags="ignore", partials={})

    def str_coerce(self, val: object) -> str:
        """Write a non-string value as JSON would; null is the empty string."""
        # contract §6: a null value renders as "" (pystache writes "None").
        if val is None:
            return ""
        # Templates mostly build JSON bodies: true, 1.5, {"a":[1]}.
        if isinstance(val, bool | int | float | dict | list):
            return json.dumps(val, separators=(",", ":"), ensure_ascii=False, default=str)
        return str(val)


class _Object(dict[Any, Any]):
    """A JSON object in the context, truthy even when empty."""

    def __bool__(self) -> bool:
        # contract §6: a section shows when its value is truthy as in JavaScript
        # (`!!data`), where `{}` is truthy; an empty Python dict is not.
        return True


def _to_context(value: Any) -> Any:
    """The context as pystache should see it: dicts, lists and scalars."""
    if isinstance(value, Mapping):
        return _Object({key: _to_context(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return [_to_context(item) for item in value]
    return value


def _escape(text: str) -> str:
    return text.translate(_HTML_ESCAPES)


@dataclass(frozen=True)
class _Tag:
    """One tag as pystache's parser would read it."""

    kind: str  # "" (escaped), "&", "{", "!", "#", "^", "/", ">" or "="
    name: str  # for "=", the new delimiters as written
    start: int
    end: int
    delimiters: tuple[str, str]

    def __str__(self) -> str:
        otag, ctag = self.delimiters
        if self.kind == "{":
            return f"{otag}{{{self.name}}}{ctag}"
        if self.kind == "=":
            return f"{otag}={self.name}={ctag}"
        return f"{otag}{self.kind}{self.name}{ctag}"


def _check(source: str) -> str:
    """Raise on the first syntax error; return the source for pystache."""
    sections: list[_Tag] = []
    blank_comments: list[_Tag] = []
    for tag in _tags(source):
        if tag.kind == ">":
            raise _error(source, tag.start, f"partials are not supported: {tag}")
        if tag.kind == "!" and not tag.name:
            blank_comments.append(tag)
        elif tag.kind in ("#", "^"):
            sections.append(tag)
        elif tag.kind == "/":
            _close(source, sections, tag)
    if sections:
        raise _error(source, sections[-1].start, f"unclosed section {sections[-1]}")
    return _fill_comments(source, blank_comments)


def _fill_comments(source: str, comments: list[_Tag]) -> str:
    """`source` with something inside each blank comment (`{{!}}`, `{{! }}`).

    pystache needs a comment to hold a non-space character: a blank one runs
    on to the next closing delimiter, swallowing the tags in between. Only
    the inside of the tag changes, so it stays standalone when it was.
    """
    parts, position = [], 0
    for tag in comments:
        otag, ctag = tag.delimiters
        parts += [source[position : tag.start], f"{otag}!-{ctag}"]
        position = tag.end
    return "".join([*parts, source[position:]])


def _close(source: str, sections: list[_Tag], tag: _Tag) -> None:
    if not sections:
        raise _error(source, tag.start, f"close tag {tag} has no open section")
    opened = sections.pop()
    if opened.name != tag.name:
        otag, ctag = tag.delimiters
        expected = f"{otag}/{opened.name}{ctag}"
        raise _error(source, tag.start, f"mismatched close tag {tag}: expected {expected}")


def _tags(source: str) -> Iterator[_Tag]:
    """The tags of `source` in order, following delimiter changes."""
    delimiters = _DEFAULT_DELIMITERS
    position = 0
    while (start := source.find(delimiters[0], position)) != -1:
        tag = _read_tag(source, start, delimiters)
        if tag.kind == "=":
            otag, ctag = tag.name.split()
            delimiters = (otag, ctag)
        yield tag
        position = tag.end


def _read_tag(source: str, start: int, delimiters: tuple[str, str]) -> _Tag:
    """Read the tag opening at `start` as pystache's regular expression does."""
    otag, ctag = delimiters
    inner = start + len(otag)
    found = _SIGIL.match(source, inner)
    sigil = found[1] if found is not None else ""
    if sigil == "=":
        return _read_delimiters(source, start, delimiters)
    if sigil == "{":
        raw = re.compile(rf"{re.escape(otag)}\s*\{{\s*(.+?)\s*\}}\s*{re.escape(ctag)}").match(
            source, start
        )
        if raw is None:
            raise _unclosed(source, start, delimiters, "}" + ctag)
        return _named(source, _Tag("{", raw[1].strip(), start, raw.end(), delimiters))
    close = source.find(ctag, inner)
    if close == -1:
        raise _unclosed(source, start, delimiters, ctag)
    content = source[inner:close].strip()
    kind = content[:1] if content[:1] in _TAG_TYPES else ""
    tag = _Tag(kind, content[len(kind) :].strip(), start, close + len(ctag), delimiters)
    # contract §6 (Mustache comments): a comment may hold anything but the closing delimiter.
    return tag if kind == "!" else _named(source, tag)


def _named(source: str, tag: _Tag) -> _Tag:
    """`tag`, once its name is one a context can hold."""
    otag, ctag = tag.delimiters
    if otag in tag.name:
        raise _unclosed(source, tag.start, tag.delimiters, "}" + ctag if tag.kind == "{" else ctag)
    if not tag.name:
        raise _error(source, tag.start, f"empty tag name in {tag}")
    if _BAD_NAME.search(tag.name):
        raise _error(source, tag.start, f"bad tag name in {tag}: no spaces or braces allowed")
    return tag


def _read_delimiters(source: str, start: int, delimiters: tuple[str, str]) -> _Tag:
    """A Set Delimiter tag `{{=<% %>=}}`, matched as pystache matches it."""
    otag, ctag = delimiters
    found = re.compile(rf"{re.escape(otag)}\s*=\s*(.+?)\s*=\s*{re.escape(ctag)}").match(
        source, start
    )
    if found is None:
        close = source.find(ctag, start + len(otag))
        written = source[start : close + len(ctag)] if close != -1 else ""
        if not written or "\n" in written or len(written) > 60:
            written = _excerpt(source, start, delimiters)
        raise _error(source, start, f'bad delimiter change {written}: expected "={ctag}" to end it')
    # contract §6 (Mustache delimiters): "any two non-whitespace sequences".
    if len(found[1].split()) != 2:
        raise _error(
            source,
            start,
            f"bad delimiter change {found[0]}: expected two delimiters separated by whitespace",
        )
    return _Tag("=", found[1], start, found.end(), delimiters)


def _unclosed(
    source: str, start: int, delimiters: tuple[str, str], closing: str
) -> TemplateSyntaxError:
    excerpt = _excerpt(source, start, delimiters)
    return _error(source, start, f'unclosed tag {excerpt}: expected "{closing}"')


def _excerpt(source: str, start: int, delimiters: tuple[str, str]) -> str:
    """The opening of a broken tag: its delimiter and first word, for messages."""
    otag, ctag = delimiters
    inner = start + len(otag)
    word = _WORD.match(source, inner)
    text = word[0] if word is not None else ""
    for stop in (otag, ctag):
        text = text.split(stop, 1)[0]
    return otag + text[:40]


def _error(source: str, position: int, message: str) -> TemplateSyntaxError:
    line, column = _line_column(source, position)
    return TemplateSyntaxError(message, line=line, column=column)


def _line_column(source: str, position: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of `position`."""
    line_start = source.rfind("\n", 0, position) + 1
    return source.count("\n", 0, position) + 1, position - line_start + 1
