"""`review`: pending drafts one at a time on a terminal, each decided with a single key."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable

import click

from harvester.cli.app import pass_app
from harvester.cli.output import say, terminal_width, wrap_words
from harvester.errors import HarvesterError, NotFoundError
from harvester.safe_text import one_line

LEGEND = "[c]onfirm [e]dit [r]eject [t]ag [o]utcome [s]kip [u]ndo [q]uit [?]help"
MAX_WIDTH = 80
MIN_WIDTH = 40
EDIT_HELP = ("# Lines starting with '#' are dropped. Save an empty text, or quit without",
             "# saving, to keep the draft as it is.")
HELP = (
    ("c", "confirm: the draft becomes a journal entry, worded as shown"),
    ("e", "edit the wording in $EDITOR (evidence and metrics shown as # comments), then see "
          "the draft again to confirm it"),
    ("r", "reject, with an optional one-line reason (Enter for none)"),
    ("t", "tag: +DIM adds, -DIM removes rubric dimensions (`harvester rubric` lists them)"),
    ("o", "outcome: answer the impact question; the draft is confirmed and the answer kept as "
          "its entry's outcome (lifts, promotions, cost and latency cuts, epics, releases)"),
    ("s", "skip: leave it pending for later"),
    ("u", "undo the last action of this session and go back to its draft"),
    ("q", "quit (Ctrl-C too); everything decided so far is kept"),
)

UNDONE = {"confirmed": "Undone: #{id} is pending again (its journal entry is gone).",
          "answered": "Undone: #{id} is pending again (its journal entry and outcome are gone).",
          "rejected": "Undone: #{id} is pending again, no longer rejected.",
          "edited": "Undone: #{id} has its previous wording back.",
          "tagged": "Undone: #{id} has its previous tags back.",
          "skipped": "Back to #{id}."}


@dataclass(frozen=True)
class Action:
    """One step of a session, with what undoing it needs: the previous wording or tags."""

    name: str  # confirmed, answered, rejected, edited, tagged, skipped
    index: int
    draft_id: int
    previous: Any = None


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--kind", help="Only drafts of this kind, e.g. metric_lift (see `harvester drafts list`).")
    @click.option("--source", help="Only drafts from this source instance, e.g. mlflow-prod.")
    @pass_app
    def review(app, kind, source):
        """Go through pending drafts one at a time, oldest first, with single keys.

        \b
        c confirm    e edit ($EDITOR)   r reject (optional reason)
        t tag        o outcome          s skip
        u undo       q quit             ? help

        \b
        o answers the draft's impact question: the draft is confirmed and the
        answer becomes the journal entry's outcome (as `harvester outcome` sets
        it). Only kinds that ask for an outcome take one. u undoes the last
        action of the session (repeat it to go further back): a confirmed or
        rejected draft is pending again, an edit or a tag change is put back.
        Quitting (q or Ctrl-C) prints a tally; everything done is kept.
        Needs a terminal; in scripts use `harvester drafts confirm|edit|reject`."""
        from harvester.commands import command_prefix

        command = command_prefix(app.config)
        if not sys.stdin.isatty():
            say(f"Error: review reads single keys and needs a terminal. In scripts, use `{command} drafts list` "
                f"and `{command} drafts confirm|edit|reject ID`.", err=True)
            click.get_current_context().exit(2)
        session = ReviewSession(app, kind, source)
        if not session.draft_ids:
            which = " ".join(part for part in (f"kind {kind}" if kind else "", f"from {source}" if source else "")
                             if part)
            say(f"No pending drafts{' of ' + which if which else ''}. Run `{command} harvest` to look for new work.")
            return
        session.run()


def format_evidence(label: str, url: str, width: int) -> list[str]:
    """`label: url` when it fits; else the label wrapped and the URL whole on its own line,
    so it can still be copied or clicked (a URL wider than the terminal is never broken)."""
    line = f"    {label}: {url}" if label else f"    {url}"
    if len(line) <= width:
        return [line]
    return [*wrap_words(f"{label}:", width, "    ", "      "), f"      {url}"] if label else [line]


def format_card(d, position: int, total: int, width: int) -> list[str]:
    """The draft as the lines of one card, none wider than `width` except an unbreakable URL."""
    from harvester.cli.drafts import describe_metric

    lines = wrap_words(f"Draft {position} of {total} · #{d.id} [{one_line(d.kind)}] {d.occurred_at:%Y-%m-%d}", width)
    lines += wrap_words(f"{one_line(d.subject)} · {one_line(d.source)}{' · edited' if d.edited else ''}", width)
    lines.append("")
    lines += wrap_words(one_line(d.statement), width, "  ")
    lines.append("")
    if d.impact_prompt:
        lines += wrap_words(f"? {one_line(d.impact_prompt)}", width, "  ", "    ")
    if d.metrics:
        lines.append("  metrics (logged key: before -> after):")
        for m in d.metrics:
            lines += wrap_words(describe_metric(m), width, "    ", "      ")
    if d.evidence:
        lines.append("  evidence:")
        for e in d.evidence:
            lines += format_evidence(one_line(e.label), one_line(e.url), width)
    lines += wrap_words(f"tags: {one_line(', '.join(d.tags)) or '-'}", width, "  ", "        ")
    lines.append("")
    lines += wrap_words(LEGEND, width)
    return lines


def compose_edit_text(d) -> str:
    """The statement first, then what backs it as comments for reference while rewording."""
    from harvester.cli.drafts import describe_metric

    lines = [d.statement.strip(), "", *EDIT_HELP, "#", f"# Draft #{d.id} [{one_line(d.kind)}] on {one_line(d.subject)}"]
    if d.impact_prompt:
        lines.append(f"# ? {one_line(d.impact_prompt)}")
    if d.metrics:
        lines += ["#", "# metrics (logged key: before -> after):", *(f"#   {describe_metric(m)}" for m in d.metrics)]
    if d.evidence:
        lines += ["#", "# evidence:", *(f"#   {one_line(e.label)}: {one_line(e.url)}" for e in d.evidence)]
    return "\n".join(lines) + "\n"


def strip_comments(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines() if not line.startswith("#")).strip()


def asks_for_outcome(kind: str) -> bool:
    from harvester.drafting.kinds import kind_of

    found = kind_of(kind)
    return found.needs_outcome or found.check_in


def describe_tally(history: list[Action], still_pending: int) -> str:
    def count(*names: str) -> int:
        return len({a.draft_id for a in history if a.name in names})

    tagged = count("tagged")
    return (f"{count('confirmed', 'answered')} confirmed, {count('rejected')} rejected, {count('edited')} edited, "
            f"{count('skipped')} skipped{f', {tagged} tagged' if tagged else ''}; {still_pending} still pending")


def beep() -> None:
    click.echo("\a", nl=False)


def ask_line(text: str) -> str:
    """One line typed at a prompt, '' for just Enter."""
    return click.prompt(text, default="", show_default=False, prompt_suffix=": ").strip()


class ReviewSession:
    """Walks a fixed list of pending drafts; `index` is the draft on screen, `history` what undo takes back."""

    def __init__(self, app, kind: str | None, source: str | None):
        self.app = app
        self.store = app.store
        self.kind = kind
        self.source = source
        self.draft_ids = [d.id for d in reversed(self.load_pending())]
        self.index = 0
        self.history: list[Action] = []
        self.width = terminal_width(MIN_WIDTH, MAX_WIDTH, fallback=MAX_WIDTH)
        self.redraw = True
        self.keys: dict[str, Callable[[Any], None]] = {
            "c": self.confirm, "e": self.edit, "r": self.reject, "t": self.tag, "o": self.answer_outcome,
            "s": self.skip, "u": lambda _draft: self.undo(), "?": lambda _draft: self.show_help()}

    def load_pending(self) -> list:
        return self.store.list_drafts(["pending"], kinds=[self.kind] if self.kind else (),
                                      sources=[self.source] if self.source else ())

    def run(self) -> None:
        try:
            while self.step():
                pass
        except (KeyboardInterrupt, EOFError, click.Abort):
            say("")
        say(describe_tally(self.history, len(self.load_pending())))

    def step(self) -> bool:
        """Show the current draft and act on one key; False when the session ends."""
        draft = self.find_current_draft()
        if draft is None:
            return self.offer_undo_at_end()
        if self.redraw:
            say("")
            for line in format_card(draft, self.index + 1, len(self.draft_ids), self.width):
                say(line)
            self.redraw = False
        key = click.getchar()
        if key in ("q", "Q"):
            return False
        handler = self.keys.get(key.lower() if len(key) == 1 else key)
        if handler is None:
            beep()
            return True
        try:
            handler(draft)
        except HarvesterError as exc:
            say(f"Error: {one_line(exc)}")
        except click.ClickException as exc:  # e.g. the editor failed
            say(f"Error: {one_line(exc.format_message())}")
        return True

    def find_current_draft(self):
        """The draft at `index`, moving past any decided or removed elsewhere since the session began."""
        while self.index < len(self.draft_ids):
            try:
                draft = self.store.get_draft(self.draft_ids[self.index])
            except NotFoundError:
                draft = None
            if draft is not None and draft.status == "pending":
                return draft
            self.index += 1
            self.redraw = True
        return None

    def offer_undo_at_end(self) -> bool:
        if self.redraw:
            say("")
            say("That was the last draft. [u]ndo the last action, or any other key to quit.")
            self.redraw = False
        if click.getchar() not in ("u", "U"):
            return False
        try:
            self.undo()
        except HarvesterError as exc:
            say(f"Error: {one_line(exc)}")
        return True

    def advance(self) -> None:
        self.index += 1
        self.redraw = True

    def confirm(self, draft) -> None:
        entry = self.store.confirm_draft(draft.id)
        self.history.append(Action("confirmed", self.index, draft.id))
        say(f"Confirmed #{draft.id} as journal entry {entry.id}.")
        self.advance()

    def edit(self, draft) -> None:
        text = click.edit(compose_edit_text(draft), extension=".txt")
        wording = strip_comments(text) if text is not None else ""
        if not wording or wording == draft.statement.strip():
            say("No change.")
            return
        self.store.edit_draft(draft.id, wording)
        self.history.append(Action("edited", self.index, draft.id, previous=(draft.statement, draft.edited)))
        say(f"Edited #{draft.id}. Here it is again to confirm:")
        self.redraw = True

    def reject(self, draft) -> None:
        reason = ask_line("Reason (Enter for none)")
        self.store.reject_draft(draft.id, reason or None)
        self.history.append(Action("rejected", self.index, draft.id))
        say(f"Rejected #{draft.id}{f': {one_line(reason)}' if reason else ''}.")
        self.advance()

    def tag(self, draft) -> None:
        from harvester.drafting.tags import TagChangeError, apply_changes, parse_changes

        known = self.app.config.framework.ids
        for line in wrap_words(f"Dimensions: {', '.join(known)}", self.width, "  ", "    "):
            say(line)
        changes = tuple(ask_line("Changes (+dim -dim, Enter for none)").split())
        if not changes:
            say("Tags unchanged.")
            return
        try:
            added, removed = parse_changes(changes, draft.tags, known)
        except TagChangeError as exc:
            say(one_line(str(exc)))
            return
        tags = apply_changes(draft.tags, added, removed)
        if tags == list(draft.tags):
            say("Tags unchanged.")
            return
        self.store.set_draft_tags(draft.id, tags)
        self.history.append(Action("tagged", self.index, draft.id, previous=draft.tags))
        say(f"Draft #{draft.id} tags: {one_line(', '.join(tags)) or '(none)'}")
        self.redraw = True

    def answer_outcome(self, draft) -> None:
        if not asks_for_outcome(draft.kind):
            beep()
            say(f"A {one_line(draft.kind)} draft has no outcome to record; c confirms it.")
            return
        answer = ask_line("Outcome (Enter to cancel)")
        if not answer:
            say("No outcome recorded.")
            return
        entry = self.store.confirm_draft(draft.id, outcome=answer)
        self.history.append(Action("answered", self.index, draft.id))
        say(f"Confirmed #{draft.id} as journal entry {entry.id}, outcome: {one_line(answer)}")
        self.advance()

    def skip(self, draft) -> None:
        self.history.append(Action("skipped", self.index, draft.id))
        self.advance()

    def undo(self) -> None:
        if not self.history:
            say("Nothing to undo in this session.")
            return
        action = self.history[-1]
        if action.name in ("confirmed", "answered", "rejected"):
            self.store.restore_draft(action.draft_id)
        elif action.name == "edited":
            statement, edited = action.previous
            self.store.revert_draft_edit(action.draft_id, statement, edited)
        elif action.name == "tagged":
            self.store.set_draft_tags(action.draft_id, action.previous)
        self.history.pop()
        say(UNDONE[action.name].format(id=action.draft_id))
        self.index = action.index
        self.redraw = True

    def show_help(self) -> None:
        for key, text in HELP:
            for line in wrap_words(f"{key}  {text}", self.width, "  ", "     "):
                say(line)
        for line in wrap_words(LEGEND, self.width):
            say(line)
