"""Try googlive on several replicas on this machine:

    python deploy/local_trial.py                    # 2 replicas, haproxy, moto S3, coturn
    python deploy/local_trial.py --replicas 3 --max-sessions 2 --port 8080 --relay-only

Starts N `app.py --offline` replicas (each with its own data directory, all sharing an S3
bucket served by moto, a browser-state secret and a coturn shared secret), haproxy in front of
them on http://127.0.0.1:PORT with cookie stickiness and the replicas' agent-check, and coturn
on this machine's own address. Prints the URL; Ctrl-C stops every process it started. Logs and
data go to --workdir. Needs Debian's haproxy and coturn (apt-get install haproxy coturn) and
requirements-dev.txt (moto). Open the URL in two browser profiles to see two replicas fill up;
a third is turned away with haproxy's "All conversation slots are taken" page.
Browsers and aiortc skip loopback for media: the machine needs a non-loopback address (any LAN
address will do); otherwise run it inside a network namespace with a veth pair, as
tests/e2e/netns.py does for the browser tests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.trial import Trial, TrialConfig, TrialError, media_address


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="deploy/local_trial.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--replicas", type=int, default=2, help="app processes behind haproxy (default 2)"
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=1,
        help="conversations per replica (default 1, so that 'full' is easy to see)",
    )
    p.add_argument(
        "--port", type=int, default=8080, help="haproxy's port on 127.0.0.1 (default 8080)"
    )
    p.add_argument(
        "--workdir", default="trial-run", help="logs and data directories (default ./trial-run)"
    )
    p.add_argument(
        "--no-s3", action="store_true", help="no archive store: each replica keeps its own"
    )
    p.add_argument(
        "--no-turn", action="store_true", help="no coturn: browsers reach the replicas directly"
    )
    p.add_argument(
        "--relay-only",
        action="store_true",
        help="every call through coturn (iceTransportPolicy relay)",
    )
    p.add_argument(
        "--media-ip",
        default="",
        help=f"coturn's address (default this machine's: {media_address()})",
    )
    a = p.parse_args(argv)
    if a.replicas < 1 or a.max_sessions < 1:
        p.error("--replicas and --max-sessions must be at least 1")
    if a.relay_only and a.no_turn:
        p.error("--relay-only needs coturn (leave out --no-turn)")
    cfg = TrialConfig(
        replicas=a.replicas,
        max_sessions=a.max_sessions,
        http_port=a.port,
        s3=not a.no_s3,
        turn=not a.no_turn,
        relay_only=a.relay_only,
        media_ip=a.media_ip,
    )
    trial = Trial(Path(a.workdir).resolve(), cfg)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"starting {a.replicas} replicas, haproxy{', moto S3' if cfg.s3 else ''}"
        f"{', coturn' if cfg.turn else ''} (logs in {trial.dir}) ...",
        flush=True,
    )
    try:
        trial.start()
    except TrialError as e:
        print(f"the trial did not start: {e}", file=sys.stderr)
        return 1
    try:
        print(f"\n  googlive: {trial.url}\n")
        for i, port in enumerate(trial.ports):
            print(
                f"  replica r{i + 1}: http://127.0.0.1:{port} (agent-check port {trial.agent_ports[i]})"
            )
        if cfg.s3:
            print(f"  archive store: {trial.archive_url} (moto on 127.0.0.1:{trial.moto_port})")
        if cfg.turn:
            print(
                f"  TURN: turn:{trial.media_ip}:{trial.turn_port}"
                f"{' (relay only)' if cfg.relay_only else ''}"
            )
        print("  haproxy's view: echo 'show stat' | socat - " + str(trial.run / "haproxy.sock"))
        print("\nCtrl-C stops everything.", flush=True)
        while not stop.wait(1.0):
            dead = [n for n, pr in trial.procs.items() if not pr.alive()]
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)} (see {trial.dir})", file=sys.stderr)
                return 1
        return 0
    finally:
        trial.stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
