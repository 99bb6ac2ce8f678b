"""What every page reads cheaply must read the same: the signed-in user, and local times."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from duban.clock import shanghai
from duban.services.users import get_user, set_active, sign_out, signed_in_user
from duban.web.render import _local
from tests.appworld import AppWorld, fast_password_hashing  # noqa: F401


def test_the_page_user_is_the_user_until_signed_out_or_disabled(aw: AppWorld) -> None:
    held = get_user(aw.ctx, 2)
    assert held is not None
    seen = signed_in_user(aw.ctx, 2, epoch=held.session_epoch)
    assert seen is not None
    assert {k: getattr(seen, k) for k in ("id", "username", "role", "org_id", "display_name")} == \
        {k: getattr(held, k) for k in ("id", "username", "role", "org_id", "display_name")}
    assert signed_in_user(aw.ctx, 2, epoch=held.session_epoch + 1) is None
    assert signed_in_user(aw.ctx, 10_000, epoch=0) is None
    sign_out(aw.ctx, 2)
    assert signed_in_user(aw.ctx, 2, epoch=held.session_epoch) is None
    fresh = get_user(aw.ctx, 2)
    assert fresh is not None and signed_in_user(aw.ctx, 2, epoch=fresh.session_epoch) is not None
    set_active(aw.ctx, fresh.username, False)
    assert signed_in_user(aw.ctx, 2, epoch=fresh.session_epoch) is None


@given(st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2060, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_local_times_read_as_asia_shanghai_in_every_year(when: dt.datetime) -> None:
    assert _local(when) == shanghai(when).strftime("%Y-%m-%d %H:%M")
    assert _local(when, "%m-%d") == shanghai(when).strftime("%m-%d")


def test_summer_time_of_1986_to_1991_is_kept() -> None:
    when = dt.datetime(1990, 7, 1, 4, 30, tzinfo=dt.UTC)  # 13:30 in Beijing that summer (UTC+9)
    assert _local(when) == "1990-07-01 13:30"
