"""The churn pipeline's definition (SageMaker Model Building Pipelines JSON), built as plain Python data.

PrepareFeatures (Spark processing) -> TrainModel (built-in XGBoost 1.7-1) -> EvaluateModel (test AUC and AP)
-> CheckAuc: RegisterModel when AUC >= MinimumAuc, else AucTooLow (a Fail step, so nothing is registered and the
serving endpoint keeps its model). Every run writes under runs/<execution id>/ in the artifacts bucket, so runs
never overwrite each other. Values may be CDK tokens; the construct serializes the result with the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks.churn_model.instance_storage import volume_key

DEFINITION_VERSION = "2020-12-01"
# The classic churn sample's hyperparameters (binary:logistic, so the endpoint returns P(churn)).
HYPERPARAMETERS = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "num_round": "100",
    "eval_metric": "auc",
}
SPLIT_SEED = 11
PROCESSING_ROOT = "/opt/ml/processing"
EVALUATION_FILE = "evaluation.json"
AUC_PATH = "binary_classification_metrics.auc.value"
# "ExceptionType": [String] -- a list of names per policy (SageMaker developer guide, "Retry Policy for Pipeline
# Steps": https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html; SDK workflow/retry.py).
RETRY_POLICIES = [
    {
        "ExceptionType": ["Step.THROTTLING", "Step.SERVICE_FAULT"],
        "IntervalSeconds": 60,
        "BackoffRate": 2.0,
        "MaxAttempts": 3,
    },
    {
        "ExceptionType": ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 60,
        "BackoffRate": 2.0,
        "MaxAttempts": 3,
    },
]


@dataclass(frozen=True)
class PipelineInputs:
    """What the definition refers to: roles, images, locations, code and capacity."""

    role_arn: str
    spark_image: str
    xgboost_image: str
    artifacts_bucket: str
    kms_key_arn: str
    preprocess_code_uri: str
    preprocess_file: str
    evaluate_code_uri: str
    evaluate_file: str
    model_package_group: str
    default_input_uri: str
    processing_instance_type: str
    processing_instance_count: int
    training_instance_type: str
    endpoint_instance_type: str
    min_auc: float
    approval_status: str
    max_runtime_seconds: int = 3600
    volume_size_gb: int = 30
    # Tags of the jobs the pipeline starts (its own tags are not copied to them), so cost reports find them.
    tags: tuple[tuple[str, str], ...] = ()


def get(path: str) -> dict[str, Any]:
    return {"Get": path}


def run_uri(inputs: PipelineInputs, *parts: str) -> dict[str, Any]:
    """s3://<artifacts bucket>/runs/<execution id>/<parts>: one folder per execution."""
    return {
        "Std:Join": {
            "On": "/",
            "Values": [f"s3://{inputs.artifacts_bucket}/runs", get("Execution.PipelineExecutionId"), *parts],
        }
    }


def _s3_input(name: str, uri: object, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _cluster(inputs: PipelineInputs, instance_type: str, instance_count: object) -> dict[str, Any]:
    return {
        "ClusterConfig": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": inputs.volume_size_gb,
            **volume_key(instance_type, inputs.kms_key_arn),
        }
    }


def parameters(inputs: PipelineInputs) -> list[dict[str, Any]]:
    return [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": inputs.default_input_uri},
        {"Name": "MinimumAuc", "Type": "Float", "DefaultValue": inputs.min_auc},
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": inputs.approval_status},
        {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": inputs.processing_instance_count},
        {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": inputs.training_instance_type},
    ]


def prepare_features(inputs: PipelineInputs) -> dict[str, Any]:
    """Spark reads the raw CSV and writes the splits straight to S3, which works on any number of instances."""
    code_dir = f"{PROCESSING_ROOT}/input/code"
    return {
        "Name": "PrepareFeatures",
        "Type": "Processing",
        "RetryPolicies": RETRY_POLICIES,
        "Arguments": {
            "AppSpecification": {
                "ImageUri": inputs.spark_image,
                "ContainerEntrypoint": ["smspark-submit", f"{code_dir}/{inputs.preprocess_file}"],
                "ContainerArguments": [
                    "--input",
                    get("Parameters.InputDataUri"),
                    "--output",
                    run_uri(inputs, "features"),
                    "--seed",
                    str(SPLIT_SEED),
                ],
            },
            "ProcessingInputs": [_s3_input("code", inputs.preprocess_code_uri, code_dir)],
            "ProcessingResources": _cluster(
                inputs, inputs.processing_instance_type, get("Parameters.ProcessingInstanceCount")
            ),
            "NetworkConfig": {"EnableInterContainerTrafficEncryption": True},
            "StoppingCondition": {"MaxRuntimeInSeconds": inputs.max_runtime_seconds},
            "RoleArn": inputs.role_arn,
        },
    }


def train_model(inputs: PipelineInputs) -> dict[str, Any]:
    def channel(name: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "ContentType": "text/csv",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": run_uri(inputs, "features", name),
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }

    return {
        "Name": "TrainModel",
        "Type": "Training",
        "DependsOn": ["PrepareFeatures"],
        "RetryPolicies": RETRY_POLICIES,
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": inputs.xgboost_image, "TrainingInputMode": "File"},
            "HyperParameters": dict(HYPERPARAMETERS),
            "InputDataConfig": [channel("train"), channel("validation")],
            "OutputDataConfig": {"S3OutputPath": run_uri(inputs, "model"), "KmsKeyId": inputs.kms_key_arn},
            "ResourceConfig": {
                "InstanceCount": 1,
                "InstanceType": get("Parameters.TrainingInstanceType"),
                "VolumeSizeInGB": inputs.volume_size_gb,
                # Decided on the parameter's default: a run started with a type of the other storage kind fails
                # at CreateTrainingJob, so change the setting rather than the parameter across kinds.
                **volume_key(inputs.training_instance_type, inputs.kms_key_arn),
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": inputs.max_runtime_seconds},
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "RoleArn": inputs.role_arn,
        },
    }


def evaluate_model(inputs: PipelineInputs) -> dict[str, Any]:
    """The XGBoost image runs the evaluation script, network-isolated: its inputs and output are staged by S3."""
    code_dir = f"{PROCESSING_ROOT}/input/code"
    return {
        "Name": "EvaluateModel",
        "Type": "Processing",
        "RetryPolicies": RETRY_POLICIES,
        "Arguments": {
            "AppSpecification": {
                "ImageUri": inputs.xgboost_image,
                "ContainerEntrypoint": ["python3", f"{code_dir}/{inputs.evaluate_file}"],
                "ContainerArguments": [
                    "--model",
                    f"{PROCESSING_ROOT}/model",
                    "--test",
                    f"{PROCESSING_ROOT}/test",
                    "--output",
                    f"{PROCESSING_ROOT}/evaluation",
                ],
            },
            "ProcessingInputs": [
                _s3_input("code", inputs.evaluate_code_uri, code_dir),
                _s3_input("model", get("Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"), f"{PROCESSING_ROOT}/model"),
                _s3_input("test", run_uri(inputs, "features", "test"), f"{PROCESSING_ROOT}/test"),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": inputs.kms_key_arn,
                "Outputs": [
                    {
                        "OutputName": "evaluation",
                        "S3Output": {
                            "S3Uri": run_uri(inputs, "evaluation"),
                            "LocalPath": f"{PROCESSING_ROOT}/evaluation",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": _cluster(inputs, "ml.m5.xlarge", 1),
            "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True},
            "StoppingCondition": {"MaxRuntimeInSeconds": inputs.max_runtime_seconds},
            "RoleArn": inputs.role_arn,
        },
        "PropertyFiles": [
            {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": EVALUATION_FILE}
        ],
    }


def register_model(inputs: PipelineInputs) -> dict[str, Any]:
    return {
        "Name": "RegisterModel",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": inputs.model_package_group,
            "ModelPackageDescription": "Churn XGBoost model trained by the churn pipeline",
            "ModelApprovalStatus": get("Parameters.ModelApprovalStatus"),
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": inputs.xgboost_image,
                        "ModelDataUrl": get("Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"),
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
                "SupportedRealtimeInferenceInstanceTypes": [inputs.endpoint_instance_type],
                "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": run_uri(inputs, "evaluation", EVALUATION_FILE),
                    }
                }
            },
        },
    }


def auc_too_low() -> dict[str, Any]:
    return {
        "Name": "AucTooLow",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": " ",
                    "Values": [
                        "Test AUC is below MinimumAuc",
                        get("Parameters.MinimumAuc"),
                        "(see the EvaluateModel output); nothing was registered and the endpoint keeps its current model.",
                    ],
                }
            }
        },
    }


def check_auc(inputs: PipelineInputs) -> dict[str, Any]:
    return {
        "Name": "CheckAuc",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": get("Steps.EvaluateModel.PropertyFiles.EvaluationReport"),
                            "Path": AUC_PATH,
                        }
                    },
                    "RightValue": get("Parameters.MinimumAuc"),
                }
            ],
            "IfSteps": [register_model(inputs)],
            "ElseSteps": [auc_too_low()],
        },
    }


def build_definition(inputs: PipelineInputs) -> dict[str, Any]:
    steps = [prepare_features(inputs), train_model(inputs), evaluate_model(inputs), check_auc(inputs)]
    if inputs.tags:
        # A step's Arguments are its Create*Job request, whose Tags the job carries
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html,
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html).
        for step in steps:
            if step["Type"] in ("Processing", "Training"):
                step["Arguments"]["Tags"] = [{"Key": key, "Value": value} for key, value in inputs.tags]
    return {"Version": DEFINITION_VERSION, "Metadata": {}, "Parameters": parameters(inputs), "Steps": steps}
