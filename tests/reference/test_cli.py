from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reference.cli import main
from reference.exceptions import ConfigurationError
from reference.settings import Settings

GUIDE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
    ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)


def test_render_against_the_sample_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "body.mustache"
    template.write_text(GUIDE)
    assert main(["render", str(template)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "message": "update event triggered on item!",
        "entity_id": "123213",
    }


def test_render_against_a_context_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "body.mustache"
    template.write_text("{{greeting}}, {{who.name}}!{{missing}}")
    context = tmp_path / "context.json"
    context.write_text('{"greeting": "Hello", "who": {"name": "Ada"}}')
    assert main(["render", str(template), "--context", str(context)]) == 0
    assert capsys.readouterr().out == "Hello, Ada!"


def test_a_broken_template_exits_2_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "body.mustache"
    template.write_text('{\n  "id": "{{#entity}}{{id}}"\n}')
    assert main(["render", str(template)]) == 2
    err = capsys.readouterr().err
    assert f"{template}:2:" in err
    assert "{{#entity}}" in err


@pytest.mark.parametrize(
    ("files", "message"),
    [({}, "No such file"), ({"context.json": "[1"}, "not valid JSON")],
)
def test_render_reports_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    if files:
        (tmp_path / "t").write_text("x")
    args = ["render", str(tmp_path / "t"), "--context", str(tmp_path / "context.json")]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_demo_runs_and_prints_the_activity_log(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reference", "demo", "--db", str(tmp_path / "demo.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert "Activity log (9 calls in all)" in out
    assert out.count("success") == 6
    assert out.count("rescheduled") == 3
    assert "pending" not in out


def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--retry-scale", "-1"]) == 2
    assert "retry_scale must be positive" in capsys.readouterr().err


@pytest.mark.parametrize("lease", ["5", "2", "inf", "nan", "soon"])
def test_a_claim_lease_not_over_the_deadline_exits_2(
    lease: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) if lease == "soon" else contextlib.nullcontext():
        assert main(["serve", "--claim-lease", lease]) == 2
    assert "claim" in capsys.readouterr().err


def test_a_bad_destination_range_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--allow-destination", "10.0.0.0/33"]) == 2
    assert "CIDR" in capsys.readouterr().err


def test_destination_settings_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            "WEBHOOKS_PUBLIC_DESTINATIONS_ONLY": "1",
            "WEBHOOKS_ALLOW_DESTINATIONS": "10.0.0.0/8, fd00::/8",
        }
    )
    assert settings.public_destinations_only is True
    assert [str(n) for n in settings.destination_policy.allowed] == ["10.0.0.0/8", "fd00::/8"]
    with pytest.raises(ConfigurationError, match="1 or 0"):
        Settings.from_environ({"WEBHOOKS_PUBLIC_DESTINATIONS_ONLY": "maybe"})
