"""Citations: the passages an answer used, numbered 1..n in the order the answer first cites them.

Answers are written against the retrieved list (``[n]`` = the n-th hit);
:func:`renumber` maps those markers to 1..n and lists only the passages actually
cited, so a reader never sees a citation the answer does not use. :data:`NOTE`,
the reminder that the guides are advice and not policy, goes with every answer.
"""

from __future__ import annotations

import re

from assistant.schemas import Citation, Hit

NOTE = (
    "These guides are advice, not official policy: check program-specific facts with the program, "
    "ERAS, NRMP or FREIDA."
)

_MARKER = re.compile(r"\[(\d{1,2})\]")


def renumber(text: str, used: list[int], hits: list[Hit]) -> tuple[str, list[Citation]]:
    """Map hit-index markers to 1..n in order of first use; list only the passages used."""
    order: list[int] = []
    for m in _MARKER.finditer(text):
        i = int(m.group(1)) - 1
        if 0 <= i < len(hits) and i not in order:
            order.append(i)
    mapping = {i: n for n, i in enumerate(order, 1)}

    def sub(m: re.Match) -> str:
        i = int(m.group(1)) - 1
        return f"[{mapping[i]}]" if i in mapping else ""

    new_text = _MARKER.sub(sub, text)
    cites = [Citation(n=mapping[i], source=hits[i].source, title=hits[i].title, section=hits[i].section, text=hits[i].text) for i in order]
    return new_text, cites
