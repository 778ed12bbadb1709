"""Every AWS call a handler makes in its own tests must be declared next to its code (iam_calls.json), and every
request of it that creates a taggable resource carries the kit's tags (tools/contracts/tagging.py).

The declaration is what tests/contracts checks against the synthesized IAM policies, so a call the code makes
but the declaration forgets would escape that check; this hook fails the test that made it instead. A resource
created without the kit's tags escapes the cost check and the smoke's leftover report the same way."""

from pathlib import Path

import pytest

from tools.contracts.calls import DECLARATION, LAMBDAS, iam_action, recorded_calls, undeclared
from tools.contracts.tagging import missing_kit_tags


@pytest.fixture(autouse=True)
def declared_calls_only(request: pytest.FixtureRequest):
    folder = LAMBDAS / Path(str(request.node.fspath)).parent.name
    if not folder.is_dir():
        yield
        return
    requests: list[tuple[str, str, dict]] = []
    with recorded_calls(folder, requests) as recorded:
        yield
    untagged = [
        f"{service}.{operation} lacks {missing}"
        for service, operation, params in requests
        if (missing := missing_kit_tags(service, operation, params))
    ]
    if untagged:
        pytest.fail(
            f"lambdas/{folder.name} created resources without the kit's tags (stacks/common/tags.py): {untagged}",
            pytrace=False,
        )
    missing = undeclared(recorded, folder)
    if missing:
        made = sorted(f"{service}.{operation} -> {iam_action(service, operation)}" for service, operation in recorded)
        pytest.fail(
            f"lambdas/{folder.name} made AWS calls its {DECLARATION} does not declare: {missing} "
            f"(recorded: {made}). Declare each with the resource it uses.",
            pytrace=False,
        )
