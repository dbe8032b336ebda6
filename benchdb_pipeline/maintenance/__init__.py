"""Maintenance: verified backups and restore, integrity checks (no Dagster here)."""
