"""Finding 5: "Sign in with Hugging Face" ties a visitor's sessions to the HF username.

The app runs as on a Space with `hf_oauth: true` (SYSTEM=spaces, SPACE_ID and the OAUTH_*
variables HF sets), so Gradio mounts its real OAuth routes and session middleware. The login
round trip itself needs huggingface.co; instead the test gives one browser the session cookie
that round trip ends with: Starlette's SessionMiddleware format (base64 JSON signed by
itsdangerous' TimestampSigner), with the key gradio/oauth.py derives from OAUTH_CLIENT_SECRET
(sha256(secret + "-v4")), holding `oauth_info.userinfo` as gradio's callback stores it.

That browser's page says it is signed in, its conversation is archived under the HF name's
owner (so any browser signed in as that user lists it), and a second browser without the
cookie is anonymous and sees none of it.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from googlive.features.results.archive_owner import list_sessions
from tests.e2e.conftest import browser_factory, make_speech, netns, start_app, stop_app  # noqa: F401  (fixtures)
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

CLIENT_SECRET = "test-oauth-client-secret"
SPY = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def session_cookie(userinfo: dict) -> str:
    from itsdangerous import TimestampSigner

    key = hashlib.sha256((CLIENT_SECRET + "-v4").encode()).hexdigest()
    data = base64.b64encode(
        json.dumps({"oauth_info": {"userinfo": userinfo, "access_token": "x"}}).encode()
    )
    return TimestampSigner(key).sign(data).decode()


def test_hugging_face_user_owns_their_sessions(netns, browser_factory, tmp_path):  # noqa: F811
    env = {
        "SYSTEM": "spaces",
        "SPACE_ID": "someone/googlive",
        "OAUTH_CLIENT_ID": "client-id",
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": "https://127.0.0.1:9",
        "GOOGLIVE_HOST": "127.0.0.1",
    }
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline", "--host", "127.0.0.1", env=env)
    try:
        ctx = browser_factory(wav, loop=True)
        ctx.add_cookies(
            [
                {
                    "name": "session",
                    "url": app.url,
                    "value": session_cookie(
                        {
                            "preferred_username": "bob-hf",
                            "name": "Bob",
                            "profile": "https://huggingface.co/bob-hf",
                            "picture": "https://huggingface.co/avatar.png",
                        }
                    ),
                }
            ]
        )
        page = ctx.new_page()
        ctx.add_init_script(SPY)
        page.goto(app.url)
        wait_text(page, "#identity", "Signed in as bob-hf (Hugging Face)", timeout_s=40)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=40)
        page.locator("#text-input textarea").fill("hello from bob")
        page.locator("#send-text").click()
        wait_text(page, "#transcript", "hello from bob", timeout_s=30)
        page.locator("#end-session").click()
        wait_text(
            page, "#results-header", "hello from bob", timeout_s=30
        )  # titled by its first words

        # Gradio's own Space page parts (Spaces header, login avatar) stay within the CSP.
        assert page.evaluate("() => window.__csp") == []
        # Sessions belong to "hf:bob-hf": every browser signed in as bob-hf lists them.
        mine = list_sessions(app.data_dir, "hf:bob-hf")
        assert len(mine) == 1

        anon = browser_factory(wav, loop=True).new_page()
        anon.goto(app.url)
        wait_text(anon, "#identity", "belong to this browser", timeout_s=40)
        anon.get_by_role("tab", name="Past sessions").click()
        # The tab's select event has listed this browser's sessions: none.
        wait_text(anon, "#past-empty", "No sessions yet", timeout_s=20)
        assert anon.locator("#past-sessions input[type=radio]").count() == 0
        assert "hello from bob" not in anon.content()
    except Exception:
        page.screenshot(path=str(tmp_path / "fail.png"))
        raise
    finally:
        stop_app(app)
