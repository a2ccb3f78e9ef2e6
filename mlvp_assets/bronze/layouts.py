"""The source layouts a landing file may come in, and how each maps to the mission schema.

This module is the one declared place for it: a layout is recognised from a file's header, and
its table of :class:`ColumnMapping` says, for each mission column, which source columns it reads
and how their text becomes the mission's text (values stay text in bronze; silver types and
judges them). Three layouts are known:

- ``project``: the project's own files, the mission columns plus ``listing_id``.
- ``insideairbnb-2019``: Inside Airbnb's published ``listings.csv(.gz)`` up to 2019 (106 columns):
  ``id`` is the listing id, prices are text such as ``$1,250.00``.
- ``insideairbnb-2023``: Inside Airbnb's layout from 2020 on (75 columns): no
  ``cancellation_policy`` and no ``bed_type``; ``bathrooms`` empty beside ``bathrooms_text``
  ("1.5 shared baths", "Half-bath"); review scores on a 0-5 scale (from 2021).

To add a layout: write its header below, its mappings (reuse the parsers), and add it to
:data:`LAYOUTS` before any layout its identifying columns would also match.

Pure Python and cheap to import: it runs in Spark's Python workers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mlvp_assets.schema import LISTING_ID, MISSION_COLUMNS, REVIEW_SCORE_COLUMNS

PROJECT = "project"
INSIDE_AIRBNB_2019 = "insideairbnb-2019"
INSIDE_AIRBNB_2023 = "insideairbnb-2023"

Record = Mapping[str, str | None]  # a data line: source column -> text (None where empty)
# A parser reads a record and returns the mission column's text, plus a lineage note when it
# changed the value's meaning (a rescaling, a value taken from another column), else None.
Parser = Callable[[Record], tuple[str | None, str | None]]


@dataclass(frozen=True)
class ColumnMapping:
    """How one mission column is read from a source layout."""

    column: str  # the mission column
    inputs: tuple[str, ...]  # source columns it reads; missing when the header has none of them
    parse: Parser


@dataclass(frozen=True)
class SourceLayout:
    name: str
    description: str
    identified_by: tuple[str, ...]  # a header with all of these is of this layout
    header: tuple[str, ...]  # every column the layout is known to deliver
    mappings: tuple[ColumnMapping, ...]  # listing_id first, then the mission columns

    def missing_columns(self, header: Sequence[str]) -> tuple[str, ...]:
        """Mission columns this file cannot deliver: none of their source columns is in it."""
        present = set(header)
        return tuple(m.column for m in self.mappings if not present.intersection(m.inputs))

    def new_columns(self, header: Sequence[str]) -> tuple[str, ...]:
        """Columns of the file that the layout does not know (an upstream addition)."""
        known = set(self.header)
        return tuple(name for name in header if name not in known)

    def consumed_columns(self) -> frozenset[str]:
        return frozenset(name for mapping in self.mappings for name in mapping.inputs)


# --- value parsers ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_DOLLARS = re.compile(r"^\s*(-?)\$\s*(\d{1,3}(?:,\d{3})*|\d+)(\.\d+)?\s*$")
_BATHS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(?:(?:shared|private)\s+)?baths?\s*$", re.IGNORECASE)
_HALF_BATH = re.compile(r"^\s*(?:(?:shared|private)\s+)?half-bath\s*$", re.IGNORECASE)
FIVE_POINT_RATING_FACTOR = 20.0  # review_scores_rating: 0-5 -> 0-100
FIVE_POINT_SUB_SCORE_FACTOR = 2.0  # the six sub-scores: 0-5 -> 0-10
RESCALED_NOTE = "review scores rescaled from the 0-5 scale (rating x20, sub-scores x2)"


def _number_text(value: float) -> str:
    return repr(round(value, 6))


def as_is(source: str) -> Parser:
    """The source column's text unchanged."""
    return lambda record: (record.get(source), None)


def dollars(source: str) -> Parser:
    """``$1,250.00`` -> ``1250.0``; text that is not a dollar amount stays as it is, so that
    silver quarantines it as not numeric."""

    def parse(record: Record) -> tuple[str | None, str | None]:
        text = record.get(source)
        if text is None:
            return None, None
        match = _DOLLARS.match(text)
        if not match:
            return text, None
        sign, whole, cents = match.groups()
        return _number_text(float(sign + whole.replace(",", "") + (cents or ""))), None

    return parse


def bathrooms_count(text: str) -> float | None:
    """The number of bathrooms in Inside Airbnb's ``bathrooms_text``, or None if unreadable.

    "1 bath", "1.5 shared baths", "2 private baths" -> the number; "Half-bath",
    "Shared half-bath", "Private half-bath" -> 0.5.
    """
    if _HALF_BATH.match(text):
        return 0.5
    match = _BATHS.match(text)
    return float(match.group(1)) if match else None


def bathrooms_or_text() -> Parser:
    """``bathrooms`` where it has a value, else the number read from ``bathrooms_text``."""

    def parse(record: Record) -> tuple[str | None, str | None]:
        bathrooms = record.get("bathrooms")
        if bathrooms is not None and bathrooms.strip():
            return bathrooms, None
        text = record.get("bathrooms_text")
        if text is None:
            return bathrooms, None
        count = bathrooms_count(text)
        if count is None:  # kept as text: silver quarantines it as not numeric
            return text, f"bathrooms from bathrooms_text {text!r} (unreadable)"
        return _number_text(count), f"bathrooms from bathrooms_text {text!r}"

    return parse


def _as_float(text: str | None) -> float | None:
    return float(text) if text is not None and _NUMBER.match(text.strip()) else None


def on_five_point_scale(record: Record) -> bool:
    """Whether a 2020+ record's review scores are on the 0-5 scale (published from 2021 on).

    Files of 2020 still used 20-100 for the rating; a rating above 5 says so. A record without
    a rating follows the layout's current scale, 0-5.
    """
    rating = _as_float(record.get("review_scores_rating"))
    return rating is None or rating <= 5.0


def review_score(source: str) -> Parser:
    """A review score of the 2020+ layout, rescaled to the mission's scale when on 0-5."""
    factor = FIVE_POINT_RATING_FACTOR if source == "review_scores_rating" else FIVE_POINT_SUB_SCORE_FACTOR

    def parse(record: Record) -> tuple[str | None, str | None]:
        text = record.get(source)
        value = _as_float(text)
        if value is None or not on_five_point_scale(record):
            return text, None
        return _number_text(value * factor), RESCALED_NOTE

    return parse


# --- the layouts -----------------------------------------------------------------------------


def _direct(columns: Sequence[str]) -> tuple[ColumnMapping, ...]:
    return tuple(ColumnMapping(column, (column,), as_is(column)) for column in columns)


_PROJECT_MAPPINGS = _direct((LISTING_ID, *MISSION_COLUMNS))

# The exact headers of two real Inside Airbnb files (San Francisco, March 2019 and September 2023).
# fmt: off
INSIDE_AIRBNB_2019_HEADER: tuple[str, ...] = tuple(
    ["id", "listing_url", "scrape_id", "last_scraped", "name", "summary", "space", "description",
     "experiences_offered", "neighborhood_overview", "notes", "transit", "access", "interaction",
     "house_rules", "thumbnail_url", "medium_url", "picture_url", "xl_picture_url", "host_id", "host_url",
     "host_name", "host_since", "host_location", "host_about", "host_response_time", "host_response_rate",
     "host_acceptance_rate", "host_is_superhost", "host_thumbnail_url", "host_picture_url",
     "host_neighbourhood", "host_listings_count", "host_total_listings_count", "host_verifications",
     "host_has_profile_pic", "host_identity_verified", "street", "neighbourhood", "neighbourhood_cleansed",
     "neighbourhood_group_cleansed", "city", "state", "zipcode", "market", "smart_location", "country_code",
     "country", "latitude", "longitude", "is_location_exact", "property_type", "room_type", "accommodates",
     "bathrooms", "bedrooms", "beds", "bed_type", "amenities", "square_feet", "price", "weekly_price",
     "monthly_price", "security_deposit", "cleaning_fee", "guests_included", "extra_people", "minimum_nights",
     "maximum_nights", "minimum_minimum_nights", "maximum_minimum_nights", "minimum_maximum_nights",
     "maximum_maximum_nights", "minimum_nights_avg_ntm", "maximum_nights_avg_ntm", "calendar_updated",
     "has_availability", "availability_30", "availability_60", "availability_90", "availability_365",
     "calendar_last_scraped", "number_of_reviews", "number_of_reviews_ltm", "first_review", "last_review",
     "review_scores_rating", "review_scores_accuracy", "review_scores_cleanliness", "review_scores_checkin",
     "review_scores_communication", "review_scores_location", "review_scores_value", "requires_license",
     "license", "jurisdiction_names", "instant_bookable", "is_business_travel_ready", "cancellation_policy",
     "require_guest_profile_picture", "require_guest_phone_verification", "calculated_host_listings_count",
     "calculated_host_listings_count_entire_homes", "calculated_host_listings_count_private_rooms",
     "calculated_host_listings_count_shared_rooms", "reviews_per_month"]
)
INSIDE_AIRBNB_2023_HEADER: tuple[str, ...] = tuple(
    ["id", "listing_url", "scrape_id", "last_scraped", "source", "name", "description",
     "neighborhood_overview", "picture_url", "host_id", "host_url", "host_name", "host_since",
     "host_location", "host_about", "host_response_time", "host_response_rate", "host_acceptance_rate",
     "host_is_superhost", "host_thumbnail_url", "host_picture_url", "host_neighbourhood",
     "host_listings_count", "host_total_listings_count", "host_verifications", "host_has_profile_pic",
     "host_identity_verified", "neighbourhood", "neighbourhood_cleansed", "neighbourhood_group_cleansed",
     "latitude", "longitude", "property_type", "room_type", "accommodates", "bathrooms", "bathrooms_text",
     "bedrooms", "beds", "amenities", "price", "minimum_nights", "maximum_nights", "minimum_minimum_nights",
     "maximum_minimum_nights", "minimum_maximum_nights", "maximum_maximum_nights", "minimum_nights_avg_ntm",
     "maximum_nights_avg_ntm", "calendar_updated", "has_availability", "availability_30", "availability_60",
     "availability_90", "availability_365", "calendar_last_scraped", "number_of_reviews",
     "number_of_reviews_ltm", "number_of_reviews_l30d", "first_review", "last_review", "review_scores_rating",
     "review_scores_accuracy", "review_scores_cleanliness", "review_scores_checkin",
     "review_scores_communication", "review_scores_location", "review_scores_value", "license",
     "instant_bookable", "calculated_host_listings_count", "calculated_host_listings_count_entire_homes",
     "calculated_host_listings_count_private_rooms", "calculated_host_listings_count_shared_rooms",
     "reviews_per_month"]
)
# fmt: on

_INSIDE_AIRBNB_SPECIAL = frozenset({"price", "bathrooms", *REVIEW_SCORE_COLUMNS})
_INSIDE_AIRBNB_2019_MAPPINGS = (
    ColumnMapping(LISTING_ID, ("id",), as_is("id")),
    *_direct([c for c in MISSION_COLUMNS if c != "price"]),
    ColumnMapping("price", ("price",), dollars("price")),
)
_INSIDE_AIRBNB_2023_MAPPINGS = (
    ColumnMapping(LISTING_ID, ("id",), as_is("id")),
    *_direct([c for c in MISSION_COLUMNS if c not in _INSIDE_AIRBNB_SPECIAL]),
    ColumnMapping("bathrooms", ("bathrooms", "bathrooms_text"), bathrooms_or_text()),
    *[ColumnMapping(c, (c,), review_score(c)) for c in REVIEW_SCORE_COLUMNS],
    ColumnMapping("price", ("price",), dollars("price")),
)


def _in_mission_order(mappings: Sequence[ColumnMapping]) -> tuple[ColumnMapping, ...]:
    order = {column: index for index, column in enumerate((LISTING_ID, *MISSION_COLUMNS))}
    return tuple(sorted(mappings, key=lambda mapping: order[mapping.column]))


LAYOUTS: tuple[SourceLayout, ...] = (
    SourceLayout(
        PROJECT,
        "the project's own files: listing_id plus the mission columns",
        (LISTING_ID,),
        (LISTING_ID, *MISSION_COLUMNS),
        _PROJECT_MAPPINGS,
    ),
    # Checked before 2019: a 2020+ header also has id and scrape_id.
    SourceLayout(
        INSIDE_AIRBNB_2023,
        "Inside Airbnb listings from 2020 on: bathrooms_text, no cancellation_policy or bed_type, "
        "review scores on 0-5",
        ("id", "scrape_id", "bathrooms_text"),
        INSIDE_AIRBNB_2023_HEADER,
        _in_mission_order(_INSIDE_AIRBNB_2023_MAPPINGS),
    ),
    SourceLayout(
        INSIDE_AIRBNB_2019,
        "Inside Airbnb listings up to 2019: dollar prices, review scores on 20-100 and 2-10",
        ("id", "scrape_id"),
        INSIDE_AIRBNB_2019_HEADER,
        _in_mission_order(_INSIDE_AIRBNB_2019_MAPPINGS),
    ),
)
LAYOUTS_BY_NAME: dict[str, SourceLayout] = {layout.name: layout for layout in LAYOUTS}


def detect_layout(header: Sequence[str]) -> SourceLayout | None:
    """The first layout whose identifying columns are all in ``header``, or None."""
    present = set(header)
    return next((layout for layout in LAYOUTS if present.issuperset(layout.identified_by)), None)


def unrecognised_header(header: Sequence[str]) -> str:
    """Why ``header`` matches no layout: what each layout would need."""
    present = set(header)
    needs = "; ".join(
        f"{layout.name} needs {', '.join(c for c in layout.identified_by if c not in present)}"
        for layout in LAYOUTS
    )
    return f"the header matches no known layout and has no listing id ({needs})"
