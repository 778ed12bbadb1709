"""Run the chosen architectures' paths one after the other, clean up after each, and print the table."""

from __future__ import annotations

from typing import Callable

from tools.cost.estimate import PriceTable
from tools.smoke import churn, model_quality, redshift_ml
from tools.smoke.churn import run_churn
from tools.smoke.core import FAIL, PASS, SKIP, Clients, Clock, Prerequisite, Run, StepFailed
from tools.smoke.model_quality import run_model_quality
from tools.smoke.redshift_ml import run_redshift_ml

ARCHITECTURES: dict[str, Callable[..., None]] = {
    "redshift_ml": run_redshift_ml,
    "model_quality": run_model_quality,
    "churn_model": run_churn,
}
# Each architecture's stack, whose topic the notice check subscribes to before the path runs.
STACKS = {"redshift_ml": redshift_ml.STACK, "model_quality": model_quality.STACK, "churn_model": churn.STACK}


def run_smoke(
    clients: Clients,
    region: str,
    *,
    only: str | None = None,
    keep: bool = False,
    clock: Clock | None = None,
    prices: PriceTable | None = None,
    paths: dict[str, Callable[..., None]] | None = None,
    notices: Callable[..., None] | None = None,
    environment: str = "",
    kept: str = "kept (--keep)",
) -> list[Run]:
    """Each architecture: first the notice check when given (`make smoke` gives `prove_delivery`; a failure there is
    reported and the path still runs; a stack that is not deployed skips both), then its path until the first failed step; its cleanups run whatever
    happened (unless keep; `kept` says why). `environment`: the `kit:environment` the stacks were deployed with (their
    name prefix)."""
    clock = clock or Clock()
    prices = prices or PriceTable.load()
    runs = []
    for name, path in (paths or ARCHITECTURES).items():
        if only and name != only:
            continue
        run = Run(name, clock)
        stack = f"{environment}-{STACKS[name]}" if environment else STACKS[name]
        try:
            if notices is not None:
                notices(run, clients, region, stack)
            path(run, clients, region, prices, **({"stack": stack} if environment else {}))
        except (StepFailed, Prerequisite) as error:
            if not error.recorded:  # raised between steps, e.g. an output the deployed stack lacks
                run.record("between steps", FAIL, clock.monotonic(), str(error))
        except Exception as error:  # noqa: BLE001 - an unexpected answer must still clean up and report
            run.record("unexpected error", FAIL, clock.monotonic(), f"{type(error).__name__}: {error}")
        finally:
            run.clean_up(keep, kept)
        runs.append(run)
    return runs


def exit_code(runs: list[Run]) -> int:
    """0: every path that ran passed; 1: a step failed; 2: nothing ran (every stack missing)."""
    steps = [step for run in runs for step in run.steps]
    if any(step.status == FAIL for step in steps):
        return 1
    return 0 if any(step.status == PASS for step in steps) else 2


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def render(runs: list[Run], region: str, prices: PriceTable) -> str:
    rows = [("architecture", "step", "result", "duration", "detail")]
    rows += [(s.architecture, s.name, s.status, _duration(s.seconds), s.detail) for r in runs for s in r.steps]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths) + "  " + "-" * 6)
    lines.append("")
    lines.append(
        f"Estimated cost of this run ({prices.region} list prices of {prices.as_of}, {region} used; "
        "tax and free tiers not applied):"
    )
    total = 0.0
    for run in runs:
        for charge in run.charges:
            lines.append(f"  {charge.architecture:<14} ${charge.usd:8.4f}  {charge.item}")
            total += charge.usd
    lines.append(f"  {'total':<14} ${total:8.4f}")
    counts = {status: sum(s.status == status for r in runs for s in r.steps) for status in (PASS, FAIL, SKIP)}
    lines.append("")
    lines.append(f"smoke: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
    return "\n".join(lines) + "\n"
