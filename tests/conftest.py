"""Suite-wide settings: in CI (GOOGLIVE_NO_SKIPS=1) a skipped test fails the run."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("GOOGLIVE_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        names = ", ".join(getattr(r, "nodeid", "?") for r in skipped[:10])
        if reporter:
            reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped in CI: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
