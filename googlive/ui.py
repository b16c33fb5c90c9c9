"""The Gradio page: conversation, panels and settings, wired to the FastRTC handler.

Size: over 400 lines: the page layout in one Gradio Blocks context (components are made inside
it); the call's events are in call/ui.py.
"""

from __future__ import annotations

import html
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from fastrtc import WebRTC

from googlive import a11y, paths
from googlive.call import ui as callui
from googlive.call.view import CSS as CALL_CSS
from googlive.call.view import (
    EMPTY_TRANSCRIPT,
    call_controls_html,
    panel_values,
    status_html,
)
from googlive.config import VOICES, Settings
from googlive.features.api import FeatureFactory
from googlive.handler import GeminiHandler, UiUpdate
from googlive.live.backend import Endpoint
from googlive.live.models import model_choices
from googlive.media import rtcvideo
from googlive.public.identity import Identity, describe, hf_oauth_configured, resolve
from googlive.public.launchopts import SecurityOptions
from googlive.public.limits import instruction_problem
from googlive.public.modelpolicy import allowed_models, choose_model
from googlive.public.rtcguard import RtcGuard

log = logging.getLogger(__name__)

CSS = (
    CALL_CSS
    + """
#identity .identity-note { color: #5f6368; font-size: 0.9em; }
#storage-warning .storage-warn { background: #fef7e0; color: #8a5a00; padding: 8px; border-radius: 8px; }
#storage-warning .storage-full { background: #fce8e6; color: #a50e0e; padding: 8px; border-radius: 8px; }
"""
)


# The mic's processing in the browser. FastRTC's audio-video mode asks for `audio: true` and
# uses `track_constraints` as the VIDEO constraints (fastrtc 0.0.34 templates/component
# index-*.js, the video component's getUserMedia call), so these reach the browser through
# googlive/web/mic.js instead. Echo cancellation: a user without headphones must not barge in
# on the model with its own voice (the server's echo guard, googlive/media/echo.py, stays as a
# second stage). Gain control stays on as in every browser's voice-call default: the VAD's
# onset needs the user's voice at -45 dBFS and 10 dB above the predicted echo, and a quiet
# mic brought up to speech level is what makes a barge-in register; the echo guard learns
# whatever coupling remains after the processing.
AUDIO_CONSTRAINTS = {"echoCancellation": True, "noiseSuppression": True, "autoGainControl": True}
VIDEO_CONSTRAINTS = {
    "width": {"ideal": 640},
    "height": {"ideal": 480},
    "frameRate": {"ideal": 15, "max": 15},
}
WEB_DIR = paths.WEB
HEAD_SCRIPTS = ("peer.js", "call.js", "callcues.js", "mic.js", "duck.js", "selfview.js")
"""googlive/web/ files inlined in the page head, in this order: peer.js first (the others
register on its RTCPeerConnection hook); call.js before mic.js, so that mic.js's
getUserMedia (the app's audio constraints) wraps call.js's (stand-ins for a missing device)
and a fallback request keeps the constraints. selfview.js shows the local camera in place of
the server's video, which googlive/media/rtcvideo.py no longer sends."""


def page_head(scripts: tuple[str, ...] = HEAD_SCRIPTS) -> str:
    """The <head> HTML: the page's own scripts (googlive/web/), inlined."""
    config = json.dumps(AUDIO_CONSTRAINTS)
    out = [
        "<script>window.googlive = window.googlive || {}; "
        f"window.googlive.audioConstraints = {config};</script>"
    ]
    for name in scripts:
        code = (WEB_DIR / name).read_text(encoding="utf-8")
        if "</script" in code.lower():
            raise ValueError(f"googlive/web/{name} cannot be inlined: it contains '</script'")
        out.append(f"<script>/* googlive/web/{name} */\n{code}</script>")
    return "\n".join(out)


@dataclass
class AppContext:
    """What the page needs to build handlers; one per app process."""

    settings: Settings
    endpoint: Endpoint
    handler_cls: type[GeminiHandler] = GeminiHandler
    rtc_configuration: Any = None
    server_rtc_configuration: Any = None
    turn_warning: str = ""
    features: list[FeatureFactory] = field(default_factory=list)
    plugins: list[UiPlugin] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    security: SecurityOptions = field(default_factory=SecurityOptions)


@dataclass
class PageBuild:
    """What UI plugins get while the page is built."""

    ctx: AppContext
    demo: gr.Blocks
    owner: Any
    status: gr.HTML
    survey_id: gr.Textbox
    rtc: Any = None
    tabs: Any = None
    panels: dict[str, Any] = field(default_factory=dict)
    browser_owner: Any = None  # the anonymous id in the browser's localStorage (BrowserState)
    end_button: Any = None  # the Results plugin's End session (the same act as FastRTC's Stop)

    def add_panel(self, name: str, component: Any) -> None:
        """`component` shows the conversation panel `name` (Conversation.set_panel)."""
        self.panels[name] = component

    def handler_for(self, webrtc_id: str | None, owner: str | None) -> GeminiHandler | None:
        """The live handler of this browser's connection, or None (never another visitor's)."""
        return self.find_handler(webrtc_id, owner)[0]

    def find_handler(
        self, webrtc_id: str | None, owner: str | None
    ) -> tuple[GeminiHandler | None, str]:
        """`handler_for`, with why there is none ("" when there is one): for the logs."""
        if not webrtc_id or self.rtc is None:
            return None, "no connection id"
        h = self.rtc.handlers.get(webrtc_id)
        if h is None:
            return None, "no handler for the connection"
        if getattr(h, "args", None) is None:
            return None, "the call's settings have not arrived"
        if not owner:
            return None, "the page has no owner yet"
        if h.args.owner != owner:
            return None, "another owner's connection"
        return h, ""


class UiPlugin:
    """A feature's part of the page. Each method runs inside its slot of the layout."""

    def controls(self, b: PageBuild) -> None:
        """Below the WebRTC component."""

    def side(self, b: PageBuild) -> None:
        """In the right-hand column, under the transcript."""

    def tab(self, b: PageBuild) -> None:
        """Inside the top-level gr.Tabs, after the Conversation tab: open `gr.Tab`s here."""

    def wire(self, b: PageBuild) -> None:
        """After every component exists: attach event listeners."""


class PanelLog:
    """Logs, once per connection, the first panel update sent to its page and the first one
    withheld with the reason: a page whose panels never change is otherwise silent in the log.
    Bounded: the oldest connections are forgotten first."""

    KEEP = 256

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], None] = {}

    def _first(self, key: tuple[str, str]) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.KEEP:
            del self._seen[next(iter(self._seen))]
        return True

    def sent(self, webrtc_id: str | None) -> None:
        if self._first((str(webrtc_id), "")):
            log.info("panel updates reaching the page id=%s", str(webrtc_id)[:16])

    def withheld(self, webrtc_id: str | None, why: str) -> None:
        if self._first((str(webrtc_id), why)):
            log.info("panel update withheld id=%s: %s", str(webrtc_id)[:16], why)


PANELS = ("status", "transcript")
# The fonts Gradio ships (static/fonts): the default theme would load Source Sans Pro from Google.
PAGE_THEME = gr.themes.Default(
    font=(
        gr.themes.utils.fonts.LocalFont("Source Sans Pro"),
        "ui-sans-serif",
        "system-ui",
        "sans-serif",
    ),
)
CACHE_SWEEP = (
    1800,
    3600,
)  # every 30 min, delete files Gradio cached (copies, uploads) over 1 h old


def new_owner_id() -> str:
    """A fresh opaque id for one browser (its archives are kept under a hash of it)."""
    return secrets.token_urlsafe(16)


def identity_html(identity: Identity | None) -> str:
    text = describe(identity, sign_in_available=hf_oauth_configured())
    return f'<div class="identity-note" id="identity-note">{html.escape(text)}</div>'


def browser_secret(settings: Settings) -> str:
    """The key BrowserState scrambles its value with: GOOGLIVE_BROWSER_SECRET when set (the
    same on every replica, so a browser keeps its owner id whichever replica serves it), else
    kept in the data dir across restarts.

    Gradio sends this key to every browser in /config, so it hides nothing from a visitor: the
    anonymous owner id is protected only by staying in that browser's storage.
    """
    shared = os.environ.get("GOOGLIVE_BROWSER_SECRET", "").strip()
    if shared:
        return shared
    path = settings.data_dir / ".browser-state-secret"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value
    except OSError:
        log.warning(
            "could not keep the browser-state secret in the data dir; owners reset on restart"
        )
        return secrets.token_urlsafe(32)


BUTTON_LABELS = {
    "start": "Start conversation",
    "stop": "End conversation",
    "waiting": "Connecting…",
}
LIMIT_GRACE_S = 10  # FastRTC's own time limit, a backstop after the handler's clean end


def build(ctx: AppContext) -> gr.Blocks:
    settings = ctx.settings
    offline = ctx.endpoint.offline
    handler = ctx.handler_cls(settings, ctx.endpoint, features=ctx.features, services=ctx.services)

    with gr.Blocks(
        title="googlive — talk with Gemini",
        css=CSS + a11y.CSS,
        head=page_head(),
        analytics_enabled=False,
        theme=PAGE_THEME,
        delete_cache=CACHE_SWEEP,
    ) as demo:
        # An opaque random id for this browser, kept in its localStorage so that reloading the
        # page still shows its past sessions. It is a bearer secret, not encryption (see
        # googlive/public/identity.py). Handlers never read it: they read `owner`, a server-side State
        # resolved on load (a signed-in name wins over the browser id).
        browser_owner = gr.BrowserState(
            None, storage_key="googlive-owner", secret=browser_secret(settings)
        )
        owner = gr.State(None)
        gr.Markdown(
            "# googlive\nTalk with Gemini by voice and video. It hears you, sees your camera, and stops the moment you interrupt."
        )
        with gr.Row():
            identity_note = gr.HTML(identity_html(None), elem_id="identity")
            if hf_oauth_configured():
                gr.LoginButton(scale=0)
        if ctx.turn_warning:
            gr.HTML(
                f'<div class="turn-warning" id="turn-warning">{html.escape(ctx.turn_warning)}</div>'
            )
        status = gr.HTML(status_html(None, idle_offline=offline), elem_id="status")
        survey_id = gr.Textbox("", visible=False, elem_id="survey-id")
        b = PageBuild(ctx, demo, owner, status, survey_id, browser_owner=browser_owner)
        with gr.Tabs() as tabs:
            b.tabs = tabs
            with gr.Tab("Conversation", id="conversation"):
                with gr.Row(elem_id="call-row"):
                    with gr.Column(scale=5, elem_id="call-col"):
                        rtcvideo.install()  # frames converted only when used, no video back
                        rtc = WebRTC(
                            label="You and Gemini",
                            modality="audio-video",
                            mode="send-receive",
                            elem_id="webrtc",
                            full_screen=False,
                            button_labels=BUTTON_LABELS,
                            rtc_configuration=ctx.rtc_configuration,
                            server_rtc_configuration=ctx.server_rtc_configuration
                            if isinstance(ctx.server_rtc_configuration, dict | None)
                            else None,
                            track_constraints=VIDEO_CONSTRAINTS,  # audio: AUDIO_CONSTRAINTS (mic.js)
                        )
                        b.rtc = rtc
                        guard = RtcGuard(
                            per_client=ctx.security.max_per_client,
                            connect_timeout_s=ctx.security.connect_timeout_s,
                            trust_forwarded=ctx.security.trust_forwarded,
                            allowed_models=allowed_models(
                                model_choices(settings.model), settings.model
                            ),
                            server_model=settings.model,
                        ).install(rtc)
                        ctx.services["rtc_guard"] = guard
                        ctx.services.setdefault("on_exit", []).append(guard.close)
                        _configure_rtc(ctx, rtc)
                        gr.HTML(
                            call_controls_html(
                                settings.session_time_limit_s, ctx.security.connect_timeout_s
                            ),
                            elem_id="call-controls",
                            padding=False,
                        )
                        with gr.Row(elem_id="text-row"):
                            text = gr.Textbox(
                                placeholder="Type to Gemini…",
                                label="Message to Gemini",
                                show_label=False,
                                scale=5,
                                elem_id="text-input",
                            )
                            send = gr.Button("Send", scale=1, elem_id="send-text")
                        text_note = gr.HTML("", elem_id="text-note", padding=False)
                        for plugin in ctx.plugins:
                            plugin.controls(b)
                        call = callui.CallParts(text=text, send=send, text_note=text_note)
                        call.backend = gr.HTML(
                            callui.backend_for(ctx, ""), elem_id="call-backend", padding=False
                        )
                        call.next_call = gr.HTML("", elem_id="next-call-note", padding=False)
                        # "Call settings": Gradio's footer has a "Settings" of its own.
                        with gr.Accordion("Call settings", open=False, elem_id="call-settings"):
                            key = gr.Textbox(
                                label="Gemini API key (kept for this browser session only, never stored)",
                                type="password",
                                value="",
                                elem_id="api-key",
                                placeholder="Leave empty to use the server's key"
                                + (" (none: offline demo)" if offline else ""),
                            )
                            b.add_panel("key", gr.HTML("", elem_id="key-status", padding=False))
                            voice = gr.Dropdown(
                                list(VOICES), value=settings.voice, label="Voice", elem_id="voice"
                            )
                            model = gr.Dropdown(
                                model_choices(settings.model),
                                value=settings.model,
                                label="Model",
                                allow_custom_value=True,
                                elem_id="model",
                            )
                            instruction = gr.Textbox(
                                settings.system_instruction,
                                label="System instruction",
                                lines=4,
                                elem_id="instruction",
                            )
                        call.key, call.voice, call.model, call.instruction = (
                            key,
                            voice,
                            model,
                            instruction,
                        )
                    with gr.Column(scale=4, elem_id="side-col"):
                        transcript = gr.HTML(
                            EMPTY_TRANSCRIPT,
                            elem_id="transcript",
                            label="Transcript",
                        )
                        with gr.Accordion("Snapshots", open=True):
                            b.add_panel(
                                "snapshots",
                                gr.HTML(
                                    '<div class="empty">No snapshots yet.</div>',
                                    elem_id="snapshots",
                                ),
                            )
                        with gr.Accordion("Diagram", open=True):
                            b.add_panel(
                                "diagram",
                                gr.Markdown(
                                    "*No diagram yet.*", elem_id="diagram", latex_delimiters=[]
                                ),
                            )
                        for plugin in ctx.plugins:
                            plugin.side(b)
            for plugin in ctx.plugins:
                plugin.tab(b)

        b.panels["status"] = status
        b.panels["transcript"] = transcript
        panel_names = list(b.panels)
        initial = {n: getattr(c, "value", None) for n, c in b.panels.items()}
        rtc.stream(
            fn=handler,
            inputs=[rtc, owner, key, voice, model, instruction, survey_id],
            outputs=[rtc],
            time_limit=settings.session_time_limit_s + LIMIT_GRACE_S,
            concurrency_limit=settings.max_sessions,
        )

        panel_log = PanelLog()

        def on_outputs(webrtc_id: str | None, who: str | None, update: UiUpdate) -> tuple[Any, ...]:
            # fastrtc streams a connection's panels to whoever names its webrtc_id (made with
            # Math.random in the browser): only the owner of that conversation gets them.
            h, why = b.find_handler(webrtc_id, who)
            if h is not None and h.conv is not update.conversation:
                h, why = None, "another conversation's update"
            if h is None:
                panel_log.withheld(webrtc_id, why)
                return tuple(gr.skip() for _ in panel_names)
            panel_log.sent(webrtc_id)
            vals = panel_values(update, update.conversation.sent, initial)
            return tuple(gr.update(value=vals[n]) if n in vals else gr.skip() for n in panel_names)

        updates = rtc.on_additional_outputs(
            on_outputs,
            inputs=[rtc, owner],
            outputs=[b.panels[n] for n in panel_names],
            show_progress="hidden",
        )
        # fastrtc 0.0.34 forces show_progress="minimal" on this long-lived event, which puts a
        # running timer over every panel for the whole call ("0.8s" over the status line).
        fn = demo.fns.get(updates.get("id")) if isinstance(updates, dict) else None
        if fn is not None:
            fn.show_progress = "hidden"

        def on_load(current: str | None, request: gr.Request) -> tuple[str, str, str]:
            identity, anon = resolve(current, request)
            return anon, identity.owner, identity_html(identity)

        demo.load(
            on_load, [browser_owner], [browser_owner, owner, identity_note], show_progress="hidden"
        )
        demo.load(None, None, None, js=a11y.JS)

        def check_model(name: str | None, api_key: str | None) -> None:
            choice = choose_model(
                name,
                own_key=bool(api_key),
                allowed=allowed_models(model_choices(settings.model), settings.model),
                server_default=settings.model,
            )
            if choice.refused:
                gr.Warning(choice.refused)

        model.input(check_model, [model, key], None, show_progress="hidden")

        def check_instruction(text: str | None) -> None:
            problem = instruction_problem(text or "")
            if problem:
                gr.Warning(problem)

        instruction.blur(check_instruction, [instruction], None, show_progress="hidden")
        for plugin in ctx.plugins:
            plugin.wire(b)
        ctx.extra.update(
            demo=demo, rtc=rtc, tabs=tabs, owner=owner, browser_owner=browser_owner, build=b
        )
        callui.wire(b, call, panel_names, initial)
        ctx.extra.update(demo=demo, rtc=rtc, tabs=tabs, owner=owner, build=b)
    return demo


def _configure_rtc(ctx: AppContext, rtc: Any) -> None:
    """What fastrtc's constructor cannot take (early ICE candidates are the RtcGuard's): this
    replica's capacity (ctx.extra["capacity"]), the page's RTC
    configuration refused with the app's own message while every slot is taken
    (googlive.scale.replica), and an aiortc configuration object (googlive.scale.ice: minted TURN
    credentials, relay policy) instead of fastrtc's conversion of a dict."""
    from googlive.scale.replica import Capacity, guard_rtc_configuration

    capacity = Capacity(ctx.settings.max_sessions, lambda: len(rtc.pcs))
    ctx.extra["capacity"] = capacity
    rtc.rtc_configuration = guard_rtc_configuration(ctx.rtc_configuration, capacity)
    server = ctx.server_rtc_configuration
    if server is not None and not isinstance(server, dict):
        rtc.server_rtc_configuration = server


def space_turn(settings: Settings) -> tuple[Any, Any, str]:
    """RTC configuration for this deployment: (browser config, server config, warning)."""
    if settings.no_ice_servers:
        return {"iceServers": []}, {"iceServers": []}, ""
    on_space = bool(os.environ.get("SPACE_ID"))
    has_turn = bool(os.environ.get("HF_TOKEN")) or bool(
        os.environ.get("CLOUDFLARE_TURN_KEY_ID") and os.environ.get("CLOUDFLARE_TURN_KEY_API_TOKEN")
    )
    if has_turn:
        from fastrtc import get_cloudflare_turn_credentials, get_cloudflare_turn_credentials_async

        try:
            server = get_cloudflare_turn_credentials(ttl=360_000)
        except Exception:  # network or credential trouble: say so, don't crash the app
            log.warning("TURN credentials could not be fetched; WebRTC may fail behind NAT")
            return (
                None,
                None,
                "TURN credentials could not be fetched: calls may fail to connect from other networks.",
            )
        return get_cloudflare_turn_credentials_async, server, ""
    if on_space:
        return (
            None,
            None,
            (
                "No TURN server is configured for this Space, so most browsers cannot connect. "
                "Add an HF_TOKEN (or CLOUDFLARE_TURN_KEY_ID and CLOUDFLARE_TURN_KEY_API_TOKEN) as a Space secret."
            ),
        )
    if settings.share:
        return (
            None,
            None,
            (
                "Shared link: browsers on other networks need a TURN server to connect. Set HF_TOKEN or "
                "CLOUDFLARE_TURN_KEY_ID/CLOUDFLARE_TURN_KEY_API_TOKEN before starting with --share."
            ),
        )
    return None, None, ""
