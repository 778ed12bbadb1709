"""The committed template snapshots match what the app synthesizes, and normalization keeps only what matters."""

from __future__ import annotations

import json

from tools.normalized_templates import EXPANDED_JSON, normalize
from tools.snapshots import accept, diff, render, snapshot_path
from tools.synthesis import templates

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


def test_committed_snapshots_match_the_synthesized_templates(kit_app):
    profile = kit_app.settings.common.profile
    current = templates(kit_app.assembly)
    changes = diff(profile, current)
    assert not changes, (
        "The synthesized templates differ from tests/snapshots/. Review with `make diff`; if the change is intended, "
        "accept it with `make snapshots` and commit tests/snapshots/.\n" + "\n".join(changes[:60])
    )
    assert all(snapshot_path(profile, name).is_file() for name in current)


def _function(digest: str) -> dict:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Code": {"S3Bucket": "assets", "S3Key": f"{digest}.zip"}},
        "Metadata": {"aws:asset:path": f"asset.{digest}"},
    }


def test_asset_hashes_are_named_after_the_first_resource_that_uses_them():
    template = {
        "Resources": {
            "Zeta": _function(DIGEST_A),
            "Alpha": _function(DIGEST_B),
            "Beta": _function(DIGEST_B),
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
        },
        "Conditions": {"CDKMetadataAvailable": {"Fn::Equals": ["a", "a"]}},
    }
    normalized = normalize(template)
    assert set(normalized["Resources"]) == {"Zeta", "Alpha", "Beta"}
    assert normalized["Conditions"] == {}
    assert normalized["Resources"]["Zeta"]["Properties"]["Code"]["S3Key"] == "<asset of Zeta>.zip"
    assert normalized["Resources"]["Beta"]["Metadata"]["aws:asset:path"] == "asset.<asset of Alpha>"
    # A code change alters the hash, not the snapshot.
    assert (
        normalize({"Resources": {"Zeta": _function("c" * 64)}})["Resources"]["Zeta"] == normalized["Resources"]["Zeta"]
    )
    assert "CDKMetadata" in template["Resources"], "normalize must not modify its input"


def test_joined_json_is_expanded_with_its_intrinsics_in_place():
    definition = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"Run","States":{"Run":{"Resource":"',
                {"Fn::GetAtt": ["Fn", "Arn"]},
                '","Parameters":{"Uri":"s3://',
                {"Ref": "Bucket"},
                '/runs"}}}}',
            ],
        ]
    }
    normalized = normalize(
        {
            "Resources": {
                "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": definition}}
            }
        }
    )
    expanded = normalized["Resources"]["Machine"]["Properties"]["DefinitionString"][EXPANDED_JSON]
    run = expanded["States"]["Run"]
    assert run["Resource"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert run["Parameters"]["Uri"] == {"Fn::Join": ["", ["s3://", {"Ref": "Bucket"}, "/runs"]]}


def test_a_join_that_is_not_json_is_kept_as_it_is():
    arn = {"Fn::Join": ["", ["arn:aws:s3:::", {"Ref": "Bucket"}, "/*"]]}
    number_from_intrinsic = {"Fn::Join": ["", ['{"Count":', {"Ref": "Count"}, "}"]]}
    resources = {"Policy": {"Type": "AWS::IAM::Policy", "Properties": {"A": arn, "B": number_from_intrinsic}}}
    assert normalize({"Resources": resources})["Resources"]["Policy"]["Properties"] == {
        "A": arn,
        "B": number_from_intrinsic,
    }


def test_diff_summarizes_changed_resources_then_shows_the_lines(tmp_path):
    before = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Versioning": "Enabled"}},
            "Topic": {"Type": "AWS::SNS::Topic"},
        }
    }
    accept("sandbox", {"DataStack": before}, tmp_path)
    assert diff("sandbox", {"DataStack": before}, tmp_path) == []
    after = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Versioning": "Suspended"}},
            "Queue": {"Type": "AWS::SQS::Queue"},
        }
    }
    lines = diff("sandbox", {"DataStack": after}, tmp_path)
    assert lines[:5] == [
        "=== sandbox/DataStack: changed",
        "  ! Topic (AWS::SNS::Topic): deleted: logical id removed",  # what the update deletes comes first
        "  ~ Bucket (AWS::S3::Bucket)",
        "  + Queue (AWS::SQS::Queue)",
        "  - Topic (AWS::SNS::Topic)",
    ]
    assert '-    "Versioning": "Enabled"' in lines and '+    "Versioning": "Suspended"' in lines
    accept("sandbox", {"DataStack": after}, tmp_path)
    assert json.loads(snapshot_path("sandbox", "DataStack", tmp_path).read_text()) == json.loads(render(after))
    assert diff("sandbox", {}, tmp_path)[0] == "=== sandbox/DataStack: removed"
