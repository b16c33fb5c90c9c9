"""The feature API (api) and one package per feature: tools, survey, recording (with
the WebM writer and captions), results (archive, analysis, Results and Past sessions), metrics."""
