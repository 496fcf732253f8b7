"""The layers hold: the domain and storage never import `handlers/` (nor the wiring above them).

Every import statement is read from the source (also those inside functions, where a circle
would hide), so a module that reaches the handlers in any way fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = sorted((ROOT / "bot" / "domain").rglob("*.py"))
STORAGE = sorted((ROOT / "storage").rglob("*.py"))
# What the domain may use of `bot/`: its own package, the typed config, the neutral values.
DOMAIN_MAY_IMPORT = ("bot.domain", "bot.config", "bot.chat")
# Presentation values a service must not build: it returns outcomes, handlers/ words them.
PRESENTATION = frozenset({"Reply", "Button"})


def imports_of(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """Return (line, module, imported names) for every import statement of a module."""
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = tuple(alias.name for alias in node.names)
            found.append((node.lineno, node.module, names))
    return found


def is_handlers(module: str) -> bool:
    """Tell whether a module path is `handlers` or inside it."""
    return module == "handlers" or module.startswith("handlers.")


def relative(path: Path) -> str:
    """Return a path relative to the repository, for messages."""
    return str(path.relative_to(ROOT))


def test_layering_finds_the_domain_and_storage_modules() -> None:
    names = {relative(path) for path in DOMAIN + STORAGE}
    for expected in (
        "bot/domain/tickets.py",
        "bot/domain/dossiers.py",
        "bot/domain/triage.py",
        "bot/domain/outcomes.py",
        "storage/tickets.py",
        "storage/stats.py",
    ):
        assert expected in names


@pytest.mark.parametrize("path", DOMAIN + STORAGE, ids=relative)
def test_module_imports_nothing_from_handlers(path: Path) -> None:
    offending = [
        f"{relative(path)}:{line} imports {module}"
        for line, module, _names in imports_of(path)
        if is_handlers(module)
    ]
    assert offending == []


@pytest.mark.parametrize("path", DOMAIN, ids=relative)
def test_domain_module_imports_only_the_domain_config_and_chat_values_of_bot(path: Path) -> None:
    offending = [
        f"{relative(path)}:{line} imports {module}"
        for line, module, _names in imports_of(path)
        if (module == "bot" or module.startswith("bot."))
        and not any(
            module == allowed or module.startswith(allowed + ".") for allowed in DOMAIN_MAY_IMPORT
        )
    ]
    assert offending == []


@pytest.mark.parametrize("path", DOMAIN, ids=relative)
def test_domain_module_builds_no_replies_or_buttons(path: Path) -> None:
    offending = [
        f"{relative(path)}:{line} imports {sorted(PRESENTATION & set(names))} from {module}"
        for line, module, names in imports_of(path)
        if PRESENTATION & set(names)
    ]
    assert offending == []


def test_layering_check_catches_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "hidden.py"
    module.write_text(
        "def card():\n    from handlers.cards import ticket_cards\n    return ticket_cards\n",
        encoding="utf-8",
    )
    assert [m for _line, m, _names in imports_of(module) if is_handlers(m)] == ["handlers.cards"]
