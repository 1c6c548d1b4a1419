"""Anonymized copies stay anonymous: every person, uuid and account replaced alike everywhere; the key a secret of the installation."""

import gzip
import itertools
import json
import os
import re
import stat
import uuid
from pathlib import Path

import pytest

from ddb.app import messaging
from ddb.backup import exporting
from ddb.backup.anonymize import Anonymizer
from ddb.backup.anonymize_secret import PUBLIC_SALT, SecretError, anonymize_key, secret_file
from ddb.data.items import User

from .support import FIXTURES, TABLE, local_client, seed_table, typed_items

USERS = json.loads((FIXTURES / "users.json").read_text())
MIRA = next(u for u in USERS if u["handle"] == "mira")
ACCOUNT = "123456789012"  # moto's
OWNER = "5b0e4c55-51a6-4f36-9a0c-4fb2f2b8c0de"
HOST = "build-7.corp.example"
CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
KEY = Anonymizer("test-key")


def _with_lock_and_history(client) -> None:
    """A seed's lock and a migration part-way, whose checkpoint is a key naming mira."""
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "LOCK#seed"},
            "sk": {"S": "seed"},
            "owner": {"S": OWNER},
            "host": {"S": HOST},
            "pid": {"N": "4242"},
            "acquired_at": {"S": "2026-11-25T16:20:00.000000+00:00"},
            "expires_at": {"N": "1795710000"},
        },
    )
    checkpoint = json.dumps({"pk": {"S": f"GRP#{MIRA['uuid']}"}, "sk": {"S": "2026-11-25T15:50:00.000000+00:00"}}, sort_keys=True)
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "MIGRATION"},
            "sk": {"S": "0001"},
            "version": {"N": "1"},
            "description": {"S": "message_count"},
            "state": {"S": "applying"},
            "started_at": {"S": "2026-11-25T16:20:00.000000+00:00"},
            "migrated": {"N": "3"},
            "checkpoint": {"S": checkpoint},
        },
    )


def _every_byte(out: Path) -> bytes:
    """All files below `out`, gzip data unpacked."""
    found = b""
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        found += gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return found


def _exported_items(result) -> list[dict]:
    lines = b"".join(gzip.decompress(p.read_bytes()) for p in sorted((result.directory / "data").iterdir())).splitlines()
    return sorted((json.loads(line)["Item"] for line in lines), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_an_anonymized_export_holds_no_original_uuid_handle_name_text_host_or_account_in_any_file(
    client, seeded, repo_fixtures, tmp_path
):
    _with_lock_and_history(client)
    result = exporting.export_table(client, TABLE, tmp_path, anonymizer=KEY)
    everything = _every_byte(tmp_path).decode()
    assert result.item_count == 114 and "LOCK#seed" in everything and "MIGRATION" in everything
    for user in USERS:
        for value in (user["uuid"], f'"{user["handle"]}"', user["display_name"]):
            assert value not in everything
    for conversation in repo_fixtures.conversations:
        for message in conversation.messages:
            assert message.text not in everything
    for value in (ACCOUNT, OWNER, HOST):
        assert value not in everything
    assert "test-key" not in everything


def test_a_raw_export_keeps_everything_the_anonymized_one_replaces(client, seeded, tmp_path):
    """The control of the test above: the values it looks for are there to be found."""
    _with_lock_and_history(client)
    exporting.export_table(client, TABLE, tmp_path)
    everything = _every_byte(tmp_path).decode()
    for value in (MIRA["uuid"], '"mira"', MIRA["display_name"], ACCOUNT, OWNER, HOST):
        assert value in everything


def test_each_original_uuid_gets_one_stand_in_everywhere_and_no_two_share_one(client, seeded, tmp_path):
    _with_lock_and_history(client)
    original = typed_items(client)
    exported = _exported_items(exporting.export_table(client, TABLE, tmp_path, anonymizer=KEY))
    fresh = Anonymizer("test-key")  # another run with the same key: the same stand-ins
    assert exported == sorted((fresh.item(i) for i in original), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    pairs: set[tuple[str, str]] = set()
    for before in original:
        after = KEY.item(before)
        if before["pk"]["S"].startswith("GRP#"):
            pairs.add((before["pk"]["S"][4:], after["pk"]["S"][4:]))
        if "user_uuid" in before:
            pairs.add((before["user_uuid"]["S"], after["user_uuid"]["S"]))
        if "user_uuids" in before:
            olds, news = sorted(v["S"] for v in before["user_uuids"]["L"]), [v["S"] for v in after["user_uuids"]["L"]]
            assert news == sorted(news) and sorted(news) == sorted(KEY.user_uuid(u) for u in olds)
            pairs |= {(u, KEY.user_uuid(u)) for u in olds}
    mapping = dict(pairs)
    assert len(mapping) == len(pairs) == len(USERS)  # one stand-in per user, wherever the uuid is
    assert len(set(mapping.values())) == len(USERS) and not set(mapping) & set(mapping.values())
    assert all(CANONICAL.match(v) for v in mapping.values())
    inbox_owners = {i["pk"]["S"][4:] for i in exported if i["pk"]["S"].startswith("GRP#")}
    senders = {i["user_uuid"]["S"] for i in exported if i["pk"]["S"].startswith("MSG#")}
    assert inbox_owners == senders == set(mapping.values())


def test_the_pair_claims_pk_stays_the_sorted_pair_of_stand_ins_naming_the_same_conversation(client, seeded, tmp_path):
    people = [User(u["uuid"], u["handle"], u["display_name"]) for u in USERS]
    for first, second in itertools.combinations(people, 2):  # pattern D writes the pair claims
        messaging.create_conversation(client, TABLE, first, second, "hello")
    original = {i["pk"]["S"]: i for i in typed_items(client) if i["pk"]["S"].startswith("CLAIM#PAIR#")}
    exported = [i for i in _exported_items(exporting.export_table(client, TABLE, tmp_path, anonymizer=KEY))]
    claims = [i for i in exported if i["pk"]["S"].startswith("CLAIM#PAIR#")]
    assert len(claims) == len(original) > 0
    flipped = 0
    for pk, before in original.items():
        low, high = pk.removeprefix("CLAIM#PAIR#").split("#")
        stand_ins = [KEY.user_uuid(low), KEY.user_uuid(high)]
        flipped += stand_ins != sorted(stand_ins)
        after = next(c for c in claims if c["pk"]["S"] == "CLAIM#PAIR#" + "#".join(sorted(stand_ins)))
        assert after["group_uuid"] == before["group_uuid"] and after["sk"] == before["sk"]
    assert flipped > 0  # some pairs changed order: the re-sort is exercised


def test_stand_ins_keep_every_length_and_what_names_no_person(client, seeded, tmp_path):
    _with_lock_and_history(client)
    for before in typed_items(client):
        after = KEY.item(before)
        assert set(after) == set(before) and before["sk"] == after["sk"]
        assert len(json.dumps(after, ensure_ascii=False)) == len(json.dumps(before, ensure_ascii=False))  # same sizes
        for name in ("message_group_uuid", "message_uuid", "group_uuid", "pid", "expires_at", "version", "description"):
            assert after.get(name) == before.get(name)
        for name in ("user_handle", "user_display_name", "message", "user_uuid", "owner", "host"):
            if name in before:
                assert after[name] != before[name]
    lock = KEY.item({"pk": {"S": "LOCK#seed"}, "sk": {"S": "seed"}, "owner": {"S": OWNER}, "host": {"S": HOST}})
    assert CANONICAL.match(lock["owner"]["S"]) and lock["host"]["S"].count(".") == HOST.count(".")


def test_a_migrations_checkpoint_names_the_stand_in_key(client, seeded, tmp_path):
    _with_lock_and_history(client)
    exported = _exported_items(exporting.export_table(client, TABLE, tmp_path, anonymizer=KEY))
    history = next(i for i in exported if i["pk"]["S"] == "MIGRATION")
    assert json.loads(history["checkpoint"]["S"])["pk"] == {"S": "GRP#" + KEY.user_uuid(MIRA["uuid"])}


def test_account_ids_are_replaced_in_every_arn_of_the_description_and_the_summary(client, seeded, tmp_path):
    result = exporting.export_table(client, TABLE, tmp_path, anonymizer=KEY)
    saved = json.loads((result.directory / "table-description.json").read_text())["Table"]
    summary = json.loads((result.directory / "manifest-summary.json").read_text())
    stand_in = KEY.account(ACCOUNT)
    assert re.fullmatch(r"[0-9]{12}", stand_in) and stand_in != ACCOUNT
    assert saved["TableArn"] == f"arn:aws:dynamodb:us-east-1:{stand_in}:table/{TABLE}"
    assert saved["LatestStreamArn"].startswith(f"arn:aws:dynamodb:us-east-1:{stand_in}:table/{TABLE}/stream/")
    assert summary["tableArn"] == saved["TableArn"] and summary["exportArn"] == f"{saved['TableArn']}/export/{result.export_id}"
    assert KEY.description({"TableId": "e2a1", "IndexArn": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/t/index/i"}) == {
        "TableId": KEY.description({"TableId": "e2a1"})["TableId"],
        "IndexArn": f"arn:aws:dynamodb:eu-west-1:{stand_in}:table/t/index/i",
    }
    assert KEY.description({"TableId": "e2a1"})["TableId"] != "e2a1"
    raw = exporting.export_table(client, TABLE, tmp_path / "raw")
    assert ACCOUNT in json.loads((raw.directory / "manifest-summary.json").read_text())["tableArn"]


def test_two_keys_give_unrelated_stand_ins_and_one_key_always_the_same():
    one, same, other = Anonymizer("k1"), Anonymizer(b"k1"), Anonymizer("k2")
    assert one.user_uuid(MIRA["uuid"]) == same.user_uuid(MIRA["uuid"]) != other.user_uuid(MIRA["uuid"])
    assert one.handle("mira") == same.handle("mira") != other.handle("mira")
    assert one.account(ACCOUNT) != other.account(ACCOUNT) and one.fingerprint != other.fingerprint
    assert uuid.UUID(one.user_uuid(MIRA["uuid"])).version == 4


# ------------------------------------------------------------------ the key


def test_the_installation_secret_is_made_0600_in_a_0700_folder_and_then_reused(tmp_path):
    path = tmp_path / "config" / "cruddur-ddb" / "anonymize-secret"
    first = anonymize_key("", path)
    assert first.created and first.source == str(path) and len(first.key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert re.fullmatch(r"[0-9a-f]{64}\n", path.read_text())
    again = anonymize_key("", path)
    assert not again.created and again.key == first.key == bytes.fromhex(path.read_text())


def test_the_secret_is_made_under_xdg_config_home_and_never_in_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert secret_file("") == tmp_path / "xdg" / "cruddur-ddb" / "anonymize-secret"
    assert secret_file(str(tmp_path / "mine")) == tmp_path / "mine"
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert secret_file(None) == tmp_path / "home" / ".config" / "cruddur-ddb" / "anonymize-secret"


@pytest.mark.parametrize(
    ("plant", "problem"),
    [
        (lambda p: p.chmod(0o644), "is open to group or others (mode 0644): refused"),
        (lambda p: p.chmod(0o640), "is open to group or others (mode 0640): refused"),
        (lambda p: (p.rename(p.with_name("real")), p.symlink_to(p.with_name("real"))), "is a symbolic link: refused"),
        (lambda p: p.write_text("not hex\n"), "is not 64 hex digits: damaged"),
        (lambda p: (p.unlink(), p.mkdir()), "is not a regular file: refused"),
    ],
    ids=["world-readable", "group-readable", "symlink", "damaged", "folder"],
)
def test_an_unsafe_or_damaged_secret_file_is_refused_in_one_line(tmp_path, plant, problem):
    path = tmp_path / "cruddur-ddb" / "anonymize-secret"
    anonymize_key("", path)
    plant(path)
    with pytest.raises(SecretError) as refused:
        anonymize_key("", path)
    assert str(refused.value).startswith(f"the anonymization secret {path} {problem}") and "\n" not in str(refused.value)


def test_the_old_public_salt_is_refused_and_a_teams_own_salt_is_used_as_given(tmp_path):
    with pytest.raises(SecretError, match=r"is 'cruddur-ddb-anonymize-v1', the old public default"):
        anonymize_key(PUBLIC_SALT, tmp_path / "secret")
    team = anonymize_key("our team's salt", tmp_path / "secret")
    assert team.key == b"our team's salt" and team.source == "salt" and not (tmp_path / "secret").exists()


def test_export_anonymize_makes_the_secret_once_and_gives_the_same_stand_ins_run_after_run(invoke, engine, tmp_path):
    client = local_client(engine)
    seed_table(client)
    secret = tmp_path / "config" / "anonymize-secret"
    env = {"INVOKE_DDB_ANONYMIZE_SECRET_FILE": str(secret)}
    first = invoke("export", "--out", str(tmp_path / "one"), "--anonymize", env=env)
    assert first.code == 0, first
    assert first.err.strip().splitlines()[-1] == (
        f"made this installation's anonymization secret, {secret} (0600): keep it to anonymize alike again"
    )
    second = invoke("export", "--out", str(tmp_path / "two"), "--anonymize", env=env)
    assert second.code == 0 and "made this installation" not in second.err
    one, two = (sorted((tmp_path / name).rglob("*.json.gz")) for name in ("one", "two"))
    assert gzip.decompress(one[0].read_bytes()) == gzip.decompress(two[0].read_bytes())
    key = Anonymizer(bytes.fromhex(secret.read_text()))
    assert f"GRP#{key.user_uuid(MIRA['uuid'])}".encode() in gzip.decompress(one[0].read_bytes())


@pytest.mark.parametrize("how", ["world-readable-secret", "public-salt"])
def test_export_anonymize_with_an_unsafe_key_is_one_line_exit_1_and_writes_nothing(invoke, engine, tmp_path, how):
    seed_table(local_client(engine))
    secret = tmp_path / "anonymize-secret"
    env = {"INVOKE_DDB_ANONYMIZE_SECRET_FILE": str(secret)}
    if how == "public-salt":
        env["INVOKE_DDB_ANONYMIZE_SALT"] = PUBLIC_SALT
    else:
        secret.write_text(os.urandom(32).hex() + "\n")
        secret.chmod(0o644)
    run = invoke("export", "--out", str(tmp_path / "out"), "--anonymize", env=env)
    assert run.code == 1 and len(run.err.strip().splitlines()) == 1 and run.err.startswith("error: "), run
    assert ("open to group or others" if how != "public-salt" else "the old public default") in run.err
    assert not (tmp_path / "out").exists()


def test_a_texts_stand_in_keeps_dots_dashes_underscores_and_whitespace_and_depends_on_its_kind():
    salted = Anonymizer("test-salt")
    assert salted.text("X.y-Z_ w\tq") == "0.s-t_ u\tg"
    assert salted.text("X.y-Z_ w\tq", "checkpoint") == "3.s-n_ m\tb"


@pytest.mark.parametrize(
    ("checkpoint", "stand_in"),
    [
        ("not json", "gti zcv7"),
        ("[1, 2]", "9u0 p3"),
        (
            json.dumps({"sk": {"S": "2026-11-25"}, "pk": {"S": f"GRP#{MIRA['uuid']}"}}),
            json.dumps({"pk": {"S": f"GRP#{Anonymizer('test-salt').user_uuid(MIRA['uuid'])}"}, "sk": {"S": "2026-11-25"}}),
        ),
    ],
    ids=["not-json", "not-a-key", "a-key"],
)
def test_a_migrations_checkpoint_becomes_the_stand_in_key_in_sorted_json_or_else_a_stand_in_text(checkpoint, stand_in):
    history = {"pk": {"S": "MIGRATION"}, "sk": {"S": "0001"}, "checkpoint": {"S": checkpoint}}
    assert Anonymizer("test-salt").item(history) == {**history, "checkpoint": {"S": stand_in}}
