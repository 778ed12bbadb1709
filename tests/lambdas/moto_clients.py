"""One boto3 client per service for the whole run: building a client takes a fraction of a second (SageMaker's
service model is large), and every test paid it. moto keeps no state in the client: each test's mock_aws() still
starts from an empty account."""

from functools import cache

import boto3


@cache
def client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
