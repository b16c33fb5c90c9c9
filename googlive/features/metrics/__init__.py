"""Diagnostics for one conversation: voice-to-voice latency, input level and who is speaking,
token usage with an estimated cost, and a bounded, redacted event log.

Pure logic lives in latency.py, usage.py, eventlog.py and ui.py (rendering); feature.py plugs it
into the handler and the page, behind one "Show diagnostics" toggle.
"""
