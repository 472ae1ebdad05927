"""Shared test fixtures: the real data folder beside the repository."""

from pathlib import Path

import pytest

from inferences.paths import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder `../shared/data/`; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
