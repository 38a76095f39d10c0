from __future__ import annotations

import re
from importlib.resources import files

import reference.admin
from reference.admin import create_admin


def test_the_public_api_imports() -> None:
    assert reference.admin.__all__ == sorted(reference.admin.__all__) == ["create_admin"]
    assert callable(create_admin)


def test_templates_and_styles_ship_inside_the_package() -> None:
    package = files("reference.admin")
    names = {p.name for p in (package / "templates").iterdir()}
    assert {"base.html", "webhook_form.html", "activity.html", "call.html"} <= names
    assert (package / "static" / "admin.css").read_text("utf-8")


def test_no_page_loads_anything_from_elsewhere() -> None:
    outside = re.compile(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", re.I)
    for template in (files("reference.admin") / "templates").iterdir():
        text = template.read_text("utf-8")
        assert not outside.search(text), template.name
        assert "<script" not in text, template.name
