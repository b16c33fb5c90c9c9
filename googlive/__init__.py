"""googlive: live voice and video conversation with Gemini Live."""

__version__ = "0.1.0"
