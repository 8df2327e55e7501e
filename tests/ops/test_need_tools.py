"""scripts/need_tools.sh: a bench or drill installs (as root) or names the programs it lacks.

The machine's own wrk and nginx stay: the tests ask for programs that exist nowhere, and put
a fake `id` (the user) and a fake `apt-get` (which records its calls) first in PATH.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "need_tools.sh"
MISSING = "hotline-no-such-tool"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A folder with a fake apt-get that logs its calls and "installs" the missing tool."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "apt.log"
    apt = folder / "apt-get"
    apt.write_text(
        "#!/bin/sh\n"
        f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
        'case "$1" in install)\n'
        f'  printf "#!/bin/sh\\n" > {folder}/{MISSING}; chmod +x {folder}/{MISSING};;\n'
        "esac\n"
    )
    apt.chmod(0o755)
    return folder


def run(fake_bin: Path, uid: int, *args: str) -> subprocess.CompletedProcess:
    """Run the script as user UID (a fake `id`), with FAKE_BIN first in PATH."""
    fake_id = fake_bin / "id"
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n")
    fake_id.chmod(0o755)
    env = {"PATH": f"{fake_bin}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30
    )


def apt_calls(fake_bin: Path) -> list[str]:
    log = fake_bin.parent / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def test_root_installs_a_missing_tool_with_apt_get_after_an_update(fake_bin):
    """Test that as root a missing program's package is installed non-interactively."""
    done = run(fake_bin, 0, "bash:bash", f"{MISSING}:hotline-tool-package")
    assert done.returncode == 0, done.stderr
    assert apt_calls(fake_bin) == [
        "noninteractive update -q",
        "noninteractive install -y -q --no-install-recommends hotline-tool-package",
    ]


def test_a_user_is_told_the_exact_command_and_nothing_is_installed(fake_bin):
    """Test that without root the script names the packages to install and fails."""
    done = run(fake_bin, 1000, f"{MISSING}:pkg-a", f"{MISSING}-2:pkg-a", "bash:bash")
    assert done.returncode == 1
    assert f"missing: {MISSING} {MISSING}-2" in done.stderr
    assert "sudo apt-get update && sudo apt-get install -y pkg-a\n" in done.stderr
    assert apt_calls(fake_bin) == []


def test_nothing_happens_when_everything_is_there(fake_bin):
    """Test that present programs (by name or absolute path) need no apt-get."""
    done = run(fake_bin, 0, "bash:bash", "/bin/sh:dash")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert apt_calls(fake_bin) == []


def test_a_root_only_drill_refuses_a_user(fake_bin):
    """Test that --root stops a non-root run before anything is checked."""
    done = run(fake_bin, 1000, "--root", "make chaos", "bash:bash")
    assert done.returncode == 1
    assert "make chaos needs root" in done.stderr


def test_a_service_that_does_not_answer_is_named(fake_bin):
    """Test that --listening fails on a closed port and passes on an open one."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        ok = run(fake_bin, 1000, "--listening", f"127.0.0.1:{port}=Redis")
        assert ok.returncode == 0, ok.stderr
    closed = run(fake_bin, 1000, "--listening", f"127.0.0.1:{port}=PostgreSQL")
    assert closed.returncode == 1
    assert f"nothing answers on 127.0.0.1:{port}: start PostgreSQL" in closed.stderr


def test_a_malformed_argument_is_refused(fake_bin):
    """Test that an argument without a package (or an option out of place) is a usage error."""
    assert run(fake_bin, 0, "wrk").returncode == 2
    assert run(fake_bin, 0, "wrk:wrk", "--root", "x").returncode == 2
    assert apt_calls(fake_bin) == []


@pytest.mark.parametrize(
    ("target", "needs"),
    [
        ("bench-intake", ["wrk:wrk", "127.0.0.1:5432=PostgreSQL", "127.0.0.1:6379=Redis"]),
        ("chaos", ["--root", "nginx:nginx", "redis-server:redis-server", "openssl:openssl"]),
    ],
)
def test_the_make_targets_check_their_tools(target, needs):
    """Test that `make bench-intake` and `make chaos` run the check before the bench."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    check = recipe.index("scripts/need_tools.sh")
    assert check < recipe.index("bench/")
    for need in needs:
        assert need in recipe
