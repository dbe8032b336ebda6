"""Reports and renderings of warehouse data. No Dagster here."""
