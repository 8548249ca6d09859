"""The folders are the architecture: each layer imports only what its __init__ says it may.

Read from the source (ast), so a new module is checked the day it is added.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
CONTEXT = (
    "bot.services",
    "bot.settings",
    "bot.lines",
    "bot.metrics",
    "bot.clients",
    "bot.wiring",
)

# Layer (module prefix) -> the prefixes of our own modules it may import.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "bot.domain": ("bot.domain",),
    "storage": ("storage", "bot.domain"),
    "bot.flows": ("bot.flows", "bot.domain", "storage", *CONTEXT),
    # A job's work may lead to what a flow does (a lead texted, a card to update); flows never
    # import the outbox: they queue jobs through storage's Outbox.
    "bot.outbox": ("bot.outbox", "bot.flows", "bot.domain", "storage", *CONTEXT),
    "bot.pages": ("bot.pages", "bot.domain"),
    "bot.simulators": ("bot.simulators",),
    # Checks against the live services (python -m bot doctor, setup twilio): their I/O, never
    # handlers'.
    "bot.doctor": ("bot.doctor", "bot.domain", "storage", *CONTEXT),
    # The demo assembles the product (the one factory) with the simulators; nothing in the
    # product imports it (test_nothing_in_the_product_imports_the_demo).
    "bot.demo": (
        "bot.demo",
        "bot.app",
        "bot.settings",
        "bot.local_redis",
        "bot.simulators",
        "bot.pages",
        "bot.domain",
    ),
    "handlers": ("handlers", "bot.flows", "bot.domain", "bot.pages", "bot.doctor", *CONTEXT),
    "bot.settings": ("bot.domain",),
    "bot.lines": ("bot.domain", "bot.settings", "storage"),
    "bot.services": ("bot.domain", "storage", *CONTEXT),
}
# Pure rules: no I/O, no event loop.
DOMAIN_MAY_NOT = ("asyncio", "aiohttp", "redis", "slack_sdk", "slack_bolt", "twilio", "socket")
# The only libraries beyond the standard library the domain may use, and why each is pure.
DOMAIN_LIBRARIES = {
    "phonenumbers": "libphonenumber's data and rules: parsing and formatting numbers",
    "emoji": "the Unicode emoji list: typed :shortcodes: as the characters a phone shows",
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def layer_of(module: str) -> str | None:
    matches = [layer for layer in MAY_IMPORT if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


MODULES = modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_what_its_layer_may(module: str) -> None:
    layer = layer_of(module)
    if layer is None:
        pytest.skip("top level (app, cli): may import any layer")
    allowed = MAY_IMPORT[layer]
    found = {name for name in imports(MODULES[module]) if ours(name)}
    # "from bot.domain import jobs" names bot.domain and bot.domain.jobs: both must be allowed.
    refused = sorted(
        name
        for name in found
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
        and name not in PACKAGES
    )
    assert refused == [], f"{module} ({layer}) may import only {allowed}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == "bot.domain"))
def test_domain_rules_do_no_io(module: str) -> None:
    found = imports(MODULES[module])
    assert sorted(n for n in found if n.split(".")[0] in DOMAIN_MAY_NOT) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == "bot.domain"))
def test_domain_uses_only_the_standard_library_and_its_allowed_libraries(module: str) -> None:
    outside = {
        name.split(".")[0]
        for name in imports(MODULES[module])
        if not ours(name) and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert sorted(outside - {"__future__", *DOMAIN_LIBRARIES}) == []


def test_only_the_app_factory_imports_handlers() -> None:
    importers = sorted(
        module
        for module, path in MODULES.items()
        if not module.startswith("handlers")
        and any(name.split(".")[0] == "handlers" for name in imports(path))
    )
    assert importers == ["bot.app"]


def test_every_folder_says_what_lives_there_and_what_it_may_import() -> None:
    undocumented = [
        str(init.relative_to(ROOT))
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if "import" not in (ast.get_docstring(ast.parse(init.read_text())) or "")
    ]
    assert undocumented == []


def test_nothing_in_the_product_imports_the_demo() -> None:
    """Only the CLI starts the demo; the app, the handlers and every layer never see it."""
    importers = sorted(
        module
        for module, path in MODULES.items()
        if not module.startswith("bot.demo")
        and any(name == "bot.demo" or name.startswith("bot.demo.") for name in imports(path))
    )
    assert importers == ["bot.cli"]
