"""What verify names reads in Chinese, in config/audit_findings.toml's words: every text the checks
ask for is there, none is left over, none holds an English sentence, and an office may reword one
(as config/cli_output.toml's). The findings themselves are tested in test_integrity.py,
test_account_record.py and tests/cli (their texts as a person reads them)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import duban.services
from duban.config.cli_output import AUDIT_NAME, load_cli_output
from duban.errors import ConfigError
from duban.services import auditsaid
from tests.english import english

SERVICES = Path(duban.services.__file__).parent
TEXTS = load_cli_output(name=AUDIT_NAME).root
CJK = re.compile(r"[\u3400-\u9fff]")
# The words a check may pass in place of a {why} (duban.services.chaincheck Macs.matches).
WHYS = ("unknown_algorithm", "unknown_key")


def asked() -> Iterator[tuple[str, str]]:
    """(where, key) of every text a service asks `said` for; an f-string's key with each {why}."""
    for path in sorted(SERVICES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "said" and node.args):
                continue
            where = f"{path.name}:{node.lineno}"
            for key in _keys(node.args[0], where):
                yield where, key


def _keys(node: ast.expr, where: str) -> list[str]:
    """The keys an argument names: a text, either branch of a conditional, an f-string's with each
    {why}."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _keys(node.body, where) + _keys(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        head = "".join(str(p.value) for p in node.values if isinstance(p, ast.Constant))
        return [head + why for why in WHYS]
    pytest.fail(f"{where}: said() with a key that is neither a text, a conditional nor an f-string")


def test_every_text_a_check_asks_for_is_there_and_none_is_left_over() -> None:
    wanted = {key for _, key in asked()}
    assert len(wanted) > 40  # the walk found the checks' calls (it would pass on finding none)
    missing = {key: where for where, key in asked() if key.partition(".")[2] not in
               TEXTS.get(key.partition(".")[0], {})}
    assert not missing, missing
    unused = {f"{section}.{key}" for section, texts in TEXTS.items() if section != "tables"
              for key in texts} - wanted
    assert not unused, unused


def test_every_text_reads_in_chinese() -> None:
    for section, texts in TEXTS.items():
        for key, text in texts.items():
            assert CJK.search(text), (section, key, text)
            assert not english(text), (section, key, english(text))


def test_a_table_an_event_covers_is_named_as_a_person_calls_it() -> None:
    from duban.services.auditrows import covered_tables

    assert set(covered_tables()) <= set(TEXTS["tables"]) | {"pressure_steps"}
    assert auditsaid.table_word("handling_reports") == "办理报告"
    assert auditsaid.table_word("no_such_table") == "no_such_table"  # a gap shows as the name
    assert auditsaid.action_word("transfer") == "转办" and auditsaid.action_word("account_add") == "添加账号"


def test_an_office_may_reword_a_finding_with_the_same_names_or_fewer(tmp_path: Path) -> None:
    (tmp_path / AUDIT_NAME).write_text('[case]\naltered = "{event}已被改动，请核查"\n', encoding="utf-8")
    reworded = load_cli_output(tmp_path, name=AUDIT_NAME)
    assert reworded.text("case.altered", event="事件2（转办）") == "事件2（转办）已被改动，请核查"
    (tmp_path / AUDIT_NAME).write_text('[case]\naltered = "{event}被{who}改动"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_cli_output(tmp_path, name=AUDIT_NAME)
    assert refused.value.key == "case.altered" and "who" in str(refused.value)
