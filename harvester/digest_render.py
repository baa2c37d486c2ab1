"""Render the digest as plain text and as e-mail-safe HTML (inline CSS, no scripts, no remote
images). Everything that came from a source is untrusted: it is escaped, and only http(s)
URLs become links."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from urllib.parse import urlsplit

from harvester.digest import Digest, DigestSettings
from harvester.redact import redact

FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
# Long URLs, run ids and commands break anywhere rather than widen the page past a phone's screen.
WRAP = "overflow-wrap:anywhere;word-break:break-word"
CODE = "font-family:Menlo,Consolas,'Courier New',monospace;font-size:12px;background:#f3f4f6;" \
       f"border:1px solid #e5e7eb;border-radius:4px;padding:2px 6px;color:#111827;{WRAP}"
MUTED = "color:#6b7280;font-size:13px"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def subject_line(digest: Digest, settings: DigestSettings) -> str:
    parts = [f"{plural(digest.draft_count, 'draft')} to confirm"]
    if digest.checkins:
        parts.append(plural(len(digest.checkins), "impact check-in"))
    text = f"{', '.join(parts)} (week {digest.week})"
    return f"{settings.subject_prefix} {text}".strip()


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s) with a host, else None (javascript:, data:, file: never link)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def one_line(text: str) -> str:
    return " ".join(str(text).split())


# plain text ------------------------------------------------------------------------------

def render_text(digest: Digest) -> str:
    lines = [f"harvester weekly digest, week {digest.week}", ""]
    if digest.draft_count:
        lines.append(f"{plural(digest.draft_count, 'draft')} waiting for you "
                     f"(new or updated since {digest.since:%Y-%m-%d}):")
    else:
        lines.append(f"No new drafts since {digest.since:%Y-%m-%d}.")
    for group in digest.groups:
        lines += ["", f"== {group.title} ({len(group.drafts)}) =="]
        for d in group.drafts:
            lines += ["", f"#{d.id}  {d.occurred_at:%Y-%m-%d}  {one_line(d.subject)}", f"  {one_line(d.statement)}"]
            if d.impact_prompt:
                lines.append(f"  ? {one_line(d.impact_prompt)}")
            if d.tags:
                lines.append(f"  rubric: {', '.join(digest.tag_title(t) for t in d.tags)}")
            for e in d.evidence:
                lines.append(f"  evidence: {one_line(e.label) or 'link'}: {one_line(e.url)}")
            lines += [f"  confirm: {digest.confirm_command(d.id)}",
                      f"  edit:    {digest.edit_command(d.id)}",
                      f"  reject:  {digest.reject_command(d.id)}"]
    if digest.older_pending:
        lines += ["", f"{plural(digest.older_pending, 'older draft')} still pending: {digest.command} drafts list"]
    if digest.checkins:
        lines += ["", "== Impact check-ins ==",
                  "These shipped a while ago. Is the online or business number known now?"]
        for e in digest.checkins:
            confirmed = f"confirmed {e.created_at:%Y-%m-%d}" if e.created_at else "confirmed"
            lines += ["", f"Entry {e.id} ({confirmed}): {one_line(e.text)}"]
            for ev in e.evidence:
                lines.append(f"  evidence: {one_line(ev.url)}")
            lines.append(f"  answer: {digest.outcome_command(e.id)}")
    lines += ["", "--", "Sent by harvester. Drafts are never added to your journal until you confirm them."]
    return "\n".join(lines) + "\n"


# HTML -------------------------------------------------------------------------------------

def render_html(digest: Digest) -> str:
    body = [_header(digest)]
    for group in digest.groups:
        body.append(f'<h2 style="{FONT};font-size:16px;color:#111827;margin:28px 0 8px 0">'
                    f'{escape(group.title)} <span style="{MUTED}">({len(group.drafts)})</span></h2>')
        body.extend(_draft_card(digest, d) for d in group.drafts)
    if digest.older_pending:
        body.append(f'<p style="{FONT};{MUTED};margin:20px 0 0 0">'
                    f'{escape(plural(digest.older_pending, "older draft"))} still pending: '
                    f'<code style="{CODE}">{escape(digest.command)} drafts list</code></p>')
    if digest.checkins:
        body.append(f'<h2 style="{FONT};font-size:16px;color:#111827;margin:28px 0 4px 0">Impact check-ins</h2>'
                    f'<p style="{FONT};{MUTED};margin:0 0 8px 0">These shipped a while ago. '
                    'Is the online or business number known now?</p>')
        body.extend(_checkin_card(digest, e) for e in digest.checkins)
    body.append(f'<p style="{FONT};{MUTED};margin:28px 0 0 0;border-top:1px solid #e5e7eb;padding-top:12px">'
                'Sent by harvester. Drafts are never added to your journal until you confirm them.</p>')
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>harvester digest {escape(digest.week)}</title></head>\n"
            '<body style="margin:0;padding:0;background:#f9fafb">\n'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="background:#f9fafb;table-layout:fixed">'
            '<tr><td align="center" style="padding:16px 8px">\n'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="max-width:680px;background:#ffffff;border:1px solid #e5e7eb;border-radius:8px;table-layout:fixed">'
            f'<tr><td style="padding:20px 16px;{WRAP}">\n'
            + "\n".join(body) +
            "\n</td></tr></table>\n</td></tr></table>\n</body></html>\n")


def _header(digest: Digest) -> str:
    if digest.draft_count:
        summary = (f"{plural(digest.draft_count, 'draft')} waiting for you, new or updated since "
                   f"{digest.since:%Y-%m-%d}.")
    else:
        summary = f"No new drafts since {digest.since:%Y-%m-%d}."
    if digest.checkins:
        summary += f" {plural(len(digest.checkins), 'impact check-in')}."
    return (f'<h1 style="{FONT};font-size:20px;color:#111827;margin:0 0 4px 0">Your weekly harvest</h1>'
            f'<p style="{FONT};{MUTED};margin:0">Week {escape(digest.week)} · {escape(summary)}</p>')


def _commands(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f'<tr><td style="{FONT};{MUTED};padding:4px 8px 2px 0;width:56px;vertical-align:top">{escape(label)}</td>'
                    f'<td style="padding:2px 0;{WRAP}"><code style="{CODE}">{escape(cmd)}</code></td></tr>'
                    for label, cmd in rows)
    return (f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            f'style="margin-top:10px;table-layout:fixed">{cells}</table>')


def _link(url: str, label: str) -> str:
    href = safe_url(url)
    text = escape(one_line(label) or one_line(url))
    if href is None:
        return f'<span style="color:#374151">{text} ({escape(one_line(url))})</span>'
    return f'<a href="{escape(href, quote=True)}" style="color:#1d4ed8;text-decoration:underline">{text}</a>'


def _draft_card(digest: Digest, d) -> str:
    parts = [f'<div style="{FONT};border:1px solid #e5e7eb;border-radius:6px;padding:14px 16px;margin:0 0 12px 0">',
             f'<div style="{MUTED}">#{d.id} · {d.occurred_at:%Y-%m-%d} · {escape(one_line(d.subject))} · '
             f'{escape(one_line(d.source))}</div>',
             f'<p style="font-size:15px;line-height:1.45;color:#111827;margin:6px 0">{escape(one_line(d.statement))}</p>']
    if d.impact_prompt:
        parts.append(f'<p style="font-size:13px;line-height:1.4;color:#92400e;background:#fffbeb;'
                     f'border-left:3px solid #f59e0b;padding:6px 10px;margin:8px 0">'
                     f'{escape(one_line(d.impact_prompt))}</p>')
    if d.tags:
        chips = " ".join(f'<span style="display:inline-block;font-size:12px;color:#065f46;background:#ecfdf5;'
                         f'border:1px solid #a7f3d0;border-radius:10px;padding:1px 8px;margin:2px 4px 2px 0">'
                         f'{escape(digest.tag_title(t))}</span>' for t in d.tags)
        parts.append(f"<div>{chips}</div>")
    if d.evidence:
        links = " · ".join(_link(e.url, e.label) for e in d.evidence)
        parts.append(f'<div style="font-size:13px;margin-top:8px;color:#374151">Evidence: {links}</div>')
    parts.append(_commands([("confirm", digest.confirm_command(d.id)), ("edit", digest.edit_command(d.id)),
                            ("reject", digest.reject_command(d.id))]))
    parts.append("</div>")
    return "".join(parts)


def _checkin_card(digest: Digest, e) -> str:
    confirmed = f"confirmed {e.created_at:%Y-%m-%d}" if e.created_at else "confirmed"
    parts = [f'<div style="{FONT};border:1px solid #dbeafe;background:#f8fbff;border-radius:6px;'
             f'padding:14px 16px;margin:0 0 12px 0">',
             f'<div style="{MUTED}">Entry {e.id} · {escape(confirmed)}</div>',
             f'<p style="font-size:15px;line-height:1.45;color:#111827;margin:6px 0">{escape(one_line(e.text))}</p>']
    if e.evidence:
        links = " · ".join(_link(ev.url, ev.label) for ev in e.evidence)
        parts.append(f'<div style="font-size:13px;color:#374151">Evidence: {links}</div>')
    parts.append(_commands([("answer", digest.outcome_command(e.id))]))
    parts.append("</div>")
    return "".join(parts)


def build_email(digest: Digest, settings: DigestSettings) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML last (preferred by mail clients)."""
    message = EmailMessage()
    message["Subject"] = subject_line(digest, settings)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("harvester-digest", domain=domain)
    message.set_content(redact(render_text(digest)))
    message.add_alternative(redact(render_html(digest)), subtype="html")
    return message
