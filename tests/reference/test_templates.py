"""Tests for reference.templates: Mustache for custom payloads (contract §6)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pystache.parser import _compile_template_re

from reference.exceptions import TemplateSyntaxError
from reference.templates import _check, _tags, check_template, render_template

SPEC_DIR = Path(__file__).parent.parent / "data" / "mustache-spec"
SPEC_FILES = ["comments", "delimiters", "interpolation", "inverted", "sections"]


def _spec_cases() -> list[Any]:
    cases = []
    for module in SPEC_FILES:
        document = json.loads((SPEC_DIR / f"{module}.json").read_text(encoding="utf-8"))
        for test in document["tests"]:
            cases.append(pytest.param(test, id=f"{module}:{test['name']}"))
    return cases


@pytest.mark.parametrize("case", _spec_cases())
def test_mustache_spec(case: dict[str, Any]) -> None:
    if "partials" in case:
        # contract §6: there are no partials; a template that uses one is refused.
        with pytest.raises(TemplateSyntaxError, match="partials are not supported"):
            render_template(case["template"], case["data"])
    else:
        assert render_template(case["template"], case["data"]) == case["expected"]


def test_spec_files_are_all_there() -> None:
    assert len(_spec_cases()) == 124


def test_guide_example() -> None:
    template = (
        '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
        ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
    )
    context = {
        "event_type": "update",
        "entity_type": "item",
        "entity": {"id": "123213", "type": "item", "attributes": {"title": "Hi"}},
    }
    assert render_template(template, context) == (
        '{"message": "update event triggered on item!", "entity_id": "123213"}'
    )


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("[{{x}}]", {"x": None}, "[]"),
        ("[{{{x}}}]", {"x": None}, "[]"),
        ("[{{& x}}]", {"x": None}, "[]"),
        ("[{{missing}}]", {}, "[]"),
        ("{{a.b.c}}", {"a": {"b": None}}, ""),
        ("{{t}} {{f}}", {"t": True, "f": False}, "true false"),
        ("{{i}} {{x}} {{big}}", {"i": 42, "x": 1.5, "big": 10**20}, "42 1.5 100000000000000000000"),
        ("{{{o}}}", {"o": {"a": [1, None, "é"], "b": {}}}, '{"a":[1,null,"é"],"b":{}}'),
        ("{{o}}", {"o": {"a": "<b>"}}, "{&quot;a&quot;:&quot;&lt;b&gt;&quot;}"),
        ("{{{l}}}", {"l": [1, "two", False]}, '[1,"two",false]'),
        ("{{entity.attributes.title}}", {"entity": {"attributes": {"title": "Hi"}}}, "Hi"),
        (
            "{{#entity}}{{attributes.title}}{{/entity}}",
            {"entity": {"attributes": {"title": "Hi"}}},
            "Hi",
        ),
        ("{{a.b}}", {"a": {"c": 1}}, ""),
        ("{{x}}", {"x": "'single'"}, "'single'"),
        ("{{x}}|{{{x}}}", {"x": "a&b"}, "a&amp;b|a&b"),
    ],
)
def test_values(template: str, context: dict[str, Any], expected: str) -> None:
    assert render_template(template, context) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (False, False),
        (None, False),
        ([], False),
        ("", False),
        (0, False),
        (True, True),
        ("no", True),
        ([0], True),
        # Truthy as in JavaScript (`!!{}`), which the Mustache spec defers to.
        ({}, True),
    ],
)
def test_section_truthiness(value: object, shown: bool) -> None:
    assert render_template("{{#v}}yes{{/v}}", {"v": value}) == ("yes" if shown else "")
    assert render_template("{{^v}}no{{/v}}", {"v": value}) == ("" if shown else "no")


def test_sections_iterate_lists_and_push_objects() -> None:
    context = {"items": [{"id": "1"}, {"id": "2"}], "entity": {"meta": {}}}
    assert render_template("{{#items}}{{id}},{{/items}}", context) == "1,2,"
    assert render_template("{{#entity.meta}}{{{.}}}{{/entity.meta}}", context) == "{}"


def test_context_may_be_any_mapping() -> None:
    from types import MappingProxyType

    context = MappingProxyType({"a": MappingProxyType({"b": "c"}), "l": ("x", "y")})
    assert render_template("{{a.b}}{{#l}}{{.}}{{/l}}", context) == "cxy"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a\n{{!}}\nb", "a\nb"),
        ("a\n  {{! }}\nb", "a\nb"),
        ("a\n{{!\n}}\nb", "a\nb"),
        # pystache alone reads a blank comment on to the next "}}".
        ("{{!}}[{{x}}]", "[1]"),
        ("{{! }}[{{x}}]{{!\t}}", "[1]"),
        ("{{=<% %>=}}<%!%>[<%x%>]", "[1]"),
    ],
)
def test_blank_comments(template: str, expected: str) -> None:
    assert render_template(template, {"x": 1, "!": "bang"}) == expected


@pytest.mark.parametrize(
    ("template", "reason", "line", "column"),
    [
        ("x {{#entity}}{{id}}", "unclosed section {{#entity}}", 1, 3),
        ("{{^a}}", "unclosed section {{^a}}", 1, 1),
        ("{{#a}}\n  {{#b}}\n{{/a}}", "mismatched close tag {{/a}}: expected {{/b}}", 3, 1),
        ("ok\n\n   {{/a}}", "close tag {{/a}} has no open section", 3, 4),
        ('{"a": "{{name"}', 'unclosed tag {{name: expected "}}"', 1, 8),
        ("{{a {{b}}", 'unclosed tag {{a: expected "}}"', 1, 1),
        ("{{{raw}}", 'unclosed tag {{{raw: expected "}}}"', 1, 1),
        ("x\n{{}}", "empty tag name in {{}}", 2, 1),
        ("{{ # }}", "empty tag name in {{#}}", 1, 1),
        ("{{{ }}}", "empty tag name in {{{}}}", 1, 1),
        ("{{a b}}", "bad tag name in {{a b}}: no spaces or braces allowed", 1, 1),
        ('{"a": {"b": "{{x}"}}', 'bad tag name in {{x}"}}: no spaces or braces allowed', 1, 14),
        (
            "{{=<%=}}",
            "bad delimiter change {{=<%=}}: expected two delimiters separated by whitespace",
            1,
            1,
        ),
        ("a {{=<% %>}}", 'bad delimiter change {{=<% %>}}: expected "=}}" to end it', 1, 3),
        ("{{> header}}", "partials are not supported: {{>header}}", 1, 1),
        ("{{=<% %>=}}\n <%#a%>\n<%/b%>", "mismatched close tag <%/b%>: expected <%/a%>", 3, 1),
        ("{{=<% %>=}}\n<%name", 'unclosed tag <%name: expected "%>"', 2, 1),
        # After a delimiter change `{{` is text, and a section stays open.
        ("{{=<% %>=}}{{x}}<%#s%>", "unclosed section <%#s%>", 1, 17),
        ("é\r\n  {{#a}}", "unclosed section {{#a}}", 2, 3),
    ],
)
def test_parse_errors(template: str, reason: str, line: int, column: int) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        check_template(template)
    error = caught.value
    assert (error.reason, error.line, error.column) == (reason, line, column)
    assert str(error) == f"{reason} (line {line}, column {column})"
    with pytest.raises(TemplateSyntaxError):
        render_template(template, {})


def test_error_attributed_to_a_field() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        check_template("{{#a}}")
    error = caught.value.for_field("payload_body")
    assert (error.field, error.line, error.column) == ("payload_body", 1, 1)


@pytest.mark.parametrize(
    "template",
    [
        "",
        "plain",
        '{"a": {"b": 1}}',
        "{{! {{ anything }}",
        "{{#a}}{{/a}}{{^a}}{{/a}}",
        "{{=<% %>=}}<%#a%><%={{ }}=%>{{/a}}",
        "{{{a}}}{{&a}}{{ a.b }}{{.}}",
    ],
)
def test_valid_templates(template: str) -> None:
    check_template(template)


@given(st.text().filter(lambda text: "{{" not in text))
def test_text_without_tags_renders_as_itself(text: str) -> None:
    assert render_template(text, {"x": 1}) == text


@given(st.text())
def test_escaped_values_round_trip(value: str) -> None:
    rendered = render_template("{{x}}", {"x": value})
    assert not set(rendered) & set('<>"')
    assert html.unescape(rendered) == value
    assert render_template("{{{x}}}", {"x": value}) == value


FRAGMENTS = ["{{", "}}", "{", "}", "#", "^", "/", "!", "&", "=", ">", " ", "\n", "a", "b", "."]
FRAGMENTS += ["<%", "%>", "{{=<% %>=}}", "<%={{ }}=%>", "{{#a}}", "{{/a}}", "{{x}}", "{{{x}}}"]
FRAGMENTS += ["{{!}}", "{{! }}", "\t", "\r\n", "|", "{{=| |=}}"]
template_texts = st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS)).map("".join))


@given(template_texts)
def test_check_raises_only_template_syntax_errors(source: str) -> None:
    try:
        check_template(source)
    except TemplateSyntaxError as error:
        assert 1 <= error.line <= source.count("\n") + 1
        assert error.column >= 1
    else:
        context = {"a": [{"b": 1}, {}], "b": "<b>", "x": None}
        assert isinstance(render_template(source, context), str)


def _pystache_tags(source: str) -> list[tuple[str, str]]:
    """The (type, name) of each tag, as pystache's own tag expression finds them."""
    delimiters, position, found = ("{{", "}}"), 0, []
    while match := _compile_template_re(delimiters).search(source, position):
        groups = match.groupdict()
        if groups["change"] is not None:
            kind, name = "=", groups["delims"].strip()
            delimiters = tuple(name.split())
        elif groups["raw"] is not None:
            kind, name = "{", groups["raw_name"].strip()
        else:
            kind, name = groups["tag"], groups["tag_key"]
        found.append((kind, "" if kind == "!" else name))
        position = match.end()
    return found


@given(st.lists(st.sampled_from(FRAGMENTS)).map("".join))
def test_scanner_reads_tags_as_pystache_does(source: str) -> None:
    # The scanner's verdicts only hold if it splits tags where pystache does.
    try:
        checked = _check(source)
    except TemplateSyntaxError:
        return
    mine = [(tag.kind, "" if tag.kind == "!" else tag.name) for tag in _tags(checked)]
    assert mine == _pystache_tags(checked)
