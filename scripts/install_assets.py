"""Copy the npm packages' built files into hotline/static/vendor (git-ignored), served locally."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "hotline" / "static" / "vendor"
# (package file under node_modules, destination under vendor)
FILES = (
    ("bootstrap/dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ("bootstrap/dist/css/bootstrap.min.css.map", "bootstrap/bootstrap.min.css.map"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js.map", "bootstrap/bootstrap.bundle.min.js.map"),
    ("bootstrap-icons/font/bootstrap-icons.min.css", "bootstrap-icons/bootstrap-icons.min.css"),
    ("bootstrap-icons/font/fonts", "bootstrap-icons/fonts"),
    ("chart.js/dist/chart.umd.min.js", "chartjs/chart.umd.min.js"),
)


def main() -> int:
    """Install the packages with npm (from package-lock.json when present) and copy their files."""
    modules = ROOT / "node_modules"
    if not (modules / "bootstrap").exists():
        cmd = ["npm", "ci"] if (ROOT / "package-lock.json").exists() else ["npm", "install"]
        subprocess.run([*cmd, "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    for src, dst in FILES:
        source, target = modules / src, VENDOR / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    print(f"front-end assets in {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
