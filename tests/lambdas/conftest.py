"""Every AWS call a handler makes in its own tests must be declared next to its code (iam_calls.json).

The declaration is what tests/contracts checks against the synthesized IAM policies, so a call the code makes
but the declaration forgets would escape that check; this hook fails the test that made it instead."""

from pathlib import Path

import pytest

from tools.contracts.calls import DECLARATION, LAMBDAS, iam_action, recorded_calls, undeclared


@pytest.fixture(autouse=True)
def declared_calls_only(request: pytest.FixtureRequest):
    folder = LAMBDAS / Path(str(request.node.fspath)).parent.name
    if not folder.is_dir():
        yield
        return
    with recorded_calls(folder) as recorded:
        yield
    missing = undeclared(recorded, folder)
    if missing:
        made = sorted(f"{service}.{operation} -> {iam_action(service, operation)}" for service, operation in recorded)
        pytest.fail(
            f"lambdas/{folder.name} made AWS calls its {DECLARATION} does not declare: {missing} "
            f"(recorded: {made}). Declare each with the resource it uses.",
            pytrace=False,
        )
