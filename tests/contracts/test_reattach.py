"""The IAM contract (tools/contracts) over the Redshift recommender redeployed onto a kept namespace: a template of
its own, which the app-level contract tests do not synthesize. It lives here because the architecture's own tests
stay copyable without tools/ (tests/test_copyable_tests.py)."""

import pytest

from tests.gates import nag_findings
from tests.redshift_ml.test_recommender import redeployed_onto_kept_data
from tools.contracts import permissions
from tools.contracts.iam import Call
from tools.contracts.resolve import ACCOUNT as PSEUDO_ACCOUNT, REGION as PSEUDO_REGION, Resolver


@pytest.fixture(scope="module")
def kept_namespace():
    return redeployed_onto_kept_data()


def test_the_kept_namespace_calls_pass_the_iam_contract(kept_namespace):
    """Each statement names resource types its actions take (Service Authorization Reference, tools/contracts), and
    the lookup may read a kept namespace, whose ARN ends in an ID the setting does not give."""
    _, stack, _ = kept_namespace
    assembly = stack.node.root.synth()
    resolver = Resolver({stack.stack_name: assembly.get_stack_by_name(stack.stack_name).template})
    assert permissions.policy_problems(resolver) == []
    lookups = [a for a in permissions.sdk_call_actors(resolver) if "AdminSecretLookup" in a.label]
    (role,) = {a.role for a in lookups}
    kept = Call(
        "redshift-serverless:GetNamespace",
        f"arn:aws:redshift-serverless:{PSEUDO_REGION}:{PSEUDO_ACCOUNT}:namespace/0a1b2c3d-1111-2222-3333-444444444444",
    )
    assert permissions.decide(resolver, role, kept).allowed
    assert nag_findings(stack.node.root) == [], "cdk-nag (AwsSolutions, NIST 800-53 r5) on the re-attach"
