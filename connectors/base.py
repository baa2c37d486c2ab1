"""The connector protocol and the watermark cursor most streams keep."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Sequence, TypeVar

from harvester.config import IdentitySettings
from harvester.errors import MalformedItemError
from harvester.models import Cursor, Record, ensure_utc, utcnow

if TYPE_CHECKING:
    from harvester.team import Member

log = logging.getLogger("harvester")
Item = TypeVar("Item")
Parsed = TypeVar("Parsed")


@dataclass(frozen=True)
class HarvestWindow:
    """What the harvest loop asks of a connector: where to start when a stream has no cursor
    (or the user forced a start with --since), and when the harvest began."""

    since: datetime
    forced: bool
    started_at: datetime

    def start(self, cursor: Cursor | None, overlap: timedelta = timedelta(0)) -> datetime:
        """The lower time bound for a stream: --since when forced, else the cursor less an overlap."""
        if self.forced or cursor is None or cursor.value is None:
            return self.since
        return datetime.fromisoformat(cursor.value) - overlap


class Connector:
    """Base class. Subclasses set `type_name`, `settings_class`, `streams`, and implement `fetch`.

    `fetch(stream, cursor, window)` yields records in ascending time for that stream.
    `advance_cursor` computes the cursor after a page; the harvest loop saves it
    in the same transaction as the page.
    """

    type_name: ClassVar[str] = ""
    settings_class: ClassVar[type]
    streams: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    # Reads every member of a team in one pass (`members` set, `identity` everyone's handles)
    # and records who logged each item in `actor`, which attributes it to its member.
    reads_for_team: ClassVar[bool] = False

    def __init__(self, instance: str, settings: Any, identity: IdentitySettings):
        self.instance = instance
        self.settings = settings
        self.identity = identity
        self.requests = 0
        self.members: tuple[Member, ...] = ()  # set on a team's harvest
        # Items skipped because they could not be read, by plural noun ("runs", "pull requests").
        self.skipped: Counter[str] = Counter()

    def check(self) -> None:
        """Validate what can be validated without the network (e.g. secrets are set)."""

    def check_target(self) -> None:
        """Before a harvest: refuse a source that reading would create (a file store's missing
        folder). `doctor` skips this and reports such a source itself."""

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        raise NotImplementedError

    def watermark(self, stream: str) -> Watermark:
        """How a stream's cursor follows its records. Default: the latest occurred_at, no overlap."""
        return Watermark()

    def advance_cursor(self, stream: str, cursor: Cursor | None, page: Sequence[Record],
                       final: bool = False) -> Cursor | None:
        """Default: the stream's watermark after `page`. `final` is true for the call after a
        stream's last page."""
        return self.watermark(stream).advance(self.instance, stream, cursor, page)

    def close(self) -> None:
        """Release clients and sessions."""

    def skip_malformed(self, error: MalformedItemError) -> None:
        """Count an item the parser could not read and log which one, so one bad item never
        fails its source. `error.what` is the plural noun the summary prints ("3 runs skipped")."""
        self.skipped[error.what] += 1
        log.warning("%s: skipped malformed %s", self.instance, error)

    def parse_each(self, items: Iterable[Item], parse: Callable[[Item], Parsed | None]) -> Iterator[Parsed]:
        """`parse` over `items`, skipping (and counting) those that raise MalformedItemError
        and those it returns None for."""
        for item in items:
            try:
                parsed = parse(item)
            except MalformedItemError as exc:
                self.skip_malformed(exc)
                continue
            if parsed is not None:
                yield parsed


def external_id_of(record: Record) -> str:
    return record.external_id


@dataclass(frozen=True)
class Watermark:
    """A cursor that is the latest time of one record field. Each harvest reads from `overlap`
    before it, so what changed while the last one ran is read again; `dedupe_key` tells the
    records at the boundary that are already stored (the cursor's `seen_ids`)."""

    field: str = "occurred_at"  # or the name of an attribute holding an ISO time
    overlap: timedelta = timedelta(0)
    dedupe_key: Callable[[Record], str] = external_id_of

    def time_of(self, record: Record) -> datetime | None:
        if self.field == "occurred_at":
            return ensure_utc(record.occurred_at)
        value = record.attributes.get(self.field)
        try:
            return ensure_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
        except ValueError:
            return None

    def start(self, cursor: Cursor | None, window: HarvestWindow) -> datetime:
        """The lower bound of the next read: --since when forced, else the watermark less the overlap."""
        return window.start(cursor, self.overlap)

    def horizon(self, value: datetime) -> datetime:
        """The earliest time the read after a watermark of `value` reaches back to, with a
        minute's slack: what is older needs no remembering."""
        return value - self.overlap - timedelta(minutes=1)

    def unseen(self, cursor: Cursor | None, records: Iterable[Record]) -> Iterator[Record]:
        """`records` less those the cursor remembers from the boundary."""
        seen = cursor.seen_ids if cursor else frozenset()
        return (r for r in records if self.dedupe_key(r) not in seen)

    def latest(self, cursor: Cursor | None, page: Sequence[Record]) -> datetime | None:
        """The later of the cursor's watermark and the newest record of `page`."""
        times = [t for t in (self.time_of(r) for r in page) if t is not None]
        if cursor and cursor.value:
            times.append(datetime.fromisoformat(cursor.value))
        return max(times) if times else None

    def advance(self, source: str, stream: str, cursor: Cursor | None, page: Sequence[Record]) -> Cursor | None:
        """The cursor after `page`: the newest time, with the keys of the records at that very
        instant (joined to those already remembered there). A page older than the cursor leaves it."""
        times = {id(r): t for r in page if (t := self.time_of(r)) is not None}
        if not times:
            return cursor
        best = max(times.values())
        old = datetime.fromisoformat(cursor.value) if cursor and cursor.value else None
        if old and old > best:
            return cursor
        seen = {self.dedupe_key(r) for r in page if times.get(id(r)) == best}
        if old == best and cursor:
            seen |= set(cursor.seen_ids)
        state = dict(cursor.state) if cursor else {}
        return Cursor(source=source, stream=stream, value=best.isoformat(), seen_ids=frozenset(seen), state=state,
                      updated_at=utcnow())
