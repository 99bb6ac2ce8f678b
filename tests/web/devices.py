"""The two screens a journey runs on: an office desktop and a phone (390×844, touch, a mobile
browser's user agent). On the phone a journey taps rather than clicks, and every control it taps must
be on the screen and big enough for a finger; no page it reads may scroll sideways."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.appworld import PASSWORD

PHONE_WIDTH = 390
# A finger needs a target at least this tall (CSS pixels) to hit it without hitting its neighbour.
TAP_HEIGHT = 32
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36")

DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": PHONE_WIDTH, "height": 844}, "is_mobile": True, "has_touch": True,
              "user_agent": PHONE_UA, "device_scale_factor": 1},
}


def is_phone(page: Page) -> bool:
    size = page.viewport_size
    return size is not None and size["width"] <= PHONE_WIDTH


@contextmanager
def signed_in_on(browser: Any, site: str, username: str, device: str) -> Iterator[Page]:
    """A browser context of that device, signed in as `username` through the login page."""
    context = browser.new_context(locale="zh-CN", accept_downloads=True, **DEVICES[device])
    page = context.new_page()
    try:
        page.goto(f"{site}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        tap(page.get_by_role("button", name="登录"))
        expect(page.locator("h1")).to_contain_text("我的工作台")
        yield page
    finally:
        context.close()


def reachable(target: Locator) -> None:
    """The control is visible, scrolled to, and on a phone at least TAP_HEIGHT tall and inside the
    screen's width (a control beyond the right edge of a page that cannot scroll there is lost)."""
    expect(target).to_be_visible()
    target.scroll_into_view_if_needed()
    page = target.page
    if not is_phone(page):
        return
    box = target.bounding_box()
    assert box is not None, "the control has no box on the screen"
    what = target.evaluate("e => e.outerHTML.slice(0, 120)")
    assert box["height"] >= TAP_HEIGHT, f"{what} is {box['height']:.0f}px tall, too small for a finger"
    inside = box["x"] >= 0 and box["x"] + min(box["width"], TAP_HEIGHT) <= PHONE_WIDTH
    assert inside, f"{what} is off the screen"


def tap(target: Locator) -> None:
    """Press a button, link or checkbox as the device's person does: a finger on the phone."""
    reachable(target)
    if is_phone(target.page):
        target.tap()
    else:
        target.click()


def tick(target: Locator) -> None:
    """Tick a checkbox (by tapping it on the phone) and see it ticked."""
    if not target.is_checked():
        tap(target)
    expect(target).to_be_checked()


def fits(page: Page) -> None:
    """Nothing on the page makes it scroll sideways (a wide table scrolls inside itself), measured
    against the screen, not the layout viewport: a page without a viewport meta tag is laid out
    980 px wide on a phone and shrunk to illegible type, and that does not fit either."""
    size = page.viewport_size
    assert size is not None
    page.wait_for_load_state()
    wide = page.evaluate("Math.max(document.scrollingElement.scrollWidth, window.innerWidth)")
    assert wide <= size["width"], f"{page.url} is {wide}px wide on a {size['width']}px screen"


def act(page: Page, action: str, **fields: str) -> None:
    """Open an action's form on the case page, fill it in and send it, by tap on the phone."""
    box = page.locator(f"#action-{action}")
    if not box.evaluate("e => e.open"):  # a form that came back with errors is open already
        tap(box.locator("summary"))
    for name, value in fields.items():
        field = box.locator(f"[name={name}]")
        reachable(field)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    tap(box.locator("button[type=submit]"))


def attach(page: Page, selector: str, files: list[Any]) -> None:
    """Choose files in a file field the person can see and reach (the chooser itself is the
    browser's, not the page's)."""
    field = page.locator(selector)
    reachable(field)
    field.set_input_files(files=files)


def lines(target: Locator) -> int:
    """How many lines the element's text takes on the screen (a case number broken over five lines
    of a squeezed column cannot be read)."""
    return int(target.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return new Set("
        "[...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.bottom))).size }"))
