"""The SageMaker Spark library path: train and host the churn model from a Spark DataFrame in a notebook.

Run on the kit's notebook instance (its lifecycle installs sagemaker_pyspark 1.4.5, which brings pyspark 3.3):

    python sagemaker_pyspark_churn.py --features s3://<ArtifactsBucketName>/runs/<execution id>/features \
        --role-arn <notebook role ARN> --image <XGBoostImageUri output>

It reads the splits the pipeline's Spark step wrote (label first, header-less CSV), fits a `SageMakerEstimator`
on the built-in XGBoost 1.7-1 image — not `XGBoostSageMakerEstimator`, whose default image is the deprecated
0.72 one — with the pipeline's hyperparameters, scores the test split through the endpoint the library creates,
prints the AUC, and deletes the endpoint. Everything it creates is named churn-spark-*, which the notebook role
is limited to. The library's training input and output go to notebook/ of the same artifacts bucket, passed
explicitly: by default (`S3AutoCreatePath`) it creates and uses a bucket of its own, which the notebook role cannot
touch. For scheduled, reviewed, monitored training use the pipeline instead (see docs/architectures/churn-model.md).
"""

from __future__ import annotations

import argparse

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from sagemaker_pyspark import (
    IAMRole,
    RandomNamePolicyFactory,
    S3DataPath,
    SageMakerEstimator,
    SageMakerResourceCleanup,
    classpath_jars,
)
from sagemaker_pyspark.transformation.deserializers import XGBoostCSVRowDeserializer
from sagemaker_pyspark.transformation.serializers import LibSVMRequestRowSerializer

# The same values the pipeline's TrainModel step passes (stacks/churn_model/pipeline_definition.py).
HYPERPARAMETERS = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "num_round": "100",
}


def load_split(spark: SparkSession, uri: str):
    """A split as (label, features vector); the CSV's first column is the label."""
    frame = spark.read.csv(uri.replace("s3://", "s3a://"), inferSchema=True)
    label, *features = frame.columns
    return (
        VectorAssembler(inputCols=features, outputCol="features")
        .transform(frame.withColumnRenamed(label, "label"))
        .select(F.col("label").cast("double"), "features")
    )


def notebook_paths(features_uri: str) -> tuple[S3DataPath, S3DataPath]:
    """Training input and output under notebook/ of the bucket the features are in (the notebook role's prefix)."""
    if not features_uri.startswith("s3://"):
        raise ValueError(f"--features must be an s3:// URI, not {features_uri!r}")
    bucket = features_uri[len("s3://") :].split("/", 1)[0]
    return S3DataPath(bucket, "notebook/training-input"), S3DataPath(bucket, "notebook/training-output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True, help="the pipeline's features folder (train/, test/)")
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--image", required=True, help="sagemaker-xgboost:1.7-1 image URI of this region")
    parser.add_argument("--instance-type", default="ml.m5.xlarge")
    args = parser.parse_args()

    spark = (
        SparkSession.builder.appName("churn-sagemaker-spark")
        .config("spark.driver.extraClassPath", ":".join(classpath_jars()))
        .getOrCreate()
    )
    train, test = (load_split(spark, f"{args.features}/{name}") for name in ("train", "test"))
    training_input, training_output = notebook_paths(args.features)
    estimator = SageMakerEstimator(
        trainingImage=args.image,
        modelImage=args.image,
        trainingInstanceType=args.instance_type,
        trainingInstanceCount=1,
        endpointInstanceType="ml.m5.large",
        endpointInitialInstanceCount=1,
        hyperParameters=HYPERPARAMETERS,
        trainingSparkDataFormat="libsvm",
        trainingContentType="text/libsvm",
        requestRowSerializer=LibSVMRequestRowSerializer(featuresColumnName="features"),
        responseRowDeserializer=XGBoostCSVRowDeserializer(),
        trainingInputS3DataPath=training_input,
        trainingOutputS3DataPath=training_output,
        sagemakerRole=IAMRole(args.role_arn),
        namePolicyFactory=RandomNamePolicyFactory("churn-spark-"),
    )
    model = estimator.fit(train)
    try:
        scored = model.transform(test).withColumn("score", F.col("prediction").cast("double"))
        auc = BinaryClassificationEvaluator(rawPredictionCol="score", labelCol="label").evaluate(scored)
        print(f"test AUC through the endpoint: {auc:.4f}")
    finally:
        # The library creates the model and endpoint outside CloudFormation: delete them, or the endpoint bills
        # by the hour.
        SageMakerResourceCleanup(model.sagemakerClient).deleteResources(model.getCreatedResources())


if __name__ == "__main__":
    main()
