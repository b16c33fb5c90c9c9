"""Reliability suite options: `--soak` runs the long tests (marked `soak`) and bigger numbers.

Without `--soak`, soak-marked tests are *deselected* (not skipped), so CI, which fails on any
skip, runs the short suite cleanly.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak", action="store_true", default=False, help="run long reliability (soak) tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("soak") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak"))
