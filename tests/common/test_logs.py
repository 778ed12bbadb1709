from aws_cdk.assertions import Template


def test_log_group_is_encrypted_with_profile_retention(shared_constructs):
    synthesized_app, constructs = shared_constructs
    config = synthesized_app.common
    template = Template.from_stack(constructs.stack)
    (log_group,) = template.find_resources("AWS::Logs::LogGroup").values()
    key_id = constructs.stack.get_logical_id(constructs.key.node.default_child)
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["Properties"]["RetentionInDays"] == config.log_retention_days
    assert log_group["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")
