"""docs/: the policy as implemented. Every function, class and test the documents name exists,
every citation of a document's heading in the code resolves, and no code cites the design
document the repository does not hold. Static: no server, no imports of the modules named."""

from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIPPED_DIRS = {"__pycache__", "node_modules", "build"}  # and every hidden one (.venv, .git)

# `path/to/module.py::name`, `path.py::Class.method`, `tests/test_x.py::Class::test_name`
REFERENCE = re.compile(r"`([\w./-]+\.py)::([\w.:]+)`")
ANY_REFERENCE = re.compile(r"[\w./-]+\.py::[\w.:]+")
# docs/<file>.md "<Heading>", in code; the heading may wrap onto a comment's next line
CITATION = re.compile(r'docs/([\w.-]+\.md)\s+"([^"]+)"')
# <file>.md "<Heading>", from one document to another (or to itself)
CROSS_REFERENCE = re.compile(r'(?<![\w/.-])([A-Za-z][\w-]*\.md) "([^"\n]+)"')
DESIGN_DOCUMENT = "DESIGN" + ".md"  # spelled apart, so this file does not cite it


def documents() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def python_files() -> list[Path]:
    found = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [
            d for d in subdirectories if not d.startswith(".") and d not in SKIPPED_DIRS
        ]
        found += [Path(directory) / f for f in files if f.endswith(".py")]
    return sorted(found)


def headings(text: str) -> list[str]:
    """The text of each Markdown heading outside code blocks, without its #s."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


@functools.cache
def heading_set(name: str) -> frozenset[str]:
    path = DOCS / name
    return frozenset(headings(path.read_text(encoding="utf-8"))) if path.is_file() else frozenset()


@functools.cache
def module_tree(path: str) -> ast.Module | None:
    file = ROOT / path
    return ast.parse(file.read_text(encoding="utf-8")) if file.is_file() else None


def defines(tree: ast.Module, names: list[str]) -> bool:
    """Whether ``names`` is a top-level function or class, then members of it in turn."""
    scope: list[ast.stmt] = tree.body
    for name in names:
        node = next(
            (
                n for n in scope
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == name
            ),
            None,
        )
        if node is None:
            return False
        scope = node.body if isinstance(node, ast.ClassDef) else []
    return True


def references() -> list[tuple[str, str, str]]:
    """(document, file, name) for every reference in docs/*.md."""
    found = []
    for doc in documents():
        for file, name in REFERENCE.findall(doc.read_text(encoding="utf-8")):
            found.append((doc.name, file, name.rstrip(".:")))
    return found


def citations() -> list[tuple[str, str, str]]:
    """(code file, document, heading) for every docs/<file>.md "<Heading>" in .py files."""
    found = []
    for path in python_files():
        for document, heading in CITATION.findall(path.read_text(encoding="utf-8")):
            heading = re.sub(r"\s*\n\s*#?\s*", " ", heading).strip()
            found.append((str(path.relative_to(ROOT)), document, heading))
    return found


def test_the_documents_exist() -> None:
    names = {doc.name for doc in documents()}
    assert names >= {
        "README.md", "interdistrict.md", "within-district.md", "lottery.md", "permits.md",
        "cross-cutting.md",
    }
    assert "Where the design and the seeds differ" in heading_set("README.md")


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.name)
def test_headings_are_unique_within_a_document(doc: Path) -> None:
    found = headings(doc.read_text(encoding="utf-8"))
    twice = sorted({h for h in found if found.count(h) > 1})
    assert not twice, f"{doc.name}: headings used twice: {twice}"


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.name)
def test_every_reference_is_written_so_it_is_checked(doc: Path) -> None:
    """A `path.py::name` outside backticks would escape the checks below."""
    text = doc.read_text(encoding="utf-8")
    loose = set(ANY_REFERENCE.findall(text))
    checked = {f"{file}::{name}" for file, name in REFERENCE.findall(text)}
    assert loose <= checked, f"{doc.name}: not in backticks: {sorted(loose - checked)}"


def test_every_code_reference_names_a_definition() -> None:
    """`path.py::function`, `path.py::Class` or `path.py::Class.method`."""
    missing = []
    for doc, file, name in references():
        if file.startswith("tests/"):
            continue
        tree = module_tree(file)
        if tree is None:
            missing.append(f"{doc}: {file} does not exist")
        elif "::" in name or not defines(tree, name.split(".")):
            missing.append(f"{doc}: {file} defines no {name}")
    assert references(), "no references found in docs/"
    assert not missing, "\n".join(missing)


def test_every_test_reference_names_a_test() -> None:
    """`tests/test_x.py::test_name` or `tests/test_x.py::Class::test_name`."""
    missing = []
    for doc, file, name in references():
        if not file.startswith("tests/"):
            continue
        tree = module_tree(file)
        parts = name.split("::")
        if tree is None:
            missing.append(f"{doc}: {file} does not exist")
        elif not parts[-1].startswith("test_") or not defines(tree, parts):
            missing.append(f"{doc}: {file} has no test {name}")
    assert not missing, "\n".join(missing)


def test_every_citation_in_the_code_names_a_document_and_its_heading() -> None:
    wrong = []
    for file, document, heading in citations():
        if not (DOCS / document).is_file():
            wrong.append(f"{file}: no docs/{document}")
        elif heading not in heading_set(document):
            wrong.append(f'{file}: docs/{document} has no heading "{heading}"')
    assert citations(), "no code cites docs/"
    assert not wrong, "\n".join(wrong)


def test_cross_references_between_the_documents_resolve() -> None:
    wrong = []
    for doc in documents():
        for document, heading in CROSS_REFERENCE.findall(doc.read_text(encoding="utf-8")):
            if not (DOCS / document).is_file():
                wrong.append(f"{doc.name}: no {document}")
            elif heading not in heading_set(document):
                wrong.append(f'{doc.name}: {document} has no heading "{heading}"')
    assert not wrong, "\n".join(wrong)


def test_no_code_cites_the_design_document() -> None:
    citing = [
        str(path.relative_to(ROOT)) for path in python_files()
        if DESIGN_DOCUMENT in path.read_text(encoding="utf-8")
    ]
    assert not citing, f"cite docs/ instead of {DESIGN_DOCUMENT}: {citing}"
