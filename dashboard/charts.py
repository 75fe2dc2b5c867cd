"""A server-rendered SVG chart: no JavaScript, no CDN."""

from dataclasses import dataclass

COLORS = {
    "queued": "#79aec8", "retrying": "#f5b041", "sent": "#2e8b57", "delivered": "#1e6b3a",
    "bounced": "#7d3c98", "complained": "#a04000", "failed": "#ba2121", "discarded": "#999999",
    "resent": "#117a8b", "deferred": "#b7950b", "scheduled": "#5b6dae", "canceled": "#6c6c6c",
    "expired": "#8a5a44",
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


def stacked_bars(hourly, statuses, *, width=720, height=160):
    """Bars for [(hour, {status: count})], stacked by status, scaled to the
    busiest hour. Returns (bars, axis labels, peak)."""
    peak = max((sum(counts.get(s, 0) for s in statuses) for _, counts in hourly), default=0) or 1
    slot = width / max(len(hourly), 1)
    bars, labels = [], []
    for i, (hour, counts) in enumerate(hourly):
        base = height
        for status in statuses:
            count = counts.get(status, 0)
            if not count:
                continue
            size = count / peak * (height - 10)
            base -= size
            bars.append(Bar(i * slot + 1, round(base, 1), round(slot - 2, 1), round(size, 1),
                            COLORS.get(status, "#666"), f"{hour}:00 UTC — {count} {status}"))
        if i % 3 == 0:
            labels.append((round(i * slot + slot / 2, 1), hour[11:13] + "h"))
    return bars, labels, peak
