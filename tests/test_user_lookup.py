"""The pattern tasks reach any user: by uuid, and by a handle that no fixture file knows (found in the table)."""

import json

import pytest

from ddb.app import messaging, user_lookup
from ddb.core.errors import NotFound
from ddb.data.items import User

from .support import TABLE, local_client, seed_table

MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
# Two users of no fixture file (as a synthetic set or production has them).
ODA = User("0d000000-0000-4000-8000-000000000001", "oda", "Oda Berg")
PIM = User("0d000000-0000-4000-8000-000000000002", "pim", "Pim Vos")


def test_a_user_is_found_by_uuid_and_by_handle_from_the_tables_group_items(client, seeded):
    mira = seeded.user("mira")
    assert user_lookup.by_uuid(client, TABLE, mira.uuid) == mira
    assert user_lookup.by_handle(client, TABLE, "mira") == mira


def test_a_user_in_no_conversation_is_one_line_not_found(client, seeded):
    with pytest.raises(NotFound, match=r"^no user 0d000000-0000-4000-8000-000000000001 in table 'cruddur-messages': "):
        user_lookup.by_uuid(client, TABLE, ODA.uuid)
    with pytest.raises(NotFound, match=r"^no user with handle 'oda' in table 'cruddur-messages': no conversation names them$"):
        user_lookup.by_handle(client, TABLE, "oda")


@pytest.fixture
def outsiders(invoke, engine):
    """The fixtures, plus a conversation of two users no fixture file knows, written through the library."""
    client = local_client(engine)
    seed_table(client)
    started = messaging.create_conversation(client, TABLE, ODA, PIM, "Ferry at nine?")
    return invoke, started.message_group_uuid


def test_list_conversations_by_uuid_and_by_a_handle_only_the_table_knows(outsiders):
    invoke, group = outsiders
    for flags in (("--user-uuid", ODA.uuid), ("--handle", "oda")):
        run = invoke("patterns.list-conversations", *flags, "--json")
        assert run.code == 0, run
        [item] = json.loads(run.out)["items"]
        assert (item["message_group_uuid"], item["user_handle"], item["message"]) == (group, "pim", "Ferry at nine?")


def test_create_message_and_conversation_take_users_by_uuid(outsiders):
    invoke, group = outsiders
    sent = invoke(
        "patterns.create-message", "--message-group-uuid", group, "--user-uuid", PIM.uuid, "--message", "Yes!", "--json"
    )
    assert sent.code == 0, sent
    assert json.loads(sent.out)["message"]["user_handle"] == "pim"
    started = invoke(
        "patterns.create-conversation", "--user-uuid", ODA.uuid, "--with-user-uuid", MIRA, "--message", "Hello", "--json"
    )
    assert started.code == 0, started
    assert json.loads(started.out)["created_conversation"] is True


def test_an_unknown_handle_is_one_line_that_says_where_it_looked_and_what_to_pass(outsiders):
    invoke, _ = outsiders
    run = invoke("patterns.list-conversations", "--handle", "nobody")
    assert (run.code, run.err.strip()) == (
        1,
        "error: unknown handle 'nobody': not in fixtures/users.json, and no conversation of table 'cruddur-messages' "
        "names them; pass --user-uuid if you know the uuid",
    )
    both = invoke(
        "patterns.create-message",
        "--message-group-uuid",
        outsiders[1],
        "--handle",
        "oda",
        "--user-uuid",
        ODA.uuid,
        "--message",
        "x",
    )
    assert (both.code, both.err.strip()) == (1, "error: give --handle or --user-uuid, not both")


def test_on_prod_a_handle_is_resolved_from_the_table_not_from_a_fixture_file(invoke, engine):
    from ddb.schema import declaration as schema

    client = local_client(engine)
    schema.load(client, TABLE)
    prod_mira = User("0d000000-0000-4000-8000-000000000003", "mira", "Mira of production")  # not the fixture's uuid
    messaging.create_conversation(client, TABLE, prod_mira, PIM, "Hello from prod")
    prod = invoke(
        "patterns.list-conversations", "--handle", "mira", "--prod", "--json", env={"AWS_ENDPOINT_URL_DYNAMODB": engine}
    )
    assert prod.code == 0, prod
    assert [i["user_handle"] for i in json.loads(prod.out)["items"]] == ["pim"]
    local = invoke("patterns.list-conversations", "--handle", "mira", "--json")  # locally the fixture set's mira
    assert local.code == 0 and json.loads(local.out)["items"] == []
