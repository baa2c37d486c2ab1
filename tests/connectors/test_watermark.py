"""The declared watermark every time-cursor stream keeps (connectors/base.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from harvester.connectors.base import HarvestWindow, Watermark
from harvester.models import Cursor, Record

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def item(external_id: str, when: datetime, updated: datetime | None = None) -> Record:
    return Record(source="s", kind="item", external_id=external_id, occurred_at=when, subject="x",
                  attributes={"updated_at": (updated or when).isoformat()})


def test_advance_keeps_the_ids_at_the_newest_instant():
    cursor = Watermark().advance("s", "items", None, [item("a", T0), item("b", T0 + timedelta(minutes=1)),
                                                      item("c", T0 + timedelta(minutes=1))])
    assert cursor.value == (T0 + timedelta(minutes=1)).isoformat() and cursor.seen_ids == {"b", "c"}
    again = Watermark().advance("s", "items", cursor, [item("d", T0 + timedelta(minutes=1))])
    assert again.seen_ids == {"b", "c", "d"}
    assert Watermark().advance("s", "items", again, [item("e", T0)]) is again  # an older page leaves it
    assert Watermark().advance("s", "items", again, []) is again


def test_an_attribute_field_an_overlap_and_a_dedupe_key():
    mark = Watermark("updated_at", timedelta(minutes=10), lambda r: f"{r.external_id}@{r.attributes['updated_at']}")
    page = [item("a", T0, updated=T0 + timedelta(hours=2)), item("b", T0 + timedelta(hours=1))]
    cursor = mark.advance("s", "items", None, page)
    assert cursor.value == (T0 + timedelta(hours=2)).isoformat()
    assert cursor.seen_ids == {f"a@{(T0 + timedelta(hours=2)).isoformat()}"}
    assert mark.latest(cursor, [item("c", T0)]) == T0 + timedelta(hours=2)
    assert [r.external_id for r in mark.unseen(cursor, page)] == ["b"]
    assert mark.horizon(T0) == T0 - timedelta(minutes=11)
    window = HarvestWindow(since=T0 - timedelta(days=30), forced=False, started_at=T0 + timedelta(days=1))
    assert mark.start(cursor, window) == T0 + timedelta(hours=2) - timedelta(minutes=10)
    assert mark.start(None, window) == window.since
    forced = HarvestWindow(since=T0 - timedelta(days=3), forced=True, started_at=T0)
    assert mark.start(cursor, forced) == forced.since


def test_a_record_without_the_field_is_not_a_time():
    mark = Watermark("resolved_at")
    assert mark.time_of(item("a", T0)) is None
    assert mark.advance("s", "items", None, [item("a", T0)]) is None
    assert mark.latest(Cursor(source="s", stream="items", value=T0.isoformat()), []) == T0
