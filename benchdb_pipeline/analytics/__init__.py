"""Analytics over the warehouse: change points, anomalies, trends, comparisons, regression
checks and predictions. Plain Python over DuckDB; no Dagster here."""

# What `benchdb analyze` runs, named here so that the command line lists them without
# importing the analyses (~0.2 s at every start of `benchdb`).
ANALYSES = (
    "change-points",
    "anomaly-detection",
    "performance-trends",
    "hardware-comparison",
    "model-comparison",
    "batch-scaling",
    "correlation-analysis",
    "performance-prediction",
)
