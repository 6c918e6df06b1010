import time
import uuid

from kycregistry.uuid7 import uuid7, uuid7_texts


def _milliseconds(value: uuid.UUID) -> int:
    return value.int >> 80


def test_uuid7_is_version_7_with_the_rfc_variant() -> None:
    value = uuid7()
    assert (value.version, value.variant) == (7, uuid.RFC_4122)


def test_uuid7_texts_are_well_formed_version_7_uuids() -> None:
    texts = uuid7_texts(1000)
    parsed = [uuid.UUID(text) for text in texts]
    assert [str(value) for value in parsed] == texts
    assert {(value.version, value.variant) for value in parsed} == {(7, uuid.RFC_4122)}
    assert len(set(texts)) == 1000


def test_uuid7_starts_with_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= _milliseconds(value) <= after


def test_uuid7_made_later_sorts_after() -> None:
    first = uuid7()
    time.sleep(0.002)
    assert uuid7() > first


def test_uuid7_texts_of_none() -> None:
    assert uuid7_texts(0) == []
