"""ICE servers from flags/env: checked input, coturn REST credentials, relay policy on both sides."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect

import pytest

from app import parse_args
from googlive.config import Secret
from googlive.scale.ice import IceSettings, parse_ice_servers, turn_rest_credentials
from googlive.scale.replica import Capacity, guard_rtc_configuration


def test_turn_rest_credentials_follow_coturns_scheme():
    # coturn README.turnserver, "TURN REST API": username "<expiry>:<id>",
    # password base64(hmac-sha1(secret, username)).
    user, cred = turn_rest_credentials("s3cr3t", 600, user="visitor", now=1_700_000_000)
    assert user == "1700000600:visitor"
    expected = base64.b64encode(hmac.new(b"s3cr3t", user.encode(), hashlib.sha1).digest()).decode()
    assert cred == expected
    u1, _ = turn_rest_credentials("s3cr3t", 600)
    u2, _ = turn_rest_credentials("s3cr3t", 600)
    assert u1 != u2  # a fresh id per credential
    with pytest.raises(ValueError, match="empty"):
        turn_rest_credentials("", 600)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "not valid JSON"),
        ('"stun:x"', "JSON list"),
        ('[{"url": "stun:x"}]', "'urls'"),
        ('[{"urls": []}]', "'urls'"),
        ('[{"urls": "http://x"}]', "is not a stun:"),
        ('[{"urls": "turn:x"}]', "needs 'username' and 'credential'"),
        ('[{"urls": "stun:x", "username": 3}]', "must be a string"),
        ('[{"urls": "stun:x", "extra": 1}]', "unknown field"),
    ],
)
def test_bad_ice_servers_json_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_ice_servers(text)


def test_ice_servers_json_forms():
    servers = parse_ice_servers(
        '{"iceServers": [{"urls": "stun:a:3478"}, '
        '{"urls": ["turn:b"], "username": "u", "credential": "p"}]}'
    )
    assert servers == (
        {"urls": ["stun:a:3478"]},
        {"urls": ["turn:b"], "username": "u", "credential": "p"},
    )
    ice = IceSettings(servers=servers)
    assert ice.configured and ice.browser_config() == {"iceServers": list(servers)}


def test_minted_turn_credentials_for_browser_and_server_never_the_secret():
    ice = IceSettings(
        turn_urls=("turn:10.0.0.1:3478",),
        turn_secret=Secret("top-secret"),
        turn_ttl_s=120,
        policy="relay",
    )
    fn = ice.browser_config_fn()
    assert inspect.isfunction(fn)  # what fastrtc's resolve_rtc_configuration requires
    a, b = fn(), fn()
    assert a["iceTransportPolicy"] == "relay"
    (turn,) = a["iceServers"]
    assert (
        turn["urls"] == ["turn:10.0.0.1:3478"]
        and turn["username"] != b["iceServers"][0]["username"]
    )
    assert "top-secret" not in repr(a) and "top-secret" not in repr(ice)
    expiry = int(turn["username"].split(":")[0])
    import time

    assert 100 < expiry - time.time() <= 121
    server = ice.server_config()
    from aiortc import RTCIceTransportPolicy

    assert server.iceTransportPolicy is RTCIceTransportPolicy.RELAY
    s1, s2 = server.iceServers, server.iceServers
    assert s1[0].urls == ["turn:10.0.0.1:3478"] and s1[0].username != s2[0].username
    assert "top-secret" not in repr(server) and s1[0].credential not in repr(server)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--turn-url", "turn:x"], {}, "needs GOOGLIVE_TURN_SECRET"),
        (
            ["--turn-url", "stun:x"],
            {"GOOGLIVE_TURN_SECRET": "SEKRIT-VALUE"},
            "must start with turn:",
        ),
        (["--turn-user", "u"], {}, "without --turn-url"),
        (
            ["--turn-url", "turn:x", "--turn-user", "u"],
            {"GOOGLIVE_TURN_PASSWORD": "p", "GOOGLIVE_TURN_SECRET": "SEKRIT-VALUE"},
            "not both",
        ),
        (["--ice-transport-policy", "relay"], {}, "needs a TURN server"),
        (["--ice-servers", '[{"urls": "stun:x"}]', "--no-ice-servers"], {}, "cannot be combined"),
        (
            ["--turn-url", "turn:x", "--turn-ttl", "5"],
            {"GOOGLIVE_TURN_SECRET": "SEKRIT-VALUE"},
            "at least 60",
        ),
        (
            ["--turn-url", "turn:x", "--turn-secret-file", "/nonexistent/secret"],
            {},
            "cannot be read",
        ),
        (["--archive-url", "ftp://x/y"], {}, "--archive-url must be"),
        (["--archive-url", "/plain/path"], {}, "--archive-url must be"),
        (["--lb-agent-port", "70000"], {}, "--lb-agent-port must be between"),
        (["--lb-agent-port", "7860", "--port", "7860"], {}, "must differ"),
    ],
)
def test_app_refuses_impossible_scaleout_flags(argv, env, message, monkeypatch, capsys):
    for k in (
        "GOOGLIVE_TURN_SECRET",
        "GOOGLIVE_TURN_PASSWORD",
        "GOOGLIVE_ICE_SERVERS",
        "GOOGLIVE_TURN_URL",
        "GOOGLIVE_NO_ICE",
        "GOOGLIVE_ARCHIVE_URL",
        "GOOGLIVE_LB_AGENT_PORT",
    ):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit):
        parse_args(argv)
    err = capsys.readouterr().err
    assert message in err
    assert "SEKRIT" not in err  # a secret's value is never echoed


def test_flags_from_environment(monkeypatch, tmp_path):
    secret = tmp_path / "turn.secret"
    secret.write_text("file-secret\n")
    monkeypatch.setenv(
        "GOOGLIVE_TURN_URL", "turn:10.0.0.1:3478?transport=udp, turns:t.example.org:5349"
    )
    monkeypatch.setenv("GOOGLIVE_TURN_SECRET_FILE", str(secret))
    monkeypatch.setenv("GOOGLIVE_ICE_TRANSPORT_POLICY", "relay")
    monkeypatch.delenv("GOOGLIVE_TURN_SECRET", raising=False)
    monkeypatch.delenv("GOOGLIVE_NO_ICE", raising=False)
    ns = parse_args(["--time-limit", "600"])
    assert ns.ice.turn_urls == ("turn:10.0.0.1:3478?transport=udp", "turns:t.example.org:5349")
    assert ns.ice.turn_secret.get() == "file-secret" and ns.ice.policy == "relay"
    assert ns.ice.turn_ttl_s == 600 + 900  # the longest call plus a margin
    assert "file-secret" not in repr(ns)


def test_a_full_replica_refuses_start_with_the_apps_own_message():
    used = {"n": 0}
    cap = Capacity(2, lambda: used["n"])

    async def cloudflare_like() -> dict:
        return {"iceServers": [{"urls": "stun:x"}]}

    guarded = guard_rtc_configuration(cloudflare_like, cap)
    assert inspect.isfunction(guarded) and inspect.iscoroutinefunction(guarded)
    assert asyncio.run(guarded()) == {"iceServers": [{"urls": "stun:x"}]}
    assert asyncio.run(guard_rtc_configuration(lambda: {"a": 1}, cap)()) == {"a": 1}
    assert asyncio.run(guard_rtc_configuration(None, cap)()) == {}
    used["n"] = 2
    with pytest.raises(RuntimeError, match="All conversation slots are taken"):
        asyncio.run(guarded())
