"""The import direction (pyproject.toml [tool.importlinter]): kept by the code, and the check really fails
when a reverse import is added (run on a copy of the packages, the repository untouched)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inferences.paths import REPO_ROOT

PACKAGES = ("inferences", "datasets", "models", "servers", "harness")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `root` (its pyproject.toml), with only `root` on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The four packages (Python files only) and pyproject.toml, copied to a temporary folder."""
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=_not_python)
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _not_python(folder: str, names: list[str]) -> set[str]:
    return {
        n for n in names if (not n.endswith(".py") and not (Path(folder) / n).is_dir()) or n == "__pycache__"
    }


def test_the_code_keeps_the_import_direction(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "reverse_import", "contract"),
    [
        ("inferences/segments.py", "import models.detector", "The engine core runs without PyTorch"),
        ("inferences/video.py", "import torch", "The engine core runs without PyTorch"),
        ("datasets/features.py", "import models.config", "One direction"),
        ("servers/media.py", "import datasets.features", "The server uses the engine only"),
        ("models/detector.py", "import harness.videos", "One direction"),
        ("inferences/live_scoring.py", "import inferences.offline", "Offline and live detection stand apart"),
    ],
)
def test_a_reverse_import_breaks_the_check(
    copy: Path, module: str, reverse_import: str, contract: str
) -> None:
    path = copy / module
    path.write_text(path.read_text() + f"\n{reverse_import}  # added by the test\n")
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout  # the report names the importer


def test_a_blueprint_importing_the_factory_breaks_the_cycle_check(copy: Path) -> None:
    path = copy / "servers" / "api" / "health.py"
    path.write_text(path.read_text() + "\nimport servers.app  # added by the test\n")
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No import cycles between the sub-packages of a package BROKEN" in result.stdout
    assert "No cycles are allowed in servers." in result.stdout and ".app -> .api" in result.stdout
