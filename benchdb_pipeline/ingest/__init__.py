"""Ingestion: adapters per producer format, normalisation, validation, the ledger. No Dagster here."""
