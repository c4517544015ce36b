"""The offline eval suite: the dataset format, metrics, the runner, the tutorial baseline, reports and charts (datasets live in evals/).

Modules: :mod:`~assistant.evaluation.dataset` (reading and checking a JSONL
dataset), :mod:`~assistant.evaluation.metrics` (pure metric functions and their
definitions), :mod:`~assistant.evaluation.baseline` (the tutorial pipeline),
:mod:`~assistant.evaluation.report` (files on disk and charts),
:mod:`~assistant.evaluation.runner` (running the suite, checking thresholds).
"""

from assistant.evaluation.metrics import DEFINITIONS
from assistant.evaluation.report import latest_report
from assistant.evaluation.runner import check, run

__all__ = ["DEFINITIONS", "check", "latest_report", "run"]
