"""One Gemini Live session across reconnects: the sans-I/O protocol core (protocol),
the setup (setup, models), what is pending (outbox, audioend), the event queue, retry
policy, and the session's I/O (session)."""
