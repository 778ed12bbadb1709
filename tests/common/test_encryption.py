from aws_cdk.assertions import Match, Template


def test_key_rotates_and_follows_the_profile(shared_constructs):
    synthesized_app, constructs = shared_constructs
    config = synthesized_app.common
    resources = Template.from_stack(constructs.stack).find_resources("AWS::KMS::Key")
    (key,) = resources.values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["PendingWindowInDays"] == config.key_deletion_window_days
    assert key["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")


def test_key_lets_only_this_accounts_log_groups_use_it(shared_constructs):
    _, constructs = shared_constructs
    Template.from_stack(constructs.stack).has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {
                                    "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
                                },
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": {
                                            "Fn::Join": [
                                                "",
                                                [
                                                    "arn:",
                                                    {"Ref": "AWS::Partition"},
                                                    ":logs:",
                                                    {"Ref": "AWS::Region"},
                                                    ":",
                                                    {"Ref": "AWS::AccountId"},
                                                    ":log-group:*",
                                                ],
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_a_service_can_be_let_to_send_encrypted_messages_from_this_account_only():
    import aws_cdk as cdk

    from stacks.common.config import CommonSettings
    from stacks.common.encryption import DataKey

    stack = cdk.Stack(cdk.App(), "KeyStack")
    key = DataKey(stack, "Key", common=CommonSettings.for_profile("sandbox"), description="test")
    key.allow_service_to_send_encrypted(
        "cloudwatch.amazonaws.com", sid="AllowAlarms", source_arn="arn:aws:cloudwatch:*:*:alarm:Kit*"
    )
    (statement,) = [
        s
        for s in Template.from_stack(stack).to_json()["Resources"]["Key961B73FD"]["Properties"]["KeyPolicy"][
            "Statement"
        ]
        if s.get("Sid") == "AllowAlarms"
    ]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:*:alarm:Kit*"},
    }
