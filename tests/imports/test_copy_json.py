import datetime
import json
import uuid
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from imports.writer import _encoder, _json

# What validation stores in identity, profile and custom fields.
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(_values)
def test_json_text_means_what_the_json_module_wrote(value: object) -> None:
    assert json.loads(_json(value)) == json.loads(_encoder.encode(value))


def test_json_text_of_what_orjson_refuses_is_the_django_encoder_s() -> None:
    value = {
        "at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
        "on": datetime.date(2026, 1, 2),
        "amount": Decimal("12.50"),
        "id": uuid.UUID(int=1),
        "big": 2**70,
    }
    assert _json(value) == _encoder.encode(value)
    assert _json({1: "a"}) == '{"1":"a"}'
