"""The shortcut of `clean_reference` for plain values gives what the full rule gives."""

from hypothesis import example, given
from hypothesis import strategies as st

from customers.validation.values import (
    REFERENCE_MAX,
    FieldErrors,
    checked_reference,
    clean_reference,
    is_plain_reference,
)

_ascii = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=140)
_values = _ascii | st.text(max_size=20) | st.integers() | st.none() | st.booleans()


@given(_values)
@example("P-1")
@example("a" * REFERENCE_MAX)
@example("a" * (REFERENCE_MAX + 1))
@example(" P-1")
@example("C/1")
@example("..")
@example("bulk-upload")
@example("")
def test_the_shortcut_agrees_with_the_full_rule(value: object) -> None:
    full_errors, errors = FieldErrors(), FieldErrors()
    expected = checked_reference(full_errors, "referenceId", value)
    assert clean_reference(errors, "referenceId", value) == expected
    assert errors.by_field == full_errors.by_field
    if is_plain_reference(value):
        assert expected == value


def test_plain_references() -> None:
    assert [is_plain_reference(v) for v in ("P-1", "a@b.c", "x" * REFERENCE_MAX)] == [True] * 3
    assert not any(
        is_plain_reference(v)
        for v in ("", " P-1", "P 1", "C/1", ".", "..", "business", "é", 1, "x" * 129)
    )
