"""A local trial of googlive on several replicas: N app processes behind haproxy, moto's S3
server as the archive store, coturn as the TURN relay, all on this machine.

Used by deploy/local_trial.py (a person trying it) and by tests/scaleout (the same processes,
inside a private network namespace: pass `wrap=netns.wrap`). Every process it starts is
stopped by `stop()` (also on failure, and from `with Trial(...)`), terminated first, killed
after a grace period. The configurations it writes follow deploy/haproxy/haproxy.cfg and
deploy/coturn/turnserver.conf, with loopback addresses and throw-away secrets.

Size: over 400 lines: starts, configures and stops the whole trial (replicas, haproxy, moto,
coturn).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BUCKET = "googlive-trial"
COTURN_READY = "Total General servers"  # coturn 4.6 logs it once its listeners run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def media_address() -> str:
    """This machine's address for media (WebRTC skips loopback): the one a route out uses."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))  # no packet is sent for a UDP connect
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


@dataclass
class TrialConfig:
    replicas: int = 2
    max_sessions: int = 1
    http_port: int = 0  # 0: pick a free one
    s3: bool = True
    turn: bool = False
    relay_only: bool = False
    media_ip: str = ""  # coturn's listening/relay address; "" = media_address()
    app_args: Sequence[str] = ("--offline",)
    replica_args: dict[int, Sequence[str]] = field(default_factory=dict)  # per replica index
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


class TrialError(RuntimeError):
    pass


class Trial:
    """Start with `start()` (or `with`); `url` is the balancer; `stop()` ends everything."""

    def __init__(
        self,
        workdir: Path,
        config: TrialConfig | None = None,
        wrap: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        self.cfg = config or TrialConfig()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run = Path(tempfile.mkdtemp(prefix="gl-trial-"))  # short: unix socket paths
        self.wrap = wrap or (lambda argv: argv)
        self.procs: dict[str, Proc] = {}
        self.http_port = self.cfg.http_port or free_port()
        self.moto_port = free_port()
        self.turn_port = free_port()
        self.ports = [free_port() for _ in range(self.cfg.replicas)]
        self.agent_ports = [free_port() for _ in range(self.cfg.replicas)]
        self.turn_secret = secrets.token_urlsafe(24)
        self.browser_secret = secrets.token_urlsafe(24)
        self.media_ip = self.cfg.media_ip or media_address()
        self.archive_url = f"s3://{BUCKET}/archive" if self.cfg.s3 else ""

    # ---- life cycle ------------------------------------------------------------------------
    def __enter__(self) -> Trial:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120.0) -> Trial:
        try:
            deadline = time.monotonic() + timeout
            for tool in ("haproxy",) + (("turnserver",) if self.cfg.turn else ()):
                if shutil.which(tool) is None:
                    raise TrialError(f"'{tool}' is needed: apt-get install haproxy coturn")
            coturn = self._start_coturn() if self.cfg.turn else None
            if self.cfg.s3:
                self._start_moto(deadline)  # the bucket exists before a replica looks for it
            for i in range(self.cfg.replicas):
                self.start_replica(i)
            if coturn is not None:
                self._until(
                    lambda: COTURN_READY in coturn.log_text() + self.coturn_log(),
                    deadline,
                    "coturn",
                    proc=coturn,
                )
            self._wait_replicas(deadline)
            self._start_haproxy()
            self.wait_states(
                lambda st: all(st.get(f"r{i + 1}") == "UP" for i in range(self.cfg.replicas)),
                deadline - time.monotonic(),
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate every process (balancer first, store last), kill what does not exit."""
        order = ["haproxy", *sorted(k for k in self.procs if k.startswith("r")), "coturn", "moto"]
        for name in order:
            p = self.procs.get(name)
            if p is not None and p.alive():
                p.proc.terminate()
        for name in order:
            p = self.procs.get(name)
            if p is None:
                continue
            try:
                p.proc.wait(20)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait(5)
        shutil.rmtree(self.run, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # ---- processes -------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.dir / f"{name}.log"
        fh = log.open("ab")
        try:
            proc = subprocess.Popen(
                self.wrap(argv),
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env or os.environ.copy(),
                stdin=subprocess.DEVNULL,
            )
        finally:
            fh.close()
        p = Proc(name, proc, log)
        self.procs[name] = p
        return p

    def _aws_env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "trial",
            "AWS_SECRET_ACCESS_KEY": "trial",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _start_moto(self, deadline: float) -> None:
        self._spawn(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
        )
        # One probe process that retries by itself (a new interpreter per try costs more CPU
        # than the servers it waits for).
        script = (
            "import time,boto3,botocore.exceptions as E\n"
            "c=boto3.client('s3')\n"
            f"end=time.monotonic()+{max(1.0, deadline - time.monotonic()):.1f}\n"
            "while True:\n"
            "    try:\n"
            f"        c.create_bucket(Bucket='{BUCKET}'); break\n"
            "    except E.ClientError as e:\n"
            "        if 'BucketAlready' in str(e): break\n"
            "        raise\n"
            "    except E.EndpointConnectionError:\n"
            "        if time.monotonic() > end: raise\n"
            "        time.sleep(0.1)\n"
        )
        res = self.probe(
            script, env=self._aws_env(), timeout=max(5.0, deadline - time.monotonic() + 5)
        )
        if res.returncode != 0:
            raise TrialError(
                f"moto's S3 server did not come up: {res.stderr.strip()[-800:]}\n"
                f"{self.procs['moto'].log_text()[-1500:]}"
            )

    def _wait_replicas(self, deadline: float) -> None:
        """Every replica answers HTTP: one polling process inside the namespace, watched here."""
        urls = [f"http://127.0.0.1:{p}/robots.txt" for p in self.ports]
        script = (
            "import time,urllib.request\n"
            f"todo={urls!r}\n"
            "while todo:\n"
            "    for u in list(todo):\n"
            "        try: urllib.request.urlopen(u, timeout=2); todo.remove(u)\n"
            "        except Exception: pass\n"
            "    time.sleep(0.2)\n"
        )
        probe = subprocess.Popen(
            self.wrap([sys.executable, "-c", script]),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while probe.poll() is None:
                for i in range(self.cfg.replicas):
                    p = self.procs[f"r{i + 1}"]
                    if not p.alive():
                        raise TrialError(f"r{i + 1} exited early:\n{p.log_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise TrialError("the replicas did not answer in time\n" + self.diagnostics(20))
                time.sleep(0.2)  # polling other processes: the condition is checked each round
        finally:
            if probe.poll() is None:
                probe.kill()
                probe.wait(5)

    def _start_coturn(self) -> Proc:
        conf = self.run / "turnserver.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listening-ip={self.media_ip}",
                    f"relay-ip={self.media_ip}",
                    f"listening-port={self.turn_port}",
                    "min-port=49152",
                    "max-port=49407",
                    "realm=googlive.trial",
                    "verbose",
                    "use-auth-secret",
                    f"static-auth-secret={self.turn_secret}",
                    "fingerprint",
                    "no-tls",
                    "no-dtls",
                    "no-cli",
                    "no-multicast-peers",
                    f"pidfile={self.run / 'turnserver.pid'}",
                    f"userdb={self.run / 'turndb'}",
                    f"log-file={self.dir / 'coturn-sessions.log'}",
                    "simple-log",
                    "",
                ]
            )
        )
        conf.chmod(0o600)
        return self._spawn("coturn", ["turnserver", "-c", str(conf)])

    def coturn_log(self) -> str:
        """coturn's own log (allocations, sessions); its stdout only shows the start."""
        try:
            return (self.dir / "coturn-sessions.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def replica_argv(self, i: int) -> list[str]:
        argv = [
            sys.executable,
            str(ROOT / "app.py"),
            *self.cfg.app_args,
            "--port",
            str(self.ports[i]),
            "--data-dir",
            str(self.dir / f"data-r{i + 1}"),
            "--max-sessions",
            str(self.cfg.max_sessions),
            "--lb-agent-port",
            str(self.agent_ports[i]),
        ]
        if self.archive_url:
            argv += ["--archive-url", self.archive_url]
        if self.cfg.turn:
            argv += ["--turn-url", f"turn:{self.media_ip}:{self.turn_port}?transport=udp"]
            if self.cfg.relay_only:
                argv += ["--ice-transport-policy", "relay"]
        return argv + list(self.cfg.replica_args.get(i, ()))

    def start_replica(self, i: int) -> Proc:
        env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "GRADIO_ANALYTICS_ENABLED": "False",
                "GOOGLIVE_BROWSER_SECRET": self.browser_secret,
            }
        )
        env.pop("GOOGLIVE_NO_ICE", None)
        if self.cfg.turn:
            env["GOOGLIVE_TURN_SECRET"] = self.turn_secret
        else:
            env["GOOGLIVE_NO_ICE"] = "1"
        if self.cfg.s3:
            env.update(self._aws_env())
        env.update(self.cfg.env)
        return self._spawn(f"r{i + 1}", self.replica_argv(i), env)

    def haproxy_config(self) -> str:
        """The trial's haproxy.cfg: deploy/haproxy/haproxy.cfg's backend on loopback, plain HTTP."""
        servers = "\n".join(
            f"    server r{i + 1} 127.0.0.1:{p} cookie r{i + 1} check agent-port {a}"
            for i, (p, a) in enumerate(zip(self.ports, self.agent_ports, strict=True))
        )
        return f"""global
    log stdout format raw local0 info
    maxconn 2000
    stats socket {self.run / "haproxy.sock"} mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 15s
    timeout http-keep-alive 15s
    timeout queue 5s
    timeout check 5s
    retries 2
    option redispatch
    option persist
    errorfile 503 {DEPLOY / "haproxy" / "503.http"}

frontend googlive_http
    bind 127.0.0.1:{self.http_port}
    default_backend googlive

backend googlive
    balance roundrobin
    cookie GOOGLIVE_REPLICA insert indirect nocache httponly
    option httpchk
    http-check send meth GET uri /robots.txt
    http-check expect status 200
    http-response set-header X-Googlive-Replica %[srv_name]
    default-server inter 1s fall 3 rise 2 agent-check agent-inter 500ms maxconn 200
{servers}
"""

    def _start_haproxy(self) -> None:
        cfg = self.run / "haproxy.cfg"
        cfg.write_text(self.haproxy_config())
        check = subprocess.run(
            ["haproxy", "-c", "-q", "-f", str(cfg)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise TrialError(
                f"haproxy refused the trial configuration: {check.stderr.strip()[-800:]}"
            )
        self._spawn("haproxy", ["haproxy", "-db", "-f", str(cfg)])

    # ---- looking at it ---------------------------------------------------------------------
    def probe(
        self, script: str, env: dict[str, str] | None = None, timeout: float = 20
    ) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet where the processes run (inside the namespace, if any)."""
        e = os.environ.copy()
        e.update(env or {})
        return subprocess.run(
            self.wrap([sys.executable, "-c", script]),
            capture_output=True,
            text=True,
            env=e,
            timeout=timeout,
            cwd=ROOT,
        )

    def http_ok(self, port: int, path: str = "/robots.txt") -> bool:
        script = f"import urllib.request;urllib.request.urlopen('http://127.0.0.1:{port}{path}',timeout=2)"
        return self.probe(script).returncode == 0

    def admin(self, command: str) -> str:
        """One command on haproxy's admin socket (unix sockets are not namespaced)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.run / "haproxy.sock"))
            s.sendall(command.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def states(self) -> dict[str, str]:
        """{server: UP | DRAIN | DOWN | MAINT | ...} as haproxy sees the replicas now."""
        out: dict[str, str] = {}
        try:
            text = self.admin("show stat")
        except OSError:
            return out
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        header = text.splitlines()[0].lstrip("# ").split(",") if text else []
        for ln in lines:
            row = dict(zip(header, ln.split(","), strict=False))
            if row.get("pxname") == "googlive" and row.get("svname", "").startswith("r"):
                out[row["svname"]] = row.get("status", "").split(" ")[0]
        return out

    def wait_states(
        self, pred: Callable[[dict[str, str]], bool], timeout: float = 20
    ) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        self._until(
            lambda: pred(self.states()),
            deadline,
            "haproxy server states",
            proc=self.procs.get("haproxy"),
        )
        return self.states()

    def bucket_keys(self) -> list[str]:
        script = (
            "import boto3,json;c=boto3.client('s3');"
            f"r=c.list_objects_v2(Bucket='{BUCKET}');"
            "print(json.dumps([o['Key'] for o in r.get('Contents',[])]))"
        )
        res = self.probe(script, env=self._aws_env())
        if res.returncode != 0:
            raise TrialError(f"listing the bucket failed: {res.stderr.strip()[-500:]}")
        return json.loads(res.stdout)

    def diagnostics(self, lines: int = 40) -> str:
        """The last lines of every process's log (a failed test prints them)."""
        out = []
        for name, p in self.procs.items():
            tail = p.log_text().splitlines()[-lines:]
            out.append(f"==== {name} ({'running' if p.alive() else f'exit {p.proc.returncode}'})")
            out.extend(tail)
        return "\n".join(out)

    def _until(
        self,
        pred: Callable[[], object],
        deadline: float,
        what: str,
        proc: Proc | None = None,
        step: float = 0.1,
    ) -> None:
        while not pred():
            if proc is not None and not proc.alive():
                raise TrialError(f"{what} exited early:\n{proc.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                tail = proc.log_text()[-3000:] if proc is not None else ""
                raise TrialError(f"{what} not ready in time\n{tail}")
            time.sleep(step)  # polling another process: the condition is checked each round
