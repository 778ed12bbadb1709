"""Normalized template snapshots: the reviewed record of what the app synthesizes.

    python -m tools.snapshots diff      (make diff)       what changed against the committed snapshots
    python -m tools.snapshots accept    (make snapshots)  write the current templates as the new snapshots

Normalizing keeps a snapshot stable when nothing a reviewer cares about changed: asset hashes (they change with
every code edit, which the code review already shows) become `<asset of LogicalId>`, the CDK version-reporting
resource is dropped, and strings that CloudFormation assembles from JSON fragments (pipeline and state machine
definitions) are expanded into JSON, so a one-word change is a one-line diff instead of a changed 5 KB line.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

from tools.synthesis import PROFILES, PROJECT_ROOT, synthesize, templates

SNAPSHOT_DIR = PROJECT_ROOT / "tests" / "snapshots"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
VERSION_REPORTING = ("CDKMetadata", "CDKMetadataAvailable")
EXPANDED_JSON = "Fn::Join (JSON, expanded for review)"
_TOKEN = re.compile(r"@@intrinsic(\d+)@@")


def normalize(template: dict) -> dict:
    """The template with volatile values replaced and embedded JSON expanded (a review artifact, not deployable)."""
    template = {section: dict(body) if isinstance(body, dict) else body for section, body in template.items()}
    for section in ("Resources", "Conditions"):
        for name in VERSION_REPORTING:
            template.get(section, {}).pop(name, None)
    text = json.dumps(template, sort_keys=True)
    for placeholder, digest in _asset_placeholders(template).items():
        text = text.replace(digest, placeholder)
    return _expand_json(json.loads(text))


def _asset_placeholders(template: dict) -> dict[str, str]:
    """Each asset hash named after the first resource (by logical id) that uses it."""
    names: dict[str, str] = {}
    seen: set[str] = set()
    sections = [(logical_id, body) for logical_id, body in sorted(template.get("Resources", {}).items())]
    sections += [(f"Outputs.{name}", body) for name, body in sorted(template.get("Outputs", {}).items())]
    for owner, body in sections:
        found = [digest for digest in dict.fromkeys(ASSET_HASH.findall(json.dumps(body, sort_keys=True)))
                 if digest not in seen]
        for index, digest in enumerate(found, start=1):
            suffix = f" #{index}" if len(found) > 1 else ""
            names[f"<asset of {owner}{suffix}>"] = digest
            seen.add(digest)
    return names


def _expand_json(value):
    if isinstance(value, list):
        return [_expand_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    join = value.get("Fn::Join")
    if len(value) == 1 and isinstance(join, list) and len(join) == 2 and join[0] == "":
        expanded = _join_as_json(join[1])
        if expanded is not None:
            return {EXPANDED_JSON: expanded}
    return {key: _expand_json(item) for key, item in value.items()}


def _join_as_json(parts: list):
    """Parse a Join of JSON text and intrinsics as JSON, the intrinsics kept where they stand; None if not JSON."""
    intrinsics = [part for part in parts if not isinstance(part, str)]
    text, index = "", 0
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            text += f"@@intrinsic{index}@@"
            index += 1
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return _restore(parsed, intrinsics)


def _restore(value, intrinsics: list):
    if isinstance(value, list):
        return [_restore(item, intrinsics) for item in value]
    if isinstance(value, dict):
        return {key: _restore(item, intrinsics) for key, item in value.items()}
    if not isinstance(value, str) or not _TOKEN.search(value):
        return value
    restored = [_expand_json(intrinsics[int(piece)]) if position % 2 else piece
                for position, piece in enumerate(_TOKEN.split(value))]
    restored = [piece for piece in restored if piece != ""]
    return restored[0] if len(restored) == 1 else {"Fn::Join": ["", restored]}


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


def diff(profile: str, current: dict[str, dict], directory: Path = SNAPSHOT_DIR) -> list[str]:
    """Readable changes of `current` (stack name -> template) against the committed snapshots of `profile`."""
    output = []
    paths = {path.stem: path for path in (directory / profile).glob("*.json")}
    for stack_name in sorted(paths.keys() | current.keys()):
        old_text = paths[stack_name].read_text() if stack_name in paths else "{}\n"
        new_text = render(current[stack_name]) if stack_name in current else "{}\n"
        if old_text == new_text:
            continue
        label = f"{profile}/{stack_name}"
        state = "new stack" if stack_name not in paths else "removed" if stack_name not in current else "changed"
        output.append(f"=== {label}: {state}")
        output.extend(resource_changes(json.loads(old_text), json.loads(new_text)))
        output.extend(line.rstrip("\n") for line in difflib.unified_diff(
            old_text.splitlines(True), new_text.splitlines(True), f"snapshot/{label}", f"synth/{label}", n=3))
    return output


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


def main(argv: list[str]) -> int:
    if argv not in (["diff"], ["accept"]):
        print("usage: python -m tools.snapshots diff|accept", file=sys.stderr)
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
