"""The rules' findings, by fingerprint: what each draft was computed from."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from harvester.models import Finding, ensure_utc, utcnow
from harvester.store import schema
from harvester.store.rows import finding_body
from harvester.store.upsert import upsert_rows


class FindingsMixin:
    engine: sa.Engine
    owner: str

    def save_findings(self, findings: Sequence[Finding]) -> None:
        now = utcnow()
        rows = {}
        for f in findings:
            rows[f.fingerprint] = {
                "owner": self.owner, "fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind,
                "source": f.source, "subject": f.subject, "occurred_at": ensure_utc(f.occurred_at),
                "period": f.period, "body": finding_body(f), "updated_at": now,
            }
        if rows:
            with self.engine.begin() as conn:
                upsert_rows(conn, schema.findings, list(rows.values()), key=("owner", "fingerprint"))

    def finding_fingerprints(self) -> set[str]:
        t = schema.findings
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.c.fingerprint).where(t.c.owner == self.owner)).scalars())

    def load_finding_identities(self, subjects: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """fingerprint, kind, source, subject, identity and record ids of the stored findings
        of these (kind, source, subject) triples."""
        wanted = set(subjects)
        if not wanted:
            return []
        t = schema.findings
        q = sa.select(t.c.fingerprint, t.c.kind, t.c.source, t.c.subject, t.c.body).where(
            t.c.owner == self.owner, t.c.kind.in_(sorted({k for k, _, _ in wanted})),
            t.c.subject.in_(sorted({s for _, _, s in wanted})))
        out = []
        with self.engine.connect() as conn:
            for row in conn.execute(q).mappings():
                if (row["kind"], row["source"], row["subject"]) in wanted:
                    body = row["body"] or {}
                    out.append({"fingerprint": row["fingerprint"], "kind": row["kind"], "source": row["source"],
                                "subject": row["subject"], "identity": list(body.get("identity") or ()),
                                "record_ids": list(body.get("record_ids") or ())})
        return out
