"""Sample files generated at synth go to the app's output folder, once per content version."""

import tempfile
from pathlib import Path

import aws_cdk as cdk
import pytest

import datagen.churn
import datagen.job_matching
from stacks.common import generated
from stacks.redshift_ml.sample_data import SampleData


def test_two_synths_write_nothing_to_the_temp_folder_and_generate_once(tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(generated, "_made", {})
    calls = []
    real_generate = datagen.job_matching.generate
    monkeypatch.setattr(
        datagen.job_matching, "generate", lambda folder, **kw: calls.append(folder) or real_generate(folder, **kw)
    )
    hashes = []
    for _ in range(2):
        app = cdk.App(outdir=str(tmp_path / "cdk.out"))
        data = SampleData(cdk.Stack(app, "Stack"), "SampleData", interactions=600)
        app.synth()
        hashes.append(data.seekers.asset_hash)
    assert list(temp.iterdir()) == []
    assert len(calls) == 1 and hashes[0] == hashes[1]
    (folder,) = (tmp_path / "cdk.out" / ".generated").iterdir()
    assert folder.name.startswith("job-matching-") and (folder / "interactions.csv").is_file()


def test_a_new_output_folder_reuses_the_folder_this_process_made(tmp_path, monkeypatch):
    monkeypatch.setattr(generated, "_made", {})
    folders = []
    for name in ("first", "second"):
        stack = cdk.Stack(cdk.App(outdir=str(tmp_path / name)), "Stack")
        folders.append(
            generated.generated_directory(
                stack, "churn", generator=datagen.churn, params={"rows": 50}, write=lambda f: (f / "x").write_text("1")
            )
        )
    assert folders[0] == folders[1] == tmp_path / "first" / ".generated" / folders[0].name


def test_the_version_changes_with_the_parameters(tmp_path, monkeypatch):
    monkeypatch.setattr(generated, "_made", {})
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Stack")
    names = {
        generated.generated_directory(
            stack, "churn", generator=datagen.churn, params={"rows": rows}, write=lambda f: None
        ).name
        for rows in (50, 51)
    }
    assert len(names) == 2


def test_a_folder_left_half_written_is_written_again(tmp_path, monkeypatch):
    monkeypatch.setattr(generated, "_made", {})
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Stack")

    def fail(folder: Path) -> None:
        (folder / "half").write_text("x")
        raise OSError("disk full")

    args = {"generator": datagen.churn, "params": {"rows": 7}}
    with pytest.raises(OSError, match="disk full"):
        generated.generated_directory(stack, "churn", write=fail, **args)
    folder = generated.generated_directory(stack, "churn", write=lambda f: (f / "whole").write_text("y"), **args)
    assert sorted(p.name for p in folder.iterdir()) == ["whole"]
