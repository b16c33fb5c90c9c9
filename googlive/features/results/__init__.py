"""End of session: the live session archive, End session, the Results view and Past sessions.

- `feature.ArchiveFeature` writes every call's session to the data directory as it happens;
  `feature.archive_factory` builds it first and makes it `Links.archive`, which the other
  features' factories pass to them.
- `ui.ResultsPlugin` adds the End session button, the Results tab and the Past sessions tab.
"""
