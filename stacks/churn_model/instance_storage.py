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

import re

# EC2 naming: a "d" among the attributes after the generation digit means instance store volumes (m5d, c6id, g4dn,
# p3dn, p4d, p4de, x2iedn). These families have NVMe instance store without the letter: ml.g5 is named in the
# SageMaker training storage guide (model-train-storage-tips-considerations.html); the others per the EC2
# "Instance store volume limits" table (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-store-volumes.html).
INSTANCE_STORE_FAMILIES_WITHOUT_D = frozenset({"g5", "g6", "g6e", "p5", "p5e", "p5en", "trn1", "trn1n"})

_FAMILY = re.compile(r"^ml\.(?P<family>(?P<kind>[a-z]+)\d+(?P<attributes>[a-z-]*))\.")


def has_instance_storage(instance_type: str) -> bool:
    """True for an ml.* type whose storage is local NVMe, which SageMaker encrypts in hardware."""
    match = _FAMILY.match(instance_type)
    if match is None:
        return False
    return "d" in match["attributes"] or match["family"] in INSTANCE_STORE_FAMILIES_WITHOUT_D


def volume_key(instance_type: str, key_arn: str) -> dict[str, str]:
    """{"VolumeKmsKeyId": key} for EBS-backed types; nothing for instance-storage types (hardware-encrypted)."""
    return {} if has_instance_storage(instance_type) else {"VolumeKmsKeyId": key_arn}
