"""Builds libzts with cargo while the package is built, and bundles it.

`pip install ./bindings/python` on a machine with cargo gives a package
that imports from anywhere with no environment variable. CARGO_TARGET_DIR
is honoured, so an existing build is reused.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        subprocess.run(
            [cargo, "build", "--release", "--lib", "--manifest-path", str(ROOT / "Cargo.toml"), "--target-dir", str(target)],
            check=True,
        )
        dest = Path(self.build_lib) / "zts" / "_lib"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target / "release" / "libzts.so", dest / "libzts.so")


setup(cmdclass={"build_py": BuildWithLibrary})
