"""The offline eval suite: the dataset format, metrics, the runner, the tutorial baseline, reports and charts (datasets live in evals/).

Modules: :mod:`~assistant.evaluation.dataset` (reading and checking a JSONL
dataset), :mod:`~assistant.evaluation.metrics` (pure metric functions and their
definitions), :mod:`~assistant.evaluation.baseline` (the tutorial pipeline),
:mod:`~assistant.evaluation.report` (files on disk and charts),
:mod:`~assistant.evaluation.readability` (what a reader stumbles on in an answer),
:mod:`~assistant.evaluation.runner` (running the suite, checking thresholds).
"""

from assistant.evaluation.metrics import DEFINITIONS
from assistant.evaluation.readability import KINDS as READABILITY_KINDS
from assistant.evaluation.readability import answer_words, defects, first_sentence_holds, is_clean, names_band
from assistant.evaluation.report import latest_report
from assistant.evaluation.runner import check, run

__all__ = [
    "DEFINITIONS",
    "READABILITY_KINDS",
    "answer_words",
    "check",
    "defects",
    "first_sentence_holds",
    "is_clean",
    "latest_report",
    "names_band",
    "run",
]
