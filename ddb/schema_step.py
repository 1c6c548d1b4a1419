"""One step of a schema plan: a single request that changes one thing of the live table."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One change of the live table: what it does, whether it is destructive, and its request."""

    kind: str  # delete-index, billing, throughput, index-throughput, create-index, stream-off, stream-on, ...
    summary: str
    destructive: bool
    operation: str  # the client method: update_table, update_time_to_live, ...
    request: dict
    index: str | None = None  # the GSI a create-index step waits for

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "destructive": self.destructive,
            "operation": self.operation,
            "request": self.request,
        }
