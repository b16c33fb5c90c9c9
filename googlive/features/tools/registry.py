"""Tool registry and dispatch: declarations for the Live setup, and calls answered safely.

`ToolRegistry.dispatch(call)` promises a `ToolResult` carrying the call's id for every call
(unknown tool, bad arguments, handler exception and timeout all become an `{"error": ...}`
response, never an exception), or `None` when the call was cancelled with `cancel(ids)`: a
cancelled call's result must not be sent. Cancellation of the task awaiting `dispatch` itself
propagates (after the handler task is cancelled and awaited).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from googlive.live.events import ToolCall

if TYPE_CHECKING:
    from google.genai import types
    from google.genai.types import FunctionResponseScheduling as Scheduling

log = logging.getLogger(__name__)

ToolHandler = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]
"""`async handler(args, call_id) -> response dict`; args are validated when a model is given."""


def __getattr__(name: str) -> Any:
    """`Scheduling` (types.FunctionResponseScheduling), imported when first asked for: this
    module is imported to build the page, which must not load google-genai."""
    if name == "Scheduling":
        from google.genai import types

        return types.FunctionResponseScheduling
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class ResponseScheduling:
    """How a NON_BLOCKING call's answer enters the conversation (gemini-3.8-live; ignored for
    blocking calls): `ok` for a result, `error` for an `{"error": ...}` answer, each a
    FunctionResponseScheduling member or its name ("SILENT"); `for_response` gives the member.

    google-genai FunctionResponseScheduling: SILENT "only add the result to the conversation
    context, do not interrupt or trigger generation"; WHEN_IDLE "prompt to generate output
    without interrupting ongoing generation" (the default when unset); INTERRUPT "interrupt
    ongoing generation and prompt to generate output" (3.8 waits while the user speaks:
    Vertex "Migrate from Gemini 2.5 Flash Live API native audio to Gemini 3.8 Live").
    """

    ok: Scheduling | str = "WHEN_IDLE"
    # An error is something the model should say or fix, but not by talking over itself.
    error: Scheduling | str = "WHEN_IDLE"

    def for_response(self, response: dict[str, Any]) -> Scheduling:
        from google.genai import types

        return types.FunctionResponseScheduling(self.error if "error" in response else self.ok)


DEFAULT_SCHEDULING = ResponseScheduling()


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The answer to one call: what goes into a FunctionResponse."""

    id: str
    name: str
    response: dict[str, Any]
    scheduling: Scheduling | None = None

    @property
    def is_error(self) -> bool:
        return "error" in self.response

    def to_function_response(self) -> types.FunctionResponse:
        from google.genai import types

        return types.FunctionResponse(
            id=self.id, name=self.name, response=self.response, scheduling=self.scheduling
        )


@dataclass(frozen=True, slots=True)
class _Tool:
    declaration: types.FunctionDeclaration
    handler: ToolHandler
    args_model: type[BaseModel] | None
    timeout_s: float | None
    scheduling: ResponseScheduling


def _validation_message(e: ValidationError) -> str:
    # Locations and messages only: never echo the input values.
    parts = []
    for err in e.errors(include_url=False, include_input=False, include_context=False)[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ())) or "arguments"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


class ToolRegistry:
    """Declarations plus async handlers, looked up by function name."""

    def __init__(self, default_timeout_s: float = 10.0, *, remember_cancelled: int = 256) -> None:
        self._tools: dict[str, _Tool] = {}
        self._default_timeout_s = default_timeout_s
        self._running: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._remember_cancelled = remember_cancelled

    def add(self, spec: Any) -> None:
        """Add a tool a feature offers (googlive.features.api.ToolSpec)."""
        self.register(
            spec.declaration,
            spec.handler,
            args_model=spec.args_model,
            timeout_s=spec.timeout_s,
            scheduling=spec.scheduling,
        )

    def register(
        self,
        declaration: types.FunctionDeclaration,
        handler: ToolHandler,
        *,
        args_model: type[BaseModel] | None = None,
        timeout_s: float | None = None,
        scheduling: ResponseScheduling | None = None,
    ) -> None:
        """Add a tool; raises ValueError if the name is missing or already taken.
        `scheduling` picks each answer's FunctionResponse.scheduling (default: WHEN_IDLE)."""
        name = declaration.name
        if not name:
            raise ValueError("a tool declaration needs a name")
        if name in self._tools:
            raise ValueError(f"tool {name!r} is already registered")
        self._tools[name] = _Tool(
            declaration, handler, args_model, timeout_s, scheduling or DEFAULT_SCHEDULING
        )

    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def declarations(self) -> list[types.Tool]:
        """The `tools` value for LiveConnectConfig (empty list when nothing is registered)."""
        if not self._tools:
            return []
        from google.genai import types

        return [types.Tool(function_declarations=[t.declaration for t in self._tools.values()])]

    @property
    def running_ids(self) -> tuple[str, ...]:
        return tuple(self._running)

    def cancel(self, ids: Iterable[str]) -> None:
        """Cancel these calls: running handlers are cancelled, and their results dropped."""
        for call_id in ids:
            self._cancelled[call_id] = None
            self._cancelled.move_to_end(call_id)
            while len(self._cancelled) > self._remember_cancelled:
                self._cancelled.popitem(last=False)
            task = self._running.get(call_id)
            if task is not None:
                task.cancel()

    def _error(self, call_id: str, name: str, message: str) -> ToolResult:
        tool = self._tools.get(name)
        policy = tool.scheduling if tool is not None else DEFAULT_SCHEDULING
        response = {"error": message}
        return ToolResult(call_id, name, response, policy.for_response(response))

    async def dispatch(self, call: ToolCall, timeout_s: float | None = None) -> ToolResult | None:
        """Run the call's handler; see the module docstring for what is promised."""
        call_id = str(call.id) if call.id is not None else ""
        name = str(call.name) if call.name is not None else ""
        if call_id in self._cancelled:
            return None
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return self._error(
                call_id, name, f"Unknown tool {name[:64]!r}. Available tools: {known}."
            )
        raw = call.args if isinstance(call.args, dict) else None
        if raw is None and call.args is not None:
            return self._error(call_id, name, "Bad arguments: expected an object.")
        args: dict[str, Any] = dict(raw or {})
        if tool.args_model is not None:
            try:
                args = tool.args_model.model_validate(args).model_dump()
            except ValidationError as e:
                return self._error(call_id, name, f"Bad arguments: {_validation_message(e)}")
            except Exception as e:  # a model validator raising something odd
                log.warning(
                    "tool %s id=%s argument validation raised %s", name, call_id, type(e).__name__
                )
                return self._error(call_id, name, "Bad arguments.")
        limit = timeout_s if timeout_s is not None else (tool.timeout_s or self._default_timeout_s)
        task = asyncio.create_task(tool.handler(args, call_id), name=f"tool:{name}:{call_id}")
        if call_id:
            self._running[call_id] = task
        t0 = time.perf_counter()
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        finally:
            if not task.done():
                task.cancel()
            try:
                await asyncio.shield(asyncio.gather(task, return_exceptions=True))
            finally:
                if self._running.get(call_id) is task:
                    del self._running[call_id]
        elapsed_ms = (time.perf_counter() - t0) * 1000
        if call_id in self._cancelled:
            log.info(
                "tool %s id=%s cancelled after %.0f ms; result dropped", name, call_id, elapsed_ms
            )
            return None
        if not done:
            log.warning("tool %s id=%s timed out after %.1f s", name, call_id, limit)
            return self._error(call_id, name, f"The tool {name} timed out after {limit:g} seconds.")
        if task.cancelled():
            return self._error(call_id, name, f"The tool {name} was cancelled.")
        exc = task.exception()
        if exc is not None:
            log.warning("tool %s id=%s failed with %s", name, call_id, type(exc).__name__)
            return self._error(call_id, name, f"The tool {name} failed internally.")
        result = task.result()
        if not isinstance(result, dict):
            log.warning(
                "tool %s id=%s returned %s, not a dict", name, call_id, type(result).__name__
            )
            return self._error(call_id, name, f"The tool {name} failed internally.")
        log.info("tool %s id=%s answered in %.0f ms", name, call_id, elapsed_ms)
        return ToolResult(call_id, name, result, tool.scheduling.for_response(result))

    async def aclose(self) -> None:
        """Cancel and await every running handler (results are dropped)."""
        tasks = list(self._running.values())
        self.cancel(list(self._running))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
