"""Import's read-back loses nothing when BatchGetItem hands keys back as UnprocessedKeys.

The fault proxy (`unprocessed_keys_share=1.0`) answers every BatchGetItem for the first
half of its keys (rounded up) and hands the rest back as UnprocessedKeys, as DynamoDB
does under load. The read-back (`ddb.backup.readback`) must ask those again: the overwrite guard
would otherwise miss conflicts and rewrite identical items, and the final count would
report stored items as missing.
"""

import pytest

from ddb.backup import exporting, importing, readback
from ddb.backup import source as import_source
from ddb.core.errors import DdbError
from ddb.core.retry import RetryPolicy

from .faultproxy import FaultProxy
from .support import TABLE, all_items, local_client, seed_table, typed_items

QUICK = RetryPolicy(base_delay=0.001, max_delay=0.01)


@pytest.fixture
def stored(engine_client):
    """The repository's fixtures seeded into the engine (112 items)."""
    seed_table(engine_client)
    return engine_client


@pytest.fixture
def source(stored, tmp_path):
    """The seeded table's export, validated."""
    exporting.export_table(stored, TABLE, tmp_path)
    found = import_source.open_source(tmp_path)
    import_source.validate(found)
    return found


def _exported_keys(source) -> list[tuple[str, str]]:
    return [readback.key_of(typed) for typed in import_source.typed_items(source)]


def _asked(client) -> list[dict]:
    """The per-table part of every BatchGetItem `client` sends from now on."""
    requests: list[dict] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", lambda params, **_: requests.append(dict(params["RequestItems"][TABLE]))
    )
    return requests


def test_the_proxy_answers_the_first_half_of_the_keys_and_hands_back_the_rest_with_the_request_options(stored, engine):
    keys = [{"pk": {"S": i["pk"]}, "sk": {"S": i["sk"]}} for i in all_items(stored)[:5]]
    options = {"ProjectionExpression": "#s", "ExpressionAttributeNames": {"#s": "sk"}, "ConsistentRead": True}
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        answer = local_client(proxy.endpoint).batch_get_item(RequestItems={TABLE: {"Keys": keys, **options}})
        assert (proxy.seen["BatchGetItem"], proxy.injected["unprocessed keys"]) == (1, 1)
    assert sorted(item["sk"]["S"] for item in answer["Responses"][TABLE]) == sorted(k["sk"]["S"] for k in keys[:3])
    assert all(set(item) == {"sk"} for item in answer["Responses"][TABLE])
    assert answer["UnprocessedKeys"] == {TABLE: {"Keys": keys[3:], **options}}


def test_batch_get_asks_again_for_every_unprocessed_key_with_the_same_projection_and_consistency(stored, engine):
    items = typed_items(stored)[:100]
    keys = [{"pk": typed["pk"], "sk": typed["sk"]} for typed in items]
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        client = local_client(proxy.endpoint)
        asked = _asked(client)
        whole = readback.batch_get(client, TABLE, keys, QUICK)
        sort_keys = readback.batch_get(client, TABLE, keys, QUICK, readback.ONE_KEY)
        assert proxy.injected["unprocessed keys"] == 12
    assert sorted(whole, key=readback.key_of) == sorted(items, key=readback.key_of)
    assert sorted(item["sk"]["S"] for item in sort_keys) == sorted(typed["sk"]["S"] for typed in items)
    assert all(set(item) == {"sk"} for item in sort_keys)
    # 100 keys: 50 answered, then 25 of the 50 handed back, 13 of 25, 6 of 12, 3 of 6, 2 of 3, the last one
    assert [len(request["Keys"]) for request in asked] == [100, 50, 25, 12, 6, 3, 1] * 2
    assert [(request["ConsistentRead"], request.get("ProjectionExpression")) for request in asked] == [(True, None)] * 7 + [
        (True, "sk")
    ] * 7


def test_the_final_count_finds_all_112_items_when_half_of_every_batch_get_comes_back_unprocessed(source, engine):
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        client = local_client(proxy.endpoint)
        asked = _asked(client)
        progress: list[int] = []
        assert readback.count_stored(client, TABLE, source, QUICK, readers=2, on_progress=progress.append) == 112
        # 100 keys in 7 calls, 12 keys in 4 (12, 6, 3, 1): every answer complete, so no call asks for whole keys
        assert (proxy.seen["BatchGetItem"], proxy.injected["unprocessed keys"]) == (11, 9)
    assert progress == [100, 12]
    assert {request["ProjectionExpression"] for request in asked} == {"sk"}


def test_the_final_count_names_exactly_the_missing_items_when_half_of_every_batch_get_comes_back_unprocessed(
    source, stored, engine
):
    exported = _exported_keys(source)
    gone = [key for key in exported if key[0].startswith("MSG#")][-7:]
    assert len(gone) == 7
    for pk, sk in gone:
        stored.delete_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        with pytest.raises(DdbError) as refused:
            readback.count_stored(local_client(proxy.endpoint), TABLE, source, QUICK, readers=2)
        assert proxy.injected["unprocessed keys"] >= 9
    missing = [key for key in exported if key in set(gone)]
    shown = ", ".join(f"{pk}/{sk}" for pk, sk in missing[:5])
    assert str(refused.value) == (
        f"7 item(s) of the export are not in table '{TABLE}' after the import: {shown} and 2 more; run the import again"
    )


def test_each_stored_settles_every_batch_in_order_with_all_its_stored_items(source, engine):
    settled: list[tuple[list[dict], list[dict]]] = []
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        readback.each_stored(
            local_client(proxy.endpoint), TABLE, source, lambda done, got: settled.append((done, got)), policy=QUICK, readers=3
        )
        assert proxy.injected["unprocessed keys"] == 9
    assert [len(done) for done, _ in settled] == [100, 12]
    assert [readback.key_of(t) for done, _ in settled for t in done] == _exported_keys(source)
    for done, got in settled:
        assert sorted(got, key=readback.key_of) == sorted(done, key=readback.key_of)


def test_the_overwrite_guard_finds_every_conflict_and_every_identical_item_when_half_of_every_batch_get_comes_back_unprocessed(
    source, stored, engine
):
    exported = list(import_source.typed_items(source))
    # messages in the half of their batch that is handed back: the second 50 of the first 100, the last 6 of the 12
    late = [i for i in [*range(50, 100), *range(106, 112)] if exported[i]["pk"]["S"].startswith("MSG#")]
    changed = [exported[i] for i in (late[0], late[-1])]
    for typed in changed:
        stored.put_item(TableName=TABLE, Item={**typed, "message": {"S": "edited after the export"}})
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        found = importing.plan(local_client(proxy.endpoint), TABLE, source, policy=QUICK, readers=2)
        assert proxy.injected["unprocessed keys"] >= 9
    assert sorted(found.conflicts) == sorted(readback.key_of(typed) for typed in changed)
    assert len(found.identical) == 110 and found.to_write == 2
    assert found.identical == {readback.key_of(typed) for typed in exported} - set(found.conflicts)


def test_invoke_import_reads_back_every_item_when_half_of_every_batch_get_comes_back_unprocessed(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    before = typed_items(local_client(engine))
    out = tmp_path / "backup"
    exported = invoke("export", "--out", str(out))
    assert exported.code == 0, exported
    assert invoke("drop").code == 0
    with FaultProxy(engine, unprocessed_keys_share=1.0) as proxy:
        first = invoke("import", str(out), endpoint=proxy.endpoint)
        assert first.code == 0, first
        assert proxy.injected["unprocessed keys"] >= 9, proxy.injected
        proxy.injected.clear()
        again = invoke("import", str(out), endpoint=proxy.endpoint)
        assert again.code == 0, again
        assert proxy.injected["unprocessed keys"] >= 18, proxy.injected  # the overwrite guard's reads and the count's
    assert "; all 112 read back from the table in " in first.err.strip().splitlines()[-1]
    assert typed_items(local_client(engine)) == before and len(before) == 112
    last = again.err.strip().splitlines()[-1]
    assert "imported 0 items" in last and "112 already there" in last and "; all 112 read back from the table in " in last


class Stalling:
    """A client whose BatchGetItem hands every key back unprocessed on the calls `stalls` picks (by call number, from 1)."""

    def __init__(self, client, stalls):
        self.client, self.stalls, self.calls = client, stalls, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def batch_get_item(self, RequestItems):
        self.calls += 1
        if self.stalls(self.calls):
            return {"Responses": {table: [] for table in RequestItems}, "UnprocessedKeys": RequestItems}
        return self.client.batch_get_item(RequestItems=RequestItems)


@pytest.fixture
def moto_source(client, seeded, tmp_path):
    """The seeded table (in moto's mock) exported and validated."""
    exporting.export_table(client, TABLE, tmp_path)
    found = import_source.open_source(tmp_path)
    import_source.validate(found)
    return found


def test_a_batch_handed_back_whole_is_asked_again_after_a_wait_with_the_default_policy(client, moto_source):
    gone = next(i for i in all_items(client) if i["pk"].startswith("MSG#"))
    client.delete_item(TableName=TABLE, Key={"pk": {"S": gone["pk"]}, "sk": {"S": gone["sk"]}})
    stalling = Stalling(client, lambda call: call % 2 == 1)  # every other call answers nothing
    with pytest.raises(DdbError) as refused:
        readback.count_stored(stalling, TABLE, moto_source, readers=1)
    assert str(refused.value) == (
        f"1 item(s) of the export are not in table '{TABLE}' after the import: {gone['pk']}/{gone['sk']}; run the import again"
    )
    # each of the two batches: a stalled call and an answer for the sort keys, one batch comes up short: the same for whole keys
    assert stalling.calls == 6


def test_a_batch_handed_back_whole_every_time_is_one_line_after_max_attempts(client, seeded):
    keys = [{"pk": {"S": i["pk"]}, "sk": {"S": i["sk"]}} for i in all_items(client)[:3]]
    stalling = Stalling(client, lambda call: True)
    with pytest.raises(DdbError) as refused:
        readback.batch_get(stalling, TABLE, keys, RetryPolicy(max_attempts=4, base_delay=0.001))
    assert str(refused.value) == (
        "BatchGetItem returned the same 3 keys unprocessed 4 times: the table is throttled; try again later"
    )
    assert stalling.calls == 4
    patient = Stalling(client, lambda call: call <= 3)  # three stalls, then the answer: within four tries
    assert len(readback.batch_get(patient, TABLE, keys, RetryPolicy(max_attempts=4, base_delay=0.001))) == 3
