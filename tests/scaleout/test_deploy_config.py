"""deploy/: the real-host haproxy configuration is valid haproxy, its 503 page is a whole HTTP
response with the message, and the trial's configuration uses the same directives."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.trial import DEPLOY, Trial, TrialConfig

HAPROXY = shutil.which("haproxy")
needs_haproxy = pytest.mark.skipif(
    HAPROXY is None, reason="haproxy is not installed (apt-get install haproxy)"
)


def _self_signed(path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "googlive.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@needs_haproxy
def test_real_host_haproxy_config_is_valid(tmp_path):
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    pem = tmp_path / "googlive.pem"
    _self_signed(pem)
    # Only the paths a real host has and this machine has not are swapped.
    text = text.replace("/etc/haproxy/certs/googlive.pem", str(pem))
    text = text.replace(
        "/etc/haproxy/errors/googlive-503.http", str(DEPLOY / "haproxy" / "503.http")
    )
    text = text.replace("/run/haproxy/admin.sock", str(tmp_path / "admin.sock"))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    res = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[WARNING]" not in res.stdout + res.stderr, res.stdout + res.stderr


def test_503_page_is_a_whole_http_response_saying_why():
    raw = (DEPLOY / "haproxy" / "503.http").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 503 ")
    assert b"Content-Type: text/html; charset=utf-8" in head and b"Retry-After: 60" in head
    assert b"All conversation slots are taken" in body and body.rstrip().endswith(b"</html>")
    assert len(raw) < 16384  # haproxy's buffer (tune.bufsize) must hold the whole file


def test_trial_config_follows_the_real_hosts_backend(tmp_path):
    real = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    t = Trial(tmp_path, TrialConfig(replicas=3))
    try:
        trial = t.haproxy_config()
    finally:
        t.stop()  # nothing started; removes its scratch folder
    for directive in (
        "cookie GOOGLIVE_REPLICA insert indirect nocache httponly",
        "option redispatch",
        "option persist",
        "http-check send meth GET uri /robots.txt",
        "http-response set-header X-Googlive-Replica %[srv_name]",
        "timeout check 5s",
        "balance roundrobin",
    ):
        assert directive in real and directive in trial, directive
    assert len(re.findall(r"^\s+server r\d .* cookie r\d check agent-port \d+$", trial, re.M)) == 3
    assert "agent-check" in real and "agent-check" in trial


def test_coturn_config_uses_the_rest_secret_and_refuses_private_peers():
    conf = (DEPLOY / "coturn" / "turnserver.conf").read_text()
    lines = [ln.strip() for ln in conf.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "use-auth-secret" in lines and any(ln.startswith("static-auth-secret=") for ln in lines)
    for rng in (
        "10.0.0.0-10.255.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
    ):
        assert f"denied-peer-ip={rng}" in lines
    assert not any("#" in ln for ln in lines)  # coturn has no end-of-line comments
