"""The benchmarks start as the documents run them (`python bench/NAME.py`, no path edits): those that share
code through the `bench` package import it from the development install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SHARING = sorted(path.name for path in BENCH.glob("[a-z]*.py") if "\nfrom bench." in path.read_text())


def test_some_benchmarks_share_code() -> None:
    assert len(SHARING) >= 5, SHARING


@pytest.mark.parametrize("script", SHARING)
def test_benchmark_starts(script: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
