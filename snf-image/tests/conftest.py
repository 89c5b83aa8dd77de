"""Fixtures shared by snf-image's tests."""

import pytest


@pytest.fixture
def target(tmp_path):
    """An empty 8 MiB file standing in for the instance's disk."""
    path = tmp_path / "disk0"
    with open(path, "wb") as f:
        f.truncate(8 << 20)
    return path
