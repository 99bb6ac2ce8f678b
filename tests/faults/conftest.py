"""Fault tests: crashes, mail outages, concurrency, fuzzing, security. Their figures are printed
at the end of the run (kills survived, requests fuzzed, 5xx seen, leaks found)."""

from __future__ import annotations

import pytest

from tests.faults.figures import summary_lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("faults: figures")
        for line in lines:
            terminalreporter.write_line(line)
