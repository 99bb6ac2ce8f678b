"""Every default port Duban uses lives in config/ports.toml, and none is a port other software
defaults to (a default then never reaches another program on the same machine)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from duban.config.ports import default_port, default_ports
from duban.config.settings import Settings
from duban.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
# Defaults of software found beside Duban: uvicorn/Django, aiosmtpd/MailHog, Prefect, PostgreSQL,
# Tomcat/proxies, Redis, MySQL, MinIO.
SHARED = {8000, 8025, 1025, 4200, 5432, 8080, 6379, 3306, 9000}
SOURCES = ("scripts", "duban", "flows", "config", "states", "models")


def test_the_default_ports_are_distinct_and_none_is_another_programs_default() -> None:
    ports = default_ports()
    assert set(ports) >= {"web", "smtp", "prefect", "postgresql"}
    assert len(set(ports.values())) == len(ports), ports
    assert not set(ports.values()) & SHARED, ports


def test_code_and_scripts_take_their_default_ports_from_the_one_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_SMTP_PORT", raising=False)
    assert Settings().smtp_port == default_port("smtp")
    for name, script in (("postgresql", "pg"), ("prefect", "prefect-stack")):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert f"s/^{name} *= *" in text and "config/ports.toml" in text, script
        found = subprocess.run(["sed", "-n", rf"s/^{name} *= *\([0-9]*\).*/\1/p", "config/ports.toml"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
        assert int(found) == default_port(name)


def test_no_source_file_names_a_default_port_itself() -> None:
    ports = "|".join(str(port) for port in [*default_ports().values(), 8025, 4200])
    literals = re.compile(rf"\b({ports})\b")
    found = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {"", ".py", ".toml", ".sh"} and path.name != "ports.toml":
                text = path.read_text(encoding="utf-8", errors="ignore")
                found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in literals.finditer(text)]
    assert found == []


def test_an_unknown_port_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ports.nowhere"):
        default_port("nowhere")
