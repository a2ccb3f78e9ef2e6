"""The mission schema of a listing: column names, their types, and the value sets and ranges
that every layer (simulator, bronze, silver, gold, model) agrees on.

This module is the single source of truth for *what* a listing looks like. The rules that act
on it (warn, quarantine, fail) live with each table (``bronze/rules.py``, ``silver/rules.py``,
``gold/rules.py``) and read their ranges and value sets from here.
"""

from __future__ import annotations

LISTING_ID = "listing_id"
PARTITION_COLUMN = "landing_date"
# Set by the bronze parser on a line whose fields do not match its header; silver quarantines it.
MALFORMED_REASON = "_malformed_reason"

STRING_COLUMNS: tuple[str, ...] = (
    "host_is_superhost",
    "cancellation_policy",
    "instant_bookable",
    "neighbourhood_cleansed",
    "property_type",
    "room_type",
    "bed_type",
)
DOUBLE_COLUMNS: tuple[str, ...] = (
    "host_total_listings_count",
    "latitude",
    "longitude",
    "accommodates",
    "bathrooms",
    "bedrooms",
    "beds",
    "review_scores_rating",
    "review_scores_accuracy",
    "review_scores_cleanliness",
    "review_scores_checkin",
    "review_scores_communication",
    "review_scores_location",
    "review_scores_value",
    "price",
)
LONG_COLUMNS: tuple[str, ...] = ("minimum_nights", "number_of_reviews")

# Column order of a landing file, as an upstream scraper writes it.
MISSION_COLUMNS: tuple[str, ...] = (
    "host_is_superhost",
    "cancellation_policy",
    "instant_bookable",
    "host_total_listings_count",
    "neighbourhood_cleansed",
    "latitude",
    "longitude",
    "property_type",
    "room_type",
    "accommodates",
    "bathrooms",
    "bedrooms",
    "beds",
    "bed_type",
    "minimum_nights",
    "number_of_reviews",
    "review_scores_rating",
    "review_scores_accuracy",
    "review_scores_cleanliness",
    "review_scores_checkin",
    "review_scores_communication",
    "review_scores_location",
    "review_scores_value",
    "price",
)
LANDING_COLUMNS: tuple[str, ...] = (LISTING_ID, *MISSION_COLUMNS)

REVIEW_SCORE_COLUMNS: tuple[str, ...] = (
    "review_scores_rating",
    "review_scores_accuracy",
    "review_scores_cleanliness",
    "review_scores_checkin",
    "review_scores_communication",
    "review_scores_location",
    "review_scores_value",
)

# Closed vocabularies: a value outside these is a data error (quarantined in silver).
# neighbourhood_cleansed and property_type are open on purpose: a new neighbourhood is real
# data the model has not seen (it is reported as unseen, not dropped as an error).
CATEGORY_VALUES: dict[str, tuple[str, ...]] = {
    "host_is_superhost": ("t", "f"),
    "instant_bookable": ("t", "f"),
    "cancellation_policy": (
        "flexible",
        "moderate",
        "strict",
        "strict_14_with_grace_period",
        "super_strict_30",
        "super_strict_60",
    ),
    "room_type": ("Entire home/apt", "Private room", "Shared room", "Hotel room"),
    "bed_type": ("Real Bed", "Futon", "Pull-out Sofa", "Airbed", "Couch"),
}

# The 36 neighbourhoods of San Francisco as Inside Airbnb names them.
SF_NEIGHBOURHOODS: tuple[str, ...] = (
    "Bayview", "Bernal Heights", "Castro/Upper Market", "Chinatown", "Crocker Amazon",
    "Diamond Heights", "Downtown/Civic Center", "Excelsior", "Financial District", "Glen Park",
    "Golden Gate Park", "Haight Ashbury", "Inner Richmond", "Inner Sunset", "Lakeshore",
    "Marina", "Mission", "Nob Hill", "Noe Valley", "North Beach", "Ocean View",
    "Outer Mission", "Outer Richmond", "Outer Sunset", "Pacific Heights", "Parkside",
    "Potrero Hill", "Presidio", "Presidio Heights", "Russian Hill", "Seacliff",
    "South of Market", "Twin Peaks", "Visitacion Valley", "West of Twin Peaks",
    "Western Addition",
)  # fmt: skip

# Inclusive numeric ranges. The bounding box is San Francisco's land area with a small margin.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "latitude": (37.70, 37.84),
    "longitude": (-122.53, -122.35),
    "accommodates": (1, 32),
    "bathrooms": (0, 20),
    "bedrooms": (0, 20),
    "beds": (0, 30),
    "host_total_listings_count": (0, 5000),
    "minimum_nights": (1, 1125),
    "number_of_reviews": (0, 10000),
    "review_scores_rating": (0, 100),
    "review_scores_accuracy": (0, 10),
    "review_scores_cleanliness": (0, 10),
    "review_scores_checkin": (0, 10),
    "review_scores_communication": (0, 10),
    "review_scores_location": (0, 10),
    "review_scores_value": (0, 10),
}
# Price must be strictly positive; the upper bound catches unit errors (cents for dollars).
PRICE_RANGE_EXCLUSIVE_LOW: tuple[float, float] = (0, 25000)
