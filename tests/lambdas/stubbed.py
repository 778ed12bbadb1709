"""Clients on recorded answers (botocore Stubber): every request is checked against the service model, an unexpected
call fails the test, and an answer the handler never asked for fails it at the end."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.stub import Stubber


@contextmanager
def stubbed_clients(*services: str) -> Iterator[tuple[Any, ...]]:
    """The clients of `services`, then their stubs, in that order."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    clients = [session.client(service) for service in services]
    stubs = [Stubber(client) for client in clients]
    for stub in stubs:
        stub.activate()
    yield (*clients, *stubs)
    for stub in stubs:
        stub.assert_no_pending_responses()
