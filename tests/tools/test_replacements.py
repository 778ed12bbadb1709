"""`tools.replacements`: what an update replaces, deletes, re-runs or expires, read from the old and new template."""

from __future__ import annotations

import copy
import json

import pytest

import tools.snapshots as snapshots
from tools.replacements import (
    DATA_LOSS,
    DELETED,
    EXPIRES_KEPT_DATA,
    FAILS_CIDR_KEPT,
    FAILS_CUSTOM_NAME,
    FAILS_SEVERAL_CHANGES,
    FAILS_TYPE_CHANGE,
    ORPHANS_DATA,
    RE_RUNS,
    REPLACED,
    RETAINED,
    assess,
    create_only,
    values_at,
)
from tools.snapshots import SNAPSHOT_DIR, StackChange, normalize, review_markdown, review_text
from tools.synthesis import synthesize, templates


def _template(**resources: dict) -> dict:
    return {"Resources": resources}


def _resource(kind: str, policy: str | None = None, **properties) -> dict:
    body: dict = {"Type": kind, "Properties": properties}
    if policy:
        body["DeletionPolicy"] = body["UpdateReplacePolicy"] = policy
    return body


def _marks(findings) -> dict[str, tuple[str, ...]]:
    return {finding.logical_id: finding.marks for finding in findings}


# --- create-only properties


def test_create_only_paths_come_from_the_provider_schemas_nested_and_per_list_item():
    assert "AvailabilityZone" in create_only("AWS::EC2::Subnet")
    assert "DnsOptions/PrivateDnsPreference" in create_only("AWS::EC2::VPCEndpoint")
    assert "ModelPackageGroupDescription" in create_only("AWS::SageMaker::ModelPackageGroup")
    assert create_only("Custom::Anything") == ()
    properties = {"Rules": [{"Id": "a", "Days": 1}, {"Id": "b"}], "Config": {"Name": "x"}}
    assert values_at(properties, "Rules/*/Id") == ["a", "b"]
    assert values_at(properties, "Config/Name") == ["x"]
    assert values_at(properties, "Config/Other") == values_at(properties, "Missing/Name") == ["<absent>"]


def test_every_type_the_kit_deploys_has_a_schema_the_review_reads():
    """A type without a provider schema would never be flagged: each one in the snapshots is known or custom."""
    unknown = set()
    for path in SNAPSHOT_DIR.glob("*/*.json"):
        for resource in json.loads(path.read_text())["Resources"].values():
            kind = resource["Type"]
            if not kind.startswith("Custom::") and not create_only(kind) and kind not in ("AWS::IAM::Policy",):
                unknown.add(kind)
    assert unknown <= {"AWS::KMS::Key", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}, unknown


def test_a_changed_nested_create_only_property_replaces_and_a_mutable_sibling_does_not():
    old = _template(Endpoint=_resource("AWS::EC2::VPCEndpoint", DnsOptions={"PrivateDnsPreference": "ALL_DOMAINS"}))
    new = copy.deepcopy(old)
    new["Resources"]["Endpoint"]["Properties"]["DnsOptions"]["PrivateDnsPreference"] = "VERIFIED_DOMAINS_ONLY"
    ((finding),) = assess(old, new)
    assert finding.marks == (REPLACED,) and finding.reason == "create-only DnsOptions/PrivateDnsPreference changed"
    assert finding.gated
    mutable = copy.deepcopy(old)
    mutable["Resources"]["Endpoint"]["Properties"]["DnsOptions"]["DnsRecordIpType"] = "ipv4"
    assert assess(old, mutable) == []


def test_adding_a_create_only_property_replaces_even_at_its_default():
    """CloudFormation replaces when a replacement property is added or removed, even if the value is the default."""
    old = _template(Fn=_resource("AWS::Lambda::Function", Runtime="python3.12"))
    new = _template(Fn=_resource("AWS::Lambda::Function", Runtime="python3.12", PackageType="Zip"))
    assert _marks(assess(old, new)) == {"Fn": (REPLACED,)}
    assert _marks(assess(new, old)) == {"Fn": (REPLACED,)}


def test_in_place_changes_are_not_listed():
    old = _template(
        Bucket=_resource("AWS::S3::Bucket", VersioningConfiguration={"Status": "Enabled"}),
        Fn=_resource("AWS::Lambda::Function", MemorySize=128, Code={"S3Key": "<asset of Fn>.zip"}),
    )
    new = _template(
        Bucket=_resource("AWS::S3::Bucket", VersioningConfiguration={"Status": "Suspended"}),
        Fn=_resource("AWS::Lambda::Function", MemorySize=256, Code={"S3Key": "<asset of Fn>.zip"}),
    )
    assert assess(old, new) == []


def test_asset_placeholders_never_replace():
    """A layer version's content is create-only; its asset placeholder renamed by another resource is no change."""
    old = _template(Layer=_resource("AWS::Lambda::LayerVersion", Content={"S3Key": "<asset of Alpha>.zip"}))
    new = _template(Layer=_resource("AWS::Lambda::LayerVersion", Content={"S3Key": "<asset of Aardvark #2>.zip"}))
    assert assess(old, new) == []
    changed = _template(Layer=_resource("AWS::Lambda::LayerVersion", Content={"S3Key": "layer-v2.zip"}))
    assert _marks(assess(old, changed)) == {"Layer": (REPLACED,)}


# --- propagation


def _network(cidr: str) -> dict:
    return _template(
        Vpc=_resource("AWS::EC2::VPC", CidrBlock=cidr),
        Subnet=_resource("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.0.0.0/24"),
        Association=_resource(
            "AWS::EC2::SubnetRouteTableAssociation", SubnetId={"Ref": "Subnet"}, RouteTableId="rtb-1"
        ),
        Group=_resource("AWS::EC2::SecurityGroup", GroupDescription="d", VpcId={"Fn::GetAtt": ["Vpc", "VpcId"]}),
        Fn=_resource("AWS::Lambda::Function", Environment={"Variables": {"SUBNET": {"Ref": "Subnet"}}}),
        Sub=_resource("AWS::EC2::RouteTable", VpcId={"Fn::Sub": "${Vpc}"}),
        Rerun=_resource("Custom::Lookup", ServiceToken="arn", Subnet={"Ref": "Subnet"}),
    )


def test_a_replacement_propagates_through_ref_and_getatt_into_create_only_properties_only():
    findings = assess(_network("10.0.0.0/16"), _network("10.1.0.0/16"))
    marks = _marks(findings)
    assert marks == {
        "Vpc": (REPLACED,),
        "Subnet": (REPLACED,),
        "Association": (REPLACED,),  # through Subnet: transitive
        "Group": (REPLACED,),
        "Sub": (REPLACED,),
        "Rerun": (RE_RUNS,),  # a custom resource gets an Update with the new subnet id
    }, "Fn takes the subnet id in a mutable property: an in-place update"
    reasons = {finding.logical_id: finding.reason for finding in findings}
    assert reasons["Association"] == "create-only SubnetId takes the new id of replaced Subnet"
    assert not next(finding for finding in findings if finding.logical_id == "Rerun").gated


# --- stateful resources, custom names, deletions


def test_a_replaced_stateful_resource_loses_or_orphans_its_data_by_its_replace_policy():
    def group(description: str, policy: str | None, name: str | None = None) -> dict:
        properties = {"ModelPackageGroupDescription": description}
        if name:
            properties["ModelPackageGroupName"] = name
        return _template(Group=_resource("AWS::SageMaker::ModelPackageGroup", policy, **properties))

    assert _marks(assess(group("a", None), group("b", None))) == {"Group": (REPLACED, DATA_LOSS)}
    assert _marks(assess(group("a", "Retain"), group("b", "Retain"))) == {"Group": (REPLACED, ORPHANS_DATA)}
    assert _marks(assess(group("a", "Retain", "g"), group("b", "Retain", "g"))) == {
        "Group": (REPLACED, FAILS_CUSTOM_NAME)
    }
    assert _marks(assess(group("a", None, "g"), group("b", None, "g2"))) == {"Group": (REPLACED, DATA_LOSS)}


def test_a_custom_name_fails_for_any_type_and_is_listed_after_stateful_data_loss():
    old = _template(
        Role=_resource("AWS::IAM::Role", RoleName="r", Path="/a/"),
        Queue=_resource("AWS::SQS::Queue", FifoQueue=False),
    )
    new = _template(
        Role=_resource("AWS::IAM::Role", RoleName="r", Path="/b/"),
        Queue=_resource("AWS::SQS::Queue", FifoQueue=True),
    )
    findings = assess(old, new)
    assert [(finding.logical_id, finding.marks) for finding in findings] == [
        ("Queue", (REPLACED, DATA_LOSS)),
        ("Role", (REPLACED, FAILS_CUSTOM_NAME)),
    ]


def test_deleted_resources_lose_data_unless_retained():
    old = _template(
        Logs=_resource("AWS::Logs::LogGroup"),
        Kept=_resource("AWS::S3::Bucket", "Retain"),
        Fn=_resource("AWS::Lambda::Function"),
    )
    findings = assess(old, _template())
    assert _marks(findings) == {"Logs": (DELETED, DATA_LOSS), "Kept": (DELETED, RETAINED), "Fn": (DELETED,)}
    assert [finding.logical_id for finding in findings if finding.gated] == ["Logs"]


def test_a_renamed_logical_id_is_a_delete_and_create_that_fails_on_a_kept_name():
    old = _template(
        OldLogs=_resource("AWS::Logs::LogGroup", LogGroupName="/kit/app"), OldFn=_resource("AWS::Lambda::Function")
    )
    new = _template(
        NewLogs=_resource("AWS::Logs::LogGroup", LogGroupName="/kit/app"), NewFn=_resource("AWS::Lambda::Function")
    )
    findings = {finding.logical_id: finding for finding in assess(old, new)}
    assert findings["OldLogs"].marks == (DELETED, FAILS_CUSTOM_NAME)
    assert findings["OldLogs"].reason == "logical id renamed to NewLogs, which keeps its name"
    assert findings["OldFn"].marks == (DELETED,)
    unnamed = _template(NewLogs=_resource("AWS::Logs::LogGroup"))
    assert _marks(assess(_template(OldLogs=_resource("AWS::Logs::LogGroup")), unnamed)) == {
        "OldLogs": (DELETED, DATA_LOSS)
    }


def test_a_scoped_name_collides_only_in_the_same_scope():
    """A Glue table under a new logical id keeps its name: in the same database the new one cannot be created,
    in a renamed database (stacks.common.names.scoped_id) it can; the same for a repository in a renamed domain."""

    def catalog(database: str, table_id: str) -> dict:
        return _template(
            Database=_resource("AWS::Glue::Database", DatabaseInput={"Name": database}),
            **{table_id: _resource("AWS::Glue::Table", DatabaseName=database, TableInput={"Name": "summary"})},
        )

    same = assess(catalog("results", "SummaryTable"), catalog("results", "SummaryTableNew"))
    assert _marks(same)["SummaryTable"] == (DELETED, FAILS_CUSTOM_NAME)
    moved = _marks(assess(catalog("results", "SummaryTable"), catalog("results_v2", "SummaryTableNew")))
    assert FAILS_CUSTOM_NAME not in moved["SummaryTable"]

    def packages(domain: str, repository_id: str) -> dict:
        return _template(
            Domain=_resource("AWS::CodeArtifact::Domain", DomainName=domain),
            **{
                repository_id: _resource(
                    "AWS::CodeArtifact::Repository",
                    DomainName={"Fn::GetAtt": ["Domain", "Name"]},
                    RepositoryName="pypi-mirror",
                )
            },
        )

    assert FAILS_CUSTOM_NAME not in _marks(assess(packages("a", "Repo"), packages("b", "RepoNew")))["Repo"]
    assert _marks(assess(packages("a", "Repo"), packages("a", "RepoNew")))["Repo"] == (DELETED, FAILS_CUSTOM_NAME)


def test_a_lambda_permission_replaced_with_its_rule_has_no_custom_name():
    """A permission's FunctionName is the function it is on; CloudFormation generates its statement id."""

    def rule_and_permission(rule_name: str) -> dict:
        return _template(
            Rule=_resource("AWS::Events::Rule", Name=rule_name),
            Permission=_resource(
                "AWS::Lambda::Permission",
                FunctionName="fn",
                Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com",
                SourceArn={"Fn::GetAtt": ["Rule", "Arn"]},
            ),
        )

    marks = _marks(assess(rule_and_permission("a"), rule_and_permission("b")))
    assert marks == {"Rule": (REPLACED,), "Permission": (REPLACED,)}


def test_a_changed_type_fails_the_change_set():
    old = _template(Thing=_resource("AWS::SNS::Topic"))
    new = _template(Thing=_resource("AWS::SQS::Queue"))
    ((finding),) = assess(old, new)
    assert finding.marks == (FAILS_TYPE_CHANGE,) and finding.reason == "type AWS::SNS::Topic -> AWS::SQS::Queue"


# --- updates the service takes one change at a time, subnets that keep their CIDR


def _warehouse(subnet_cidr: str = "10.0.0.0/24", zone: str = "use1-az1", **workgroup: object) -> dict:
    return _template(
        Vpc=_resource("AWS::EC2::VPC", CidrBlock="10.0.0.0/16"),
        Subnet=_resource("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock=subnet_cidr, AvailabilityZoneId=zone),
        Workgroup=_resource(
            "AWS::RedshiftServerless::Workgroup",
            WorkgroupName="wg",
            NamespaceName="ns",
            SubnetIds=[{"Ref": "Subnet"}],
            **{"BaseCapacity": 8, "EnhancedVpcRouting": False, **workgroup},
        ),
    )


def test_a_workgroup_update_that_changes_several_parameters_fails_and_one_change_does_not():
    """UpdateWorkgroup takes one changed parameter per request and CloudFormation sends them all at once."""
    old = _warehouse()
    ((finding),) = assess(old, _warehouse(BaseCapacity=32, EnhancedVpcRouting=True))
    assert (finding.logical_id, finding.marks) == ("Workgroup", (FAILS_SEVERAL_CHANGES,)) and finding.gated
    assert finding.reason.startswith("BaseCapacity, EnhancedVpcRouting change in one update")
    assert "one at a time" in finding.reason
    assert assess(old, _warehouse(BaseCapacity=32)) == []
    assert assess(old, _warehouse(MaxCapacity=64)) == [], "adding one parameter is one change"
    # A replaced subnet gives SubnetIds a new value at deploy time: a change, though the template's Ref is the same.
    moved = _marks(assess(old, _warehouse("10.0.16.0/24", "use1-az2", BaseCapacity=32)))
    assert moved["Workgroup"] == (FAILS_SEVERAL_CHANGES,) and moved["Subnet"] == (REPLACED,)
    assert "Workgroup" not in _marks(assess(old, _warehouse("10.0.16.0/24", "use1-az2")))


def test_a_replaced_subnet_that_keeps_its_cidr_fails_unless_its_vpc_is_replaced_too():
    old = _warehouse()
    kept = {f.logical_id: f for f in assess(old, _warehouse(zone="use1-az2"))}["Subnet"]
    assert kept.marks == (REPLACED, FAILS_CIDR_KEPT) and kept.gated
    assert "keeps the old one's CidrBlock" in kept.reason
    assert _marks(assess(old, _warehouse("10.0.16.0/24", "use1-az2")))["Subnet"] == (REPLACED,)
    new_vpc = _warehouse(zone="use1-az2")
    new_vpc["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.1.0.0/16"
    assert _marks(assess(old, new_vpc))["Subnet"] == (REPLACED,), "a new VPC holds no old subnet"


# --- retention


def _bucket(*rules: dict) -> dict:
    return _template(Bucket=_resource("AWS::S3::Bucket", LifecycleConfiguration={"Rules": list(rules)}))


def test_a_lowered_retention_expires_kept_data_and_a_raised_one_does_not():
    def logs(days: int | None) -> dict:
        return _template(Logs=_resource("AWS::Logs::LogGroup", **({"RetentionInDays": days} if days else {})))

    assert _marks(assess(logs(365), logs(30))) == {"Logs": (EXPIRES_KEPT_DATA,)}
    assert _marks(assess(logs(None), logs(3650))) == {"Logs": (EXPIRES_KEPT_DATA,)}, "from never expiring"
    assert assess(logs(30), logs(365)) == [] and assess(logs(30), logs(None)) == []

    def queue(seconds: int | None) -> dict:
        properties = {"MessageRetentionPeriod": seconds} if seconds else {}
        return _template(Queue=_resource("AWS::SQS::Queue", **properties))

    assert _marks(assess(queue(None), queue(60))) == {"Queue": (EXPIRES_KEPT_DATA,)}, "below the 4-day default"
    assert assess(queue(None), queue(1_209_600)) == []

    rule = {
        "Id": "Raw",
        "Status": "Enabled",
        "ExpirationInDays": 7,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
    }
    lowered = {**rule, "ExpirationInDays": 3}
    assert assess(_bucket(rule), _bucket(lowered))[0].reason == "lifecycle rule Raw ExpirationInDays 7 -> 3"
    noncurrent = {**rule, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}
    assert "NoncurrentVersionExpiration/NoncurrentDays 30 -> 1" in assess(_bucket(rule), _bucket(noncurrent))[0].reason
    added = {"Id": "New", "Status": "Enabled", "ExpirationInDays": 90}
    assert _marks(assess(_bucket(rule), _bucket(rule, added))) == {"Bucket": (EXPIRES_KEPT_DATA,)}
    assert (
        assess(_bucket(lowered), _bucket(rule)) == []
        and assess(_bucket(rule), _bucket(rule, {**added, "Status": "Disabled"})) == []
    )


def test_custom_resources_re_run_instead_of_being_replaced():
    old = _template(Boot=_resource("Custom::Bootstrap", ServiceToken="arn:fn", Sql="v1"))
    new = _template(Boot=_resource("Custom::Bootstrap", ServiceToken="arn:fn", Sql="v2"))
    ((finding),) = assess(old, new)
    assert finding.marks == (RE_RUNS,) and not finding.gated
    assert assess(old, old) == []


# --- the review shows them


def test_the_review_lists_findings_first_and_counts_the_gated_ones():
    findings = assess(_network("10.0.0.0/16"), _network("10.1.0.0/16"))
    change = StackChange("sandbox/Net", "changed", ["  ~ Vpc (AWS::EC2::VPC)"], [], findings)
    markdown = review_markdown({"sandbox": [change]}, [], "`base`")
    assert "### Synth review: 1 stack changed, 5 resources replaced or losing data\n" in markdown
    lines = markdown.splitlines()
    start = lines.index("- **`sandbox/Net`**: changed")
    assert lines[start + 1].startswith("  - **replaced**: `Association (AWS::EC2::SubnetRouteTableAssociation)`, ")
    assert lines[start + 7] == "  - `~ Vpc (AWS::EC2::VPC)`"
    text = review_text({"sandbox": [change]}, [])
    assert "  ! Rerun (Custom::Lookup): re-runs: takes the new id of replaced Subnet" in text


# --- the kit's own templates


@pytest.fixture(scope="module")
def production_variant() -> dict[str, dict]:
    """Production with one setting changed in each architecture (one synth), normalized like a snapshot."""
    changed = {
        "kit:redshift_availability_zones": "use1-az1,use1-az2,use1-az4",  # moves the warehouse subnets
        "kit:churn_notebook": "false",  # removes the notebook and its volume
        "kit:quality_raw_retention_days": "2",  # from 3: the ground truth's
    }
    return {name: normalize(template) for name, template in templates(synthesize("production", changed)).items()}


def _snapshot(stack: str) -> dict:
    return json.loads((SNAPSHOT_DIR / "production" / f"{stack}.json").read_text())


def test_a_changed_setting_in_each_architecture_is_flagged(production_variant):
    redshift = _marks(assess(_snapshot("RedshiftMlStack"), production_variant["RedshiftMlStack"]))
    subnets = {name for name, marks in redshift.items() if name.endswith("Subnet" + name[-8:])}
    associations = {name for name in redshift if "RouteTableAssociation" in name}
    assert len(subnets) == len(associations) == 3 and set(redshift) == subnets | associations, redshift
    assert all(marks == (REPLACED,) for marks in redshift.values()), "new subnets take new CIDRs"
    assert not any("Workgroup" in name for name in redshift), "the workgroup's SubnetIds update in place"

    quality = _marks(assess(_snapshot("ModelQualityStack"), production_variant["ModelQualityStack"]))
    # The retention is the labels' (raw capture expires after the run that extracts it, whatever the setting).
    assert quality == {
        "MonitorStorageGroundTruthBucket174ACBBC": (EXPIRES_KEPT_DATA,),
    }

    churn = assess(_snapshot("ChurnModelStack"), production_variant["ChurnModelStack"])
    assert churn[0].type == "AWS::SageMaker::NotebookInstance" and churn[0].marks == (DELETED, DATA_LOSS)


def test_moving_the_warehouse_from_the_sandbox_to_the_production_profile_is_flagged_as_several_changes():
    """The profiles differ in base capacity, maximum capacity and enhanced VPC routing: one update cannot apply them."""
    sandbox = json.loads((SNAPSHOT_DIR / "sandbox" / "RedshiftMlStack.json").read_text())
    findings = [f for f in assess(sandbox, _snapshot("RedshiftMlStack")) if f.type.endswith("::Workgroup")]
    ((workgroup),) = findings
    assert workgroup.marks == (FAILS_SEVERAL_CHANGES,)
    assert workgroup.reason.startswith("BaseCapacity, MaxCapacity, EnhancedVpcRouting change in one update")


def test_replacing_a_named_resource_fails_and_propagates_in_the_kits_templates():
    churn = _snapshot("ChurnModelStack")
    edited = copy.deepcopy(churn)
    (group,) = [r for r in edited["Resources"].values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    group["Properties"]["ModelPackageGroupDescription"] = "Churn models (v2)"
    ((finding),) = assess(churn, edited)
    assert finding.marks == (REPLACED, FAILS_CUSTOM_NAME), "the group keeps its name churn-models"

    redshift = _snapshot("RedshiftMlStack")
    edited = copy.deepcopy(redshift)
    (namespace,) = [r for r in edited["Resources"].values() if r["Type"] == "AWS::RedshiftServerless::Namespace"]
    namespace["Properties"]["NamespaceName"] = "job-matching-2"
    findings = {finding.type: finding for finding in assess(redshift, edited)}
    assert findings["AWS::RedshiftServerless::Namespace"].marks == (REPLACED, ORPHANS_DATA), "retained in production"
    workgroup = findings["AWS::RedshiftServerless::Workgroup"]
    assert workgroup.marks == (REPLACED, FAILS_CUSTOM_NAME)
    assert workgroup.reason.startswith("create-only NamespaceName takes the new id of replaced Recommender")


def test_fail_on_replace_exits_non_zero_when_something_is_replaced(production_variant, monkeypatch, capsys, tmp_path):
    variant = {name: dict(template) for name, template in production_variant.items()}

    class Assembly:  # what templates() reads
        stacks = [type("Stack", (), {"stack_name": name, "template": body})() for name, body in variant.items()]

    monkeypatch.setattr(snapshots, "PROFILES", ("production",))
    monkeypatch.setattr(snapshots, "synthesize", lambda profile: Assembly())
    monkeypatch.setattr(snapshots, "cost_changes", lambda *args: [])
    assert snapshots.main(["review", "--fail-on-replace"]) == 1
    captured = capsys.readouterr()
    assert (
        "  ! ChurnNotebookNotebookInstance72D1A74B (AWS::SageMaker::NotebookInstance): deleted, data loss"
        in captured.out
    )
    assert captured.err.startswith("--fail-on-replace: ")
    assert snapshots.main(["review"]) == 0, "without the flag the review only reports"
    capsys.readouterr()
    snapshots.accept("production", variant, tmp_path)
    assert snapshots.main(["review", "--fail-on-replace", "--against", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "production: no change against the snapshots\n"
