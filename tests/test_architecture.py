"""Architecture rules from DEVELOPERS.md, checked on the source."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import patronage

PACKAGE = Path(patronage.__file__).parent
FORBIDDEN_IN_ANALYTICS = ("patronage.storage", "patronage.web", "patronage.cli", "sqlalchemy",
                          "fastapi", "starlette", "click", "alembic")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_analytics_imports_nothing_from_outer_layers():
    offenders = []
    for path in sorted((PACKAGE / "analytics").rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_ANALYTICS):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_importing_analytics_loads_no_outer_layer():
    # A fresh interpreter, so modules imported by other tests do not count.
    code = (
        "import sys, patronage.analytics;"
        "bad=[m for m in sys.modules if m.split('.')[0] in {'sqlalchemy','fastapi','starlette','click'}"
        " or m.startswith(('patronage.storage','patronage.web','patronage.cli'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_storage_does_not_import_web_or_cli():
    for path in sorted((PACKAGE / "storage").rglob("*.py")):
        for name in _imports(path):
            assert not name.startswith(("patronage.web", "patronage.cli")), path


def test_no_utils_module_and_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
        assert path.stem not in {"utils", "util", "helpers"}, path
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 650, f"{path.relative_to(PACKAGE)} has {lines} lines; split it"


def test_the_code_stands_alone():
    """Code and tests cite papers and the README, never documents outside the repository."""
    tests = Path(__file__).parent
    outside = ("SPEC" + " §", "SPEC" + " section")  # spelled apart so this file passes itself
    for path in [*PACKAGE.rglob("*.py"), *tests.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not any(word in text for word in outside), path


def test_analytics_public_api_is_sorted_and_importable():
    analytics = importlib.import_module("patronage.analytics")
    assert analytics.__all__ == sorted(analytics.__all__)
    for name in analytics.__all__:
        assert hasattr(analytics, name), name


def test_routes_that_touch_the_database_run_in_the_thread_pool():
    """An ``async def`` route runs on the event loop: a database call there stalls every other
    request (a SQLite fsync, a PostgreSQL round trip). Routes are plain ``def`` (FastAPI runs
    them in threads); the JSON submission is the one coroutine, and it hands its reads to
    threads and its writes to the group-commit writer."""
    import inspect

    from patronage.web import api, cases, pages, public, survey_admin

    coroutines = sorted(
        f"{module.__name__}.{route.endpoint.__name__}"
        for module in (api, cases, pages, public, survey_admin) for route in module.router.routes
        if inspect.iscoroutinefunction(route.endpoint))
    assert coroutines == ["patronage.web.public.api_submit"]


def test_imports_flow_one_way_between_layers():
    """analytics <- storage <- services <- web / cli: a service never imports the web or the CLI,
    the web never imports the CLI, and the CLI reaches the web only to serve it
    (``cli/serving.py``)."""
    services = [p for p in PACKAGE.iterdir()
                if p.is_dir() and p.name not in {"analytics", "storage", "web", "cli", "__pycache__"}]
    offenders = []
    for folder in services:
        for path in folder.rglob("*.py"):
            offenders += [f"{path.relative_to(PACKAGE)} imports {name}" for name in _imports(path)
                          if name.startswith(("patronage.web", "patronage.cli"))]
    for layer, other in (("web", "patronage.cli"), ("cli", "patronage.web")):
        for path in (PACKAGE / layer).rglob("*.py"):
            if layer == "cli" and path.name == "serving.py":
                continue
            offenders += [f"{path.relative_to(PACKAGE)} imports {name}" for name in _imports(path)
                          if name.startswith(other)]
    assert offenders == []


def test_cli_command_groups_share_only_common():
    """One module per command group; they share helpers through ``cli.common`` alone, and only the
    package's ``__init__`` assembles them, so there is no import circle."""
    for path in (PACKAGE / "cli").glob("*.py"):
        if path.name in {"__init__.py", "common.py"}:
            continue
        siblings = {name for name in _imports(path)
                    if name.startswith("patronage.cli") and name != "patronage.cli.common"}
        assert siblings == set(), f"{path.name} imports {siblings}"
