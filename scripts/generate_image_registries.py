#!/usr/bin/env python3
"""Regenerate stacks/common/image_registries.json from the SageMaker SDK's published image maps.

    python scripts/generate_image_registries.py [SDK]      (or: make image-registries)

SDK is a sagemaker-core wheel or an unpacked tree that holds `sagemaker/core/image_uri_config/`; without it the
script downloads the pinned wheel with pip (the only step that needs the network). The CDK app reads the JSON
into a CfnMapping, so synth neither imports the SDK nor goes online. Only regions that publish both images are
kept.
"""

from __future__ import annotations

import json
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
# available_images.md and its releases), not under the bare 3.5-cpu-py312: pin a released one.
IMAGES = {
    "XGBoost": ("xgboost.json", "training", "1.7-1", "1.7-1"),
    "SparkProcessing": ("spark.json", "processing", "3.5", "3.5-cpu-py312-v1.0"),
}


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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
