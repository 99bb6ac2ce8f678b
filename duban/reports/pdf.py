"""PDF through the Chromium already on the machine (tests and browser pages use it too).

The print-ready HTML is the primary printable format; a PDF is that page printed by headless
Chromium, so both look the same and no PDF library has to learn CJK fonts (Debian's
fonts-noto-cjk serves Chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from duban.errors import ConfigError
from duban.files import write_private

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    override = os.environ.get("DUBAN_CHROMIUM")
    if override:
        return override
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def html_to_pdf(html: str, path: str | Path, *, timeout: float = 120, force: bool = False,
                protected: Iterable[Path] = ()) -> Path:
    """Print `html` to `path` with headless Chromium; ConfigError when there is none.

    Created 0600; FileExists if `path` exists and not `force`; never over `protected` (duban.files).
    """
    browser = find_chromium()
    if browser is None:
        raise ConfigError(source="PATH", key="chromium",
                          message="no Chromium found for --pdf; install it, set DUBAN_CHROMIUM, "
                                  "or write --html and print that")

    def print_to(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="duban-pdf-") as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(html, encoding="utf-8")
            args = [browser, "--headless", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out.resolve()}",
                    page.as_uri()]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
            subprocess.run(args, check=True, capture_output=True, timeout=timeout)
        if out.stat().st_size == 0:
            raise ConfigError(source=browser, key="print-to-pdf", message=f"no PDF was written to {path}")

    return write_private(path, print_to, force=force, protected=protected)
