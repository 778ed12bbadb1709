"""Build the per-profile estimate from a synthesized app and render it as Markdown tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tools.cost import estimate
from tools.cost.estimate import COST_DIR, Option, PriceTable, Section
from tools.cost.facts import churn_facts, model_quality_facts, redshift_facts, stack_overhead

BENCHMARK_RESULTS = COST_DIR.parent.parent / "benchmarks" / "results" / "pr_bench.json"
EXTRACT_RESULTS = BENCHMARK_RESULTS.with_name("extract_size.json")


@dataclass
class ProfileEstimate:
    profile: str
    sections: list[Section]
    redshift_options: list[Option]

    @property
    def idle(self) -> float:
        return sum(section.idle for section in self.sections)

    @property
    def workload(self) -> float:
        return sum(section.workload for section in self.sections)


def load_usage(profile: str, path: Path = COST_DIR / "usage.json") -> dict:
    usage = json.loads(path.read_text())
    if profile not in usage:
        raise KeyError(f"no usage assumptions for profile '{profile}' in {path.name}")
    return usage[profile]


def measured_throughput(path: Path = BENCHMARK_RESULTS) -> dict:
    """The precision-recall benchmark's last recorded run (`make bench-pr` writes it)."""
    return json.loads(path.read_text())


def measured_extract_size(path: Path = EXTRACT_RESULTS) -> dict:
    """The daily extract's bytes per record, as `make bench-extract` last measured them."""
    return json.loads(path.read_text())


def extract_cpu_share(throughput: dict) -> float:
    """The extraction's share of the job's CPU, as `make bench-pr` recorded it (what hourly runs take over)."""
    if "extract_cpu_share" not in throughput:
        raise ValueError(
            "benchmarks/results/pr_bench.json has no extract_cpu_share (the extraction's share of the job's CPU, "
            "which prices the hourly runs): run `make bench-pr`"
        )
    return float(throughput["extract_cpu_share"])


def checked_throughput(throughput: dict, heap_gb_per_vcpu: float) -> dict:
    """The recorded benchmark, if it measured the job with no more heap per core than the template's executors give
    a vCPU (a throughput measured with more memory would price a job that does not run)."""
    missing = [
        key
        for key in ("heap_gb_per_core", "gc_share", "profile_spill_mb", "run_fixed_seconds")
        if key not in throughput
    ]
    if missing:
        raise ValueError(f"benchmarks/results/pr_bench.json has no {', '.join(missing)}: run `make bench-pr`")
    if throughput["heap_gb_per_core"] > heap_gb_per_vcpu:
        raise ValueError(
            f"`make bench-pr` measured the job with {throughput['heap_gb_per_core']:g} GB of heap per core, more than "
            f"the {heap_gb_per_vcpu:g} GB per vCPU of the template's executors: run `make bench-pr` again"
        )
    return throughput


def estimate_profile(
    profile: str,
    templates: dict[str, dict],
    prices: PriceTable,
    usage: dict,
    throughput: dict,
    extract_size: dict | None = None,
) -> ProfileEstimate:
    hours = usage["hours_per_month"]
    redshift_template = templates["RedshiftMlStack"]
    quality_template = templates["ModelQualityStack"]
    churn_template = templates["ChurnModelStack"]
    recommender, options = estimate.redshift(
        redshift_facts(redshift_template), stack_overhead(redshift_template), usage["redshift"], prices, hours
    )
    quality_facts = model_quality_facts(quality_template)
    throughput = checked_throughput(throughput, quality_facts.executor_heap_gb_per_vcpu)
    quality = estimate.model_quality(
        quality_facts,
        stack_overhead(quality_template),
        usage["model_quality"],
        prices,
        hours,
        throughput["mb_per_s_per_core"],
        (throughput["widest_half_width"], throughput["capture_mb"]) if "widest_half_width" in throughput else None,
        extract_size if extract_size is not None else measured_extract_size(),
        extract_cpu_share(throughput),
        throughput["run_fixed_seconds"],
    )
    quality.notes.append(
        f"Throughput: {throughput['mb_per_s_per_core']} MB/s per vCPU ({throughput['mb_per_s_per_core_basis']}) and "
        f"{throughput['run_fixed_seconds']} s a run, measured by `make bench-pr` on {throughput['measured_on']} "
        f"({throughput['rows']:,} rows, {throughput['machine']}, {throughput['heap_gb_per_core']:g} GB of heap per "
        f"core as deployed: {throughput['gc_share']:.1%} of the time in garbage collection, "
        f"{throughput['profile_spill_mb']} MB spilled)."
    )
    churn = estimate.churn(churn_facts(churn_template), stack_overhead(churn_template), usage["churn"], prices, hours)
    return ProfileEstimate(profile, [recommender, quality, churn], options)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _table(section: Section) -> list[str]:
    lines = [
        f"### {section.title}",
        "",
        "| item | basis | idle / month | under workload / month |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {line.item} | {line.basis} | {_money(line.idle)} | {_money(line.workload)} |" for line in section.lines
    ]
    lines.append(f"| **total** | | **{_money(section.idle)}** | **{_money(section.workload)}** |")
    lines += [""] + [f"- {note}" for note in section.notes] + ([""] if section.notes else [])
    return lines


def _options(options: list[Option]) -> list[str]:
    lines = [
        "### Redshift ML in-database vs the export pipeline it replaces (ML part only: the warehouse is the "
        "same in all of them)",
        "",
        "| option | inference / month | training / month | total / month |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {option.name} | {_money(option.inference)} | {_money(option.training)} | {_money(option.total)} |"
        for option in options
    ]
    cheapest = min((option for option in options if option.confirmed), key=lambda option: option.total)
    return lines + ["", f"- Cheapest here: {cheapest.name}.", ""]


def render(estimates: list[ProfileEstimate], prices: PriceTable) -> str:
    lines = [f"# Monthly cost estimate ({prices.region}, prices as of {prices.as_of}; tools/cost/prices.json)", ""]
    for profile_estimate in estimates:
        lines += [f"## Profile `{profile_estimate.profile}` (usage: tools/cost/usage.json)", ""]
        for section in profile_estimate.sections:
            lines += _table(section)
        lines += _options(profile_estimate.redshift_options)
        lines += [
            f"**{profile_estimate.profile} total: {_money(profile_estimate.idle)} a month idle, "
            f"{_money(profile_estimate.workload)} under the stated workload.**",
            "",
        ]
    sandbox = [item for item in estimates if item.profile == "sandbox"]
    if sandbox:
        lines.append(
            f"**Sandbox idle total: {_money(sandbox[0].idle)} a month** (everything deployed, nothing running): "
            + ", ".join(f"{section.title.split(' (')[0]} {_money(section.idle)}" for section in sandbox[0].sections)
            + "."
        )
    return "\n".join(lines) + "\n"
