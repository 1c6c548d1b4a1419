"""An export's progress file, `<out>/.export-progress.json`: what is being exported, and which segments are done.

It names the source exactly, so that a resumed export is the same export: the table, the
endpoint the client sends to (`client.meta.endpoint_url`), the region, the account id and
the table's ARN (from DescribeTable's TableArn, `arn:aws:dynamodb:<region>:<account>:table/<name>`),
the number of segments, and the anonymization setting as a fingerprint of its key (None
when raw; never the key). In an anonymized export the account and the ARN are recorded
as their stand-ins, as the manifests show them, so no file of it holds the real ones.

A run into a folder whose progress file names another source is refused in one line that
says what differs, so two databases, raw and anonymized segments, or two keys never mix.
"""

import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ddb.backup.anonymize import Anonymizer
from ddb.backup.layout import DATA, DESCRIPTION, ROOT, STARTED, DataFile
from ddb.backup.location import Writable
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError

PROGRESS = ".export-progress.json"
_TABLE_ARN = re.compile(r"arn:[^:]+:dynamodb:[^:]*:([0-9]{12}):table/")
# What a resume compares, in the order a refusal names them.
_NAMES = {
    "table": "table",
    "endpoint": "endpoint",
    "region": "region",
    "account": "account",
    "table_arn": "table ARN",
    "anonymization": "anonymization",
    "segments": "--segments",
}


def table_account(description: dict) -> str | None:
    """The 12-digit account id in a described table's TableArn, if it has one."""
    found = _TABLE_ARN.match(str(description.get("TableArn") or ""))
    return found.group(1) if found else None


class ExportMismatch(DdbError):
    """`out` holds an export of another source, or made another way: finishing it with this run would mix them."""


@dataclass(frozen=True)
class Source:
    """What an export reads, as its progress file records it."""

    table: str
    endpoint: str
    region: str
    account: str | None
    table_arn: str | None
    anonymization: str | None  # the key's fingerprint; None: raw
    segments: int

    @classmethod
    def of(cls, client: DynamoDBClient, table: str, description: dict, segments: int, anonymizer: Anonymizer | None) -> "Source":
        """The source of an export of `table` through `client` (described as `description`)."""
        arn = description.get("TableArn")
        arn = arn if isinstance(arn, str) else None
        account = table_account(description)
        if anonymizer is not None:
            arn = anonymizer.arn(arn) if arn else None
            account = anonymizer.account(account) if account else None
        return cls(
            table,
            str(client.meta.endpoint_url),
            str(client.meta.region_name),
            account,
            arn,
            anonymizer.fingerprint if anonymizer is not None else None,
            segments,
        )

    def described(self) -> str:
        """`table 'x' at <endpoint> (region r, account a, raw, 1 segment)`."""
        how = "raw" if self.anonymization is None else f"anonymized with key {self.anonymization}"
        account = f"{'stand-in ' if self.anonymization else ''}account {self.account or 'unknown'}"
        return (
            f"table {self.table!r} at {self.endpoint} (region {self.region}, {account}, "
            f"{how}, {self.segments} segment{'s' if self.segments != 1 else ''})"
        )


class Progress:
    """The progress file of one export: its source, its id, its finished segments; written atomically after each."""

    def __init__(self, folder: Writable, state: dict, created: bool):
        self.folder, self.state, self.created, self.lock = folder, state, created, threading.Lock()

    @property
    def export_id(self) -> str:
        """The export's id (`<14-digit milliseconds>-<8 hex>`), fixed at its first run."""
        return self.state["export_id"]

    def finish(self, segment: int, entry: DataFile, finished_at: float) -> None:
        """Record a finished segment's data file."""
        with self.lock:
            self.state["finished"][str(segment)] = entry.as_json()
            self.state["last_finished_at"] = finished_at
            self.folder.write_atomically(PROGRESS, json.dumps(self.state, indent=1))

    def entries(self) -> list[DataFile]:
        """The finished segments' data files, in segment order."""
        finished = self.state["finished"]
        return [
            DataFile(e["itemCount"], e["md5Checksum"], e["etag"], e["dataFileS3Key"])
            for _, e in sorted(finished.items(), key=lambda pair: int(pair[0]))
        ]

    def remove(self, part_names: list[str]) -> None:
        """Remove what a run that finished no segment wrote (and only that), so the folder is as good as new.

        Best effort, step by step, through the same no-link rules: a name that is a link is
        unlinked, a linked folder is never entered, a folder is removed only when empty
        (another export's files are never touched).
        """
        folder, export_id = self.folder, self.export_id
        with contextlib.ExitStack() as opened:
            root = _quietly(folder.child, ROOT, create=False)
            export = _quietly(root.child, export_id, create=False) if root else None
            data = _quietly(export.child, DATA, create=False) if export else None
            for found in (root, export, data):
                if found:
                    opened.callback(found.close)
            for name in part_names if data else ():
                _quietly(data.unlink, name)  # type: ignore[union-attr]
            if export:
                _quietly(export.remove_folder, DATA)
                for name in (STARTED, DESCRIPTION, DESCRIPTION + ".tmp"):
                    _quietly(export.unlink, name)
            if root:
                _quietly(root.remove_folder, export_id)
            _quietly(folder.remove_folder, ROOT)
        _quietly(folder.unlink, PROGRESS + ".tmp")
        _quietly(folder.unlink, PROGRESS)


def _quietly(action: Callable, *args, **kwargs):
    """`action(...)`, or None when it fails (a cleanup step must not hide the error that caused it)."""
    try:
        return action(*args, **kwargs)
    except DdbError:
        return None


def recorded_segments(folder: Writable) -> int | None:
    """The segments of the unfinished export in `folder` (its progress file's), if there is one that says."""
    try:
        segments = json.loads(folder.read_text(PROGRESS) or "null")["segments"]
    except (ValueError, KeyError, TypeError):
        return None
    return segments if type(segments) is int and segments >= 1 else None


def start_or_resume(folder: Writable, source: Source) -> Progress:
    """The progress of the export in `folder`: resumed if it is of `source`, refused if of another, else a new one."""
    out = folder.path
    text = folder.read_text(PROGRESS)
    if text is not None:
        try:
            state = json.loads(text)
            recorded = Source(**{name: state[name] for name in _NAMES})
            state["export_id"], state["started_at"], state["finished"].items()  # present and of their types
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DdbError(f"{out / PROGRESS} is damaged or of an older version: give another --out (or delete {out})") from None
        if recorded != source:
            # Under another key the stand-ins of the account and ARN differ too: only the key is named then.
            keyed = ("account", "table_arn") if recorded.anonymization != source.anonymization else ()
            differ = ", ".join(_NAMES[n] for n in _NAMES if getattr(recorded, n) != getattr(source, n) and n not in keyed)
            raise ExportMismatch(
                f"{out} holds an export of {recorded.described()}; this run reads {source.described()}: "
                f"the {differ} differ{'s' if ',' not in differ else ''}; run it the same way to finish it, or give another --out"
            )
        return Progress(folder, state, created=False)
    if folder.exists(ROOT):
        raise DdbError(f"{out} already holds {ROOT}/ but no {PROGRESS}: give an empty or new folder to --out")
    started = time.time()
    state = {
        **asdict(source),
        "export_id": f"{int(started * 1000):014d}-{secrets.token_hex(4)}",
        "started_at": started,
        "finished": {},
    }
    folder.write_atomically(PROGRESS, json.dumps(state, indent=1))
    return Progress(folder, state, created=True)
