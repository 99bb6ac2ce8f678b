"""What a person reads is in config/labels.toml, not in the code that shows it: the places that
held their own words (a table's headers, the bulk result page, the document page's links)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duban
from duban.config.policy import load_labels

ROOT = Path(duban.__file__).parent
CJK = re.compile(r"[\u3400-\u9fff]")


def literals(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    owners = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    docs = {id(node.body[0].value) for node in ast.walk(tree) if isinstance(node, owners) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs]


def test_no_command_writes_its_own_table_headers() -> None:
    labels = load_labels()
    for path in sorted((ROOT / "cli").glob("*.py")):
        if path.name == "bench.py":  # figures for the developers (docs/bench.md), not an office's words
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name == "Table":
                words = [a.value for a in [*node.args, *(k.value for k in node.keywords)]
                         if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value]
                assert not words, f"{path.name}:{node.lineno}: {words} belong in labels [columns]"
            if name in ("columns", "common_table"):
                first = node.args[0]
                assert isinstance(first, ast.Constant) and first.value in labels.columns, (path, node.lineno)


def test_the_bulk_page_and_the_document_links_take_their_words_from_labels() -> None:
    template = (ROOT / "web" / "templates" / "bulk.html").read_text(encoding="utf-8")
    assert not CJK.search(template), CJK.findall(template)
    assert not [text for text in literals(ROOT / "web" / "docpages.py") if CJK.search(text)]
