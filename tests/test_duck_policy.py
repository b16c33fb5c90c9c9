"""The page duck's state machine (googlive/web/duck.js DuckPolicy), run in Node, and the page
head that loads it (googlive/ui.py page_head)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from googlive.ui import AUDIO_CONSTRAINTS, HEAD_SCRIPTS, WEB_DIR, page_head

# Each scenario: a list of steps [op, now_ms, ...]; the driver prints what each step returned.
DRIVER = r"""
const fs = require("fs"), vm = require("vm");
const [file, scenarios] = process.argv.slice(-2);
const ctx = { window: {}, location: { search: "" }, console };
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(file, "utf8"), ctx);
const Policy = ctx.window.googlive.DuckPolicy;
const out = {};
for (const [name, steps] of Object.entries(JSON.parse(scenarios))) {
  const p = new Policy({ confirmMs: 500, holdMs: 3000 });
  out[name] = steps.map(([op, now, a, b]) => {
    let r = null;
    if (op === "onset") r = p.onset(now, a);
    else if (op === "msg") r = p.message({ type: "googlive_playback", state: a, turn: b.turn, seq: b.seq }, now);
    else if (op === "tick") r = p.tick(now);
    else if (op === "enable") r = p.setEnabled(a);
    else if (op === "rtt") r = p.setRtt(a);
    return { r, ducked: p.ducked, mode: p.mode, margin: p.extraMarginDb, confirm: p.o.confirmMs };
  });
}
console.log(JSON.stringify(out));
"""


def run(scenarios: dict[str, list[list]]) -> dict[str, list[dict]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run googlive/web/duck.js (apt-get install nodejs)")
    res = subprocess.run(
        [node, "-e", DRIVER, "--", str(WEB_DIR / "duck.js"), json.dumps(scenarios)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def playing(turn: int, seq: int) -> list:
    return ["msg", 0, "playing", {"turn": turn, "seq": seq}]


def test_duck_follows_the_servers_word():
    r = run(
        {
            "backchannel": [
                playing(1, 1),
                ["onset", 100, -20],
                ["msg", 300, "paused", {"turn": 1, "seq": 2}],
                ["msg", 700, "playing", {"turn": 1, "seq": 3}],
            ],
            "interruption": [
                playing(1, 1),
                ["onset", 100, -20],
                ["msg", 300, "paused", {"turn": 1, "seq": 2}],
                ["msg", 900, "dropped", {"turn": 1, "seq": 3}],
                ["tick", 1500],
                ["msg", 2500, "playing", {"turn": 2, "seq": 4}],
            ],
            "server_first": [
                playing(1, 1),
                ["msg", 200, "paused", {"turn": 1, "seq": 2}],
                ["msg", 300, "paused", {"turn": 1, "seq": 2}],  # a repeat (same seq): ignored
                ["msg", 600, "playing", {"turn": 1, "seq": 1}],  # stale: ignored
                ["msg", 700, "playing", {"turn": 1, "seq": 3}],
            ],
        }
    )
    b = r["backchannel"]
    assert [s["r"] for s in b[1:]] == [
        {"kind": "duck", "reason": "onset"},
        {"kind": "hold", "reason": "paused"},
        {"kind": "release", "reason": "resumed"},
    ]
    assert [s["ducked"] for s in b] == [False, True, True, False]
    i = r["interruption"]
    assert [s["ducked"] for s in i] == [False, True, True, True, True, False]
    assert i[-1]["r"] == {"kind": "release", "reason": "playing"}  # the next turn's audio
    s = r["server_first"]
    assert s[1]["r"] == {"kind": "duck", "reason": "paused"}  # mutes what is in flight
    assert s[2]["r"] is None and s[3]["r"] is None and s[3]["ducked"]
    assert s[4]["r"] == {"kind": "release", "reason": "resumed"}


def test_duck_only_over_the_model_and_never_for_long_without_the_server():
    r = run(
        {
            "idle_quiet": [["onset", 100, -80]],
            "idle_but_heard": [["onset", 100, -30]],  # the last frames still playing out
            "unconfirmed": [
                playing(1, 1),
                ["onset", 100, -20],
                ["tick", 599],
                ["tick", 600],
                ["onset", 700, -20],
                ["msg", 900, "paused", {"turn": 1, "seq": 2}],
            ],
            "server_silent": [
                playing(1, 1),
                ["msg", 100, "paused", {"turn": 1, "seq": 2}],
                ["tick", 3099],
                ["tick", 3100],
            ],
            "idle_ends_local": [
                playing(1, 1),
                ["onset", 100, -20],
                ["msg", 200, "idle", {"seq": 2}],
            ],
        }
    )
    assert r["idle_quiet"][0]["r"] is None and not r["idle_quiet"][0]["ducked"]
    assert r["idle_but_heard"][0]["ducked"]
    u = r["unconfirmed"]
    assert u[2]["ducked"] and u[3]["r"] == {"kind": "release", "reason": "unconfirmed"}
    assert u[3]["margin"] == 6  # a false duck raises the echo margin ...
    assert u[5]["margin"] == 3  # ... a confirmed one lowers it again
    s = r["server_silent"]
    assert s[2]["ducked"] and s[3]["r"] == {"kind": "release", "reason": "failsafe"}
    assert r["idle_ends_local"][2]["r"] == {"kind": "release", "reason": "idle"}


def test_duck_switched_off_never_mutes():
    r = run(
        {
            "off": [
                ["enable", 0, False],
                playing(1, 1),
                ["onset", 100, -20],
                ["msg", 300, "paused", {"turn": 1, "seq": 2}],
            ],
            "off_while_ducked": [playing(1, 1), ["onset", 100, -20], ["enable", 200, False]],
        }
    )
    assert not any(s["ducked"] for s in r["off"])
    assert r["off_while_ducked"][2]["r"] == {"kind": "release", "reason": "disabled"}


def test_page_head_inlines_the_scripts_in_order_with_the_audio_constraints():
    head = page_head()
    positions = [head.index(f"/* googlive/web/{name} */") for name in HEAD_SCRIPTS]
    assert positions == sorted(positions) and HEAD_SCRIPTS[0] == "peer.js"
    assert json.dumps(AUDIO_CONSTRAINTS) in head.split("</script>")[0]
    assert AUDIO_CONSTRAINTS["echoCancellation"] is True
    assert head.count("<script>") == len(HEAD_SCRIPTS) + 1 == head.count("</script>")


def test_page_head_refuses_a_script_that_would_end_the_tag(tmp_path, monkeypatch):
    import googlive.ui as ui

    (tmp_path / "bad.js").write_text("const s = '</script>';")
    monkeypatch.setattr(ui, "WEB_DIR", tmp_path)
    with pytest.raises(ValueError, match="bad.js"):
        ui.page_head(("bad.js",))


def test_a_slow_server_is_waited_for_not_taken_for_echo():
    """A "paused" that comes after the mute was undone (a loaded server, a long trip) mutes
    again, takes the echo-margin step back and makes the page wait longer next time; a long
    round trip lengthens the wait too."""
    r = run(
        {
            "late": [
                playing(1, 1),
                ["onset", 100, -20],
                ["tick", 600],  # 500 ms without a word: undone
                ["msg", 900, "paused", {"turn": 1, "seq": 2}],  # ... it was real after all
            ],
            "rtt": [["rtt", 0, 400]],
        }
    )
    late = r["late"]
    assert late[2]["r"] == {"kind": "release", "reason": "unconfirmed"} and late[2]["margin"] == 6
    assert late[3]["ducked"] and late[3]["margin"] == 0
    assert late[3]["confirm"] == 1200  # 1.5 x the 800 ms it took
    assert r["rtt"][0]["confirm"] == 1150  # 350 + 2 x 400
