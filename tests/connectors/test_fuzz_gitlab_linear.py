"""Property tests: GitLab and Linear items in their documented shapes (tests/support/*_fake.py),
mutated as in test_fuzz_github_jira. Whatever arrives, a parser returns a record the store can
keep, or None, or raises one of the project's own errors."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from harvester.connectors.gitlab.parse import (parse_approval, parse_deployment, parse_merge_request, parse_release,
                                               parse_review_comment)
from harvester.connectors.linear.parse import parse_issue, parse_project
from harvester.connectors.linear.settings import LinearSettings
from tests.connectors.test_fuzz_github_jira import FUZZ, check_record, mutated, only_own_errors
from tests.support import gitlab_fake, linear_fake

MRS = [gitlab_fake.merge_request(7, labels=("ml",)), gitlab_fake.merge_request(8, merged=None, description=""),
       gitlab_fake.merge_request(9, author=gitlab_fake.OTHER, reviewers=())]
APPROVALS = [gitlab_fake.approval_event(1, gitlab_fake.T0), gitlab_fake.approval_event(2, gitlab_fake.T0, iid=9)]
COMMENTS = [gitlab_fake.comment_event(3, gitlab_fake.T0),
            gitlab_fake.comment_event(4, gitlab_fake.T0, target_type="Note"),
            gitlab_fake.comment_event(5, gitlab_fake.T0, noteable_type="Issue")]
RELEASES = [gitlab_fake.release("v1.0.0", gitlab_fake.T0), gitlab_fake.release("v2.0.0", gitlab_fake.T0, upcoming=True)]
DEPLOYMENTS = [gitlab_fake.deployment(51, gitlab_fake.T0), gitlab_fake.deployment(52, gitlab_fake.T0, env_name="staging")]
TIERS = {"9": "production"}

DONE = linear_fake.parse("2026-11-20T10:00:00.000Z")
ISSUES = [linear_fake.make_issue(123, "Cache ranking features", completed=DONE, labels=("Bug",), priority=1),
          linear_fake.make_issue(124, "Try a bigger model", canceled=DONE, assignee=None, estimate=None),
          linear_fake.make_issue(125, "Backfill", completed=DONE, parent="ENG-120", cycle=None)]
PROJECTS = [linear_fake.make_project("Ranking v2", completed=DONE, started=DONE - timedelta(days=30)),
            linear_fake.make_project("Drift", canceled=DONE, lead=None, members=())]


@FUZZ
@given(mutated(MRS), st.sampled_from(["ada", None]))
def test_merge_request_parser(item, me):
    check_record(only_own_errors(parse_merge_request, item, "gitlab", me))


@FUZZ
@given(mutated(APPROVALS), mutated(MRS))
def test_approval_parser(event, mr):
    approved = {("8", 3): mr, ("8", 9): mr} if isinstance(mr, dict) else {}
    check_record(only_own_errors(parse_approval, event, "gitlab", {"8": "acme/ranking"}, approved, "ada",
                                 gitlab_fake.URL))


@FUZZ
@given(mutated(COMMENTS), mutated(MRS))
def test_review_comment_parser(event, mr):
    merge_requests = {("8", 3): mr} if isinstance(mr, dict) else {}
    check_record(only_own_errors(parse_review_comment, event, "gitlab", {"8": "acme/ranking"}, merge_requests, "ada",
                                 gitlab_fake.URL))


@FUZZ
@given(mutated(RELEASES))
def test_release_parser(item):
    check_record(only_own_errors(parse_release, item, "gitlab", "acme/fraud", "ada"))


@FUZZ
@given(mutated(DEPLOYMENTS))
def test_deployment_parser(item):
    check_record(only_own_errors(parse_deployment, item, "gitlab", "acme/fraud", "ada", TIERS, gitlab_fake.URL))


@FUZZ
@given(mutated(ISSUES))
def test_linear_issue_parser(issue):
    check_record(only_own_errors(parse_issue, issue, "linear", LinearSettings()))


@FUZZ
@given(mutated(PROJECTS), st.sampled_from([linear_fake.ME["id"], None]))
def test_linear_project_parser(project, viewer):
    check_record(only_own_errors(parse_project, project, "linear", viewer))
