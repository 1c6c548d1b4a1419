"""The table items of fixture conversations, with times relative to one `now` (`stamped`).

Message i of a conversation is stamped `now - minutes_ago + i microseconds`: messages
listed oldest first then have strictly increasing, hence unique, sort keys in their
partition. Each participant's group item takes the last message's time as its sort key
(`GRP#<owner>`, last message time), so two conversations of one user whose last messages
land on the same microsecond would share a key, and one group item would overwrite the
other: that user would lose a conversation from their list. `GroupTimes` hands out the
group items' times across one pass over the fixtures and moves such a conversation on by
as many microseconds as it takes, every message with it (so its group items still sit at
its last message). The shift depends only on the fixtures and their order, so every pass
over the same set (the plan's stale keys, the puts, a re-seed) stamps it the same way.
Each conversation's group claim (`ddb.data.items.group_claim`) comes last.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ddb.data import items
from ddb.data.items import User
from ddb.seed.fixtures import Conversation

if TYPE_CHECKING:
    from ddb.seed.fixtures import Fixtures

MICROSECONDS_PER_MINUTE = 60_000_000


class Directory(Protocol):
    """Anything that finds a user by handle: `Fixtures`, or the checked fixtures of the streamed seed."""

    def user(self, handle: str) -> User: ...


class GroupTimes:
    """The group items' times handed out so far in one pass, by owner (as microseconds from `now`)."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, int]] = set()

    def shift(self, owners: tuple[str, ...], conversation: Conversation) -> int:
        """Microseconds to move the conversation on so that none of its owners' group items meets another."""
        last = conversation.messages[-1]
        at = len(conversation.messages) - 1 - last.minutes_ago * MICROSECONDS_PER_MINUTE
        moved = 0
        while any((owner, at + moved) in self._taken for owner in owners):
            moved += 1
        self._taken.update((owner, at + moved) for owner in owners)
        return moved


def stamped(
    fixtures: Directory, conversations: Iterable[Conversation], now: datetime
) -> Iterator[tuple[Conversation, list[dict]]]:
    """One pass over the conversations: each with every item the table must hold for it.

    Its messages, then one group item per participant, then its group claim; one owner's
    group items kept apart across the pass (see the module).
    """
    times = GroupTimes()
    for conversation in conversations:
        yield conversation, _items(fixtures, conversation, now, times)


def _items(fixtures: Directory, conversation: Conversation, now: datetime, times: GroupTimes) -> list[dict]:
    first, second = (fixtures.user(h) for h in conversation.between)
    moved = times.shift((first.uuid, second.uuid), conversation)
    result: list[dict] = []  # plain dicts, whatever the item type
    for index, message in enumerate(conversation.messages):
        created = items.iso_time(now - timedelta(minutes=message.minutes_ago) + timedelta(microseconds=index + moved))
        result.append(
            dict(
                items.message_item(
                    conversation.message_group_uuid, message.message_uuid, fixtures.user(message.sender), message.text, created
                )
            )
        )
    last = result[-1]
    for owner, other in ((first, second), (second, first)):
        result.append(dict(items.group_item(owner, other, conversation.message_group_uuid, last["message"], last["sk"])))
    result.append(dict(items.group_claim(conversation.message_group_uuid, first.uuid, second.uuid)))
    return result


def sample_items(fixture_set: "Fixtures", now: datetime | None = None) -> list[dict]:
    """The items a seed of `fixture_set` writes at `now` (default `model.SAMPLE_NOW`): each conversation's items, then its claim.

    What the data-model document, the Workbench model and model.cost show as the table's items.
    """
    from ddb.data.model import SAMPLE_NOW

    return [item for _, wanted in stamped(fixture_set, fixture_set.conversations, now or SAMPLE_NOW) for item in wanted]
