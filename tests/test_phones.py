"""A phone as one string of digits however typed; anything that is not surely a Chinese phone stays."""

from __future__ import annotations

import pytest

from duban.phones import canonical, stored

MOBILE, LANDLINE = "13912345678", "09318881234"


@pytest.mark.parametrize(("typed", "digits"), [
    ("13912345678", MOBILE), ("139 1234 5678", MOBILE), ("139-1234-5678", MOBILE), ("139.1234.5678", MOBILE),
    ("+86 139 1234 5678", MOBILE), ("+8613912345678", MOBILE), ("8613912345678", MOBILE),
    ("0086-139-1234-5678", MOBILE), ("(+86)13912345678", MOBILE), ("  13912345678 ", MOBILE),
    ("0931-8881234", LANDLINE), ("(0931) 888 1234", LANDLINE), ("（0931）8881234", LANDLINE),
    ("+86 931 8881234", LANDLINE), ("010-62345678", "01062345678"),
])
def test_a_chinese_phone_is_its_digits_however_typed(typed: str, digits: str | None) -> None:
    assert canonical(typed) == digits


@pytest.mark.parametrize("typed", [
    "+852 9123 4567", "2023-03-24", "12345", "12345678901", "1391234567", "139123456789", "GS-LZ-2023-00012",
    "139-1234-567a", "", "12345热线", "0931-888", "20230324100012345",
])
def test_what_is_not_surely_a_chinese_phone_stays_as_typed(typed: str) -> None:
    assert canonical(typed) is None
    assert stored(typed) == typed.strip()
