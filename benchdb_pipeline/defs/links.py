"""Links from the Dagster UI to the dashboard page that shows what an asset describes."""

import dagster as dg

from benchdb_pipeline.config import dashboard_url


def dashboard(path: str) -> dict[str, dg.MetadataValue]:
    """Metadata with a ``dashboard`` link to ``path`` (``/ui/…``) when
    ``BENCHDB_DASHBOARD_URL`` is set; nothing otherwise."""
    url = dashboard_url(path)
    return {"dashboard": dg.MetadataValue.url(url)} if url else {}
