"""Topic sizes over time, from the ``date`` column articles may carry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from embed.read.dates import stored_dates

__all__ = ["topics_over_time"]


def topics_over_time(table: pd.DataFrame, labels: np.ndarray, freq: str = "D") -> pd.DataFrame:
    """Paragraph counts per topic and period: columns topic, period, count.

    Args:
        table: an index's paragraph table (a ``date`` column, when present).
        labels: the topic of each row (-1 rows are left out).
        freq: a pandas period alias ("D", "W", "M", "Y", ...).
    """
    columns = ["topic", "period", "count"]
    if "date" not in table.columns:
        return pd.DataFrame(columns=columns)
    dates = stored_dates(table["date"])
    frame = pd.DataFrame({"topic": labels, "date": dates})
    frame = frame[(frame["topic"] >= 0) & frame["date"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["period"] = frame["date"].dt.to_period(freq).dt.start_time
    out = frame.groupby(["topic", "period"]).size().reset_index(name="count")
    return out[columns].sort_values(["period", "topic"]).reset_index(drop=True)
