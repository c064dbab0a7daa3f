"""Imports go one way: handlers → flows → store → db; auth is pure; nothing below the web layer knows HTTP."""

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"

WEB = ("server.web", "server.app", "server.routes", "server.asgi", "server.handlers", "starlette")
DATABASE = ("server.store", "server.db", "server.tables", "server.migrations", "databases", "sqlalchemy")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Handlers reach the database only through flows, and never through each other except common.
    "server.handlers": (*DATABASE,),
    # Flows know nothing of HTTP; they reach the database through the store.
    "server.flows": (*WEB, "server.db", "server.tables", "server.migrations", "databases", "sqlalchemy"),
    "server.services": (*WEB, "server.flows", "server.store"),
    "server.cli": (*WEB,),
    "server.store": (*WEB, "server.flows", "server.services", "server.settings"),
    "server.db": (*WEB, "server.flows", "server.services", "server.store", "server.settings"),
    "server.tables": (*WEB, "server.flows", "server.services", "server.store", "server.db"),
    "server.migrations": (*WEB, "server.flows", "server.services", "server.store", "server.db"),
    "server.web": ("server.handlers", "server.routes", "server.app", *DATABASE[1:]),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    return imports_in(path.read_text())


def imports_in(source: str) -> set[str]:
    """Every module ``source`` imports (``from a import b`` counts as ``a`` and ``a.b``), nested ones too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = {module_name(p): p for p in sorted(SERVER.rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_layer_above_it(name):
    """Each module imports only what sits below it (the forbidden lists above say what is above)."""
    rules = [forbidden for layer, forbidden in FORBIDDEN.items() if within(name, layer)]
    wrong = sorted(i for i in imports_of(MODULES[name]) for f in rules for p in f if within(i, p))
    assert not wrong, f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "server.auth")))
def test_auth_is_pure_logic(name):
    """server.auth imports nothing of the app: only the standard library and third-party packages."""
    ours = sorted(i for i in imports_of(MODULES[name]) if within(i, "server") and not within(i, "server.auth"))
    assert not ours, f"{name} imports {ours}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "server.handlers")))
def test_handlers_share_helpers_only_through_common(name):
    """A handler module imports no other handler module but ``server.handlers.common``."""
    others = {
        i
        for i in imports_of(MODULES[name])
        if within(i, "server.handlers") and i != "server.handlers" and not within(i, "server.handlers.common")
    }
    assert not others, f"{name} imports {sorted(others)}"


def test_the_scan_sees_every_form_of_import():
    """``import a.b``, ``from a import b`` and an import inside a function are all seen."""
    source = "import server.web\nfrom server import store\ndef f():\n    from server.db import Prepared\n"
    assert {"server.web", "server.store", "server.db"} <= imports_in(source)
