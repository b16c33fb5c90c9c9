"""Pure building blocks of the session recorder (see `googlive.features.recording.recorder`).

`mixer` places voices on one sample-accurate timeline; `video` decides which camera frame
shows in which output slot and fits frames to the output size. Neither does file I/O.
"""
