"""The normalized-template reader: a synthesized template as the review reads it, the one place that defines it.

Asset hashes (they change with every code edit, which the code review already shows) become `<asset of LogicalId>`,
the CDK version-reporting resource is dropped, and strings that CloudFormation assembles from JSON fragments
(pipeline and state machine definitions) are expanded into JSON. The snapshots (`tools.snapshots`), the review's
replacement check and the cost facts (`tools.cost.facts`) read templates through it; it imports no other kit module,
so they all depend on it and it on none of them.
"""

from __future__ import annotations

import json
import re

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
        found = [
            digest
            for digest in dict.fromkeys(ASSET_HASH.findall(json.dumps(body, sort_keys=True)))
            if digest not in seen
        ]
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
    restored = [
        _expand_json(intrinsics[int(piece)]) if position % 2 else piece
        for position, piece in enumerate(_TOKEN.split(value))
    ]
    restored = [piece for piece in restored if piece != ""]
    return restored[0] if len(restored) == 1 else {"Fn::Join": ["", restored]}
