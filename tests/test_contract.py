"""docs/contract.md, the project's contract, and the citations of it across the tree.

The code, the README and the conformance cases cite the contract by section number
(`contract §N`); these tests keep the sections where the citations expect them and
catch a citation of a section that does not exist, or one left in the old form.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"

#: Where citations may appear: these files, and these folders' files of these kinds.
CITING_FILES = ("README.md", "noxfile.py")
CITING_FOLDERS = ("reference", "receiver", "conformance", "tests", "bench", "docs")
CITING_SUFFIXES = frozenset({".py", ".md", ".html", ".toml"})
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})

#: The subject of each section, in order; a citation's number means this subject.
SUBJECTS = (
    "The API",
    "Webhook",
    "Triggers",
    "What raises events",
    "The request",
    "Custom payloads",
    "The activity log",
    "Outcome, timeout, retries, resend",
    "The mock receiver and the conformance suite",
    "Receiving webhooks",
)

HEADING = re.compile(r"^## (.*)$", re.MULTILINE)
SECTION_HEADING = re.compile(r"(\d+)\. (\S.*)")
# `contract §5`, `contract §5.`, and the lists and ranges that may follow the first
# number: `contract §5, §7 and §8`, `contract §1-3`.
CITATION = re.compile(
    r"contract §(\d+)((?:\s*[-\u2013]\s*§?\d+|(?:\s*,\s*|\s+and\s+|\s+or\s+)§\d+)*)"
)
CITED_AFTER = re.compile(r"([-\u2013])?\s*(?:,|and|or)?\s*§?(\d+)")
# Built here so that this file does not hold the old form itself.
OLD_CITATION = "SPEC" + " §"


def contract_sections() -> list[tuple[int, str, str]]:
    """(number, title, body) of each `## N. Title` section, in the file's order."""
    text = CONTRACT.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    sections = []
    for i, heading in enumerate(headings):
        numbered = SECTION_HEADING.fullmatch(heading.group(1).strip())
        assert numbered is not None, f"not a '## N. Title' heading: {heading.group(0)!r}"
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        body = text[heading.end() : end]
        sections.append((int(numbered.group(1)), numbered.group(2), body))
    return sections


def citing_files() -> Iterator[Path]:
    """Every file whose citations of the contract are checked."""
    for name in CITING_FILES:
        path = ROOT / name
        if path.is_file():
            yield path
    for folder in CITING_FOLDERS:
        for directory, subfolders, files in os.walk(ROOT / folder):
            subfolders[:] = sorted(
                d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith(".")
            )
            for name in sorted(files):
                path = Path(directory, name)
                if path.suffix in CITING_SUFFIXES:
                    yield path


def cited_sections(text: str) -> Iterator[tuple[int, int]]:
    """(line number, section) for each section a `contract §N` citation names."""
    for match in CITATION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        previous = int(match.group(1))
        yield line, previous
        for item in CITED_AFTER.finditer(match.group(2)):
            number = int(item.group(2))
            if item.group(1):  # a range: every section from the one before to this one
                for section in range(previous + 1, number + 1):
                    yield line, section
            else:
                yield line, number
            previous = number


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_the_contract_has_its_ten_sections_in_order() -> None:
    sections = contract_sections()
    assert [number for number, _, _ in sections] == list(range(1, len(SUBJECTS) + 1))
    for number, title, body in sections:
        assert title.startswith(SUBJECTS[number - 1]), (number, title)
        assert body.strip(), f"section {number} ({title}) is empty"


def test_every_citation_names_a_section_of_the_contract() -> None:
    sections = {number for number, _, _ in contract_sections()}
    wrong = [
        f"{where(path, line)}: §{section}"
        for path in citing_files()
        for line, section in cited_sections(path.read_text(encoding="utf-8", errors="replace"))
        if section not in sections
    ]
    assert not wrong, "citations of sections the contract does not have:\n" + "\n".join(wrong)


def test_the_citation_parser_reads_lists_and_ranges() -> None:
    text = "see contract §5, §7 and §8.\nper contract §1-3 (and contract §10.)\n"
    assert list(cited_sections(text)) == [
        (1, 5),
        (1, 7),
        (1, 8),
        (2, 1),
        (2, 2),
        (2, 3),
        (2, 10),
    ]


def test_no_citation_is_left_in_the_old_form() -> None:
    left = [
        where(path, number)
        for path in citing_files()
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        )
        if OLD_CITATION in line
    ]
    assert not left, (
        f"{len(left)} citations in the old form; cite the contract as 'contract §N':\n"
        + "\n".join(left)
    )
