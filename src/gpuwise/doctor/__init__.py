"""``gpuwise doctor``: is this machine set up right for its cards, and what exactly to install.

detect (what is here) -> knowledge (data/compat.json) -> verdict (per card) -> report.
"""

from __future__ import annotations

from gpuwise.doctor.described import Described, describe, override
from gpuwise.doctor.detect import Probes, detect
from gpuwise.doctor.knowledge import Knowledge, load_knowledge
from gpuwise.doctor.report import Report, build_report

__all__ = [
    "Described",
    "Knowledge",
    "Probes",
    "Report",
    "build_report",
    "describe",
    "detect",
    "load_knowledge",
    "override",
]
