"""KitFunction defaults, checked over every function the kit's app synthesizes."""


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
