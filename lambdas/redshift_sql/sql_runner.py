"""Run SQL through the Redshift Data API and wait for it: the one place that talks to redshift-data.

Every statement ends FINISHED or raises: StatementFailed carries Redshift's own error text, a statement
that is ABORTED or outlives the timeout raises too (and a timed-out one is cancelled). Throttling is
retried with exponential backoff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

THROTTLING_CODES = ("ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")


class StatementError(RuntimeError):
    """A statement that did not finish; the message says which and why."""


class StatementFailed(StatementError):
    pass


class StatementAborted(StatementError):
    pass


class StatementTimeout(StatementError):
    pass


@dataclass
class DataApiRunner:
    client: Any
    workgroup_name: str
    database: str
    secret_arn: str | None = None
    poll_seconds: float = 2.0
    timeout_seconds: float = 600.0
    max_throttle_retries: int = 5
    # Absolute time (on `clock`) no statement may wait past, e.g. the end of the Lambda's own timeout.
    deadline: float | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def _target(self) -> dict[str, str]:
        target = {"WorkgroupName": self.workgroup_name, "Database": self.database}
        if self.secret_arn:
            target["SecretArn"] = self.secret_arn
        return target

    def submit(self, sql: str, parameters: dict[str, Any] | None = None) -> str:
        """Start one statement and return its id without waiting."""
        request: dict[str, Any] = {**self._target(), "Sql": sql}
        if parameters:
            request["Parameters"] = [{"name": k, "value": str(v)} for k, v in parameters.items()]
        statement_id: str = self._call(self.client.execute_statement, **request)["Id"]
        return statement_id

    def submit_batch(self, statements: list[str]) -> str:
        """Start statements that run as one transaction (BatchExecuteStatement, up to 40)."""
        if not 1 <= len(statements) <= 40:
            raise ValueError(f"A batch holds 1 to 40 statements, not {len(statements)}.")
        statement_id: str = self._call(self.client.batch_execute_statement, **self._target(), Sqls=statements)["Id"]
        return statement_id

    def status(self, statement_id: str) -> dict[str, Any]:
        """Describe a statement; raise if it FAILED or was ABORTED."""
        description = self._call(self.client.describe_statement, Id=statement_id)
        state = description["Status"]
        if state == "FAILED":
            raise StatementFailed(f"Statement {statement_id} failed: {description.get('Error', 'no error text')}")
        if state == "ABORTED":
            raise StatementAborted(f"Statement {statement_id} was aborted.")
        return description

    def wait(self, statement_id: str) -> dict[str, Any]:
        started = self.clock()
        deadline = started + self.timeout_seconds
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        while True:
            description = self.status(statement_id)
            if description["Status"] == "FINISHED":
                return description
            now = self.clock()
            if now >= deadline:
                self._call(self.client.cancel_statement, Id=statement_id)
                raise StatementTimeout(
                    f"Statement {statement_id} still {description['Status']} after {now - started:.0f} s; cancelled."
                )
            self.sleep(self.poll_seconds)

    def run(self, sql: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.wait(self.submit(sql, parameters))

    def run_batch(self, statements: list[str]) -> dict[str, Any]:
        return self.wait(self.submit_batch(statements))

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT and return its rows as dicts (all result pages)."""
        statement_id = self.submit(sql, parameters)
        if not self.wait(statement_id).get("HasResultSet"):
            return []
        rows: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._call(
                self.client.get_statement_result, Id=statement_id, **({"NextToken": token} if token else {})
            )
            names = [column["name"] for column in page["ColumnMetadata"]]
            for record in page["Records"]:
                rows.append({name: _field_value(value) for name, value in zip(names, record)})
            token = page.get("NextToken")
            if not token:
                return rows

    def _call(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:  # ends by returning, or by raising once the retries are spent
            try:
                return operation(**kwargs)
            except Exception as error:  # botocore ClientError, without importing botocore here
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                if code not in THROTTLING_CODES or attempt == self.max_throttle_retries:
                    raise
                self.sleep(min(0.5 * 2**attempt, 20.0))
                attempt += 1


def _field_value(value: dict[str, Any]) -> Any:
    if value.get("isNull"):
        return None
    ((kind, content),) = value.items()
    return content
