"""Finding 5 (and the model allow-list of 6): who owns a conversation is decided by the server.

- the live panel stream (fastrtc's on_additional_outputs, keyed by the browser-chosen
  webrtc_id) gives a conversation's panels to its owner only;
- the stream inputs bind to the first owner; another browser that learns the webrtc_id cannot
  re-point the conversation to itself; the model is an allow-list on the server's key;
- a signed-in name (Gradio auth, Hugging Face OAuth) is the owner; a browser cannot pose as one
  by sending "user:..." or "hf:..." as its anonymous id;
- Gradio's login (--auth / GOOGLIVE_AUTH) guards every route, and the password is in no log.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastrtc import AdditionalOutputs

from googlive.assemble import assemble
from googlive.config import DEFAULT_MODEL, Secret, Settings
from googlive.handler import GeminiHandler, SessionArgs, UiUpdate
from googlive.live.backend import Endpoint
from googlive.live.events import Role
from googlive.public.identity import hf_oauth_configured, resolve
from googlive.ui import AppContext, build
from tests.reliability import apphttp


def page(tmp_path: Path) -> AppContext:
    ctx = AppContext(
        Settings(data_dir=tmp_path, no_ice_servers=True),
        Endpoint("https://127.0.0.1:9", None, Secret("k"), offline=True),
    )
    assemble(ctx)
    build(ctx)
    return ctx


def panel_stream(ctx: AppContext):
    """The dependency fastrtc made for on_additional_outputs (its outputs are the panels)."""
    demo, b = ctx.extra["demo"], ctx.extra["build"]
    transcript_id = b.panels["transcript"]._id
    return next(
        f
        for f in demo.fns.values()
        if any(o._id == transcript_id for o in f.outputs) and f.fn.__name__ == "handler"
    )


async def first_output(gen, timeout: float = 3.0):
    async with asyncio.timeout(timeout):
        return await anext(gen)


async def test_live_panel_stream_goes_to_the_conversations_owner_only(tmp_path):
    ctx = page(tmp_path)
    rtc = ctx.extra["rtc"]
    h = GeminiHandler(ctx.settings, ctx.endpoint)
    h.args = SessionArgs(owner="owner-A-" + secrets.token_hex(8))
    h.conv.transcript(Role.USER, 1, "my private words", 0.0, final=True)
    rtc.handlers["victim"] = h
    dep = panel_stream(ctx)
    transcript_at = [o._id for o in dep.outputs].index(ctx.extra["build"].panels["transcript"]._id)
    try:
        # Another visitor names the victim's webrtc_id, with their own (server-side) owner.
        rtc.additional_outputs["victim"].queue.put_nowait(AdditionalOutputs(UiUpdate(1, h.conv)))
        gen = dep.fn("victim", "victim", "owner-B")
        out = await first_output(gen)
        assert all(v.get("__type__") == "update" and "value" not in v for v in out), out
        assert "private words" not in json.dumps(out, default=str)
        await gen.aclose()
        # The owner gets the panels (including what the intruder's call dequeued: nothing lost).
        rtc.additional_outputs["victim"].queue.put_nowait(AdditionalOutputs(UiUpdate(2, h.conv)))
        gen = dep.fn("victim", "victim", h.args.owner)
        out = await first_output(gen)
        assert "my private words" in out[transcript_at]["value"]
        await gen.aclose()
    finally:
        rtc.handlers.pop("victim", None)
        rtc.clean_up("victim")


def test_stream_inputs_bind_to_the_first_owner_and_models_are_allow_listed(tmp_path):
    ctx = page(tmp_path)
    rtc, guard = ctx.extra["rtc"], ctx.services["rtc_guard"]
    seen: list[list] = []
    rtc.pcs["w1"] = object()
    rtc.connections["w1"] = [SimpleNamespace(set_args=seen.append)]
    try:
        rtc.set_input("w1", "w1", "owner-A", "", "Puck", "gemini-evil-9000", "", "")
        rtc.set_input(
            "w1", "w1", "owner-B", "", "Puck", "", "", ""
        )  # someone else's owner: ignored
        rtc.set_input("w1", "w1", "owner-A", "AIza-own-key", "Puck", "my-custom-live-model", "", "")
        rtc.set_input("w1", "w1", "owner-A", "", "Puck", "", "y" * 20_001, "")
        assert [a[1] for a in seen] == ["owner-A", "owner-A", "owner-A"]
        assert seen[2][5] == ""  # an over-long instruction: the server's default is used
        assert seen[0][4] == DEFAULT_MODEL  # not on the server's key
        assert seen[1][4] == "my-custom-live-model"  # the visitor's own key
        assert guard.slots.per_client == ctx.security.max_per_client
    finally:
        rtc.pcs.pop("w1", None)
        rtc.connections.pop("w1", None)


def request(username=None, oauth_user=None):
    scope = {"type": "http"}
    if oauth_user is not None:
        scope["session"] = {"oauth_info": {"userinfo": {"preferred_username": oauth_user}}}
    return SimpleNamespace(username=username, request=SimpleNamespace(scope=scope))


def test_signed_in_names_win_and_cannot_be_forged():
    anon = secrets.token_urlsafe(16)
    ident, kept = resolve(anon, request())
    assert (ident.owner, ident.kind, kept) == (anon, "browser", anon)
    for forged in ("hf:alice", "user:admin", "../x", "", None, "short"):
        ident, kept = resolve(forged, request())
        assert (
            ident.kind == "browser" and ident.owner == kept and kept != forged and ":" not in kept
        )
    ident, kept = resolve(anon, request(username="alice"))
    assert (ident.owner, ident.kind, kept) == ("user:alice", "user", anon)
    assert resolve(anon, request(username="ann@example.com"))[0].owner == "user:ann@example.com"
    assert resolve(anon, request(username="bad\nname"))[0].kind == "browser"
    ident, _ = resolve(anon, request(oauth_user="bob"))
    assert (ident.owner, ident.kind, ident.name) == ("hf:bob", "hf", "bob")
    assert not hf_oauth_configured({})
    assert not hf_oauth_configured(
        {"OAUTH_CLIENT_ID": "x", "OAUTH_CLIENT_SECRET": "y"}
    )  # not a Space
    assert hf_oauth_configured(
        {
            "SYSTEM": "spaces",
            "SPACE_ID": "me/app",
            "OAUTH_CLIENT_ID": "x",
            "OAUTH_CLIENT_SECRET": "y",
        }
    )


def test_page_load_makes_the_signed_in_name_the_owner(tmp_path):
    """The page's load event (what every handler's owner comes from) with an HF OAuth session,
    a Gradio login, and neither."""
    demo = page(tmp_path).extra["demo"]
    on_load = next(f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "on_load")
    anon = secrets.token_urlsafe(16)
    kept, owner, note = on_load.fn(anon, request(oauth_user="bob"))
    assert (kept, owner) == (anon, "hf:bob") and "Signed in as bob (Hugging Face)" in note
    kept, owner, note = on_load.fn(anon, request(username="alice"))
    assert owner == "user:alice" and "Signed in as alice" in note
    kept, owner, note = on_load.fn(None, request())
    assert (
        owner == kept and len(kept) >= 22 and "not encryption" not in note and "encrypt" not in note
    )
    assert "belong to this browser" in note


def test_login_button_only_where_hf_oauth_works(tmp_path, monkeypatch):
    import gradio as gr

    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "me/googlive")
    for name, value in (
        ("OAUTH_SCOPES", "openid profile"),
        ("OPENID_PROVIDER_URL", "https://127.0.0.1:9"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("gradio.oauth.OAUTH_CLIENT_ID", "client")
    monkeypatch.setattr("gradio.oauth.OAUTH_CLIENT_SECRET", "secret")
    monkeypatch.setattr("gradio.oauth.OAUTH_SCOPES", "openid profile")
    monkeypatch.setattr("gradio.oauth.OPENID_PROVIDER_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("OAUTH_CLIENT_ID", "client")
    monkeypatch.setenv("OAUTH_CLIENT_SECRET", "secret")
    demo = page(tmp_path).extra["demo"]
    assert any(isinstance(blk, gr.LoginButton) for blk in demo.blocks.values())
    monkeypatch.delenv("OAUTH_CLIENT_ID")
    demo = page(tmp_path / "b").extra["demo"]
    assert not any(isinstance(blk, gr.LoginButton) for blk in demo.blocks.values())


@pytest.fixture
def auth_app(tmp_path):
    password = "pw-" + secrets.token_hex(8)
    a = apphttp.start(tmp_path, env={"GOOGLIVE_AUTH": f"alice:{password}"})
    a.password = password  # type: ignore[attr-defined]
    yield a
    a.stop()


def test_gradio_login_guards_every_route_and_never_logs_the_password(auth_app):
    a = auth_app
    for route in ("/config", "/gradio_api/info", "/gradio_api/queue/status"):
        assert a.get(route)[0] == 401, route
    form = {"username": "alice", "password": "wrong"}
    status, _, _ = a.request(
        "POST",
        "/login",
        urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status in (400, 401)
    form["password"] = a.password
    status, headers, _ = a.request(
        "POST",
        "/login",
        urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, status
    cookie = "; ".join(
        c.split(";")[0] for c in headers.get("set-cookie", "").split(", ") if "=" in c.split(";")[0]
    )
    assert a.get("/config", headers={"Cookie": cookie})[0] == 200
    assert a.password not in a.log_text()
