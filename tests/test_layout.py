"""The root folders install under one namespace: duban/ as `duban`, flows/ as `duban.flows`, ...

setuptools installs only the packages pyproject.toml lists, so a new folder that is not listed
works in the editable checkout and is missing from a built wheel. These tests keep the list and
the tree equal, and keep anyone from importing a root folder as a top-level package (`models`
and `config` are also names of unrelated PyPI distributions).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
PACKAGE_DIR: dict[str, str] = SETUPTOOLS["package-dir"]
ROOT_FOLDERS = {"duban", "flows", "states", "models", "config"}
SKIPPED_DIRS = {"build", "dist", "node_modules", "__pycache__"}  # and every .hidden folder


def _packages_in_tree() -> set[str]:
    found = set()
    for prefix, folder in PACKAGE_DIR.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(base).parts
            found.add(".".join((prefix, *relative)))
    return found


def _python_files() -> list[Path]:
    def skipped(folder: str) -> bool:
        return folder in SKIPPED_DIRS or folder.startswith(".")

    return [path for path in ROOT.rglob("*.py") if not any(map(skipped, path.relative_to(ROOT).parts[:-1]))]


def test_each_root_folder_is_mapped_into_the_duban_namespace() -> None:
    assert set(PACKAGE_DIR.values()) == ROOT_FOLDERS
    assert all(name == "duban" or name.startswith("duban.") for name in PACKAGE_DIR)


def test_every_package_in_the_tree_is_listed_in_pyproject() -> None:
    unlisted = _packages_in_tree() - set(SETUPTOOLS["packages"])
    assert not unlisted, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(unlisted)}"


def test_every_listed_package_exists_in_the_tree() -> None:
    missing = set(SETUPTOOLS["packages"]) - _packages_in_tree()
    assert not missing, f"listed in pyproject.toml but no folder with __init__.py: {sorted(missing)}"


def test_no_module_imports_a_root_folder_as_a_top_level_package() -> None:
    banned = ROOT_FOLDERS - {"duban"}
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] in banned:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name} -> duban.{name}")
    assert not offenders, "\n".join(offenders)


def _contract(name: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"] == name)


def test_a_service_importing_a_face_breaks_the_layers_contract(tmp_path: Path) -> None:
    """scripts/check runs these contracts on the real tree; here one of them meets a violation."""
    import subprocess
    import sys

    for package in ("duban", "duban/services", "duban/api", "duban/web", "duban/cli", "duban/app",
                    "duban/flows", "duban/scheduler", "duban/present"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "duban/services/cases.py").write_text("from duban.api import errors\n", encoding="utf-8")
    (tmp_path / "duban/api/errors.py").write_text("", encoding="utf-8")
    contract = _contract("services never import a face, a flow or the scheduler")
    lines = ["[importlinter]", "root_package = duban", "", "[importlinter:contract:layers]"]
    for key, value in contract.items():
        listed = "\n    " + "\n    ".join(value) if isinstance(value, list) else str(value)
        lines.append(f"{key} = {listed}")
    (tmp_path / ".importlinter").write_text("\n".join(lines) + "\n", encoding="utf-8")
    linter = Path(sys.executable).with_name("lint-imports")
    broken = subprocess.run([str(linter), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "duban.services.cases -> duban.api.errors" in broken.stdout, broken.stdout


def test_a_face_opening_a_database_session_breaks_the_faces_contract(tmp_path: Path) -> None:
    """Faces read and write through service functions: `from sqlmodel import Session` in a page
    (or a statement built with sqlalchemy in the CLI) fails the check; a service may do both."""
    import subprocess
    import sys

    for package in ("duban", "duban/services", "duban/api", "duban/web", "duban/cli", "duban/app",
                    "duban/present"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "duban/web/pages.py").write_text("from sqlmodel import Session\n", encoding="utf-8")
    (tmp_path / "duban/cli/users.py").write_text("def f():\n    from sqlalchemy import select\n",
                                                 encoding="utf-8")
    (tmp_path / "duban/services/users.py").write_text("from sqlmodel import Session, select\n",
                                                      encoding="utf-8")
    contract = _contract("faces open no database session and build no query: they read and write "
                         "through services")
    lines = ["[importlinter]", "root_package = duban", "include_external_packages = True", "",
             "[importlinter:contract:faces]"]
    for key, value in contract.items():
        listed = "\n    " + "\n    ".join(value) if isinstance(value, list) else str(value)
        lines.append(f"{key} = {listed}")
    (tmp_path / ".importlinter").write_text("\n".join(lines) + "\n", encoding="utf-8")
    linter = Path(sys.executable).with_name("lint-imports")
    broken = subprocess.run([str(linter), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "duban.web.pages -> sqlmodel" in broken.stdout, broken.stdout
    assert "duban.cli.users -> sqlalchemy" in broken.stdout, broken.stdout
    assert "duban.services.users" not in broken.stdout, broken.stdout
