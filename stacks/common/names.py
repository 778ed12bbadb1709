"""Physical names that carry their stack: two copies of a construct (two stacks, or two in one stack) never share one.

A name that must be fixed (a Glue database, an endpoint, a rule, an alarm) is `physical_name(scope, id)`: the stack's
name, then the construct path below the stack, then 8 hex characters of a digest of the stack name and the path, and,
for a resource with create-only values other than its name, 8 of a digest of those. The stack name is unique in an account and region and the path is unique in its stack,
so the name is unique there; the stack name comes first, so the environment that prefixes it stays readable when a
service's length limit cuts the path short (the digest still tells two cut names apart). Create-only values (a
description, a key) go into the digest, so editing one renames the resource and CloudFormation can replace it: a
custom-named resource whose create-only property changes under the same name fails the update ("cannot update a
stack when a custom-named resource requires replacing",
https://repost.aws/knowledge-center/cloudformation-custom-name).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Sequence

from aws_cdk import Stack
from constructs import Construct

DIGEST_LENGTH = 8
# Construct ids CDK gives a construct's main resource: they add nothing to a name.
_HIDDEN = frozenset({"Resource", "Default"})


def create_only_digest(values: Sequence[Any]) -> str:
    """8 hex characters of the create-only values as they appear in the template (tokens resolved)."""
    text = json.dumps(list(values), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def scoped_id(construct_id: str, scope_name: str) -> str:
    """The construct id of a resource named inside another (a Glue table in its database, a repository in its
    domain): with the scope's name in its digest, a renamed scope makes the resource a new one (new logical id)
    instead of a replacement that keeps its name, which CloudFormation refuses."""
    return f"{construct_id}{create_only_digest([scope_name])}"


def physical_name(
    scope: Construct,
    construct_id: str | None = None,
    *,
    max_length: int,
    lowercase: bool = False,
    separator: str = "-",
    create_only: Sequence[Any] = (),
) -> str:
    """The name of the resource `construct_id` under `scope` (None: `scope` itself), unique to its stack and path.

    `max_length`: the service's limit; `lowercase` and `separator` ("-" or "_") follow the service's character
    rules (every other character than letters and digits becomes the separator). `create_only`: the resource's
    create-only values other than its name, so that a change to one renames it.
    """
    stack = Stack.of(scope)
    path = [each.node.id for each in scope.node.scopes[scope.node.scopes.index(stack) + 1 :]]
    if construct_id is not None:
        path.append(construct_id)
    digest = hashlib.sha256("/".join([stack.stack_name, *path]).encode()).hexdigest()[:DIGEST_LENGTH]
    if create_only:
        digest += separator + create_only_digest([stack.resolve(value) for value in create_only])
    words = [_clean(part, separator) for part in (stack.stack_name, *path) if part not in _HIDDEN]
    human = separator.join(word for word in words if word)
    human = human[: max_length - len(digest) - len(separator)].rstrip(separator)
    name = f"{human}{separator}{digest}"
    return name.lower() if lowercase else name


def _clean(text: str, separator: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", separator, text).strip(separator)
