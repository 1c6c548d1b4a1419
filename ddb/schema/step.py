"""One step of a schema plan: a single request that changes one thing of the live table."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One change of the live table: what it does, how risky it is, and its request.

    `destructive`: it throws away what a re-run cannot bring back (a GSI, a stream, TTL,
    point-in-time recovery, a tag). `risky`: it lowers provisioned capacity or switches the
    billing mode, which throttles the app or changes the bill, and is slow to undo
    (DynamoDB allows few capacity decreases and one billing switch a day). Both are
    `guarded`: carried out only when the caller allows it.
    """

    kind: str  # delete-index, billing, throughput, index-throughput, create-index, stream-off, stream-on, ...
    summary: str
    destructive: bool
    operation: str  # the client method: update_table, update_time_to_live, ...
    request: dict
    index: str | None = None  # the GSI a create-index step waits for
    risky: bool = False

    @property
    def guarded(self) -> bool:
        """True when the step needs an explicit allowance (`--allow-destructive`): destructive or risky."""
        return self.destructive or self.risky

    @property
    def label(self) -> str:
        return "DESTRUCTIVE" if self.destructive else "RISKY" if self.risky else "safe"

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "destructive": self.destructive,
            "risky": self.risky,
            "operation": self.operation,
            "request": self.request,
        }
