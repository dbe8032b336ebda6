from datetime import datetime

import pytest

from benchdb_pipeline.ingest.timestamps import parse_timestamp


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2025-03-06T17:45:26.506441", datetime(2025, 3, 6, 17, 45, 26, 506441)),
        ("20250302_201142", datetime(2025, 3, 2, 20, 11, 42)),
        ("2025-03-02 20:11:42", datetime(2025, 3, 2, 20, 11, 42)),
        ("2025-03-02T20:11:42Z", datetime(2025, 3, 2, 20, 11, 42)),
        ("2025-03-02T22:11:42+02:00", datetime(2025, 3, 2, 20, 11, 42)),
        (1741000000, datetime(2025, 3, 3, 11, 6, 40)),
        (1741000000000, datetime(2025, 3, 3, 11, 6, 40)),
    ],
)
def test_forms(raw, expected):
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize("raw", ["soon", "", True, [], "1899-01-01T00:00:00", 5])
def test_rejects(raw):
    with pytest.raises(ValueError):
        parse_timestamp(raw)
