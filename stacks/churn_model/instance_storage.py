"""Which SageMaker instance types carry local NVMe instance storage, and so take no volume key.

SageMaker refuses a volume key for them: "Certain Nitro-based instances include local storage ... Local storage
volumes are encrypted using a hardware module on the instance. You can't request a VolumeKmsKeyId when using an
instance type with local storage" (ProcessingClusterConfig / ResourceConfig), and CreateEndpointConfig fails with a
KmsKeyId if any variant uses such a type:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingClusterConfig.html
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html
Their data is still encrypted at rest: XTS-AES-256 in a hardware module, keys destroyed with the instance
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ssd-instance-store.html).

lambdas/churn_endpoint/deployer.py keeps a copy (Lambdas stay dependency-free); a test keeps both equal.
"""

# The rule of AWS's SageMaker Python SDK (sagemaker.core.common_utils.volume_size_supported, used by
# instance_supports_kms): a "d" in the family (EC2's letter for instance store: m5d, c6id, g4dn, p3dn, p4d, dl1) or a
# family of these lines, which have NVMe instance store without the letter (ml.g5 is also named in the SageMaker
# training storage guide, https://docs.aws.amazon.com/sagemaker/latest/dg/model-train-storage-tips-considerations.html).
# https://github.com/aws/sagemaker-python-sdk/blob/master/sagemaker-core/src/sagemaker/core/common_utils.py
INSTANCE_STORE_FAMILY_PREFIXES = ("g5", "g6", "p5", "trn1")


def has_instance_storage(instance_type: str) -> bool:
    """True for an ml.<family>.<size> type whose storage is local NVMe, which SageMaker encrypts in hardware."""
    family = instance_type.split(".")[1]
    return "d" in family or family.startswith(INSTANCE_STORE_FAMILY_PREFIXES)


def volume_key(instance_type: str, key_arn: str) -> dict[str, str]:
    """{"VolumeKmsKeyId": key} for EBS-backed types; nothing for instance-storage types (hardware-encrypted)."""
    return {} if has_instance_storage(instance_type) else {"VolumeKmsKeyId": key_arn}
