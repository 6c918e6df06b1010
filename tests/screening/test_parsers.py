import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.parsers import MAX_LINE, NEITHER, WatchlistRejected, parse_watchlist
from tests.screening.factories import CSV_HEADER, ftm, ftm_lines


def parse(content: bytes):
    return parse_watchlist(io.BytesIO(content))


def test_ftm_lines_with_skipped_schemas_and_bad_lines():
    content = (
        ftm_lines(
            ftm(
                "p1",
                "Person",
                ["Ivan Ivanov"],
                alias=["Vanya"],
                weakAlias=["Ivanych"],
                previousName=["Ivan Sidorov"],
                birthDate=["1960-01-02", "1961"],
                nationality=["RU"],
                country=["by"],
                topics=["sanction", "role.pep"],
            ),
            ftm("c1", "Company", ["Acme LLC"], jurisdiction=["cy"]),
            ftm("o1", "Organization", ["Some Org"]),
            ftm("l1", "LegalEntity", ["Either Entity"]),
            {"id": "s1", "schema": "Sanction", "properties": {"entity": ["p1"]}},
            {"id": "a1", "schema": "Address", "properties": {"full": ["1 Road"]}},
        )
        + b"\n{broken json\n"
        + json.dumps({"id": "x", "schema": "Person"}).encode()
        + b"\n[1, 2]\n"
    )
    parsed = parse(content)
    assert parsed.format == "ftm"
    assert sorted(parsed.records) == ["c1", "l1", "o1", "p1"]
    person = parsed.records["p1"]
    assert person.name == "Ivan Ivanov"
    assert person.aliases == ("Vanya", "Ivanych", "Ivan Sidorov")
    assert person.birth_dates == ("1960-01-02", "1961")
    assert person.countries == ("ru", "by")
    assert person.topics == ("sanction", "role.pep")
    assert parsed.skipped == 2
    assert parsed.errors == [
        {"line": 7, "message": "not JSON (JSONDecodeError)"},
        {"line": 8, "message": "no name"},
        {"line": 9, "message": "not a JSON object"},
    ]


def test_csv_with_bad_lines():
    content = (
        CSV_HEADER
        + "e1,Sergey Petrov,Sergei Petrov;S. Petrov,person,1970-05-12,ru;by,sanction\n"
        + 'e2,"Romashka, OOO",,company,,ru,crime\n'
        + "e3,Nobody,,vessel,,,\n"
        + "e4,,,person,,,\n"
        + "only,three,columns\n"
    ).encode()
    parsed = parse(content)
    assert parsed.format == "csv"
    assert sorted(parsed.records) == ["e1", "e2"]
    assert parsed.records["e1"].aliases == ("Sergei Petrov", "S. Petrov")
    assert parsed.records["e1"].countries == ("ru", "by")
    assert parsed.records["e2"].schema == "Company"
    assert parsed.records["e2"].name == "Romashka, OOO"
    assert parsed.errors == [
        {"line": 4, "message": "type must be person or company, not 'vessel'"},
        {"line": 5, "message": "no name"},
        {"line": 6, "message": "3 columns, expected 7"},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name;id\nfoo;bar\n", NEITHER),
        (b"", f"{NEITHER} (the file is empty)"),
        (b"\xff\xfe\x00garbage\n", f"{NEITHER} (line 1 is not UTF-8)"),
        (b"x" * (MAX_LINE + 10), f"{NEITHER} (line 1 is longer than {MAX_LINE} bytes)"),
    ],
)
def test_neither_format_fails_with_a_message(content, message):
    with pytest.raises(WatchlistRejected) as raised:
        parse(content)
    assert raised.value.message == message


def test_hostile_lines_are_reported_not_fatal():
    good = ftm_lines(ftm("p1", "Person", ["Ivan Ivanov"]))
    huge = b'{"id": "h", "schema": "Person", "properties": {"name": ["' + b"a" * MAX_LINE + b'"]}}'
    bomb = b"[" * 100_000 + b"]" * 100_000
    deep: list = ["deep"]
    for _ in range(20):
        deep = [deep]
    nested = json.dumps(
        {"id": "n", "schema": "Person", "properties": {"name": ["x"], "note": deep}}
    ).encode()
    content = b"\n".join([good, huge, b'{"id": "u", "name": "\xff\xfe"}', bomb, nested, good])
    parsed = parse(content)
    assert list(parsed.records) == ["p1"]
    assert parsed.errors == [
        {"line": 2, "message": f"line longer than {MAX_LINE} bytes"},
        {"line": 3, "message": "not UTF-8"},
        {"line": 4, "message": "too many nested values"},
        {"line": 5, "message": "JSON nested deeper than 16 levels"},
    ]


@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_are_rejected_with_a_message(content):
    try:
        parsed = parse(b"{}\n" + content)
    except WatchlistRejected as exc:  # pragma: no cover - the first line is JSON
        assert exc.message
    else:
        assert parsed.format == "ftm"
        assert all(error["message"] for error in parsed.errors)
