"""REST ``generateContent`` of the local server: JSON that fits the request's response schema."""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import protocol as p
from . import schema_fill, voice

if TYPE_CHECKING:
    from .server import FakeLiveServer

log = logging.getLogger("googlive.fakelive")

REST_PATH = re.compile(r"^/(v1beta|v1alpha|v1)/models/([^/:]+):generateContent$")


async def handle_http(
    server: FakeLiveServer, scope: dict[str, Any], receive: Any, send: Any
) -> None:
    """Answer one HTTP request (REST ``generateContent``)."""
    request = Request(scope, receive)
    response = await _rest(server, request)
    await response(scope, receive, send)


def _rest_error(status: int, message: str, code_name: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": code_name}}, status_code=status
    )


async def _rest(self: FakeLiveServer, request: Request) -> JSONResponse:
    match = REST_PATH.match(request.url.path)
    if match is None or request.method != "POST":
        return _rest_error(404, "Requested entity was not found.", "NOT_FOUND")
    version, model = match.group(1), match.group(2)
    self.stats.rest_requests += 1
    self._bump()
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    if not key:
        return _rest_error(403, p.REASON_NO_KEY, "PERMISSION_DENIED")
    if not secrets.compare_digest(key.encode(), self.api_key.encode()):
        return _rest_error(400, p.REASON_BAD_KEY, "INVALID_ARGUMENT")
    cfg = self.config
    if cfg.rest_error_status is not None:
        if cfg.rest_error_count is None or cfg.rest_error_count > 0:
            status = cfg.rest_error_status or 500
            if cfg.rest_error_count is not None:
                cfg.rest_error_count -= 1
                if cfg.rest_error_count <= 0:
                    cfg.rest_error_status, cfg.rest_error_count = None, None
            log.info("rest: injected HTTP %d", status)
            return _rest_error(
                status,
                "Offline demo: injected error (rest_error_status).",
                _status_name(status),
            )
    known = cfg.rest_models
    if (known is None and not model.startswith("gemini-")) or (
        known is not None and model not in known
    ):
        return _rest_error(
            404, p.model_not_found_reason(model, version, "generateContent"), "NOT_FOUND"
        )
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _rest_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
    if not isinstance(body, dict):
        return _rest_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
    self.stats.last_rest_request = body
    return JSONResponse(_rest_answer(self, body, model))


def _rest_answer(self: FakeLiveServer, body: dict[str, Any], model: str) -> dict[str, Any]:
    gen = body.get("generationConfig") or body.get("generation_config") or {}
    schema = (
        gen.get("responseJsonSchema")
        or gen.get("response_json_schema")
        or gen.get("responseSchema")
        or gen.get("response_schema")
    )
    user_turns, user_chars, images = _count_contents(body.get("contents"))
    summary = (
        f"Offline demo analysis: the conversation had {user_turns} user turn(s) with "
        f"{user_chars} characters of text and {images} image(s); no Gemini model was "
        "available, so this text was generated from the request shape only."
    )

    def make_string(path: str) -> str:
        # Short, honest, field-specific text: the page stays readable in the offline demo.
        name = (path.rsplit(".", 1)[-1] if path else "text").split("[", 1)[0]
        if name == "summary":
            return "Offline demo summary: " + summary.removeprefix("Offline demo analysis: ")
        if name in ("time", "due"):
            return "00:00"
        if name == "quote":
            return "(offline demo: nothing was transcribed)"
        label = name.replace("_", " ").strip() or "text"
        return f"Offline demo: Gemini would list {label} here."

    cfg = self.config
    if isinstance(schema, dict):
        if cfg.rest_bad_responses > 0:
            cfg.rest_bad_responses -= 1
            value: Any = schema_fill.violate(schema)
            log.info("rest: deliberately schema-violating answer")
        else:
            value = schema_fill.fill(schema, make_string)
        text = json.dumps(value, ensure_ascii=False)
    elif str(gen.get("responseMimeType", gen.get("response_mime_type", ""))) == "application/json":
        text = json.dumps({"text": summary})
    else:
        text = summary
    prompt_tokens = (
        voice.text_tokens(json.dumps(body.get("contents", []), default=str))
        + voice.IMAGE_TOKENS * images
    )
    response_tokens = voice.text_tokens(text)
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": response_tokens,
            "totalTokenCount": prompt_tokens + response_tokens,
        },
        "modelVersion": model,
        "responseId": secrets.token_urlsafe(12),
    }


def _status_name(status: int) -> str:
    return {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        499: "CANCELLED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "UNKNOWN")


def _count_contents(contents: Any) -> tuple[int, int, int]:
    """(user turns, characters of user text, images) in a generateContent ``contents`` list."""
    turns = chars = images = 0
    if isinstance(contents, dict):
        contents = [contents]
    if isinstance(contents, str):
        return 1, len(contents), 0
    for content in contents or []:
        if not isinstance(content, dict) or content.get("role", "user") != "user":
            continue
        turns += 1
        for part in content.get("parts", []) or []:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    chars += len(part["text"])
                blob = part.get("inlineData") or part.get("inline_data")
                if isinstance(blob, dict) and str(
                    blob.get("mimeType", blob.get("mime_type", ""))
                ).startswith("image/"):
                    images += 1
    return turns, chars, images
