"""The apps are layered, and imports only go down (docs/architecture.md has the picture).

Every import in the project's code is read (function-level ones too, where cycles hide)
and the importing module's layer must be the same or above the imported one's. A
module's layer is that of the longest prefix listed in LAYERS; an app's entry points
(its API views, admin, management commands) sit above every domain app, because they
may call any of them; `apps.py` modules wire an app together and sit on top. Tasks
belong to their app: its services enqueue them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kycregistry", "organisations", "customers", "relations", "onboarding", "imports")
PACKAGES += ("screening", "kyc", "clients", "webhooks", "demo", "workers")

# The domain apps, bottom first: each may import those below it.
DOMAIN: list[tuple[str, ...]] = [
    ("kycregistry", "kycregistry.api.fields"),  # events, jobs, env, field types: for every app
    ("workers",),  # the task workers' heartbeat: for every page that waits for a job
    ("organisations",),
    ("customers",),
    ("relations",),
    ("onboarding",),
    ("imports",),
    ("screening",),
    ("kyc",),
    ("clients",),
    ("webhooks",),
    ("demo",),
]
# Entry points (HTTP, admin, commands): one layer above every domain app; they may
# import each other.
ENTRY_POINTS = (
    *("kycregistry.api", "kycregistry.admin", "kycregistry.admin_site", "kycregistry.apps"),
    *("kycregistry.admin_history", "kycregistry.admin_filters", "kycregistry.dashboard"),
    *("organisations.admin", "organisations.authentication", "organisations.permissions"),
    *("organisations.schema", "organisations.management"),
    *("customers.api", "customers.admin"),
    *("customers.admin_forms", "customers.admin_widgets", "customers.admin_change_page"),
    *("relations.api", "relations.admin", "relations.admin_views"),
    *("onboarding.api", "onboarding.admin"),
    *("imports.api", "imports.admin", "imports.admin_views", "imports.admin_filters"),
    *("kyc.api", "kyc.admin", "kyc.management"),
    *("clients.api", "clients.admin"),
    *("webhooks.api", "webhooks.admin", "webhooks.management"),
    *("screening.api", "screening.admin", "screening.admin_views"),
    "demo.management",
    "workers.management",
)
WIRING = ("kycregistry.urls", "kycregistry.settings", "kycregistry.wsgi")
LAYERS = [*DOMAIN, ENTRY_POINTS, WIRING]
# An app's output serializers are how it represents its rows: part of the app.
REPRESENTATIONS = (".api.serializers",)  # and the names imported from them


def rank(module: str) -> int | None:
    if module.endswith(".apps"):
        return len(LAYERS) - 1
    for representation in REPRESENTATIONS:
        app, found, rest = module.partition(representation)
        if found and (not rest or rest.startswith(".")):
            module = app
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for layer, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), layer)
    return None if best is None else best[1]


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from pkg import module` imports pkg.module
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def test_every_project_module_has_a_layer():
    unplaced = sorted(name for name in project_modules() if rank(name) is None)
    assert unplaced == []


def test_imports_only_go_down():
    upward = []
    for module, path in project_modules().items():
        own = rank(module)
        assert own is not None
        for line, imported in imports_of(path):
            theirs = rank(imported)
            if theirs is not None and theirs > own:
                upward.append(f"{path.relative_to(ROOT)}:{line} {module} → {imported}")
    assert upward == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("customers.services.customers", "relations.services"),
        ("relations.services", "onboarding.kyb"),
        ("onboarding.kyb", "imports.writer"),
        ("customers.models", "customers.api.views"),
    ],
)
def test_an_upward_import_would_be_caught(module, imported):
    assert rank(imported) > rank(module)
