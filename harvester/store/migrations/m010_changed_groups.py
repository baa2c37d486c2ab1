"""Version 10: changed_groups, the record groups (source, kind, subject) a saved page changed
since the last drafting pass, so the next pass re-runs the rules over those groups only.
`token` changes with every page that marks the group again: a pass clears a mark only if it
still holds the token the pass read."""

from __future__ import annotations

import sqlalchemy as sa


def apply(conn: sa.Connection) -> None:
    conn.execute(sa.text(
        "CREATE TABLE changed_groups (owner VARCHAR(200) NOT NULL, source VARCHAR(200) NOT NULL, "
        "kind VARCHAR(100) NOT NULL, subject VARCHAR(500) NOT NULL, token VARCHAR(32) NOT NULL, "
        "CONSTRAINT pk_changed_groups PRIMARY KEY (owner, source, kind, subject))"))
