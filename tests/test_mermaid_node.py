"""Cross-check: the pure-Python validator agrees with mermaid.parse (mermaid 11.10.1 in Node).

Needs Node and `npm ci --prefix tools/mermaid-validator`. Skipped when they are missing, unless
GOOGLIVE_REQUIRE_NODE_MERMAID=1, in which case a missing install FAILS with the reason.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from googlive.features.tools.mermaid_check import check_mermaid
from googlive.features.tools.mermaid_node import MermaidValidator, NodeMermaidWorker

# The corpus lives in test_mermaid_corpus.py; load it by path (tests/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "_mermaid_corpus", Path(__file__).with_name("test_mermaid_corpus.py")
)
assert _spec is not None and _spec.loader is not None
_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_corpus)
VALID, INVALID, UNSAFE, PYTHON_STRICTER = (
    _corpus.VALID,
    _corpus.INVALID,
    _corpus.UNSAFE,
    _corpus.PYTHON_STRICTER,
)


async def test_python_validator_agrees_with_mermaid_parse_on_corpus(require_node: None) -> None:
    """Every valid diagram passes mermaid.parse and Python; every invalid one fails both."""
    worker = NodeMermaidWorker()
    try:
        await worker.start()
        assert worker.mermaid_version == "11.10.1"
        disagreements = []
        for name, code in VALID.items():
            js = await worker.parse(code, 10.0)
            py = check_mermaid(code)
            if not (js.ok and py.ok):
                disagreements.append((name, "valid", js.errors, py.errors))
        for name, (code, _line) in INVALID.items():
            js = await worker.parse(code, 10.0)
            py = check_mermaid(code)
            if py.ok or (js.ok and name not in PYTHON_STRICTER):
                disagreements.append((name, "invalid", js.ok, py.ok))
        for name, (code, _line) in UNSAFE.items():
            # The app refuses these; mermaid itself may accept them, which is why safety runs first.
            assert not check_mermaid(code).ok, name
        assert not disagreements, disagreements
    finally:
        await worker.aclose()


async def test_validator_uses_persistent_worker_and_reports_cost(require_node: None) -> None:
    """One worker serves many calls: after start-up a call costs milliseconds, not a Node start."""
    validator = MermaidValidator(use_node=True)
    try:
        t0 = time.perf_counter()
        await validator.start()
        start_s = time.perf_counter() - t0
        assert validator.uses_node
        codes = [VALID["graph_td"], VALID["sequence"], INVALID["unclosed_bracket"][0]] * 10
        t0 = time.perf_counter()
        results = [await validator.validate(c) for c in codes]
        per_call_ms = (time.perf_counter() - t0) / len(codes) * 1000
        assert [r.ok for r in results[:3]] == [True, True, False]
        assert all(r.validator == "mermaid-js" for r in results)
        assert results[2].errors[0].line > 0
        print(f"node worker start {start_s * 1000:.0f} ms, {per_call_ms:.1f} ms per call")
        assert per_call_ms < 200
    finally:
        await validator.aclose()


async def test_unsafe_code_never_reaches_the_worker(require_node: None) -> None:
    """An init directive is refused by the safety rules even though mermaid would parse it."""
    validator = MermaidValidator(use_node=True)
    try:
        check = await validator.validate(UNSAFE["init_directive"][0])
        assert not check.ok and check.validator == "safety"
        assert check.errors[0].line == 1
    finally:
        await validator.aclose()
