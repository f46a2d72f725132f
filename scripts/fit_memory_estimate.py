"""Fit the usable-memory estimate in src/gpuwise/catalog/data/catalog.json.

For cards whose catalogue entry has ``pytorch_total_memory_mib`` (a real torch/deviceQuery
printout), the driver reserve is ``memory_gb * 1024 - pytorch_total_memory_mib``. The estimate
used for every other card is ``reserve = max(min_reserve_mib, reserve_fraction * memory MiB)``;
this script picks the pair that never overstates usable memory on the cards fitted (so plans err
towards "does not fit") and records the largest error. Cards with ECC reserving part of GDDR
(L40S, L4, A10, T4: ECC on by default) are left out of the fit and named.

Usage: python scripts/fit_memory_estimate.py   (rewrites the estimate in catalog.json)
"""

from __future__ import annotations

import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "src/gpuwise/catalog/data"
ECC_GDDR = {"l40s", "l4", "a10", "t4"}


def points() -> list[tuple[str, float, int]]:
    out = []
    for path in sorted((DATA / "cards").glob("*.json")):
        for card in json.loads(path.read_text())["cards"]:
            if card.get("pytorch_total_memory_mib") and card["slug"] not in ECC_GDDR:
                out.append(
                    (card["slug"], card["memory_gb"] * 1024, card["pytorch_total_memory_mib"])
                )
    return out


def main() -> None:
    pts = points()
    best = None
    for min_reserve in range(0, 1001, 10):
        for frac_milli in range(0, 40):
            frac = frac_milli / 1000
            errors = [
                (total - max(min_reserve, frac * total)) - measured for _, total, measured in pts
            ]
            if max(errors) > 0:  # would overstate usable memory somewhere
                continue
            score = max(abs(e) for e in errors)
            if best is None or score < best[0]:
                best = (score, min_reserve, frac)
    assert best is not None
    score, min_reserve, frac = best
    meta = json.loads((DATA / "catalog.json").read_text())
    est = meta["usable_memory_estimate"]
    est.update(
        reserve_fraction=frac,
        min_reserve_mib=min_reserve,
        fitted_on_cards=len(pts),
        fitted_on=[slug for slug, _, _ in pts],
        max_abs_error_mib=round(score),
        left_out="ECC-on GDDR data-centre cards (" + ", ".join(sorted(ECC_GDDR)) + ")",
    )
    (DATA / "catalog.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"min_reserve_mib={min_reserve} reserve_fraction={frac} on {len(pts)} cards; "
        f"largest error {score:.0f} MiB (never overstating)"
    )


if __name__ == "__main__":
    main()
