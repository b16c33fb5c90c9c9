"""``python -m googlive.fakelive [--host H] [--port P] [--api-key K]``.

Prints exactly one JSON line to stdout, ``{"url": ..., "ca_cert": ..., "api_key": ...}``, then
serves until SIGINT or SIGTERM and exits 0. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from .server import FakeLiveConfig, FakeLiveServer


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m googlive.fakelive", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="random if omitted")
    parser.add_argument(
        "--cert-dir", default=None, help="where to write the TLS files (default: a temp dir)"
    )
    parser.add_argument("--speed", type=float, default=None, help="reply pacing, x real time")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = FakeLiveConfig()
    if args.speed is not None:
        config.speed = args.speed
    server = FakeLiveServer(
        api_key=args.api_key, config=config, host=args.host, port=args.port, cert_dir=args.cert_dir
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        line = json.dumps({"url": server.url, "ca_cert": server.ca_cert, "api_key": server.api_key})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        await stop.wait()
        logging.getLogger("googlive.fakelive").info("signal received, shutting down")
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parse(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
