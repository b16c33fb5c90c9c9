"""Findings 1, 4 and 6 at the HTTP level, against the real app on loopback:

- the file route serves nothing inside the data dir: not a survey (new per-owner layout or the
  old shared one), not the BrowserState key file, not a session file, even by exact path;
- an upload over --max-upload-mb is refused and nothing of it is kept;
- every response carries CSP (with frame-ancestors), nosniff and Referrer-Policy; the page
  loads nothing from another origin; /gradio_api/info and /openapi.json list no endpoint.
"""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import owner_hash
from tests.reliability import apphttp
from tests.reliability.util import record

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("public-http")
    data = tmp_path / "data"
    # Files a visitor must never fetch: surveys (both layouts), a session, the BrowserState key.
    owner = secrets.token_urlsafe(16)
    (data / "surveys" / "owners" / owner_hash(owner)).mkdir(parents=True)
    (data / "surveys" / "owners" / owner_hash(owner) / "mine.json").write_text('{"secret": "A"}')
    (data / "surveys" / "legacy.json").write_text('{"secret": "legacy"}')
    arch = SessionArchive.create(data, owner)
    arch.append_transcript("user", "my private words", 0.0, 1)
    arch.close()
    a = apphttp.start(tmp_path, "--max-upload-mb", "1", data_dir=data)
    a.session = arch.path  # type: ignore[attr-defined]
    yield a
    a.stop()


def test_file_route_serves_nothing_in_the_data_dir(app):
    data = app.data_dir.resolve()
    targets = [
        next((data / "surveys" / "owners").rglob("mine.json")),
        data / "surveys" / "legacy.json",
        data / ".browser-state-secret",
        app.session / "transcript.jsonl",
        app.session / "meta.json",
    ]
    assert all(t.is_file() for t in targets)
    seen = {}
    for t in targets:
        for prefix in ("/gradio_api/file=", "/file="):
            for form in (str(t), str(t).replace("/", "%2F"), str(t).replace("/data/", "/data/./")):
                status, headers, body = app.get(prefix + form)
                seen[prefix + t.name] = status
                assert status in (403, 404), (prefix, t, status)
                assert b"secret" not in body and b"private words" not in body
                assert all(h in headers for h in SECURITY_HEADERS)
    record("file_route", seen)


def test_upload_over_the_limit_is_refused_and_not_kept(app):
    boundary = uuid.uuid4().hex
    big = b"x" * (3 * 1024 * 1024)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.json"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, headers, resp = app.request(
        "POST",
        "/gradio_api/upload",
        body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 413, (status, resp[:300])
    assert resp == b"File size exceeded maximum allowed size of 1048576 bytes."
    tmp = app.data_dir.parent / "gradio-tmp"
    kept = (
        [p for p in tmp.rglob("*") if p.is_file() and p.stat().st_size >= len(big) // 2]
        if tmp.exists()
        else []
    )
    assert kept == []
    # A survey-sized upload still works.
    small = b'{"a": 1}'
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="s.json"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + small
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, resp = app.request(
        "POST",
        "/gradio_api/upload",
        body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 200, resp[:300]


def test_headers_on_every_response_and_no_api_listing(app):
    routes = [
        "/",
        "/config",
        "/gradio_api/info",
        "/gradio_api/info?all_endpoints=true",
        "/gradio_api/openapi.json",
        "/theme.css",
        "/manifest.json",
        "/no-such-route",
        "/gradio_api/queue/status",
    ]
    page = app.get("/")[2].decode()
    import re

    routes += sorted({m for m in re.findall(r'(?:src|href)="(\.?/[^"]+)"', page)})[:10]
    statuses = {}
    for r in routes:
        status, headers, body = app.get(r if r.startswith("/") else r[1:])
        statuses[r] = status
        for h in SECURITY_HEADERS:
            assert h in headers, (r, status, h)
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # No third-party asset in the page (Gradio's index.html links cdnjs and Google Fonts).
    assert "cdnjs.cloudflare.com" not in page and "fonts.googleapis.com" not in page
    assert "fonts.googleapis.com" not in app.get("/theme.css")[2].decode()
    for r in ("/gradio_api/info", "/gradio_api/info?all_endpoints=true"):
        info = json.loads(app.get(r)[2])
        assert info["named_endpoints"] == {} and info["unnamed_endpoints"] == {}, r
    spec = json.loads(app.get("/gradio_api/openapi.json")[2])
    assert spec.get("paths") == {}
    assert 'window.gradio_api_info = {"named_endpoints":{},"unnamed_endpoints":{}};' in page
    record("headers", {"routes": statuses})


def test_space_embedding_is_allowed_from_huggingface_only(tmp_path):
    a = apphttp.start(tmp_path, env={"SPACE_ID": "someone/googlive", "GOOGLIVE_HOST": "127.0.0.1"})
    try:
        csp = a.get("/")[1]["content-security-policy"]
        ancestors = next(p for p in csp.split("; ") if p.startswith("frame-ancestors"))
        assert ancestors == "frame-ancestors 'self' https://huggingface.co"
    finally:
        a.stop()
