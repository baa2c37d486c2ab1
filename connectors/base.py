"""The connector protocol and the default cursor arithmetic."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, Iterable, Iterator, Sequence, TypeVar

from harvester.config import IdentitySettings
from harvester.errors import MalformedItemError
from harvester.models import Cursor, Record, ensure_utc, utcnow

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

    def __init__(self, instance: str, settings: Any, identity: IdentitySettings):
        self.instance = instance
        self.settings = settings
        self.identity = identity
        self.requests = 0
        # Items skipped because they could not be read, by plural noun ("runs", "pull requests").
        self.skipped: Counter[str] = Counter()

    def check(self) -> None:
        """Validate what can be validated without the network (e.g. secrets are set)."""

    def check_target(self) -> None:
        """Before a harvest: refuse a source that reading would create (a file store's missing
        folder). `doctor` skips this and reports such a source itself."""

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        raise NotImplementedError

    def advance_cursor(self, stream: str, cursor: Cursor | None, page: Sequence[Record],
                       final: bool = False) -> Cursor | None:
        """Default: a watermark on occurred_at plus the ids seen at that exact instant.
        `final` is true for the call after a stream's last page."""
        return watermark_cursor(self.instance, stream, cursor, page, lambda r: r.occurred_at)

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


def watermark_cursor(source: str, stream: str, cursor: Cursor | None, page: Sequence[Record], time_of) -> Cursor | None:
    if not page:
        return cursor
    best = max(ensure_utc(time_of(r)) for r in page)
    old = datetime.fromisoformat(cursor.value) if cursor and cursor.value else None
    if old and old > best:
        return cursor
    seen = {r.external_id for r in page if ensure_utc(time_of(r)) == best}
    if old == best and cursor:
        seen |= set(cursor.seen_ids)
    state = dict(cursor.state) if cursor else {}
    return Cursor(source=source, stream=stream, value=best.isoformat(), seen_ids=frozenset(seen), state=state,
                  updated_at=utcnow())
