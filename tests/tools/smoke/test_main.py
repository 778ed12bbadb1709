"""`make smoke` picks its region as the AWS CLI v2 does, so the README's and docs' `export AWS_REGION=...` works."""

import pytest

from tools.smoke.__main__ import main, session_for


@pytest.fixture(autouse=True)
def no_aws_config(tmp_path, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def test_aws_region_alone_gives_the_region(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert session_for(None, None).region_name == "eu-west-1"


def test_aws_region_wins_over_aws_default_region_and_the_option_over_both(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert session_for(None, None).region_name == "eu-west-1"
    assert session_for(None, "ap-southeast-2").region_name == "ap-southeast-2"


def test_aws_default_region_still_counts(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert session_for(None, None).region_name == "us-west-2"


def test_no_region_anywhere_stops_with_what_to_set(capsys):
    assert main([]) == 2
    assert "set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region" in capsys.readouterr().err


def test_day2_runs_every_architecture(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--day2", "--only", "churn_model", "--region", "us-east-1"])
    assert exit.value.code == 2
    assert "--day2 runs every architecture" in capsys.readouterr().err


def test_day2_deploys_and_looks_for_the_profile_and_environment_it_was_given(monkeypatch):
    """The context of every cdk call and the leftover report's tags follow --kit-profile; --environment prefixes the
    churn stack the change is deployed to."""
    import tools.smoke.__main__ as cli

    seen = {}
    monkeypatch.setattr(cli, "run_day2", lambda run, clients, region, **options: seen.update(options) or [run])
    cli.day2(lambda service: None, "us-east-1", None, "production", "prod", keep=False)
    assert seen["context"] == ["-c", "profile=production", "-c", "kit:environment=prod"]
    assert seen["kit_tags"] == {"project": "ml-analytics-kit", "profile": "production", "kit:environment": "prod"}
    assert seen["stack"] == "prod-ChurnModelStack"
