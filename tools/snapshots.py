"""Normalized template snapshots: the reviewed record of what the app synthesizes.

    python -m tools.snapshots diff      (make diff)       what changed against the committed snapshots
    python -m tools.snapshots accept    (make snapshots)  write the current templates as the new snapshots
    python -m tools.snapshots review [--markdown] [--against DIR] [--fail-on-replace]
                                        the change, what it replaces or deletes (tools.replacements) and its
                                        `make cost` delta against the snapshots in DIR (default tests/snapshots/; in
                                        CI, the base branch's), as text or as one Markdown pull-request comment;
                                        --fail-on-replace exits 1 when the update replaces a resource, loses or
                                        expires data, or cannot run

Snapshots are normalized templates (`tools.normalized_templates`), stable when nothing a reviewer cares about
changed: asset hashes become `<asset of LogicalId>`, the CDK version-reporting resource is dropped, and strings that
CloudFormation assembles from JSON fragments are expanded, so a one-word change is a one-line diff instead of a
changed 5 KB line.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.cost.estimate import PriceError, PriceTable
from tools.cost.facts import TemplateError
from tools.cost.report import estimate_profile, load_usage, measured_throughput
from tools.normalized_templates import normalize
from tools.replacements import Finding, assess
from tools.synthesis import PROFILES, PROJECT_ROOT, synthesize, templates

SNAPSHOT_DIR = PROJECT_ROOT / "tests" / "snapshots"


def render(template: dict) -> str:
    return json.dumps(normalize(template), indent=1, sort_keys=True) + "\n"


def snapshot_path(profile: str, stack_name: str, directory: Path = SNAPSHOT_DIR) -> Path:
    return directory / profile / f"{stack_name}.json"


def resource_changes(old: dict, new: dict) -> list[str]:
    """One line per added, removed or modified resource or output: the summary above the text diff."""
    lines = []
    for section in ("Resources", "Outputs", "Parameters", "Mappings", "Rules"):
        before, after = old.get(section, {}), new.get(section, {})
        for name in sorted(before.keys() | after.keys()):
            kind = (after.get(name) or before.get(name) or {}).get("Type", section[:-1].lower())
            if name not in before:
                lines.append(f"  + {name} ({kind})")
            elif name not in after:
                lines.append(f"  - {name} ({kind})")
            elif before[name] != after[name]:
                lines.append(f"  ~ {name} ({kind})")
    return lines


@dataclass
class StackChange:
    """One stack whose normalized template differs from its snapshot."""

    label: str  # profile/StackName
    state: str  # "new stack", "removed" or "changed"
    resources: list[str]  # resource_changes() lines
    unified: list[str]  # the unified diff of the normalized template
    replacements: list[Finding] = field(default_factory=list)  # what the update replaces, deletes or re-runs


def stack_changes(profile: str, current: dict[str, dict], directory: Path = SNAPSHOT_DIR) -> list[StackChange]:
    """The stacks of `current` (stack name -> template) that differ from the snapshots of `profile` in `directory`."""
    changes = []
    paths = {path.stem: path for path in (directory / profile).glob("*.json")}
    for stack_name in sorted(paths.keys() | current.keys()):
        old_text = paths[stack_name].read_text() if stack_name in paths else "{}\n"
        new_text = render(current[stack_name]) if stack_name in current else "{}\n"
        if old_text == new_text:
            continue
        label = f"{profile}/{stack_name}"
        state = "new stack" if stack_name not in paths else "removed" if stack_name not in current else "changed"
        unified = [
            line.rstrip("\n")
            for line in difflib.unified_diff(
                old_text.splitlines(True), new_text.splitlines(True), f"snapshot/{label}", f"synth/{label}", n=3
            )
        ]
        old, new = json.loads(old_text), json.loads(new_text)
        changes.append(StackChange(label, state, resource_changes(old, new), unified, assess(old, new)))
    return changes


def diff(profile: str, current: dict[str, dict], directory: Path = SNAPSHOT_DIR) -> list[str]:
    """Readable changes of `current` (stack name -> template) against the committed snapshots of `profile`."""
    output = []
    for change in stack_changes(profile, current, directory):
        output.append(f"=== {change.label}: {change.state}")
        output.extend(_finding_lines(change))
        output.extend(change.resources)
        output.extend(change.unified)
    return output


@dataclass
class CostChange:
    """`make cost` of one architecture and profile, before (snapshots) and after (synth), per month."""

    profile: str
    architecture: str
    idle: tuple[float, float]
    workload: tuple[float, float]


class CostNotCompared(Exception):
    """`make cost` could not price the snapshots or the synth; the review says so instead of a delta."""


def cost_changes(profile: str, current: dict[str, dict], directory: Path = SNAPSHOT_DIR) -> list[CostChange]:
    """The architectures whose `make cost` estimate differs between the snapshots and `current` (by a cent or more).

    Both sides are priced from normalized templates (a snapshot is one), so only a real change moves a number."""

    before_templates = {path.stem: json.loads(path.read_text()) for path in (directory / profile).glob("*.json")}
    try:
        prices, usage, throughput = PriceTable.load(), load_usage(profile), measured_throughput()
        before = estimate_profile(profile, before_templates, prices, usage, throughput)
        after = estimate_profile(
            profile, {name: normalize(template) for name, template in current.items()}, prices, usage, throughput
        )
    except (KeyError, PriceError, TemplateError) as error:  # e.g. a stack the snapshots do not have yet
        raise CostNotCompared(f"{profile}: the cost model cannot price both sides ({error})") from error
    return [
        CostChange(profile, old.title, (old.idle, new.idle), (old.workload, new.workload))
        for old, new in zip(before.sections, after.sections, strict=True)
        if round(old.idle, 2) != round(new.idle, 2) or round(old.workload, 2) != round(new.workload, 2)
    ]


REVIEW_MARKER = "<!-- kit-synth-review -->"
# GitHub refuses a comment body over 65,536 characters ("Body is too long (maximum is 65536 characters)",
# https://github.com/telia-oss/github-pr-resource/issues/259). The review is cut by UTF-8 bytes, which are never
# fewer than characters, so that base64-encoded it also fits the 128 KiB (MAX_ARG_STRLEN) one environment string may
# hold on Linux, https://man7.org/linux/man-pages/man2/execve.2.html
# (the workflow hands it to actions/github-script through `env:`).
GITHUB_COMMENT_LIMIT = 65_536
_CUT_NOTE_ROOM = 200  # kept free for the line that says how many diff lines were left out


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _delta(before: float, after: float) -> str:
    return f"{_money(before)} → {_money(after)} ({'+' if after >= before else '-'}{_money(abs(after - before))})"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _fence(lines: list[str]) -> str:
    """A backtick fence longer than any backtick run inside `lines`, so a template cannot close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _finding_lines(change: StackChange) -> list[str]:
    return [f"  ! {finding.line()}" for finding in change.replacements]


def review_text(
    changes: dict[str, list[StackChange]], costs: list[CostChange], cost_notes: tuple[str, ...] = ()
) -> str:
    lines = []
    for profile, profile_changes in changes.items():
        if not profile_changes:
            lines.append(f"{profile}: no change against the snapshots")
        for change in profile_changes:
            lines += [
                f"=== {change.label}: {change.state}",
                *_finding_lines(change),
                *change.resources,
                *change.unified,
            ]
    for cost in costs:
        lines.append(
            f"cost {cost.profile} {cost.architecture}: idle {_delta(*cost.idle)}, "
            f"under workload {_delta(*cost.workload)} a month"
        )
    lines += [f"cost not compared: {note}" for note in cost_notes]
    return "\n".join(lines) + "\n"


def review_markdown(
    changes: dict[str, list[StackChange]],
    costs: list[CostChange],
    against: str,
    limit: int = GITHUB_COMMENT_LIMIT - 1_000,
    cost_notes: tuple[str, ...] = (),
) -> str:
    """The review as one pull-request comment: summary first, then each stack's diff folded, cut to `limit` bytes.

    `REVIEW_MARKER` on the first line lets CI find and update its own comment instead of adding one per push."""
    changed = sum(len(profile_changes) for profile_changes in changes.values())
    gated = sum(
        finding.gated for profile_changes in changes.values() for c in profile_changes for finding in c.replacements
    )
    head = [
        REVIEW_MARKER,
        f"### Synth review: {changed} stack{'s' if changed != 1 else ''} changed"
        + (f", {gated} resource{'s' if gated != 1 else ''} replaced or losing data" if gated else ""),
        "",
        f"Normalized templates (`make diff`) against the snapshots of {against}:",
        "`+` added, `-` removed, `~` modified; first, in bold, what the update replaces, deletes or re-runs.",
        "",
    ]
    for profile, profile_changes in changes.items():
        if not profile_changes:
            head += [f"- `{profile}`: no change", ""]
            continue
        for change in profile_changes:
            head.append(f"- **`{change.label}`**: {change.state}")
            head += [
                f"  - **{', '.join(finding.marks)}**: `{finding.logical_id} ({finding.type})`, {finding.reason}"
                for finding in change.replacements
            ]
            head += [f"  - `{line.strip()}`" for line in change.resources]
        head.append("")
    if costs:
        head += [
            "#### Monthly cost (`make cost`)",
            "",
            "| profile | architecture | idle | under the stated workload |",
            "| --- | --- | --- | --- |",
        ]
        head += [
            f"| `{cost.profile}` | {cost.architecture} | {_delta(*cost.idle)} | {_delta(*cost.workload)} |"
            for cost in costs
        ]
        head.append("")
    elif changed and not cost_notes:
        head += ["Monthly cost (`make cost`): no change.", ""]
    head += [f"Monthly cost (`make cost`) not compared: {note}" for note in cost_notes] + ([""] if cost_notes else [])
    body, used, cut = [], _size("\n".join(head)), 0
    for profile_changes in changes.values():
        for change in profile_changes:
            fence = _fence(change.unified)
            opening = [
                f"<details><summary><code>{change.label}</code>: unified diff ({len(change.unified)} lines)</summary>",
                "",
                f"{fence}diff",
            ]
            closing = [fence, "", "</details>", ""]
            used += _size("\n".join(opening + closing)) + 2
            shown = []
            for line in change.unified:
                if used + _size(line) + 1 > limit - _CUT_NOTE_ROOM:
                    break
                shown.append(line)
                used += _size(line) + 1
            cut += len(change.unified) - len(shown)
            body += opening + shown + closing
    if cut:
        body.append(
            f"_{cut} diff lines left out to fit one comment: the full review is in the `synth-review` "
            "artifact, or run `make diff`._"
        )
    return "\n".join(head + body).rstrip("\n") + "\n"


def accept(profile: str, current: dict[str, dict], directory: Path = SNAPSHOT_DIR) -> list[Path]:
    """Write `current` as the snapshots of `profile`, removing those of stacks that no longer exist."""
    (directory / profile).mkdir(parents=True, exist_ok=True)
    for stale in (directory / profile).glob("*.json"):
        if stale.stem not in current:
            stale.unlink()
    written = []
    for stack_name, template in current.items():
        path = snapshot_path(profile, stack_name, directory)
        path.write_text(render(template))
        written.append(path)
    return written


def review(against: Path, markdown: bool) -> tuple[str, list[Finding]]:
    """`review`: every profile synthesized and compared with the snapshots in `against`, with the cost delta; and
    the findings that gate `--fail-on-replace`."""
    changes: dict[str, list[StackChange]] = {}
    costs: list[CostChange] = []
    notes: list[str] = []
    for profile in PROFILES:
        current = templates(synthesize(profile))
        changes[profile] = stack_changes(profile, current, against)
        if changes[profile]:
            try:
                costs += cost_changes(profile, current, against)
            except CostNotCompared as error:
                notes.append(str(error))
    gated = [finding for found in changes.values() for c in found for finding in c.replacements if finding.gated]
    if markdown:
        return review_markdown(changes, costs, f"`{_shown(against)}`", cost_notes=tuple(notes)), gated
    return review_text(changes, costs, tuple(notes)), gated


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def main(argv: list[str]) -> int:
    if argv[:1] == ["review"]:
        parser = argparse.ArgumentParser(prog="python -m tools.snapshots review")
        parser.add_argument("--markdown", action="store_true", help="one pull-request comment instead of text")
        parser.add_argument(
            "--against",
            type=Path,
            default=SNAPSHOT_DIR,
            help="snapshot directory to compare with (default tests/snapshots; in CI the base's)",
        )
        parser.add_argument(
            "--fail-on-replace",
            action="store_true",
            help="exit 1 when the update replaces a resource, loses, orphans or expires data, or cannot run",
        )
        options = parser.parse_args(argv[1:])
        if not options.against.is_dir():
            print(f"--against {options.against}: no such directory (a tests/snapshots/ copy)", file=sys.stderr)
            return 2
        text, gated = review(options.against, options.markdown)
        print(text, end="")
        if options.fail_on_replace and gated:
            print(
                f"--fail-on-replace: {len(gated)} resource(s) replaced or losing data: "
                + ", ".join(finding.logical_id for finding in gated),
                file=sys.stderr,
            )
            return 1
        return 0
    if argv not in (["diff"], ["accept"]):
        print(
            "usage: python -m tools.snapshots diff|accept|review [--markdown] [--against DIR] [--fail-on-replace]",
            file=sys.stderr,
        )
        return 2
    changed = False
    for profile in PROFILES:
        current = templates(synthesize(profile))
        if argv == ["accept"]:
            for path in accept(profile, current):
                print(f"wrote {path.relative_to(PROJECT_ROOT)}")
            continue
        lines = diff(profile, current)
        changed |= bool(lines)
        print("\n".join(lines) if lines else f"{profile}: no change against the snapshots")
    if changed:
        print("\nReview the change above; accept it with `make snapshots` and commit tests/snapshots/.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
