"""Entry digests as the record of the graph holds them (:class:`feeds.keys.RecordedDigests`):
a mapping like a dict of them, whatever is set, removed or copied."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds import graphcache
from feeds.keys import (
    DIGEST_SIZE,
    RecordedDigests,
    as_dict,
    as_dicts,
    copied,
    in_key_order,
    packed,
)

KEYS = [f"https://example.com/{letter}" for letter in "bdfhjlnp"]
# Keys recorded, and some that are not: before, between and after them.
EVERY_KEY = sorted({*KEYS, *(f"https://example.com/{letter}" for letter in "acegikmoqz")})


def recorded() -> tuple[RecordedDigests, dict[str, bytes]]:
    """Digests of :data:`KEYS`, recorded, and the same in a dict."""
    digests = [os.urandom(DIGEST_SIZE) for _ in KEYS]
    return RecordedDigests(KEYS, b"".join(digests)), dict(zip(KEYS, digests, strict=True))


def assert_same(digests: RecordedDigests, expected: dict[str, bytes]) -> None:
    assert len(digests) == len(expected)
    assert sorted(digests) == sorted(expected)  # each key once
    assert dict(digests.items()) == expected
    assert digests.as_dict() == expected
    for key in EVERY_KEY:
        assert (key in digests) == (key in expected)
        assert digests.get(key) == expected.get(key)
        assert digests.get(key, b"none") == expected.get(key, b"none")
        if key not in expected:
            with pytest.raises(KeyError):
                digests[key]


changes = st.lists(
    st.tuples(
        st.sampled_from(["set", "delete", "copy"]),
        st.sampled_from(EVERY_KEY),
        st.binary(min_size=DIGEST_SIZE, max_size=DIGEST_SIZE),
    ),
    max_size=30,
)


@given(changes)
def test_recorded_digests_are_a_dict_of_them(steps: list[tuple[str, str, bytes]]) -> None:
    """Set, removed, set again; and a copy changed apart from what it was copied from."""
    digests, expected = recorded()
    copies: list[tuple[RecordedDigests, dict[str, bytes]]] = []
    for what, key, digest in steps:
        if what == "set":
            digests[key] = digest
            expected[key] = digest
        elif what == "delete":
            if key in expected:
                del digests[key]
                del expected[key]
            else:
                with pytest.raises(KeyError):
                    del digests[key]
        else:
            copies.append((digests, dict(expected)))
            digests, expected = digests.copy(), dict(expected)
        assert_same(digests, expected)
    for earlier, as_it_was in copies:
        assert_same(earlier, as_it_was)


def test_recorded_digests_are_copied_and_made_a_dict_as_they_are_asked_for() -> None:
    """A copy to change is of the same kind, sharing the packed digests; a plain mapping
    is copied into a dict, and given as it is when asked for as one."""
    digests, expected = recorded()
    copy = copied(digests)
    assert type(copy) is RecordedDigests
    copy.pop(KEYS[0])
    assert KEYS[0] in digests
    assert type(as_dict(digests)) is dict
    assert as_dict(digests) == expected
    assert copied(expected) == expected
    assert copied(expected) is not expected
    assert as_dict(expected) is expected


def test_digests_read_from_one_record_are_made_dicts_that_share_each_digest() -> None:
    """Two graphs' digests, the one changed from the other, in dicts: each as it is, the
    digests of the keys neither changed shared between them; a plain one as it is."""
    earlier, expected_earlier = recorded()
    now = earlier.copy()
    del now[KEYS[0]]
    now[KEYS[1]] = bytes(DIGEST_SIZE)
    now["https://example.com/new"] = bytes(DIGEST_SIZE)
    plain = {"https://example.com/other": bytes(DIGEST_SIZE)}
    made_now, made_earlier, made_plain = as_dicts(now, earlier, plain)
    assert made_now == now.as_dict() == dict(now.items())
    assert made_earlier == expected_earlier
    assert made_plain is plain
    assert all(made_now[key] is made_earlier[key] for key in KEYS[2:])


def test_recorded_digests_need_one_for_each_key() -> None:
    with pytest.raises(ValueError, match="a digest for each key"):
        RecordedDigests(KEYS, bytes(DIGEST_SIZE * (len(KEYS) - 1)))


def test_digests_of_keys_out_of_order_are_read_back_into_a_dict() -> None:
    """Looked up where they are, digests need their keys in order, as the graph keeps
    them; a record of keys in another order is read back whole instead."""
    _, expected = recorded()
    packed = b"".join(expected[key] for key in reversed(KEYS))
    assert not in_key_order(list(reversed(KEYS))) and in_key_order(KEYS)
    found = graphcache._known_digests(list(reversed(KEYS)), packed, in_order=False)
    assert type(found) is dict
    assert found == expected
    in_order = graphcache._known_digests(KEYS, b"".join(expected.values()), in_order=True)
    assert type(in_order) is RecordedDigests
    assert in_order == expected


def test_digests_of_every_key_are_packed_as_the_record_packs_them() -> None:
    """Given in a dict, one for each key of the graph, in order; else kept as given."""
    recorded_digests, expected = recorded()
    made = packed(expected, dict.fromkeys(KEYS))  # the graph's keys
    assert type(made) is RecordedDigests
    assert_same(made, expected)
    assert packed(recorded_digests, KEYS) is recorded_digests
    short = dict(expected, **{KEYS[3]: b"short"})
    for mapping, keys in [
        (expected, KEYS[:-1]),  # a digest of no key
        ({key: expected[key] for key in KEYS[1:]}, KEYS),  # a key without one
        (dict(expected, z=expected[KEYS[0]]), [*KEYS, "x"]),  # as many, not the same
        (short, KEYS),  # a digest of another size
        (expected, list(reversed(KEYS))),
    ]:
        assert packed(mapping, keys) is mapping
