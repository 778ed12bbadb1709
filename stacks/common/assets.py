"""Reads of CDK file assets: the asset's own object in the bootstrap bucket, never the bucket."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets


def grant_asset_read(asset: s3_assets.Asset, grantee: iam.IGrantable, *, listed: bool = False) -> None:
    """s3:GetObject on the asset's object only. CDK's `Asset.grant_read` allows s3:GetObject*, GetBucket* and List*
    on the whole bootstrap bucket: every asset of every CDK app in the account and region.

    `listed`: the reader lists the object's key as a prefix before it reads (Redshift COPY FROM an object prefix,
    https://docs.aws.amazon.com/redshift/latest/dg/t_loading-tables-from-s3.html; a SageMaker processing input of
    S3DataType S3Prefix, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html; Spark's
    Hadoop S3 file systems, which probe a path as a file and as a folder). It also gets s3:ListBucket, limited by
    the s3:prefix condition key (Service Authorization Reference, Amazon S3, ListBucket) to that key and key + "/".

    No KMS permission: the default synthesizer gives an asset no key ARN, so `grant_read` added none either, and the
    default bootstrap bucket is encrypted with the AWS managed key for S3
    (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-customizing.html), whose key policy the service keeps
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-services.html)."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["s3:GetObject"], resource_arns=[asset.bucket.arn_for_objects(asset.s3_object_key)]
    )
    if listed:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[asset.bucket.bucket_arn],
            conditions={"StringEquals": {"s3:prefix": [asset.s3_object_key, f"{asset.s3_object_key}/"]}},
        )
