"""Suite-wide settings: in CI (GOOGLIVE_NO_SKIPS=1) a skipped test fails the run."""

from __future__ import annotations

import os
from typing import Any

import pytest

from googlive.live.preload import import_live

# What app.py's warm-up does once the page is up (googlive/live/preload.py): google-genai is
# loaded before the first call here too, not inside its session clock (a first call that
# imports it starts its recording and archive up to a second late on a busy machine).
import_live()


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


# The model families the app supports, each as the local Live server models it
# (googlive/fakelive/profiles.py): 3.8 first, the app's default.
LIVE_MODELS_UNDER_TEST = {
    "3.8": "gemini-3.8-live",
    "3.1": "gemini-3.1-flash-live-preview",
    "2.5": "gemini-2.5-flash-native-audio-preview-12-2025",
}


@pytest.fixture(params=list(LIVE_MODELS_UNDER_TEST.values()), ids=list(LIVE_MODELS_UNDER_TEST))
def live_model(request: pytest.FixtureRequest) -> str:
    """The conversation, tool and reconnect tests run once per model family; a test asserts
    what that family does (googlive.live.models.family_of tells it which)."""
    return request.param


@pytest.fixture
async def server():
    """The local Live server (TLS, key "k", default behaviour); a test module that needs
    another key or other knobs defines its own `server`."""
    from googlive.fakelive import FakeLiveConfig, FakeLiveServer

    async with FakeLiveServer(api_key="k", config=FakeLiveConfig()) as srv:
        yield srv


@pytest.fixture
def require_node() -> None:
    """Skip a test that needs the Node mermaid validator when it is not installed; with
    GOOGLIVE_REQUIRE_NODE_MERMAID=1 (CI) fail instead."""
    from googlive.features.tools.mermaid_node import node_missing_reason

    missing = node_missing_reason()
    if missing is None:
        return
    if os.environ.get("GOOGLIVE_REQUIRE_NODE_MERMAID") == "1":
        pytest.fail(
            f"GOOGLIVE_REQUIRE_NODE_MERMAID=1 but the Node mermaid validator is unavailable: {missing}"
        )
    pytest.skip(f"Node mermaid validator unavailable: {missing}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `quarantine` (a known failure under investigation, named in its marker's
    reason and in the closing note) are deselected unless GOOGLIVE_QUARANTINE=1: never skipped
    silently, never counted as passing."""
    if os.environ.get("GOOGLIVE_QUARANTINE") == "1":
        return
    drop = [i for i in items if i.get_closest_marker("quarantine")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if not i.get_closest_marker("quarantine")]


# Two workers (pyproject addopts: -n 2). Tests are scheduled by file (tests/conftest.py, below):
# - "timing": the timing-sensitive files (frames, milliseconds: SERIAL_FILES), one after
#   another in one worker, with no browser test beside them;
# - ALONE_FILES: the heaviest browser tests (several apps, haproxy, coturn; or the longest
#   call), with no other browser test beside them;
# - the other browser files, two at a time;
# - every other test, anywhere.
# A browser test starts an app, a Live server and Chromium: beside a frame-exact test it makes
# that test miss its frames. (xdist's own --dist loadgroup cannot do this with pytest 9: it
# renames node ids through `item._nodeid`, which pytest 9 no longer reads.)
SERIAL_FILES = {
    "tests/test_bargein_handler.py",
    "tests/test_metrics_handler.py",
    "tests/test_recording_feature.py",
    "tests/test_tools_feature.py",
    "tests/reliability/test_handler_stress.py",
    "tests/e2e/test_bargein_browser.py",
    "tests/e2e/test_conversation_browser.py",
}
ALONE_FILES = {
    "tests/scaleout/test_replicas_browser.py",
    "tests/e2e/test_call_lifecycle.py",
    # The longest single-page walks (every tab, two dozen events each): beside another browser
    # test on 2 cores their Gradio events took seconds each and one in a few full runs missed.
    "tests/e2e/test_results_ux_browser.py",
    "tests/e2e/test_a11y_browser.py",
}


def _path(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def is_browser_file(path: str) -> bool:
    return path.startswith("tests/e2e/test_") or path.endswith("_browser.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class TimingFirstScheduling(LoadScopeScheduling):
        """Scopes: "timing" (every SERIAL_FILES test, in order), one per browser file, one per
        other test; the largest ("timing") is handed out first (loadscope reorder)."""

        def _split_scope(self, nodeid: str) -> str:
            path = _path(nodeid)
            if path in SERIAL_FILES:
                return "timing"
            return path if is_browser_file(path) else nodeid

        def _allowed(self, scope: str, node: Any) -> bool:
            if scope != "timing" and not is_browser_file(scope):
                return True
            # What runs on the other worker (on this one, scopes run one after another). A
            # worker holds its last test until it has the next one or is shut down, so a scope
            # down to its last test no longer counts: waiting for it could wait for ever (its
            # last test may then overlap the next scope's first).
            others = {
                s
                for n, work in self.assigned_work.items()
                if n is not node
                for s, tests in work.items()
                if list(tests.values()).count(False) > 1
            }
            heavy = {"timing"} | ALONE_FILES
            if scope in heavy:
                return not any(s == "timing" or is_browser_file(s) for s in others)
            return not (others & heavy)

        def _assign_work_unit(self, node: Any) -> None:
            scope = next((s for s in self.workqueue if self._allowed(s, node)), None)
            self.assigned_work.setdefault(node, {})
            if scope is None:
                return  # nothing may start here now: asked again when a test completes
            work_unit = self.workqueue.pop(scope)
            self.assigned_work[node][scope] = work_unit
            collection = self.registered_collections[node]
            node.send_runtest_some(
                [collection.index(n) for n, done in work_unit.items() if not done]
            )

        def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
            super().mark_test_complete(node, item_index, duration)
            for other in self.nodes:  # a scope that was held back may start on an idle node
                if other is not node and other in self.assigned_work:
                    self._reschedule(other)

    return TimingFirstScheduling(config, log)


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test marked `browser` must be in a browser file, one marked `serial` in SERIAL_FILES
    (the scheduler above goes by file)."""
    path = _path(item.nodeid)
    if item.get_closest_marker("browser") and not is_browser_file(path):
        raise pytest.UsageError(f"{item.nodeid} is a browser test: name its file *_browser.py")
    if item.get_closest_marker("serial") and path not in SERIAL_FILES:
        raise pytest.UsageError(f"{item.nodeid} is marked serial: add {path} to SERIAL_FILES")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """A failed browser test carries the tail of each log its processes wrote under its
    tmp_path (the app, the local Live server, haproxy...): a failure in CI is then read from
    what the app did, not guessed. The app logs ids, sizes and durations, never a user's words."""
    outcome = yield
    report = outcome.get_result()
    if report.passed or call.when == "collect" or item.get_closest_marker("browser") is None:
        return
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if tmp is None:
        return
    logs = [p for p in sorted(tmp.rglob("*.log")) if "Default" not in p.parts]  # not Chromium's
    for log in logs[:6]:
        try:
            data = log.read_bytes()
        except OSError:
            continue
        if b"\0" in data:
            continue
        lines = data.decode(errors="replace").splitlines()
        keep = [ln for ln in lines if "DeprecationWarning" not in ln and not ln.startswith("  ")]
        report.sections.append((f"log {log.relative_to(tmp)}", "\n".join(keep[-80:])))
    launch = getattr(item, "funcargs", {}).get("browser_factory")
    for i, ctx in enumerate(getattr(launch, "contexts", []) if call.when == "call" else []):
        for j, page in enumerate(ctx.pages):
            try:
                net = page.evaluate("() => window.__glNet || []")
            except Exception as exc:  # the page or browser is gone
                net = [f"(unavailable: {type(exc).__name__})"]
            text = "\n".join(str(e) for e in net[-80:])
            report.sections.append((f"gradio traffic, browser {i} page {j}", text))
