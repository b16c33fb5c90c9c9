"""googlive: talk with Gemini Live by voice and video in the browser.

python app.py                 # Gemini, with GEMINI_API_KEY (or GOOGLE_API_KEY, or .env)
python app.py --offline       # the local demo Live server, no key needed
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from googlive.cliflags import add_flag, add_switch
from googlive.config import (
    DEFAULT_ANALYSIS_MODEL,
    DEFAULT_MODEL,
    DEFAULT_VOICE,
    Secret,
    Settings,
    key_from_env,
)

log = logging.getLogger("googlive")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="app.py",
        description="Live voice and video conversation with Gemini in the browser. Without an API "
        "key (GEMINI_API_KEY or GOOGLE_API_KEY, or a .env file) it starts the offline demo on the "
        "built-in local Live server.",
    )
    add_flag(
        p,
        "--host",
        "127.0.0.1",
        env="GOOGLIVE_HOST",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 on a Space)",
    )
    add_flag(
        p, "--port", 7860, env=("GOOGLIVE_PORT", "PORT"), type=int, help="HTTP port (default 7860)"
    )
    add_switch(
        p,
        "--share",
        help="create a public Gradio share link (remote browsers need TURN: set HF_TOKEN "
        "or CLOUDFLARE_TURN_KEY_ID and CLOUDFLARE_TURN_KEY_API_TOKEN)",
    )
    add_switch(
        p, "--offline", help="use the built-in local Live server even when an API key is set"
    )
    add_flag(
        p,
        "--model",
        DEFAULT_MODEL,
        env="GOOGLIVE_MODEL",
        help=f"Live model (default {DEFAULT_MODEL})",
    )
    add_flag(
        p,
        "--analysis-model",
        DEFAULT_ANALYSIS_MODEL,
        env="GOOGLIVE_ANALYSIS_MODEL",
        help=f"model for the end-of-session analysis (default {DEFAULT_ANALYSIS_MODEL})",
    )
    add_flag(
        p,
        "--voice",
        DEFAULT_VOICE,
        env="GOOGLIVE_VOICE",
        help=f"prebuilt voice (default {DEFAULT_VOICE})",
    )
    add_flag(
        p,
        "--data-dir",
        "data",
        env="GOOGLIVE_DATA_DIR",
        help="where session archives and surveys are kept (default ./data)",
    )
    add_flag(
        p,
        "--max-sessions",
        8,
        env="GOOGLIVE_MAX_SESSIONS",
        type=int,
        help="concurrent conversations allowed (default 8)",
    )
    add_flag(
        p,
        "--time-limit",
        1800,
        env="GOOGLIVE_TIME_LIMIT",
        type=int,
        help="seconds a conversation may last (default 1800)",
    )
    add_switch(p, "--no-record", help="do not record sessions")
    add_flag(
        p,
        "--live-url",
        env="GOOGLIVE_LIVE_URL",
        help="talk to this Live server instead (e.g. one started with "
        "'python -m googlive.fakelive'); use with --live-ca",
    )
    add_flag(
        p,
        "--live-ca",
        env="GOOGLIVE_LIVE_CA",
        help="CA certificate (PEM) that signed --live-url's TLS certificate",
    )
    add_switch(
        p,
        "--no-ice-servers",
        env="GOOGLIVE_NO_ICE",
        help="use no STUN/TURN servers at all (tests, closed networks)",
    )
    from googlive.public.launchopts import add_arguments, from_args
    from googlive.scale import ice, replica

    add_arguments(p)
    ice.add_arguments(p)
    replica.add_arguments(p)
    ns = p.parse_args(argv)
    ns.security = from_args(ns, p)
    try:
        ns.ice = ice.from_args(ns)
        replica.check_args(ns)
    except ValueError as e:
        p.error(str(e))
    from googlive.config import VOICES

    match = {v.lower(): v for v in VOICES}.get(ns.voice.lower())
    if match is None:
        p.error(f"unknown voice {ns.voice!r}; choose one of: {', '.join(VOICES)}")
    ns.voice = match
    if not 0 < ns.port < 65536:
        p.error(f"--port must be between 1 and 65535, got {ns.port}")
    if ns.max_sessions < 1 or ns.time_limit < 10:
        p.error("--max-sessions must be at least 1 and --time-limit at least 10 seconds")
    return ns


def settings_from(ns: argparse.Namespace) -> Settings:
    key = key_from_env()
    if ns.live_url and not key:
        key = Secret(os.environ.get("GOOGLIVE_LIVE_KEY"))
    return Settings(
        api_key=key,
        model=ns.model,
        analysis_model=ns.analysis_model,
        voice=ns.voice,
        offline=ns.offline,
        host=ns.host,
        port=ns.port,
        share=ns.share,
        data_dir=Path(ns.data_dir),
        max_sessions=ns.max_sessions,
        session_time_limit_s=ns.time_limit,
        record=not ns.no_record,
        base_url=ns.live_url,
        ca_cert=ns.live_ca,
        no_ice_servers=ns.no_ice_servers,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("GOOGLIVE_LOG", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from dotenv import load_dotenv

        load_dotenv(override=False)
    except ImportError:
        pass
    ns = parse_args(argv)
    settings = settings_from(ns)
    if os.environ.get("SPACE_ID") and settings.host == "127.0.0.1":
        settings = settings.with_(host="0.0.0.0")

    from googlive.assemble import assemble
    from googlive.features.results.archive_store import StoreError
    from googlive.live.backend import resolve_endpoint
    from googlive.live.preload import warm_up_in_background
    from googlive.scale.replica import setup_archive_store, start_lb_agent
    from googlive.ui import AppContext, build, space_turn

    try:
        close_store = setup_archive_store(ns.archive_url, settings.data_dir)
    except StoreError as e:
        log.error("%s", e)
        return 2
    endpoint, offline_server = resolve_endpoint(settings)
    if endpoint.offline:
        log.warning(
            "OFFLINE DEMO: no Gemini API key (or --offline); conversations run on the "
            "built-in local Live server, which echoes what it hears."
        )
    else:
        log.info("backend: Gemini Live, model=%s", settings.model)
    if ns.ice.configured:
        rtc_conf, server_conf, warning = ns.ice.browser_config_fn(), ns.ice.server_config(), ""
    else:
        rtc_conf, server_conf, warning = space_turn(settings)
    ctx = AppContext(
        settings,
        endpoint,
        rtc_configuration=rtc_conf,
        server_rtc_configuration=server_conf,
        turn_warning=warning,
        security=ns.security,
    )
    if close_store is not None:
        ctx.services.setdefault("on_exit", []).append(close_store)
    assemble(ctx)
    demo = build(ctx)
    from googlive.public.launchopts import hide_api, launch_kwargs

    hide_api(demo)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        start_lb_agent(ctx, ns.lb_agent_port)
        demo.queue(default_concurrency_limit=None, api_open=False).launch(
            server_name=settings.host,
            server_port=settings.port,
            share=settings.share,
            prevent_thread_lock=True,
            **launch_kwargs(ns.security, settings.data_dir),
        )
        # The page is served: now google-genai, in a daemon thread, so that the first call
        # finds it loaded (googlive/live/preload.py: why not earlier, and why a thread is safe).
        warm_up_in_background()
        demo.block_thread()  # what launch() does itself without prevent_thread_lock
    except KeyboardInterrupt:
        pass
    finally:
        for stop_service in ctx.services.get("on_exit", []):
            stop_service()
        if offline_server is not None:
            offline_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
