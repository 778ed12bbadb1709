"""The synthetic job-matching data, generated at synth time and uploaded as CDK file assets for COPY."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

import datagen.job_matching
from ..common.generated import generated_directory

from ..common.assets import grant_asset_read


class SampleData(Construct):
    """Deterministic CSVs (same seed, same bytes, same asset hash), one plain S3 object each, so COPY
    reads them where the CDK deployment put them, with no copy job."""

    def __init__(self, scope: Construct, construct_id: str, *, interactions: int = 120_000) -> None:
        super().__init__(scope, construct_id)
        directory = generated_directory(
            self,
            "job-matching",
            generator=datagen.job_matching,
            params={"interactions": interactions},
            write=lambda folder: datagen.job_matching.generate(folder, interactions=interactions),
        )
        self.seekers = s3_assets.Asset(self, "JobSeekers", path=str(directory / "job_seekers.csv"))
        self.jobs = s3_assets.Asset(self, "Jobs", path=str(directory / "jobs.csv"))
        self.interactions = s3_assets.Asset(self, "Interactions", path=str(directory / "interactions.csv"))

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """The three objects, listed by their keys: COPY FROM 's3://bucket/key' loads every object under that prefix."""
        for asset in (self.seekers, self.jobs, self.interactions):
            grant_asset_read(asset, grantee, listed=True)

    def properties(self) -> dict[str, str]:
        """Where the files are, as the bootstrap custom resource expects them."""
        return {
            "Bucket": self.seekers.s3_bucket_name,
            "SeekersKey": self.seekers.s3_object_key,
            "JobsKey": self.jobs.s3_object_key,
            "InteractionsKey": self.interactions.s3_object_key,
        }
