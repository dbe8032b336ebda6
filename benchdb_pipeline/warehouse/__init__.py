"""The warehouse: one schema and the store that loads it. No Dagster here."""
