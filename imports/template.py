"""The Excel template an organisation's bulk loaders fill."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from customers.models import CustomerFieldDefinition, FieldType
from imports.columns import flat_columns
from imports.report import sheet_text
from organisations.models import Organisation
from relations.models import PERCENTAGE_ROLES, PERSON_ONLY_ROLES, ROLE_ALIASES, Role

FIXED_COLUMNS = ["name", "referenceId", "accountTypeId"]
OPTIONAL_COLUMNS = ["externalId"]
# What the Instructions sheet says of each identity and profile column (imports.columns).
FLAT_HELP = {
    "givenName": "Person: given name(s); with familyName required for a new person once "
    "any identity cell is filled.",
    "familyName": "Person: family name.",
    "birthDate": "Person: date of birth (an Excel date or YYYY-MM-DD).",
    "legalName": "Company: registered legal name; required for a new company once any "
    "identity cell is filled.",
    "incorporationDate": "Company: date of incorporation (an Excel date or YYYY-MM-DD).",
    "country": "Nationality (person) or jurisdiction (company): ISO 3166-1 alpha-2, e.g. GB.",
    "email": "E-mail address.",
    "phone": "Phone number in international format, e.g. +441234567890.",
    "addressStreet": "Address (the person's residence, the company's registered office): street.",
    "addressHouseNumber": "Address: house number.",
    "addressRefinement": "Address: flat, floor or building.",
    "addressPostalCode": "Address: postal code.",
    "addressCity": "Address: city.",
    "addressRegion": "Address: region; for US, CA and MX an ISO 3166-2 code such as US-CA.",
    "addressCountry": "Address: country, ISO 3166-1 alpha-2.",
}
EXTERNAL_ID_HELP = (
    "Optional: the customer's ID in another of your systems (e.g. the core banking "
    "number), text of at most 128 characters; it need not be unique. An empty cell "
    "leaves the stored value as it is."
)
CONNECTS_COLUMN = "connects"
ACCOUNT_TYPE_ERROR = "accountTypeId must be 1 (Person) or 2 (Company)."
CONNECTS_EXAMPLE = (
    '[{"referenceId":"COMP-001","role":"DIRECTOR"},'
    '{"referenceId":"PER-002","role":"SHAREHOLDER","ownershipPercentage":"25.5",'
    '"validFrom":"2024-01-01"}]'
)
ROLE_HOLDERS = {
    role: "Person only" if role in PERSON_ONLY_ROLES else "Person or Company" for role in Role
}


def _leading_columns(definitions: list[CustomerFieldDefinition]) -> list[str]:
    """The columns before the custom fields; a custom field named like an identity or
    profile column takes its place (its definition wins on import too)."""
    return [*FIXED_COLUMNS, *OPTIONAL_COLUMNS, *flat_columns({d.key for d in definitions})]


def template_columns(definitions: list[CustomerFieldDefinition]) -> list[str]:
    return [*_leading_columns(definitions), *(d.key for d in definitions), CONNECTS_COLUMN]


def _definition_help(definition: CustomerFieldDefinition) -> str:
    kind = {
        FieldType.TEXT: "Text.",
        FieldType.NUMBER: "A number.",
        FieldType.DATE: "A date (an Excel date or YYYY-MM-DD).",
        FieldType.BOOLEAN: "TRUE or FALSE.",
        FieldType.CHOICE: "One of: " + ", ".join(map(str, definition.choices or [])) + ".",
    }[FieldType(definition.field_type)]
    # Names and choices are the organisation's text: only what a worksheet can hold.
    return sheet_text(f"Custom field “{definition.name}”. {kind}")


def build_template(*, organisation: Organisation, rows: int) -> bytes:
    """Sheet 1 "Customers": the header and a dropdown on accountTypeId; sheet 2
    "Instructions": every column, the roles and the connects JSON."""
    definitions = list(CustomerFieldDefinition.objects.for_organisation(organisation))
    columns = template_columns(definitions)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    last = rows + 1

    account_type = DataValidation(
        type="list",
        formula1='"1,2"',
        allow_blank=False,
        showErrorMessage=True,
        errorTitle="Invalid accountTypeId",
        error=ACCOUNT_TYPE_ERROR,
        showInputMessage=True,
        promptTitle="accountTypeId",
        prompt="1 = Person, 2 = Company",
    )
    account_type.add(f"C2:C{last}")
    sheet.add_data_validation(account_type)
    # referenceId and externalId are text, even when they look like a number (leading
    # zeros survive).
    sheet.column_dimensions["B"].number_format = "@"
    sheet.column_dimensions[get_column_letter(columns.index("externalId") + 1)].number_format = "@"

    # Postal codes, house numbers and phone numbers are text too.
    for name in ("addressPostalCode", "addressHouseNumber", "phone"):
        if name in columns:
            letter = get_column_letter(columns.index(name) + 1)
            sheet.column_dimensions[letter].number_format = "@"

    leading = len(_leading_columns(definitions))
    for offset, definition in enumerate(definitions):
        letter = get_column_letter(leading + offset + 1)
        choices = None
        if definition.field_type == FieldType.CHOICE and definition.choices:
            choices = ",".join(str(c) for c in definition.choices)
        elif definition.field_type == FieldType.BOOLEAN:
            choices = "TRUE,FALSE"
        # Excel's list formula is limited to 255 characters and cannot hold commas in
        # items; a choice a worksheet cannot hold as it is gets no dropdown either.
        if (
            choices
            and len(choices) <= 250
            and '"' not in choices
            and sheet_text(choices) == choices
        ):
            validation = DataValidation(
                type="list",
                formula1=f'"{choices}"',
                allow_blank=not definition.required,
                showErrorMessage=True,
                errorTitle=f"Invalid {definition.key}",
                error=f"{definition.key} must be one of: {choices.replace(',', ', ')}.",
            )
            validation.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(validation)
    for index, column in enumerate(columns, start=1):
        width = 60 if column == CONNECTS_COLUMN else max(14, len(column) + 4)
        sheet.column_dimensions[get_column_letter(index)].width = width

    _instructions(workbook, definitions)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _instructions(workbook: Workbook, definitions: list[CustomerFieldDefinition]) -> None:
    sheet = workbook.create_sheet("Instructions")
    wrap = Alignment(wrap_text=True, vertical="top")
    lines: list[tuple[str, str, str]] = [
        ("Column", "Required", "What to enter"),
        ("name", "yes", "The customer's full name (person) or company name."),
        (
            "referenceId",
            "yes",
            "Your own ID of the customer, unique in your organisation. A row whose "
            "referenceId already exists updates that customer; a new one creates it. "
            "Each referenceId may appear once in a file.",
        ),
        ("accountTypeId", "yes", "1 = Person, 2 = Company (pick from the dropdown)."),
        ("externalId", "no", EXTERNAL_ID_HELP),
    ]
    for name in flat_columns({d.key for d in definitions}):
        lines.append((name, "no", FLAT_HELP[name] + " An empty cell leaves the stored value."))
    for definition in definitions:
        lines.append(
            (definition.key, "yes" if definition.required else "no", _definition_help(definition))
        )
    lines.append(
        (
            CONNECTS_COLUMN,
            "no",
            "The customer's connections as a JSON list: who holds which role towards this "
            "customer. Each item has referenceId (of a customer that exists or appears "
            "anywhere in this file) and role; optionally ownershipPercentage (0 < p ≤ 100, "
            "for SHAREHOLDER and UBO), validFrom and validTo (YYYY-MM-DD). The list replaces "
            "all of the customer's connections; [] removes them; an empty cell leaves them "
            f"as they are. Example: {CONNECTS_EXAMPLE}",
        )
    )
    for line in lines:
        sheet.append(line)
    sheet.append(())
    sheet.append(("Role", "Who may hold it", "Notes"))
    role_header = sheet.max_row
    for role in Role:
        notes = "May carry ownershipPercentage." if role in PERCENTAGE_ROLES else ""
        aliases = [alias for alias, target in ROLE_ALIASES.items() if target == role]
        if aliases:
            notes = (notes + " Also accepted as: " + ", ".join(aliases) + ".").strip()
        sheet.append((role.value, ROLE_HOLDERS[role], notes))
    sheet.append(())
    sheet.append(
        (
            "Rules",
            "",
            "Empty cells are left out. A row with any error is skipped and listed in the "
            "upload report with its row number, column and reason; the other rows are "
            "imported. A row that changes nothing is reported as unchanged. Cells must hold "
            "values, not formulas.",
        )
    )
    for row in (1, role_header):
        for cell in sheet[row]:
            cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 100
    for row_cells in sheet.iter_rows():
        for cell in row_cells:
            cell.alignment = wrap
