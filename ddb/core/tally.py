"""The tally of a batch write, carried by its result and by the errors that cut it short."""

from dataclasses import dataclass, field


@dataclass
class BatchResult:
    """What a batch write did: items put and deleted, calls retried, capacity reported."""

    put: int = 0
    deleted: int = 0
    retries: int = 0
    consumed_wcu: float = 0.0  # as the engine reported it, when asked (`capacity=True`)
    capacity_reported: bool = True
    failed_keys: list[dict[str, str]] = field(default_factory=list)  # plain keys: {"pk": …, "sk": …}
    throttled: int = 0  # calls that were throttled or came back with UnprocessedItems
    writers: int = 1  # calls in flight
    write_units: int = 0  # write units of the items written, by DynamoDB's size rules (`ddb.bulk.pacing.request_units`)
    paced_rate: float | None = None  # write units/s the pacing ended at; None: the table never throttled
    lowest_rate: float | None = None  # the lowest rate the pacing went down to
    stopped: bool = False  # the stop event ended the write early: some requests were never sent
    unanswered: int = 0  # items of calls still unanswered when Ctrl-C gave up waiting: they may have landed
