"""Media: the microphone's audio and the camera's frames, the voice detector, the
playback buffer, the echo guard and the barge-in policy (pure; no network, no Gradio)."""
