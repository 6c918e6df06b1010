"""Ownership structure: effective ownership, derived UBOs, the relationship map.

Method
------
* A SHAREHOLDER connection "X → Y, p%" says X owns p% of Y. Only connections valid on
  the as-of date count (valid_from ≤ asOf ≤ valid_to, both ends inclusive and open when
  empty). Inactive customers count like active ones: deactivating a customer in the
  registry does not end the shareholdings it holds; end them with validTo.
* Effective ownership of X in T is the sum, over every **simple path** of shareholdings
  from T up to X, of the product of the percentages along the path. The paths come from
  one recursive SQL query (walk.py) that walks upwards from T and carries each path;
  the number of queries does not depend on the depth or width of the structure.
* **Cycles** (A owns B owns C owns A) are cut at the first repeated company: the path
  that would revisit it is not followed, and the cycle is reported in `cycles`. This is
  the conservative reading: the figure never exceeds 100% per owner (simple paths are a
  subset of the walks summed by the integrated-ownership method, whose total over all
  ultimate owners is ≤ 100% when every company's direct holdings are ≤ 100%), and adding
  a shareholding never lowers anyone's figure. For holdings that loop many times the
  integrated method would give a higher figure; the cycle in the answer tells the
  analyst to look.
* The walk follows at most 12 levels (`MAX_DEPTH`) and 200,000 paths (`MAX_PATHS`);
  beyond that the answer says `truncated: true`.
* Arithmetic is exact (`Decimal`, 160 digits); output figures are rounded half-up to 4
  decimal places and shown without trailing zeros (`"30"`, `"33.3333"`); the `text` of a
  path rounds to 2 places. The threshold comparison uses the exact figure: a person
  reaches a 25% threshold with exactly 25%.
* Derived UBOs are natural persons (accountTypeId 1) whose effective ownership reaches
  the threshold (default: the organisation's `ownership_threshold`, 25).
"""

from relations.ownership.structure import (
    DECLARED_NOT_DERIVED,
    DERIVED_NOT_DECLARED,
    DerivedUbo,
    Discrepancy,
    Holding,
    OwnershipPath,
    OwnershipStructure,
    Party,
    format_percentage,
    ownership_structure,
    valid_on,
)

__all__ = [
    "DECLARED_NOT_DERIVED",
    "DERIVED_NOT_DECLARED",
    "DerivedUbo",
    "Discrepancy",
    "Holding",
    "OwnershipPath",
    "OwnershipStructure",
    "Party",
    "format_percentage",
    "ownership_structure",
    "valid_on",
]
