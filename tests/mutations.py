"""`python -m tests.mutations`: put each known sender defect into the code, one at a time,
and check that the tests catch it (they run the production path, so they must).

Each defect is a text replacement in a module of `reference/`; the file is restored
afterwards, whatever happens. Prints one line per defect and exits 1 if one is missed.
It takes a few minutes, so it is not part of `nox`; run it after changing the sender.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> (file, [(old, new), ...])
DEFECTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "credentials left unmasked in the log": (
        "reference/payloads.py",
        [('(_mask(value) if name.lower() == "authorization" else value)', "value")],
    ),
    "URL credentials sent as Authorization": (
        "reference/sender.py",
        [("str(url.copy_with(username=None, password=None))", "str(url)")],
    ),
    "one timeout per read instead of one deadline": (
        "reference/sender.py",
        [
            ("timeout = asyncio.timeout(self._deadline)", "timeout = asyncio.timeout(None)"),
            (
                "                    sock_connect=self._connect_timeout,\n",
                "                    sock_connect=self._connect_timeout,\n"
                "                    sock_read=self._deadline,\n",
            ),
        ],
    ),
    "redirects followed": (
        "reference/sender.py",
        [("allow_redirects=False", "allow_redirects=True")],
    ),
    "the body read past 64 KiB": (
        "reference/sender.py",
        [
            (
                "            if len(chunk) > room:\n"
                "                into += chunk[:room]\n"
                "                return False",
                "            if False:\n                return False",
            )
        ],
    ),
    "the default headers out of order": (
        "reference/payloads.py",
        [
            (
                '        ("Accept", "*/*"),\n        ("User-Agent", call.user_agent),',
                '        ("User-Agent", call.user_agent),\n        ("Accept", "*/*"),',
            )
        ],
    ),
    "a custom header appended instead of replacing a default": (
        "reference/payloads.py",
        [("            if existing.lower() == name.lower():", "            if False:")],
    ),
}

TESTS = (
    "tests/reference/test_sender.py",
    "tests/reference/test_payloads.py",
    "tests/reference/test_delivery.py",
)


def check(name: str, path: str, changes: Sequence[tuple[str, str]]) -> bool:
    """True if the tests fail with the defect in place."""
    module = ROOT / path
    original = module.read_text(encoding="utf-8")
    text = original
    for old, new in changes:
        if old not in text:
            raise SystemExit(f"{name}: {path} no longer holds {old!r}; update tests/mutations.py")
        text = text.replace(old, new, 1)
    module.write_text(text, encoding="utf-8")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *TESTS, "-q", "-x", "-p", "no:cacheprovider"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        module.write_text(original, encoding="utf-8")
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    caught = run.returncode != 0
    print(f"{'caught' if caught else 'MISSED'}: {name}" + (f" ({failed[0]})" if failed else ""))
    return caught


def main() -> int:
    results = [check(name, path, changes) for name, (path, changes) in DEFECTS.items()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
