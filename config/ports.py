"""Default ports (config/ports.toml), the one list the scripts read too."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from duban.errors import ConfigError


@lru_cache(maxsize=1)
def default_ports() -> dict[str, int]:
    data = tomllib.loads((resources.files("duban.config") / "ports.toml").read_text(encoding="utf-8"))
    ports = data.get("ports", {})
    if not all(isinstance(port, int) and 0 < port < 65536 for port in ports.values()):
        raise ConfigError(source="config/ports.toml", key="ports",
                          message=f"every port is a number from 1 to 65535: {ports}")
    return dict(ports)


def default_port(name: str) -> int:
    """The default port of `name` (web, smtp, prefect, postgresql)."""
    try:
        return default_ports()[name]
    except KeyError:
        raise ConfigError(source="config/ports.toml", key=f"ports.{name}", message="missing") from None
