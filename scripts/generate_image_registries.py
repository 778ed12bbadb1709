#!/usr/bin/env python3
"""Regenerate stacks/common/image_registries.json from the SageMaker SDK's published image maps.

    python scripts/generate_image_registries.py [SDK]      (or: make image-registries)

SDK is a sagemaker-core wheel or an unpacked tree that holds `sagemaker/core/image_uri_config/`; without it the
script downloads the pinned wheel with pip (the only step that needs the network). The CDK app reads the JSON
into a CfnMapping, so synth neither imports the SDK nor goes online. Only regions that publish both images are
kept.

The SDK's map names registries and Spark lines ("3.5"), not patch tags: the SDK itself asks for the floating
`...-v1` tag. Patch tags (`3.5-cpu-py312-v1.3`), which carry the CVE fixes, are the release tags of
aws/sagemaker-spark-container (its available_images.md points there). The script lists them with `git ls-remote`
and says when one newer than the pinned tag exists; without access to that repository it says it could not check.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SDK_PACKAGE = "sagemaker-core==2.27.0"
CONFIG_DIR = "sagemaker/core/image_uri_config"
OUTPUT = Path(__file__).resolve().parents[1] / "stacks" / "common" / "image_registries.json"
# Mapping key -> (SDK file, scope, version, tag): the images the churn pipeline and endpoint run. Spark processing
# images are published under versioned tags <spark>-cpu-<python>-v<major>.<minor> (aws/sagemaker-spark-container,
# available_images.md and its releases), not under the bare 3.5-cpu-py312: pin a released one, the newest patch
# (v1.3, April 2026: CVE fixes, and `python3` resolves to 3.12 again; v1.2 ran 3.9).
IMAGES = {
    "XGBoost": ("xgboost.json", "training", "1.7-1", "1.7-1"),
    "SparkProcessing": ("spark.json", "processing", "3.5", "3.5-cpu-py312-v1.3"),
}
SPARK_RELEASES = "https://github.com/aws/sagemaker-spark-container"
PATCH_TAG = re.compile(r"^(?P<line>.+-v\d+)\.(?P<patch>\d+)$")


def read_config(sdk: Path, name: str) -> dict:
    if sdk.is_dir():
        return json.loads((sdk / CONFIG_DIR / name).read_text())
    with zipfile.ZipFile(sdk) as wheel:
        return json.loads(wheel.read(f"{CONFIG_DIR}/{name}"))


def image_registries(sdk: Path, source: str) -> dict:
    """Registry account per region for each image, in the file layout the CDK app reads."""
    images, accounts = {}, {}
    for key, (file_name, scope, version, tag) in IMAGES.items():
        config = read_config(sdk, file_name)[scope]["versions"][version]
        images[key] = {"repository": config["repository"], "tag": tag}
        accounts[key] = config["registries"]
    regions = sorted(set.intersection(*(set(registry) for registry in accounts.values())))
    return {
        "source": source,
        "images": images,
        "registries": {region: {key: accounts[key][region] for key in IMAGES} for region in regions},
    }


def newer_patch(pinned: str, tags: list[str]) -> str | None:
    """The newest tag of `pinned`'s line and major version ('3.5-cpu-py312-v1.<n>') above it, if any."""
    match = PATCH_TAG.match(pinned)
    if match is None:
        raise ValueError(f"{pinned!r} is not a <line>-v<major>.<patch> tag")
    same_line = [m for m in map(PATCH_TAG.match, tags) if m and m["line"] == match["line"]]
    newest = max(same_line, key=lambda m: int(m["patch"]), default=None)
    return newest[0] if newest and int(newest["patch"]) > int(match["patch"]) else None


def report_spark_patch() -> str:
    """Whether the Spark image repository has released a patch newer than the pinned tag."""
    pinned = IMAGES["SparkProcessing"][3]
    try:
        listing = subprocess.run(
            ["git", "ls-remote", "--tags", "--refs", SPARK_RELEASES],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"could not check for a newer patch than {pinned} ({type(error).__name__}); see {SPARK_RELEASES}/tags"
    tags = [line.rsplit("refs/tags/", 1)[-1] for line in listing.splitlines()]
    newer = newer_patch(pinned, tags)
    if newer:
        return f"NEWER PATCH: {newer} is released (pinned {pinned}); set it in IMAGES and rerun"
    return f"{pinned} is the newest patch of its line"


def main(argv: list[str]) -> int:
    if argv:
        sdk = Path(argv[0])
        name, version = sdk.name.split("-")[:2] if sdk.suffix == ".whl" else (sdk.name, "unknown")
        source = f"{name.replace('_', '-')}=={version}"
    else:
        download = Path(tempfile.mkdtemp(prefix="sagemaker-sdk-"))
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(download), SDK_PACKAGE],
            check=True,
        )
        sdk, source = next(download.glob("*.whl")), SDK_PACKAGE
    data = image_registries(sdk, f"{source}: {CONFIG_DIR}/" + ", ".join(f for f, *_ in IMAGES.values()))
    OUTPUT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(data['registries'])} regions to {OUTPUT}")
    print(report_spark_patch())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
