"""The web dashboard (``/ui``): explore series, compare runs and machines, triage regressions."""
