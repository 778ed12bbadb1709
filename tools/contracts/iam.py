"""IAM policy evaluation, offline, the way IAM decides a request in one account.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an explicit Deny in
any policy wins; otherwise the request needs an Allow from an identity policy or from the resource's policy
(same account). KMS is the exception: a key policy must allow the caller, directly or by allowing the account
(`arn:aws:iam::<account>:root`), which lets identity policies grant it
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).

Matching (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
..._resource.html): `*` and `?` wildcards; actions are case-insensitive, resources are not. A condition whose key
the request carries (`Call.context`) is evaluated; one whose key the request never carries fails (unless
`...IfExists`); any other condition is taken as satisfiable, because its value is only known at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import sar
from .resolve import PARTITION

# Which actions take a resource and which condition keys each carries come from the Service Authorization Reference
# (tools/contracts/sar.py): an action with no resource type is evaluated against "*" whatever resource the call
# names, and a condition on a key the action does not carry cannot hold for it (e.g. Application Auto Scaling's
# Describe* actions carry no service keys:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_applicationautoscaling.html).

# Every call the kit makes goes over TLS 1.2 or later (AWS endpoints require TLS 1.2 since 2024:
# https://aws.amazon.com/blogs/security/tls-1-2-required-for-aws-endpoints/).
DEFAULT_CONTEXT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.2"}
_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    pattern, value = str(pattern), str(value)
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    return _glob(pattern, resource)


def supports_resource_level(action: str) -> bool:
    return sar.takes_resource(action)


@dataclass(frozen=True)
class Call:
    """One request: action, resource (ARN, or "*"), and the condition keys whose values are known offline."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # condition keys known not to be on the request

    @property
    def effective_resource(self) -> str:
        return self.resource if supports_resource_level(self.action) else "*"


@dataclass(frozen=True)
class Principal:
    """("AWS", role ARN) or ("Service", "events.amazonaws.com")."""

    kind: str
    identifier: str

    @property
    def account_root(self) -> str | None:
        if self.kind != "AWS":
            return None
        return f"arn:{PARTITION}:iam::{self.identifier.split(':')[4]}:root"


def _carried_never(action: str, key: str) -> bool:
    """A key that is not in the request context of `action` (Service Authorization Reference)."""
    return not sar.carries_key(action, key)


def _absent(call: Call, key: str) -> bool:
    return key in call.absent or _carried_never(call.action, key)


def _value_matches(operator: str, expected: str, actual: str) -> bool:
    if "${" in str(expected):  # a policy variable (${aws:userid}): its value is the caller's, assume it matches
        return True
    if operator in _NUMERIC:
        return _NUMERIC[operator](float(actual), float(expected))
    if operator.startswith(("StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals")):
        return _glob(expected, actual)
    if operator.startswith(("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool")):
        return str(expected).lower() == str(actual).lower()
    return str(expected) == str(actual)


def condition_holds(condition: dict | None, call: Call) -> bool:
    """Whether a statement's Condition can hold for `call` (see the module docstring)."""
    context = {key: value for key, value in {**DEFAULT_CONTEXT, **call.context}.items() if not _absent(call, key)}
    for raw_operator, keys in (condition or {}).items():
        operator = raw_operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: taken as the plain operator
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        negated = "Not" in operator and operator not in _NUMERIC
        for key, expected in keys.items():
            expected_values = [str(value) for value in _as_list(expected)]
            if operator == "Null":
                wants_absent = expected_values[0].lower() == "true"
                if key in context and wants_absent:
                    return False
                if _absent(call, key) and not wants_absent:
                    return False
                continue
            if key not in context:
                if _absent(call, key) and not if_exists and not negated:
                    return False
                continue  # known only at run time: satisfiable
            matched = any(_value_matches(operator, value, context[key]) for value in expected_values)
            if matched == negated:
                return False
    return True


def _principal_matches(statement: dict, principal: Principal | None) -> bool:
    if principal is None:  # identity policy: the statement applies to the role it is attached to
        return True
    spec = statement.get("Principal")
    if spec == "*" or spec == {"AWS": "*"}:
        return True
    if not isinstance(spec, dict):
        return False
    names = [str(name) for name in _as_list(spec.get(principal.kind))]
    if principal.kind == "AWS" and principal.identifier.endswith(":root"):
        account = principal.identifier.split(":")[4]
        return any(name in (principal.identifier, account, "*") for name in names)
    if principal.kind == "AWS":  # a role: named itself (an account or root principal only delegates to IAM)
        return any(name in (principal.identifier, "*") for name in names)
    return principal.identifier in names


def statement_matches(statement: dict, call: Call, principal: Principal | None = None) -> bool:
    resource = call.effective_resource
    if "Action" in statement:
        if not any(action_matches(pattern, call.action) for pattern in _as_list(statement["Action"])):
            return False
    elif any(action_matches(pattern, call.action) for pattern in _as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(resource_matches(str(pattern), resource) for pattern in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(resource_matches(str(pattern), resource) for pattern in _as_list(statement["NotResource"])):
            return False
    if not _principal_matches(statement, principal):
        return False
    return condition_holds(statement.get("Condition"), call)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _matching(statements: Iterable[dict], call: Call, effect: str, principal: Principal | None) -> list[dict]:
    return [s for s in statements if s.get("Effect") == effect and statement_matches(s, call, principal)]


def evaluate(
    call: Call,
    *,
    principal: Principal,
    identity: Iterable[dict] = (),
    resource_policy: Iterable[dict] | None = None,
    resource_policy_required: bool = False,
) -> Decision:
    """Whether `principal` may make `call`, given its identity policies and the resource's policy.

    `resource_policy_required` (KMS keys): the resource policy must allow the principal or, for a role of the
    account, allow the account's root, which delegates to the identity policies."""
    identity = list(identity)
    resource_policy = list(resource_policy or [])
    denied = _matching(identity, call, "Deny", None) + _matching(resource_policy, call, "Deny", principal)
    if denied:
        return Decision(False, f"explicit Deny ({denied[0].get('Sid', 'no Sid')})")
    by_resource = _matching(resource_policy, call, "Allow", principal)
    by_identity = _matching(identity, call, "Allow", None) if principal.kind == "AWS" else []
    if resource_policy_required:
        root = principal.account_root
        delegates = root is not None and _matching(resource_policy, call, "Allow", Principal("AWS", root))
        if by_resource or (delegates and by_identity):
            return Decision(True, "allowed")
        return Decision(False, "the key policy does not allow it" if not delegates else "no identity policy allows it")
    if by_resource or by_identity:
        return Decision(True, "allowed")
    return Decision(False, "no policy allows it")


def allowing_statements(statements: Iterable[dict], call: Call, principal: Principal) -> list[dict]:
    return _matching(statements, call, "Allow", principal)


def statement_problems(statement: dict) -> list[str]:
    """What in one policy statement can never take effect, by the Service Authorization Reference
    (tools/contracts/sar.py): an Action element that matches no real action; an action none of whose resource types
    any Resource entry can name (or, for an action with no resource type, a Resource that is not "*"); a condition
    key the action never carries (not global). Such a statement either denies what it means to allow (the key is
    absent, so the condition fails) or restricts nothing (`...IfExists`, `ForAllValues:`): both are defects.
    NotAction and NotResource statements are read only for what they state positively."""
    problems = []
    resources = [str(resource) for resource in _as_list(statement.get("Resource"))]
    keys = sorted({key for keys in (statement.get("Condition") or {}).values() for key in keys})
    for pattern in [str(action) for action in _as_list(statement.get("Action"))]:
        if pattern == "*":
            continue
        actions = sar.expand(pattern)
        if not actions:
            problems.append(f"{pattern} matches no action of the Service Authorization Reference")
            continue
        if resources and not any(_may_name(action, resource) for action in actions for resource in resources):
            kinds = sorted({arn for action in actions for arn in action.arn_formats if action.takes_resource})
            takes = f"takes only {', '.join(kinds)}" if kinds else 'takes no resource type (only "*" matches)'
            problems.append(f"{pattern} on {', '.join(resources)} can never match: it {takes}")
        for key in keys:
            if not any(sar.supports_key(action, key) for action in actions):
                problems.append(f"{pattern}: condition key {key} is never in its request context")
    return problems


def _may_name(action: sar.Action, resource: str) -> bool:
    if resource_matches(resource, "*"):
        return True
    return action.takes_resource and any(sar.arn_may_match(resource, arn) for arn in action.arn_formats)
