"""When the local model speaks, yields or interrupts: pure decisions and the words it says.

- :class:`PoliteWatch` decides, for gemini-3.8-live's polite interruption, whether user speech
  that began while the model was talking is a backchannel (it does not interrupt) or a real
  interruption, from the *voiced* audio time since its onset (``EnergyVad.voiced_s``).
- :func:`deliver` decides what a non-blocking function response does, from its ``scheduling``
  and who is talking (google-genai ``FunctionResponseScheduling``; Vertex "Migrate from Gemini
  2.5 Flash Live API Native Audio to Gemini 3.8 Live", the "scheduling=interrupt" table).
- The ``*_text`` functions are the exact transcripts the server speaks, so tests can rely on
  them (the report of the change lists them).

Timing of a polite interruption (what the app's barge-in policy sees): the user's speech onset
at audio time 0; if the user goes on past ``backchannel_max_s`` of voiced audio, the server
decides it is an interruption at that point and sends ``interrupted`` ``polite_interrupt_delay_s``
(wall clock) later: with the defaults 0.6 s + 0.3 s, about 0.9 s after the onset when audio
arrives in real time. Speech that stops before 0.6 s voiced never interrupts; the reply just
goes on (the app should resume playback once the sound ended and no ``interrupted`` came).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# A backchannel ("mm-hm", "yeah", a short laugh) or a cough lasts well under a second: in
# conversational corpora most backchannels are single short words of about 0.2-0.5 s. The
# default limit, 0.6 s of voiced audio, keeps those (and a 250 ms "mm-hm" with margin) from
# interrupting, while a real interruption ("wait, that's not what I meant") goes past it.
# The cost: a one-word "stop" (~0.4 s) does not interrupt either; the offline server cannot
# understand words, the real model can. Both are FakeLiveConfig knobs.
DEFAULT_BACKCHANNEL_MAX_S = 0.6
DEFAULT_POLITE_INTERRUPT_DELAY_S = 0.3


@dataclass
class PoliteWatch:
    """One stretch of user speech that began while the model was talking."""

    limit_s: float
    triggered: bool = False

    def update(self, voiced_s: float) -> bool:
        """Feed the voiced time so far; True exactly once, when it passes the limit."""
        if self.triggered or voiced_s < self.limit_s:
            return False
        self.triggered = True
        return True

    @property
    def is_backchannel(self) -> bool:
        """At the end of the speech: True if it never passed the limit."""
        return not self.triggered


class Delivery(enum.Enum):
    """What a function response does when it arrives."""

    SILENT = "silent"  # enters context; no speech at all
    SPEAK_NOW = "speak_now"  # nobody talks: speak about the result now
    INTERRUPT = "interrupt"  # cut the model's current turn, then speak about the result
    QUEUE = "queue"  # speak once the model's turn is over and the user is silent


SCHEDULINGS = ("SILENT", "WHEN_IDLE", "INTERRUPT")


def scheduling_of(value: str | None) -> str:
    """The scheduling in force: WHEN_IDLE when unset or SCHEDULING_UNSPECIFIED ("Defaults to
    WHEN_IDLE", google-genai types.py ``FunctionResponseScheduling``)."""
    name = str(value or "").upper()
    return name if name in SCHEDULINGS else "WHEN_IDLE"


def deliver(
    scheduling: str | None,
    *,
    model_speaking: bool,
    user_speaking: bool,
    interrupt_waits_for_user: bool,
) -> Delivery:
    """What a NON_BLOCKING call's response does.

    SILENT: "Only add the result to the conversation context, do not interrupt or trigger
    generation". WHEN_IDLE: "prompt to generate output without interrupting ongoing
    generation" -> wait while either side talks. INTERRUPT: "interrupt ongoing generation and
    prompt to generate output"; while the *user* speaks, 3.8 "waits for the user to finish"
    and 2.5 interrupts at once (Vertex migration table).
    """
    name = scheduling_of(scheduling)
    if name == "SILENT":
        return Delivery.SILENT
    if name == "INTERRUPT":
        if user_speaking and interrupt_waits_for_user:
            return Delivery.QUEUE
        return Delivery.INTERRUPT if model_speaking else Delivery.SPEAK_NOW
    if model_speaking or user_speaking:
        return Delivery.QUEUE
    return Delivery.SPEAK_NOW


def filler_text(turn: int, tool: str) -> str:
    """What the model says right after a NON_BLOCKING call, while the tool runs."""
    return f"Offline demo, turn {turn}: one moment, I am using {tool}."


def result_sentence(tool: str, status: str, seen: str | None = None) -> str:
    """One sentence about a tool's result (``status`` from ``script.ToolOutcome``), followed
    by what was seen for take_picture."""
    if status == "ok":
        text = f"The {tool} tool answered ok."
    elif status == "error":
        text = f"The {tool} tool reported an error."
    else:
        text = f"The {tool} tool did not answer in time."
    return f"{text} {seen}" if seen else text


def result_text(turn: int, sentences: list[str]) -> str:
    """A model turn spoken about tool results (not in reply to the user)."""
    return f"Offline demo, turn {turn} (tool result): " + " ".join(sentences)


def backchannel_text(voiced_s: float) -> str:
    """Input transcription of a backchannel the model let pass."""
    return f"[offline demo heard a {voiced_s:.1f} s backchannel]"
