"""End of session: the live session archive, End session, the Results view and Past sessions.

- `feature.ArchiveFeature` (feature name "archive") writes every connection's session to the
  data directory as it happens; other features find it with `h.feature("archive").archive`.
- `ui.ResultsPlugin` adds the End session button, the Results tab and the Past sessions tab.
"""
