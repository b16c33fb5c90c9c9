"""googlive.cliflags: a flag's default comes from its environment variable, read as the flag is."""

from __future__ import annotations

import argparse

import pytest

from googlive.cliflags import add_flag, add_switch, env_value


def parse(argv: list[str], add) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add(p)
    return p.parse_args(argv)


def test_a_set_variable_is_the_default_with_the_flags_type_and_the_command_line_wins(monkeypatch):
    monkeypatch.setenv("T_LIMIT", "12")

    def add(p):
        add_flag(p, "--limit", 5, env="T_LIMIT", type=int, help="h")

    assert parse([], add).limit == 12
    assert parse(["--limit", "3"], add).limit == 3
    monkeypatch.delenv("T_LIMIT")
    assert parse([], add).limit == 5


def test_a_blank_number_is_unset_but_an_empty_text_is_kept():
    env = {"T_N": "  ", "T_S": ""}
    assert env_value("T_N", 2.0, float, env) == 2.0
    assert env_value("T_S", "dflt", None, env) == ""
    assert env_value("T_MISSING", None, None, env) is None


def test_the_first_variable_set_wins_and_later_ones_are_not_read():
    env = {"T_B": "80", "T_C": "not a number"}
    assert env_value(("T_A", "T_B", "T_C"), 1, int, env) == 80
    assert env_value(("T_A",), 1, int, env) == 1


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("x", int, "T_V must be a whole number, got 'x'"),
        ("2.5", int, "T_V must be a whole number, got '2.5'"),
        ("ten", float, "T_V must be a number, got 'ten'"),
    ],
)
def test_a_value_the_type_refuses_stops_with_the_variables_name(raw, kind, message):
    with pytest.raises(SystemExit) as e:
        env_value("T_V", 0, kind, {"T_V": raw})
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("raw", "default", "on"),
    [(None, False, False), (None, True, True), ("1", False, True), ("0", True, False)],
)
def test_a_switch_is_on_by_default_only_when_its_variable_is_1(monkeypatch, raw, default, on):
    if raw is None:
        monkeypatch.delenv("T_SWITCH", raising=False)
    else:
        monkeypatch.setenv("T_SWITCH", raw)

    def add(p):
        add_switch(p, "--go", env="T_SWITCH", default=default, help="h")

    assert parse([], add).go is on
    assert parse(["--go"], add).go is True
