"""app.py's command line: bad flags get a clear error before anything starts."""

from __future__ import annotations

import pytest

import app


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--voice", "Nope"], "unknown voice 'Nope'"),
        (["--port", "0"], "--port must be between 1 and 65535"),
        (["--max-sessions", "0"], "--max-sessions must be at least 1"),
    ],
)
def test_bad_flags_are_refused_with_a_specific_message(argv, needle, capsys):
    """argparse exits with status 2 and names the problem."""
    with pytest.raises(SystemExit) as e:
        app.parse_args(argv)
    assert e.value.code == 2
    assert needle in capsys.readouterr().err


def test_voice_is_case_insensitive_and_settings_hide_the_key(monkeypatch):
    """'kore' is Kore; a key from the environment is held as a Secret."""
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-test-key-from-env")
    ns = app.parse_args(["--voice", "kore", "--offline"])
    s = app.settings_from(ns)
    assert s.voice == "Kore" and s.offline and s.backend == "offline"
    assert s.api_key.get() == "AIza-test-key-from-env"
    assert "AIza" not in repr(s)
