"""A drafting pass over what changed drafts exactly what a full pass drafts: over randomized
histories of runs, model versions, PRs, tickets, reviews and releases harvested in random
batches, with the engineer deciding drafts in between; and it leaves decided work alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from itertools import count

from hypothesis import HealthCheck, given, settings, strategies as st

from harvester.config import parse_config
from harvester.connectors.jira.connector import JiraSettings
from harvester.connectors.jira.parse import parse_issue
from harvester.drafting.redraft import redraft, redraft_if_changed
from harvester.records import (make_model_version_attributes, make_model_version_record, make_pull_request_attributes,
                               make_pull_request_record, make_registry_attributes, make_release_attributes,
                               make_release_record, make_review_attributes, make_review_record, make_run_attributes,
                               make_run_record)
from harvester.settings import build_settings
from tests.support.jira import CLOUD, ME_ACCOUNT, cloud_user, issue, parent_ref

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
EXPERIMENTS = ("fraud", "churn")
REPOS = ("acme/fraud", "acme/serving")
JIRA = build_settings(JiraSettings, {"url": CLOUD}, "t")
owners = count()


def config(**rules):
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]}, "rules": rules}, None)


def run_id(i: int) -> str:
    return f"{i + 1:032x}"


def run(i: int, experiment: str, day: int, auc: float, latency: int):
    when = T0 + timedelta(days=day)
    rid = run_id(i)
    attributes = make_run_attributes(status="finished", metrics={"val_auc": auc, "p99_latency_ms": latency},
                                     params={"lr": str(i % 3)}, name=f"run-{i}", experiment_id=experiment,
                                     experiment_url=f"http://mlflow/#/experiments/{experiment}",
                                     started_at=when.isoformat(), ended_at=when.isoformat())
    return make_run_record("mlflow", rid, when, experiment, attributes, actor="ada", mine=True, title=f"run-{i}",
                           url=f"http://mlflow/#/experiments/{experiment}/runs/{rid}")


def model_version(v: int, i: int, serving: bool):
    attributes = make_model_version_attributes(make_registry_attributes(model="fraud-model", version=str(v),
                                                                        run_id=run_id(i)), serving=serving)
    return make_model_version_record("mlflow", f"fraud-model/{v}", T0 + timedelta(days=30 + v), "fraud-model",
                                     attributes, actor="ada", mine=True, title=f"fraud-model v{v}")


def pull_request(n: int, repo: str, i: int, k: int, day: int):
    merged = T0 + timedelta(days=day)
    title = f"Add focal loss to the {repo.split('/')[1]} model, step {n}"
    body = f"Implements FRAUD-{k}.\n\nBest run: http://mlflow/#/experiments/fraud/runs/{run_id(i)}"
    attributes = make_pull_request_attributes(title=title, number=n, repo=repo, merged_at=merged.isoformat(),
                                              updated_at=merged.isoformat(), body=body, author_id=101,
                                              author_login="ada")
    return make_pull_request_record("github", str(900000 + n), merged, repo, attributes, actor="ada", mine=True,
                                    title=title, url=f"https://github.com/{repo}/pull/{n}")


def ticket(k: int, day: int, under_epic: bool, summary: int):
    resolved = T0 + timedelta(days=day)
    raw = issue(f"FRAUD-{k}", f"Reduce false negatives, part {summary}", resolved=resolved, assignee=cloud_user(),
                created=resolved - timedelta(days=6), parent=parent_ref("FRAUD-50", "Fraud v2") if under_epic else None)
    return parse_issue(raw, "jira", CLOUD, frozenset({ME_ACCOUNT}), JIRA)


def review(n: int, repo: str, day: int, state: str):
    at = T0 + timedelta(days=day)
    attributes = make_review_attributes(state=state, repo=repo, pr_number=n, pr_title=f"Change {n}",
                                        pr_url=f"https://github.com/{repo}/pull/{n}", pr_author_id=202 + n % 2,
                                        pr_author_login=f"user{202 + n % 2}")
    return make_review_record("github", str(700000 + n), at, repo, attributes, mine=True, title=f"Review of #{n}",
                              url=f"https://github.com/{repo}/pull/{n}#r")


def release(n: int, repo: str, day: int, prerelease: bool):
    at = T0 + timedelta(days=day)
    attributes = make_release_attributes(repo=repo, tag=f"v1.{n}", name=f"v1.{n}", prerelease=prerelease,
                                         published_at=at.isoformat(), author_id=101)
    return make_release_record("github", str(500000 + n), at, repo, attributes, actor="ada", mine=True,
                               title=f"v1.{n}", url=f"https://github.com/{repo}/releases/tag/v1.{n}")


days = st.integers(0, 120)
# Small id spaces, so a later event often changes a record already harvested (a new metric,
# another experiment or quarter, a serving flag turned off).
records = st.one_of(
    st.builds(run, st.integers(0, 9), st.sampled_from(EXPERIMENTS), st.integers(0, 12),
              st.floats(0.60, 0.95).map(lambda x: round(x, 3)), st.integers(80, 400)),
    st.builds(model_version, st.integers(1, 2), st.integers(0, 7), st.booleans()),
    st.builds(pull_request, st.integers(1, 3), st.sampled_from(REPOS), st.integers(0, 7), st.integers(1, 3), days),
    st.builds(ticket, st.integers(1, 4), days, st.booleans(), st.integers(0, 1)),
    st.builds(review, st.integers(1, 9), st.sampled_from(REPOS), days, st.sampled_from(("approved", "commented"))),
    st.builds(release, st.integers(1, 4), st.sampled_from(REPOS), days, st.booleans()),
)
decisions = st.none() | st.tuples(st.sampled_from(("confirm", "reject", "edit")), st.integers(0, 50))
batches = st.lists(st.tuples(st.lists(records, min_size=1, max_size=12), decisions), min_size=1, max_size=6)


def drafts_of(store) -> list[tuple]:
    return sorted((d.fingerprint, d.status, d.kind, d.source, d.subject, d.statement, d.metrics, d.evidence, d.tags,
                   d.linked, d.edited) for d in store.list_drafts())


def decide(store, decision) -> None:
    action, index = decision
    pending = sorted((d for d in store.list_drafts(statuses=["pending"])), key=lambda d: d.fingerprint)
    if not pending:
        return
    draft = pending[index % len(pending)]
    {"confirm": lambda: store.confirm_draft(draft.id), "reject": lambda: store.reject_draft(draft.id),
     "edit": lambda: store.edit_draft(draft.id, f"My words for {draft.kind}")}[action]()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(history=batches)
def test_a_pass_over_what_changed_drafts_what_a_full_pass_drafts(store, history):
    n = next(owners)
    changed_only, full = store.for_owner(f"changed-{n}@example.com"), store.for_owner(f"full-{n}@example.com")
    for page, decision in history:
        changed_only.save_page(page, None)
        full.save_page(page, None)
        redraft_if_changed(changed_only, config())
        redraft(full, config())
        assert drafts_of(changed_only) == drafts_of(full)
        if decision:
            decide(changed_only, decision)
            decide(full, decision)


LIFT = [run(0, "fraud", 1, 0.80, 300), run(1, "fraud", 3, 0.86, 300)]
FASTER = [run(2, "ranker", 1, 0.80, 400), run(3, "ranker", 3, 0.80, 200)]


def groups_read(store, monkeypatch) -> list:
    """The `only` argument of every iter_record_groups call the passes make."""
    calls = []
    original = type(store).iter_record_groups

    def spy(self, kinds, only=None):
        calls.append(None if only is None else set(only))
        return original(self, kinds, only)

    monkeypatch.setattr(type(store), "iter_record_groups", spy)
    return calls


def test_an_incremental_pass_reads_only_the_changed_group_and_leaves_decided_drafts_alone(store, monkeypatch):
    store.save_page(LIFT + FASTER + [run(4, "churn", 1, 0.7, 100)], None)
    redraft_if_changed(store, config())
    drafts = {d.kind: d for d in store.list_drafts()}
    confirmed = store.confirm_draft(drafts["metric_lift"].id)
    edited = store.edit_draft(drafts["latency_reduction"].id, "Halved p99 of the ranker")
    before = {d.id: d for d in store.list_drafts()}

    calls = groups_read(store, monkeypatch)
    better = [run(1, "fraud", 3, 0.93, 300), run(3, "ranker", 3, 0.80, 100)]
    store.save_page(better, None)
    counts = redraft_if_changed(store, config())
    assert calls == [{("mlflow", "run", "fraud"), ("mlflow", "run", "ranker")}]
    assert counts.kept == 2 and counts.new == counts.updated == 0
    after = {d.id: d for d in store.list_drafts()}
    assert after == before  # the confirmed and the edited draft: not a field changed
    assert after[edited.id].statement == "Halved p99 of the ranker"
    assert [e.text for e in store.list_entries()] == [confirmed.text]


def test_a_subject_moved_to_another_group_re_evaluates_both(store, monkeypatch):
    store.save_page(LIFT, None)
    redraft_if_changed(store, config())
    calls = groups_read(store, monkeypatch)
    store.save_page([replace(LIFT[1], subject="churn")], None)
    counts = redraft_if_changed(store, config())
    assert calls == [{("mlflow", "run", "fraud"), ("mlflow", "run", "churn")}]
    assert counts.superseded == 1  # one run per experiment: no lift left


def test_a_change_of_a_rule_setting_runs_the_full_pass(store, monkeypatch):
    store.save_page(LIFT + FASTER, None)
    redraft_if_changed(store, config())
    calls = groups_read(store, monkeypatch)
    tuned = redraft_if_changed(store, config(latency_reduction={"min_relative_improvement": 0.9}))
    assert calls == [None] and tuned.superseded == 1
    store.save_page([run(5, "churn", 4, 0.75, 100)], None)
    redraft_if_changed(store, config(latency_reduction={"min_relative_improvement": 0.9}))
    assert calls[1:] == [{("mlflow", "run", "churn")}]  # the next change: by what changed again
    assert redraft(store, config(latency_reduction={"min_relative_improvement": 0.9})).superseded == 0
    assert calls[2:] == [None]  # `redraft` always reads everything


def test_a_model_version_turned_serving_re_evaluates_the_runs_it_names(store):
    """Which run serves is a fact across groups: the baseline of a later campaign can move to it."""
    changed_only, full = store.for_owner("changed@example.com"), store.for_owner("full@example.com")
    runs = [run(0, "fraud", 0, 0.80, 300), run(1, "fraud", 1, 0.90, 300),
            run(2, "fraud", 60, 0.85, 300), run(3, "fraud", 61, 0.88, 300)]
    for page in (runs + [model_version(1, 0, serving=False)], [model_version(1, 0, serving=True)]):
        changed_only.save_page(page, None)
        full.save_page(page, None)
        redraft_if_changed(changed_only, config())
        redraft(full, config())
        assert drafts_of(changed_only) == drafts_of(full)
    lifts = [d for d in changed_only.list_drafts() if d.kind == "metric_lift" and d.status == "pending"]
    assert lifts and lifts[0].metrics[0].before == 0.80  # measured against the serving run now


def test_a_run_reassigned_to_another_member_re_evaluates_both_members_groups(store):
    from harvester.store.store import Store
    from harvester.store.team_scope import RecordOwners

    def team(name: str):
        members = {"ada": f"ada@{name}.example.com", "bob": f"bob@{name}.example.com"}
        harvest = Store(store.engine, f"team:{name}", harvest_owner=f"team:{name}",
                        record_owners=RecordOwners(f"team:{name}", members))
        return harvest, [harvest.for_owner(m) for m in members.values()]

    runs = [run(0, "fraud", 1, 0.80, 300), run(1, "fraud", 2, 0.86, 300), run(2, "fraud", 3, 0.90, 300),
            replace(run(3, "fraud", 1, 0.70, 300), actor="bob"), replace(run(4, "fraud", 2, 0.75, 300), actor="bob")]
    (changed_only, changed_members), (full, full_members) = team("one"), team("two")
    for page in (runs, [replace(runs[2], actor="bob")]):  # the best run turns out to be bob's
        changed_only.save_page(page, None)
        full.save_page(page, None)
        for member in changed_members:
            redraft_if_changed(member, config())
        for member in full_members:
            redraft(member, config())
        for a, b in zip(changed_members, full_members):
            assert drafts_of(a) == drafts_of(b)
    ada, bob = changed_members
    assert [d.metrics[0].after for d in ada.list_drafts() if d.kind == "metric_lift"] == [0.86]  # without run 2
    assert [d.metrics[0].after for d in bob.list_drafts() if d.kind == "metric_lift"] == [0.90]


def test_a_team_harvest_marks_no_group_under_the_teams_own_key(store):
    """An outsider's runs are kept for no member: nothing drafts from them, so nothing marks them,
    and a mark an earlier version left there is cleared by the next page."""
    import sqlalchemy as sa

    from harvester.store import schema
    from harvester.store.changes import mark_changed_groups
    from harvester.store.store import Store
    from harvester.store.team_scope import RecordOwners

    harvest = Store(store.engine, "team:ml", harvest_owner="team:ml",
                    record_owners=RecordOwners("team:ml", {"ada": "ada@ml.example.com"}))
    with store.engine.begin() as conn:
        mark_changed_groups(conn, [("team:ml", "mlflow", "run", "left-over")])
    harvest.save_page([run(0, "fraud", 1, 0.80, 300), replace(run(1, "ranking", 2, 0.70, 300), actor="eve")], None)
    with store.engine.connect() as conn:
        marks = {(r.owner, r.subject) for r in conn.execute(sa.select(schema.changed_groups))}
    assert marks == {("ada@ml.example.com", "fraud")}
