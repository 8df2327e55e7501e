"""The README's shell commands work as written, without an activated virtualenv."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_commands_name_the_virtualenvs_flask():
    """Test that outside the deploying notes every `flask --app` goes through .venv/bin/.

    A bare `flask` is whichever is first in PATH: a global one answers "No such command
    'hotline'".
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    before_deploy, _, rest = text.partition("\n## Deploying\n")
    after_deploy = rest.partition("\n## ")[2]
    bare = [
        match.group(0)
        for part in (before_deploy, after_deploy)
        for match in re.finditer(r"(?<!\.venv/bin/)flask --app wsgi [a-z-]+(?: [a-z-]+)?", part)
    ]
    assert bare == []
    assert ".venv/bin/flask --app wsgi hotline doctor" in text


def test_the_virtualenvs_flask_knows_the_hotline_commands():
    """Test that `.venv/bin/flask --app wsgi hotline --help` works from the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # no virtualenv, no pyenv in PATH
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "hotline", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for command in ("doctor", "create-user", "simulate", "load-province"):
        assert command in done.stdout


def test_make_shell_puts_the_virtualenv_first_even_after_bashrc(tmp_path):
    """Test that `make shell` activates the virtualenv after ~/.bashrc has set PATH.

    The ~/.bashrc here puts another `flask` first, as pyenv's shims do.
    """
    other = tmp_path / "shims"
    other.mkdir()
    (other / "flask").write_text("#!/bin/sh\necho not-the-venv\n")
    (other / "flask").chmod(0o755)
    (tmp_path / ".bashrc").write_text(f'export PATH="{other}:$PATH"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS")}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "shell"],
        cwd=ROOT,
        env=env,
        input="command -v flask\nexit\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{ROOT}/.venv/bin/flask" in done.stdout.splitlines()
