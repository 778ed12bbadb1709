"""SageMaker image URIs per region from a CfnMapping generated from the SageMaker SDK's published maps."""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import Construct

from ..common.image_registries import load_registries

__all__ = ["SageMakerImages", "UnsupportedRegionError", "load_registries"]


class UnsupportedRegionError(ValueError):
    """The stack's region has no published image of the kind the pipeline needs."""


class SageMakerImages(Construct):
    """`xgboost` (built-in XGBoost 1.7-1) and `spark_processing` (Spark 3.5 processing) image URIs.

    The account of each image's registry comes from the `ImageRegistries` mapping, keyed by the deploying region.
    A stack with a concrete region outside the map fails synth here; an environment-agnostic one gets a template
    rule that stops the deployment in such a region with the list of supported regions.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        data = load_registries()
        regions = sorted(data["registries"])
        region = Stack.of(self).region
        if not Token.is_unresolved(region) and region not in data["registries"]:
            raise UnsupportedRegionError(
                f"Region {region!r} has no published SageMaker XGBoost 1.7-1 and Spark 3.5 processing images. "
                f"Supported regions: {', '.join(regions)}."
            )
        self.mapping = CfnMapping(self, "ImageRegistries", mapping=data["registries"])
        CfnRule(
            self,
            "SupportedRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(regions, Aws.REGION),
                    assert_description="This region has no published SageMaker XGBoost 1.7-1 and Spark 3.5 processing "
                    "images; deploy to one of: " + ", ".join(regions),
                )
            ],
        )
        self.xgboost = self._uri("XGBoost", data["images"]["XGBoost"])
        self.spark_processing = self._uri("SparkProcessing", data["images"]["SparkProcessing"])

    def _uri(self, key: str, image: dict[str, str]) -> str:
        account = self.mapping.find_in_map(Aws.REGION, key)
        return Fn.join(
            "", [account, ".dkr.ecr.", Aws.REGION, ".", Aws.URL_SUFFIX, "/", f"{image['repository']}:{image['tag']}"]
        )
