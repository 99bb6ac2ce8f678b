"""What a password must be: long enough, and not one attackers try first.

Policy `[sign_in]` sets the length; the list of common passwords is data
(config/common-passwords.txt, plus an office's own file of the same name in its config folder).
Compared after NFKC folding and lower-casing, so "ＰＡＳＳＷＯＲＤ１" and "Password1" are the same
common password. No network: the list ships with Duban.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

from duban.config.policy import SignIn
from duban.errors import WeakPassword

LIST = "common-passwords.txt"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _read(text: str) -> set[str]:
    return {_fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#")}


@lru_cache(maxsize=4)
def common_passwords(override_dir: Path | None = None) -> frozenset[str]:
    """The packaged list, and the office's own beside its policy overrides."""
    words = _read((resources.files("duban.config") / LIST).read_text(encoding="utf-8"))
    if override_dir is not None and (override_dir / LIST).is_file():
        words |= _read((override_dir / LIST).read_text(encoding="utf-8"))
    return frozenset(words)


def check_password(rules: SignIn, password: str, *, username: str = "", field: str = "password",
                   override_dir: Path | None = None) -> None:
    """WeakPassword (naming `field` and what is wrong, never the password) unless it passes."""
    def weak(kind: str) -> WeakPassword:
        return WeakPassword(field=field, kind=kind, min_length=rules.min_length, max_length=rules.max_length)

    if len(password) < rules.min_length:
        raise weak("too_short")
    if len(password) > rules.max_length:
        raise weak("too_long")
    folded = _fold(password)
    if rules.refuse_common and (folded in common_passwords(override_dir)
                                or (username and folded == _fold(username))
                                or len(set(folded)) <= 2):
        raise weak("common")
