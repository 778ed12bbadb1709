"""KitFunction defaults, checked over every function the kit's app synthesizes."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from stacks.common import functions as kit_functions


def functions(kit_app):
    for stack in kit_app.assembly.stacks:
        for logical_id, resource in stack.template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function":
                yield f"{stack.stack_name}/{logical_id}", resource


def test_no_function_reserves_concurrency(kit_app):
    """A reservation fails the deployment in accounts whose concurrency quota is below 100 + the reservation
    (new accounts often have 10): "... decreases account's UnreservedConcurrentExecution below its minimum value"."""
    found = dict(functions(kit_app))
    assert found, "the app synthesizes no Lambda function"
    reserving = {
        name: r["Properties"]["ReservedConcurrentExecutions"]
        for name, r in found.items()
        if "ReservedConcurrentExecutions" in r["Properties"]
    }
    assert reserving == {}


def test_a_bundled_assets_hash_covers_every_folder_copied_into_it(tmp_path, monkeypatch):
    """A change to a folder copied in at bundling (the Redshift SQL) must change the asset, or it is never deployed."""
    (tmp_path / "lambdas" / "handler").mkdir(parents=True)
    (tmp_path / "lambdas" / "handler" / "index.py").write_text("def handler(event, context): ...\n")
    (tmp_path / "sql" / "files").mkdir(parents=True)
    sql_file = tmp_path / "sql" / "files" / "02_features.sql"
    sql_file.write_text("SELECT 1;\n")
    monkeypatch.setattr(kit_functions, "PROJECT_ROOT", tmp_path)

    def code_key():
        cdk.AssetStaging.clear_asset_hash_cache()  # a new `cdk synth` starts with an empty cache
        stack = cdk.Stack(cdk.App(), "Stack")
        lambda_.Function(
            stack,
            "Function",
            runtime=kit_functions.RUNTIME,
            handler="index.handler",
            code=kit_functions.bundled_code("handler", sql="sql/files"),
        )
        (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
        return function["Properties"]["Code"]["S3Key"]

    before = code_key()
    assert code_key() == before
    sql_file.write_text("SELECT 1;\n-- one more line\n")
    assert code_key() != before
