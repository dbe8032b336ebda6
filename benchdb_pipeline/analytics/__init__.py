"""Analytics over the warehouse: regression checks (and, later, change points, trends and
predictions). Plain Python over DuckDB; no Dagster here."""
