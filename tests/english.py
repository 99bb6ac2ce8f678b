"""Finding English a person would read: runs of three or more English words, line by line.

Codes pass (record_callback, policy.toml, GS-LZ, 2023-03, --as, /tmp/x/duban.db), so do single
words and pairs (PDF, JSON API, Ctrl-C): what is caught is a sentence or a phrase left in English,
in a help text (tests/cli/test_help_texts.py) or in what a command prints
(tests/cli/test_output_in_chinese.py).
"""

from __future__ import annotations

import re

# An English word as a sentence has it: letters (hyphenated or not), maybe in brackets or quotes,
# maybe followed by punctuation. Codes (record_callback, policy.toml, GS-LZ, 2023-03, --as) are not.
WORD = re.compile(r"[(\"'“‘]*[A-Za-z]+(?:-[A-Za-z]+)*[)\"'”’,.;:!?]*")


def english(text: str) -> list[str]:
    """The runs of three or more English words in `text`, line by line (code spans left out)."""
    runs: list[str] = []
    for line in re.sub(r"`[^`]*`", " ", text).splitlines():
        run: list[str] = []
        for token in [*line.split(), ""]:
            if WORD.fullmatch(token):
                run.append(token)
                continue
            if len(run) >= 3:
                runs.append(" ".join(run))
            run = []
    return runs
