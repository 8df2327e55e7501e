"""The README's configuration table and the variables the code reads must agree.

Every variable is read in config/settings.py (through `_env`, `_env_bool`, `_env_int`, or
named by a module constant ending in `_VARIABLE`), or by the Procfile's command lines
(`${NAME...}`); nothing else under hotline/, workers/, scripts/ or wsgi.py reads the
environment. bench/ and tests/ read their own BENCH_*, CHAOS_*, FUZZ_*, TEST_* variables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_READERS = {"_env", "_env_bool", "_env_int"}
NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def readme_variables(text: str) -> set[str]:
    """The variables named in the first column of the README's configuration table."""
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[1].strip()) <= {"-"}:
            names.update(NAME.findall(cells[1]))
    return names


def settings_variables(source: str) -> set[str]:
    """The variables config/settings.py reads: `_env*("NAME")` calls, `*_VARIABLE = "NAME"`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ENV_READERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.endswith("_VARIABLE")
            and isinstance(node.value, ast.Constant)
        ):
            names.add(node.value.value)
    return names


def procfile_variables(text: str) -> set[str]:
    """The shell variables the Procfile's command lines expand."""
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


def environment_reads(source: str) -> list[int]:
    """Lines that read one variable of the environment (os.environ.get/[...], getenv)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "getenv":
                target = node
            elif node.func.attr == "get" and _is_environ(node.func.value):
                target = node
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_environ(node.value):
                target = node
        if target is not None:
            lines.append(target.lineno)
    return lines


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def test_readme_table_and_settings_name_the_same_variables():
    """Test that every variable read is documented, and every documented one is read."""
    documented = readme_variables((ROOT / "README.md").read_text(encoding="utf-8"))
    read = settings_variables((ROOT / "config" / "settings.py").read_text(encoding="utf-8"))
    read |= procfile_variables((ROOT / "Procfile").read_text(encoding="utf-8"))
    assert sorted(read - documented) == [], "read but missing from the README's table"
    assert sorted(documented - read) == [], "in the README's table but never read"


def test_nothing_else_reads_the_environment():
    """Test that the app, workers, scripts and wsgi.py leave reading variables to settings."""
    files = [ROOT / "wsgi.py"]
    for folder in ("hotline", "workers", "scripts"):
        files += sorted((ROOT / folder).rglob("*.py"))
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (lines := environment_reads(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_parsers_find_what_they_look_for():
    """Test the parsers on small inputs, so an empty result cannot pass unnoticed."""
    readme = (
        "x\n## Configuration\n\n| variable | meaning | default |\n|---|---|---|\n"
        "| `A_B`, `CC` | uses `NOT_ME` | `D_DEFAULT` |\n\n## Next\n| `E` | | |\n"
    )
    assert readme_variables(readme) == {"A_B", "CC"}
    source = (
        'X_VARIABLE = "PASS_WORD"\nclass C:\n    A = _env("ONE", "d")\n'
        '    B = _env_int("TWO", 1)\n    C = other("THREE")\n'
    )
    assert settings_variables(source) == {"ONE", "TWO", "PASS_WORD"}
    assert procfile_variables("web: run ${PORT:-5} ${BIND:-0:${PORT}} $HOME") == {"PORT", "BIND"}
    reads = (
        'import os\nos.environ.get("A")\nos.getenv("B")\nos.environ["C"]\nenv = dict(os.environ)\n'
    )
    assert environment_reads(reads) == [2, 3, 4]
