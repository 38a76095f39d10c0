"""`webhooks-dispatcher render`: faithful to the Mustache spec and to the admin preview."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reference.admin.forms import WebhookForm
from reference.admin.preview import render_preview
from reference.cli import main
from reference.matrix import MATRIX
from reference.samples import sample_payload

SPEC = Path(__file__).resolve().parent.parent / "data" / "mustache-spec"
# Lambdas (the optional `~lambdas.json`) are out of scope; partials are refused (contract §6).
CASES = [
    pytest.param(case, id=f"{path.stem}:{case['name']}")
    for path in sorted(SPEC.glob("*.json"))
    for case in json.loads(path.read_bytes())["tests"]
    if "partials" not in case
]
PAIRS = [f"{entity}.{event}" for entity, rule in MATRIX.items() for event in rule.event_types]
NOT_JSON = "This is not valid JSON"


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str | Path) -> tuple[int, bytes, str]:
    """`webhooks-dispatcher render ARGS`: exit code, stdout bytes, stderr text."""
    code = main(["render", *map(str, args)])
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def one_line_error(code: int, out: bytes, err: str) -> str:
    assert code == 2
    assert out == b""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err


def admin_preview_context(pair: str) -> Any:
    """What the admin preview shows (no custom payload: the context itself)."""
    preview = render_preview(
        WebhookForm(), pair, webhook_id="42", site_id="424242", user_agent="sample"
    )
    return json.loads(preview.body)


def test_every_core_spec_case_is_there() -> None:
    assert len(CASES) == 122


@pytest.mark.parametrize("case", CASES)
def test_the_mustache_spec(
    case: dict[str, Any], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(tmp_path, "t.mustache", case["template"])
    context = write(tmp_path, "context.json", json.dumps(case["data"]))
    code, out, err = run(capsysbinary, template, "--context", context)
    assert code == 0, err
    assert out == case["expected"].encode()


def test_crlf_line_endings_are_kept(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(
        tmp_path, "t", b'{\r\n  "id": "{{entity.id}}"{{#entity}}\r\n{{/entity}}}\r\n\r'
    )
    code, out, err = run(capsysbinary, template)
    assert (code, err) == (0, "")
    assert out == b'{\r\n  "id": "123213"\r\n}\r\n\r'


def test_the_output_is_not_newline_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A text-mode stdout that writes "\n" as "\r\n", as it does on Windows.
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8", newline="\r\n"))
    template = write(tmp_path, "t", b'{"a": 1,\r\n "b": 2}\n')
    assert main(["render", str(template)]) == 0
    sys.stdout.flush()
    assert raw.getvalue() == b'{"a": 1,\r\n "b": 2}\n'
    assert capsys.readouterr().err == ""


def test_crlf_end_to_end(tmp_path: Path) -> None:
    template = write(tmp_path, "t", "{{#.}}\r\n{{name}}\r\n{{/.}}\r\n")
    context = write(tmp_path, "c.json", '[{"name": "Zoë"}, {"name": "Ada"}]')
    result = subprocess.run(
        [sys.executable, "-m", "reference", "render", template, "--context", context],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout == "Zoë\r\nAda\r\n".encode()
    assert result.stderr.decode().count("\n") == 1
    assert NOT_JSON in result.stderr.decode()


@pytest.mark.parametrize(
    ("context", "template", "expected"),
    [
        ('"world"', "Hello, {{.}}!", "Hello, world!"),
        ('"<&>"', "{{.}} {{{.}}}", "&lt;&amp;&gt; <&>"),
        ("[1, 2, 3]", "{{#.}}<{{.}}>{{/.}}", "<1><2><3>"),
        ("[]", "{{^.}}empty{{/.}}", "empty"),
        ("85", "{{.}}", "85"),
        ("1.5", "{{.}}", "1.5"),
        ("true", "{{#.}}yes{{/.}}", "yes"),
        ("false", "{{.}}{{^.}}no{{/.}}", "falseno"),
        ("null", "[{{.}}]{{^.}}none{{/.}}", "[]none"),
    ],
)
def test_any_json_value_is_a_context(
    context: str,
    template: str,
    expected: str,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, _ = run(
        capsysbinary,
        write(tmp_path, "t", template),
        "--context",
        write(tmp_path, "c.json", context),
    )
    assert (code, out) == (0, expected.encode())


@pytest.mark.parametrize(
    "pair",
    [
        "item.update",
        "item.create",
        "item.publish",
        "upload.delete",
        "environment.promote",
        "build_trigger.deploy_failed",
        "cda_cache_tags.invalidate",
        "sso_user.create",
    ],
)
def test_a_sample_is_the_admin_previews_context(
    pair: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, err = run(capsysbinary, "--sample", pair, "--show-context")
    assert (code, err) == (0, "")
    context = json.loads(out)
    assert context == admin_preview_context(pair)
    assert f"{context['entity_type']}.{context['event_type']}" == pair


def test_every_allowed_pair_renders(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(tmp_path, "t", '{"event": "{{entity_type}}.{{event_type}}"}')
    for pair in PAIRS:
        code, out, err = run(capsysbinary, template, "--sample", pair)
        assert (code, err) == (0, "")
        assert json.loads(out) == {"event": pair}


def test_the_default_context_is_the_item_update_sample(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, _ = run(capsysbinary, "--show-context")
    assert code == 0
    assert out == (json.dumps(sample_payload(), indent=2, ensure_ascii=False) + "\n").encode()
    assert json.loads(out) == admin_preview_context("item.update")


def test_show_context_prints_a_context_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    context = write(tmp_path, "c.json", '["Zoë", {"a": null}]')
    code, out, _ = run(
        capsysbinary, write(tmp_path, "t", "{{"), "--context", context, "--show-context"
    )
    assert code == 0
    assert out.decode() == '[\n  "Zoë",\n  {\n    "a": null\n  }\n]\n'


def test_render_against_a_sample(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(tmp_path, "t", '{"file": "{{entity.attributes.filename}}"}')
    code, out, err = run(capsysbinary, template, "--sample", "upload.create")
    assert (code, out, err) == (0, b'{"file": "hero.jpg"}', "")


@pytest.mark.parametrize(
    ("pair", "named"),
    [
        ("item.explode", "item.create, item.update, item.delete, item.publish, item.unpublish"),
        ("item", "item.unpublish"),
        ("widget.create", ", ".join(PAIRS)),
        ("", ", ".join(PAIRS)),
        ("upload.create.x", "upload.update"),
    ],
)
def test_a_bad_sample_pair(
    pair: str, named: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(tmp_path, "t", "{{entity_type}}")
    err = one_line_error(*run(capsysbinary, template, "--sample", pair))
    assert repr(pair) in err
    assert named in err


def test_sample_and_context_exclude_each_other(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    template = write(tmp_path, "t", "{{entity_type}}")
    context = write(tmp_path, "c.json", "{}")
    for extra in ([], ["--show-context"]):
        args: list[str | Path] = [template, "--sample", "item.update", "--context", context, *extra]
        err = one_line_error(*run(capsysbinary, *args))
        assert "--sample" in err and "--context" in err


def test_output_that_is_not_json_is_warned_about(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, err = run(capsysbinary, write(tmp_path, "t", "id={{entity.id}}"))
    assert (code, out) == (0, b"id=123213")
    assert err.startswith("webhooks-dispatcher render: warning: ")
    assert NOT_JSON in err and err.count("\n") == 1
    code, out, err = run(capsysbinary, write(tmp_path, "t", '{"id": {{entity.id}}}'))
    assert (code, out, err) == (0, b'{"id": 123213}', "")


@pytest.mark.parametrize(
    ("template", "context", "message"),
    [
        (None, None, "No such file"),
        (b"\xff{{x}}", "{}", "not valid UTF-8"),
        ("{{x}}", None, "No such file"),
        ("{{x}}", b"\xfe\xff", "not valid UTF-8"),
        ("{{x}}", "{", "not valid JSON"),
        ("{{x}}", "[" * 100_000, "nests too deeply"),
        ("{{.}}", '"\\ud800"', "cannot write"),
        ('{\r\n  "a": "{{#x}}"\r\n}', "{}", "t:2:"),
        ("{{> partial}}", "{}", "partials are not supported"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    template: str | bytes | None,
    context: str | bytes | None,
    message: str,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    if template is not None:
        write(tmp_path, "t", template)
    if context is not None:
        write(tmp_path, "c.json", context)
    err = one_line_error(*run(capsysbinary, tmp_path / "t", "--context", tmp_path / "c.json"))
    assert message in err


def test_a_template_is_needed_unless_showing_the_context(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    err = one_line_error(*run(capsysbinary, "--sample", "item.update"))
    assert "TEMPLATE" in err
