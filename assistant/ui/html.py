"""HTML for the tabs: escaping, notices, citation links, source passages, and the page's stylesheet and click script.

Every piece of guide text and user text that goes into HTML or Markdown passes
through :func:`esc` / :func:`md_text` (HTML-escaped; Markdown punctuation
escaped), so a guide containing ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import re
from typing import Any

from assistant.ui.shared import error_line

CSS = """
#advisor-header h1 {margin: 0 0 .2em 0; font-size: 1.5em;}
#advisor-header .backend {font-size: .92em; opacity: .9;}
#advisor-header .privacy.remote {color: #b45309; font-weight: 600;}
.notice {border-radius: 8px; padding: .6em .9em; margin: .3em 0;}
.notice.abstain {background: #fff7ed; border: 1px solid #fdba74; color: #7c2d12;}
.notice.error {background: #fef2f2; border: 1px solid #fca5a5; color: #7f1d1d;}
.notice.info {background: #eff6ff; border: 1px solid #93c5fd; color: #1e3a8a;}
.notice.ok {background: #f0fdf4; border: 1px solid #86efac; color: #14532d;}
.answer-note {font-size: .85em; opacity: .8; margin-top: .4em;}
a.cite {text-decoration: none; font-weight: 600; color: #2563eb !important; cursor: pointer;}
.sources-panel h3, .panel h3 {margin: .2em 0 .4em 0;}
.sources-panel .turn-q {font-weight: 600; margin: .6em 0 .2em 0;}
details.src {border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: 6px; padding: .3em .6em; margin: .25em 0;}
details.src summary {cursor: pointer;}
details.src summary .guide {font-size: .85em; opacity: .7;}
details.src .passage {white-space: pre-wrap; margin: .4em 0 .2em 0; padding-left: .6em; border-left: 3px solid #93c5fd;}
details.src .meta {font-size: .85em; opacity: .75;}
details.src.flash {outline: 3px solid #f59e0b; transition: outline .3s;}
table.lib {border-collapse: collapse; width: 100%; font-size: .92em;}
table.lib th, table.lib td {border-bottom: 1px solid var(--border-color-primary, #e5e7eb); padding: .3em .5em; text-align: left; vertical-align: top;}
.placeholders li, .checklist li {margin: .2em 0;}
.charts {display: flex; flex-wrap: wrap; gap: .8em; margin-top: .6em;}
.chart {flex: 1 1 420px; max-width: 100%;}
.chart img {max-width: 100%; border: 1px solid #e5e7eb; border-radius: 6px; margin: .3em 0;}
"""

# Opens and highlights the cited passage when an [n] link is clicked. Event
# delegation on the document, so it works for content rendered after load.
HEAD = """
<script>
(function () {
  var ID = /^(?:src|dsrc|asrc)-\\d+(?:-\\d+)?$/;
  function openSource(id) {
    var el = document.getElementById(id);
    if (!el) return false;
    if (el.tagName === 'DETAILS') el.open = true;
    el.classList.add('flash');
    setTimeout(function () { el.classList.remove('flash'); }, 2500);
    el.scrollIntoView({block: 'center'});
    return true;
  }
  document.addEventListener('click', function (ev) {
    var t = ev.target;
    var a = t && t.closest ? t.closest('a.cite') : null;
    if (!a) return;
    var id = (a.getAttribute('href') || '').replace(/^#/, '');
    if (!ID.test(id)) return;
    if (openSource(id)) { ev.preventDefault(); ev.stopPropagation(); }
  }, true);
})();
</script>
"""


def esc(value: Any) -> str:
    """HTML-escape any value for gr.HTML (quotes too; ``$`` and backtick as entities for template safety)."""
    return html.escape("" if value is None else str(value), quote=True).replace("$", "&#36;").replace("`", "&#96;")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$])")


def md_text(value: Any) -> str:
    """Text for a Markdown surface (chat messages): Markdown punctuation and HTML escaped, lists kept.

    Markdown escapes go first (backslashes), then ``&``, ``<`` and ``>`` become
    entities, so ``<script>`` is shown as text and ``*`` does not turn into emphasis.
    """
    s = "" if value is None else str(value)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = re.sub(r"(?m)^(\s*)#", r"\1\\#", s)  # no headings from guide text
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_citations(md: str, prefix: str, numbers: set[int]) -> str:
    """Turn escaped ``\\[n\\]`` markers (as produced by :func:`md_text`) into links to ``#prefix-n``."""

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="cite" href="#{prefix}-{n}" title="Show source {n}">&#91;{n}&#93;</a>'

    return re.sub(r"\\\[(\d{1,3})\\\]", repl, md)


def notice(kind: str, text_html: str, elem_id: str | None = None) -> str:
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    return f'<div class="notice {esc(kind)}"{ident}>{text_html}</div>'


def error_notice(exc: BaseException, elem_id: str) -> str:
    """The red notice a form shows when its handler failed: :func:`~assistant.ui.shared.error_line`, escaped."""
    return notice("error", f"⚠️ {esc(error_line(exc))}", elem_id)


def cite_link(prefix: str, n: int) -> str:
    """An ``[n]`` marker that opens the passage ``#prefix-n`` (see :data:`HEAD`)."""
    return f'<a class="cite" href="#{prefix}-{n}">&#91;{n}&#93;</a>'


def citation_dict(c: Any) -> dict:
    """A citation (a ``Citation`` or its JSON) as the dict :func:`source_details` and the chat state keep."""
    if isinstance(c, dict):
        return {k: c.get(k) for k in ("n", "source", "title", "section", "text")}
    return {"n": c.n, "source": c.source, "title": c.title, "section": c.section, "text": c.text}


def source_details(citations: list, prefix: str, open_first: bool = False) -> str:
    """``<details id="prefix-n">`` blocks, each collapsed to the passage's own heading (three passages of one guide
    no longer read alike); opened: guide title, section path, source id and the escaped passage."""
    from assistant.schemas import section_label

    out = []
    for i, c in enumerate(citations):
        c = citation_dict(c)
        opened = " open" if open_first and i == 0 else ""
        out.append(
            f'<details class="src" id="{esc(prefix)}-{int(c["n"])}"{opened}>'
            f'<summary><b>[{int(c["n"])}]</b> {esc(section_label(c["section"]) or c["title"])}'
            + (f' <span class="guide">· {esc(c["title"])}</span>' if section_label(c["section"]) != c["title"] else "")
            + '</summary>'
            f'<div class="meta">Section: {esc(c["section"])} · guide id: {esc(c["source"])}</div>'
            f'<div class="passage">{esc(c["text"])}</div></details>'
        )
    return "\n".join(out)

