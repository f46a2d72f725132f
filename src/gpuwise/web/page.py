"""The labels the page shows: the catalogue keys its script asks for (``t("web.page.title")``)
and nothing else; `/api/messages` serves these, in the language asked for. A test holds this
list and the script's keys equal."""

from __future__ import annotations

PAGE_KEYS = (
    "web.page.title",
    "web.page.intro",
    "web.page.language",
    "web.page.model",
    "web.page.model_hint",
    "web.page.upload",
    "web.page.uploaded",
    "web.page.task",
    "web.page.task_train",
    "web.page.task_infer",
    "web.page.method",
    "web.page.precision",
    "web.page.batch",
    "web.page.seq",
    "web.page.grad_checkpointing",
    "web.page.cards",
    "web.page.cards_hint",
    "web.page.plan",
    "web.page.working",
    "web.page.memory_title",
    "web.page.usable",
    "web.page.fits",
    "web.page.no_fit",
    "web.page.col_card",
    "web.page.col_fits",
    "web.page.col_required",
    "web.page.col_usable",
    "web.page.col_headroom",
    "web.page.col_max_batch",
    "web.page.col_max_seq",
    "web.page.col_speed",
    "web.page.col_step",
    "web.page.yes",
    "web.page.no",
    "web.page.advice",
    "web.page.cli",
    "web.page.copy",
    "web.page.copied",
    "web.page.share",
    "web.page.recommend_title",
    "web.page.budget",
    "web.page.currency",
    "web.page.recommend",
    "web.page.col_rank",
    "web.page.col_option",
    "web.page.col_strategy",
    "web.page.col_memory_per_gpu",
    "web.page.col_cost",
    "web.page.col_why",
    "web.page.none_fit",
    "web.page.catalog_title",
    "web.page.axis_memory",
    "web.page.axis_speed",
    "web.page.axis_price",
    "web.page.error",
    "web.part.weights",
    "web.part.gradients",
    "web.part.optimizer",
    "web.part.activations",
    "web.part.kv_cache",
    "web.part.temporaries",
    "web.part.overhead",
)


def page_messages(language: str) -> dict[str, str | dict[str, str]]:
    """The page's labels in ``language`` (English where a label is not translated yet)."""
    from gpuwise.i18n import catalogue

    english, said = catalogue("en", "web"), catalogue(language, "web")
    return {key: said.get(key, english[key]) for key in PAGE_KEYS}
