"""Private network for the warehouse: isolated subnets, no NAT gateway, S3 through a gateway endpoint."""

from __future__ import annotations

import zlib
from typing import cast

from aws_cdk import Fn, Token
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ..common.encryption import DataKey
from ..common.logs import EncryptedLogGroup, aws_sdk_calls_log_group
from ..common.network import add_interface_endpoints, limit_s3_gateway_endpoint, s3_prefix_list
from ..common.service_roles import flow_logs_to_log_group
from .settings import REDSHIFT_MIN_AVAILABILITY_ZONES, RedshiftMlSettings

VPC_CIDR = "10.40.0.0/16"
VPC_PREFIX = "10.40"
# The VPC's /16 in sixteen /20 blocks: the default zones take block 0, each set of configured AZ IDs one of the others.
SUBNET_BLOCKS = 16


class WarehouseNetwork(Construct):
    """The workgroup's network and security group.

    Redshift Serverless needs subnets in at least three AZs whose AZ IDs it supports
    (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).

    Without `vpc`: a new VPC with isolated subnets in the AZ IDs of `settings.redshift_availability_zones` (default:
    the region's first three AZ names), flow logs and an S3 gateway endpoint, and Redshift clients allowed in from
    inside it. Each set of zones gets its own subnet CIDRs, so changing the setting can replace the subnets: a
    replacement subnet is created before the old one is deleted, and a subnet whose AZ changes needs a new CIDR
    (AWS::EC2::Subnet AvailabilityZone). With
    an existing `vpc` (production): its `vpc_subnets` (default: its private subnets; at least three, or synth fails)
    and no ingress rule, so the owner adds the clients it trusts (`security_group.add_ingress_rule`); its endpoints
    and flow logs stay the owner's. With enhanced VPC routing, Redshift ML reaches SageMaker through interface
    endpoints created here either way."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RedshiftMlSettings,
        encryption_key: DataKey,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = vpc or self._new_vpc(settings, encryption_key)
        self._subnets = vpc_subnets or (
            ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED) if vpc is None else ec2.SubnetSelection()
        )
        self._require_three_zones()
        self.security_group = ec2.SecurityGroup(
            self,
            "WorkgroupSecurityGroup",
            vpc=self.vpc,
            description="Redshift Serverless workgroup",
            allow_all_outbound=False,
        )
        if vpc is None:
            self.security_group.add_ingress_rule(
                ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(5439), "Redshift clients inside the VPC"
            )
        # Without enhanced VPC routing, COPY, UNLOAD and Redshift ML traffic leaves through Redshift's own network,
        # not the workgroup's interfaces (https://docs.aws.amazon.com/redshift/latest/mgmt/enhanced-vpc-routing.html):
        # no egress at all. With it, HTTPS only to the S3 gateway endpoint (its prefix list) and the SageMaker
        # interface endpoints' security group.
        if settings.redshift_enhanced_vpc_routing:
            s3_peer = s3_prefix_list(
                self, aws_sdk_calls_log_group(self, common=settings.common, encryption_key=encryption_key)
            )
            self.security_group.add_egress_rule(s3_peer, ec2.Port.tcp(443), "HTTPS to the S3 gateway endpoint")
            endpoint_security_group = ec2.SecurityGroup(
                self,
                "EndpointSecurityGroup",
                vpc=self.vpc,
                description="SageMaker interface endpoints",
                allow_all_outbound=False,
                # Its ingress from the workgroup group is a rule resource of its own: inline, it and the workgroup
                # group's egress to it would reference each other (a circular dependency).
                disable_inline_rules=True,
            )
            endpoint_security_group.add_ingress_rule(
                ec2.Peer.security_group_id(self.security_group.security_group_id),
                ec2.Port.tcp(443),
                "HTTPS from the workgroup",
            )
            self.security_group.add_egress_rule(
                ec2.Peer.security_group_id(endpoint_security_group.security_group_id),
                ec2.Port.tcp(443),
                "HTTPS to the SageMaker interface endpoints",
            )
            add_interface_endpoints(
                self,
                self.vpc,
                [
                    ("SageMakerApi", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API),
                    ("SageMakerRuntime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME),
                ],
                security_groups=[endpoint_security_group],
                subnets=self._subnets,
            )

    def _new_vpc(self, settings: RedshiftMlSettings, encryption_key: DataKey) -> ec2.Vpc:
        zone_ids = sorted(settings.redshift_availability_zone_ids)  # in any order, the same subnets
        vpc = ec2.Vpc(
            self,
            "Vpc",
            # AZ IDs from the profile (set on each subnet below), or explicit AZ tokens: an environment-agnostic stack
            # would otherwise get two.
            availability_zones=zone_ids or [Fn.select(i, Fn.get_azs()) for i in range(REDSHIFT_MIN_AVAILABILITY_ZONES)],
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            nat_gateways=0,
            # Without @aws-cdk/aws-ec2:restrictDefaultSecurityGroup the default security group keeps its allow-all rules.
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Warehouse", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=flow_logs_to_log_group(
                        self,
                        EncryptedLogGroup(self, "FlowLogGroup", common=settings.common, encryption_key=encryption_key),
                    )
                )
            },
        )
        limit_s3_gateway_endpoint(vpc)
        if zone_ids:
            _place_by_zone_id(vpc, zone_ids)
        return vpc

    def _selected(self) -> ec2.SelectedSubnets:
        fields = ("availability_zones", "one_per_az", "subnet_filters", "subnet_group_name", "subnets", "subnet_type")
        selection = {name: getattr(self._subnets, name) for name in fields if getattr(self._subnets, name) is not None}
        return self.vpc.select_subnets(**selection)

    def _require_three_zones(self) -> None:
        """Fail synth, not the deployment, when the selection cannot hold a workgroup: at least three subnets in
        three AZs. AZ tokens count as distinct. (US West (N. California) would take three subnets in two AZs, but
        the kit's subnets are one per AZ and its check three AZs: the kit does not support that region.)"""
        selected = self._selected()
        names = [zone for zone in selected.availability_zones if not Token.is_unresolved(zone)]
        spanned = len(set(names)) + len(selected.availability_zones) - len(names)
        needed = REDSHIFT_MIN_AVAILABILITY_ZONES
        if len(selected.subnet_ids) < needed or spanned < needed:
            raise ValueError(
                f"The warehouse subnets span {spanned} Availability Zone(s) "
                f"({len(selected.subnet_ids)} subnet(s)); Redshift Serverless needs at least "
                f"{needed} subnets in at least {needed} AZs whose AZ IDs it supports. Pass a "
                "VPC and vpc_subnets that have them, or set kit:redshift_availability_zones for the new VPC."
            )

    @property
    def subnet_ids(self) -> list[str]:
        return self._selected().subnet_ids


def _place_by_zone_id(vpc: ec2.Vpc, zone_ids: list[str]) -> None:
    """Put each subnet in its AZ ID (the same zone in every account; ec2.Vpc only takes AZ names) and in the /20
    block of this set of zones, so a changed set creates its subnets beside the old ones instead of on their
    CIDRs. Two sets share a block one time in fifteen: the update review flags that as "fails: CIDR kept"."""
    block = 1 + zlib.crc32(",".join(zone_ids).encode()) % (SUBNET_BLOCKS - 1)
    for index, subnet in enumerate(vpc.isolated_subnets):
        cfn_subnet = cast(ec2.CfnSubnet, subnet.node.default_child)
        cfn_subnet.add_property_deletion_override("AvailabilityZone")
        cfn_subnet.add_property_override("AvailabilityZoneId", zone_ids[index])
        cfn_subnet.add_property_override("CidrBlock", f"{VPC_PREFIX}.{block * 16 + index}.0/24")
