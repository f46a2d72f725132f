"""A doctor's report -> its JSON document (``gpuwise doctor``).

The report says its findings, advice and notes as messages; the document holds them said in the
language in use (the same words the tables show), so that it reads as plain JSON values."""

from __future__ import annotations

from typing import Any

from gpuwise.i18n import Message
from gpuwise.render.document import envelope


def doctor_doc(report: Any, kb_date: str, catalog_date: str) -> dict[str, Any]:
    """``gpuwise doctor``: the machine, what was checked, and one verdict per card.

    ``cards[]``: ``name``, ``compute_capability``, ``architecture``, ``problems[]`` (``code``,
    ``severity``, ``message``), ``advice[]`` (``code``, ``message``), ``install`` (``command``,
    ``torch``, ``cuda``, ``index_url``, ``min_driver``, ``driver_compat``, ``note``),
    ``support`` (the oldest and newest torch / CUDA / driver that work) and ``frameworks``
    (``tensorflow`` and ``jax``: ``version``, ``how``, ``oldest``, ``newest``, ``install``).
    ``errors``: whether doctor found an error (it then exits 1).
    """
    from dataclasses import asdict

    m = report.machine
    doc = envelope(
        kb_date=kb_date,
        frameworks_kb_date=_frameworks_date(),
        errors=report.has_errors,
        catalog_date=catalog_date,
        mode=m.mode,
        system={
            "os": m.os,
            "os_detail": m.os_detail,
            "python": m.python,
            "driver": m.driver,
            "gpu_source": m.gpu_source,
            "nvcc": m.nvcc,
            "torch": None
            if m.torch is None
            else {
                "version": m.torch.version,
                "cuda": m.torch.cuda,
                "arch_list": report.torch_arch_list,
                "arch_list_detected": m.torch.arch_list is not None,
                "cuda_available": m.torch.cuda_available,
                "how": m.torch.how,
            },
            "libraries": dict(m.libraries),
            "tensorflow": None if m.tensorflow is None else asdict(m.tensorflow),
            "jax": None if m.jax is None else asdict(m.jax),
        },
        checked=[asdict(c) for c in m.checks],
        what_it_checks=list(report.what_it_checks),
        problems=[asdict(p) for p in m.problems],
        install=None if report.install is None else asdict(report.install),
        cards=[
            {
                "name": c.name,
                "compute_capability": c.compute_capability,
                "architecture": c.architecture,
                "slug": c.catalog_slug,
                "memory_total_bytes": c.memory_total_bytes,
                "memory_used_bytes": c.memory_used_bytes,
                "features": c.features,
                "problems": [asdict(p) for p in c.problems],
                "advice": [asdict(a) for a in c.advice],
                "install": None if c.install is None else asdict(c.install),
                "support": None if c.support is None else asdict(c.support),
                "frameworks": {
                    f.name: {
                        "version": f.version,
                        "how": f.how,
                        "oldest": f.oldest,
                        "newest": f.newest,
                        "install": asdict(f.install),
                    }
                    for f in c.frameworks
                },
            }
            for c in report.cards
        ],
    )
    return _said(doc)


def _said(value: Any) -> Any:
    """``value`` with every message in it said in the language in use."""
    if isinstance(value, Message):
        return value.render()
    if isinstance(value, dict):
        return {k: _said(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_said(v) for v in value]
    return value


def _frameworks_date() -> str:
    from gpuwise.doctor.frameworks import load_frameworks

    return load_frameworks().date
