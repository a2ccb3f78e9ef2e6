"""A deterministic stand-in for the upstream scraper: daily CSV drops of San Francisco Airbnb
listings in the landing zone, ``<root>/landing/<YYYY-MM-DD>/listings_<YYYY-MM-DD>_part<N>.csv``.

This module owns what those drops look like: a persistent pool of listings that reappear day
after day (so rows can be joined and upserted), realistic feature distributions with a price
that follows from the features, optional injected data errors, and optional drift from a given
day. Rows are generated, or sampled from a base file such as the real cleaned scrape. The same
arguments always produce byte-identical files. The landing zone receives only the CSVs; what was
injected is returned to the caller in a :class:`SimulationResult`.

Files come in any source layout of :mod:`mlvp_assets.bronze.layouts`: the project's own (the
mission columns), or Inside Airbnb's published layouts up to 2019 and from 2020 on, with their
exact headers, ``$1,250.00`` prices, free text holding commas, quotes, embedded newlines and HTML,
and (from 2020 on) ``bathrooms_text`` and review scores on a 0-5 scale. ``compress`` writes
``.csv.gz``. Either way the mission values of every row are the same for the same arguments,
and an injected error still breaks exactly one rule once the file is read through its layout
(its bad text is swapped where the layout would hide or repair it).

Column names, types, category values and ranges come from :mod:`mlvp_assets.schema`.
Command line: ``python -m mlvp_assets.simulate --help``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import gzip
import io
import math
import pathlib
from collections.abc import Collection, Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from mlvp_assets import schema
from mlvp_assets.bronze.layouts import (
    INSIDE_AIRBNB_2019,
    INSIDE_AIRBNB_2019_HEADER,
    INSIDE_AIRBNB_2023,
    INSIDE_AIRBNB_2023_HEADER,
    PROJECT,
)

ERROR_TYPES: tuple[str, ...] = (
    "null_required",
    "blank_required",
    "unknown_category",
    "out_of_range",
    "text_in_numeric",
    "duplicate_row",
    "wrong_field_count",
)
DRIFT_KINDS: tuple[str, ...] = ("shift", "new_category", "new_column", "price_shift")

NEW_NEIGHBOURHOOD = "Treasure Island"
NEW_COLUMN = "host_response_rate"
NEW_NEIGHBOURHOOD_SHARE = 0.2
PRICE_SHIFT_FACTOR = 1.6
PRICE_BOUNDS: tuple[int, int] = (10, 10_000)
RATING_SCALE: tuple[int, int] = (20, 100)
SUB_SCORE_SCALE: tuple[int, int] = (2, 10)

# A few percent of each day's rows are listings never seen before; the initial pool is larger
# than one day's sample so that a listing is usually, not always, present on a given day.
NEW_LISTING_SHARE = 0.03
INITIAL_POOL_FACTOR = 1.25

# Each random stream has its own generator, so that turning on errors or drift, or simulating
# more days, leaves the clean rows of every other day unchanged.
_POOL_STREAM, _DAY_STREAM, _ERROR_STREAM, _DRIFT_STREAM, _TEXT_STREAM = range(5)

LAYOUTS: tuple[str, ...] = (PROJECT, INSIDE_AIRBNB_2019, INSIDE_AIRBNB_2023)
_LAYOUT_HEADERS: dict[str, tuple[str, ...]] = {
    INSIDE_AIRBNB_2019: INSIDE_AIRBNB_2019_HEADER,
    INSIDE_AIRBNB_2023: INSIDE_AIRBNB_2023_HEADER,
}
_SCRAPE_IDS = {INSIDE_AIRBNB_2019: "20190306152813", INSIDE_AIRBNB_2023: "20230906022807"}

# Measured once on sf-airbnb-clean.parquet (Inside Airbnb, 2019-03-06): listings per
# neighbourhood (the sampling weight), centroid latitude and longitude, and the neighbourhood's
# log-price level (its fixed effect in a regression of log price on the listing features).
_NEIGHBOURHOOD_PROFILES: dict[str, tuple[int, float, float, float]] = {
    "Bayview": (157, 37.7300, -122.3901, -0.41),
    "Bernal Heights": (373, 37.7415, -122.4159, -0.12),
    "Castro/Upper Market": (405, 37.7623, -122.4346, +0.09),
    "Chinatown": (118, 37.7923, -122.4073, +0.15),
    "Crocker Amazon": (52, 37.7103, -122.4429, -0.35),
    "Diamond Heights": (19, 37.7426, -122.4418, -0.06),
    "Downtown/Civic Center": (538, 37.7863, -122.4130, +0.13),
    "Excelsior": (162, 37.7250, -122.4248, -0.47),
    "Financial District": (134, 37.7910, -122.4002, +0.31),
    "Glen Park": (70, 37.7379, -122.4308, -0.07),
    "Golden Gate Park": (5, 37.7691, -122.4813, +0.08),
    "Haight Ashbury": (351, 37.7693, -122.4462, +0.01),
    "Inner Richmond": (186, 37.7796, -122.4652, -0.11),
    "Inner Sunset": (154, 37.7602, -122.4651, -0.13),
    "Lakeshore": (54, 37.7313, -122.4839, -0.28),
    "Marina": (186, 37.8009, -122.4355, +0.23),
    "Mission": (691, 37.7581, -122.4170, +0.03),
    "Nob Hill": (215, 37.7929, -122.4148, +0.05),
    "Noe Valley": (317, 37.7500, -122.4329, +0.05),
    "North Beach": (149, 37.8017, -122.4070, +0.12),
    "Ocean View": (103, 37.7183, -122.4602, -0.38),
    "Outer Mission": (150, 37.7251, -122.4429, -0.26),
    "Outer Richmond": (147, 37.7774, -122.4944, -0.20),
    "Outer Sunset": (269, 37.7567, -122.4939, -0.23),
    "Pacific Heights": (155, 37.7925, -122.4329, +0.30),
    "Parkside": (127, 37.7424, -122.4874, -0.31),
    "Potrero Hill": (214, 37.7592, -122.3978, +0.06),
    "Presidio": (1, 37.8103, -122.4764, -0.09),
    "Presidio Heights": (28, 37.7853, -122.4533, +0.09),
    "Russian Hill": (159, 37.8013, -122.4185, +0.25),
    "Seacliff": (20, 37.7821, -122.5009, +0.00),
    "South of Market": (599, 37.7779, -122.4031, +0.14),
    "Twin Peaks": (63, 37.7528, -122.4476, +0.07),
    "Visitacion Valley": (60, 37.7173, -122.4045, -0.35),
    "West of Twin Peaks": (116, 37.7358, -122.4588, -0.16),
    "Western Addition": (599, 37.7781, -122.4340, +0.08),
}
_NEW_NEIGHBOURHOOD_CENTROID = (37.8235, -122.3705)
_NEIGHBOURHOOD_PRICE_LEVELS: dict[str, float] = {
    name: profile[3] for name, profile in _NEIGHBOURHOOD_PROFILES.items()
} | {NEW_NEIGHBOURHOOD: -0.10}

# Listings per room type, and per property type within each room type, in the real scrape.
_ROOM_TYPES: tuple[str, ...] = ("Entire home/apt", "Private room", "Shared room")
_ROOM_TYPE_LISTINGS: tuple[int, ...] = (4364, 2603, 179)
_PROPERTY_TYPE_LISTINGS: dict[str, tuple[int, int, int]] = {
    "Apartment": (2226, 759, 25),
    "House": (844, 1072, 74),
    "Condominium": (526, 233, 1),
    "Guest suite": (431, 65, 0),
    "Boutique hotel": (14, 169, 0),
    "Townhouse": (67, 69, 4),
    "Serviced apartment": (106, 8, 2),
    "Hotel": (1, 99, 0),
    "Loft": (70, 18, 5),
    "Hostel": (1, 37, 49),
    "Guesthouse": (41, 3, 0),
    "Bed and breakfast": (0, 14, 15),
    "Aparthotel": (0, 20, 0),
    "Bungalow": (11, 5, 1),
    "Other": (6, 16, 0),
    "Villa": (1, 6, 3),
    "Cottage": (5, 3, 0),
    "Resort": (4, 4, 0),
}
# Listings accommodating 1, 2, ..., 16 guests, per room type.
_ACCOMMODATES_LISTINGS: tuple[tuple[int, ...], ...] = (
    (44, 1559, 423, 1161, 297, 526, 91, 162, 22, 40, 7, 18, 1, 3, 7, 3),
    (507, 1617, 146, 255, 21, 40, 4, 9, 0, 2, 0, 1, 0, 1, 0, 0),
    (78, 32, 13, 45, 4, 2, 0, 3, 0, 2, 0, 0, 0, 0, 0, 0),
)
# Private and shared rooms: bedrooms (0 for a studio) and bathrooms of the home the room is in.
_ROOM_BEDROOM_LISTINGS: dict[int, int] = {0: 8, 1: 88, 2: 4}
_ROOM_BATHROOM_LISTINGS: dict[float, int] = {
    0.0: 37, 0.5: 15, 1.0: 2122, 1.5: 208, 2.0: 233, 2.5: 36, 3.0: 42, 4.0: 19, 5.0: 24,
}  # fmt: skip
_CANCELLATION_POLICY_LISTINGS: dict[str, int] = {
    "strict_14_with_grace_period": 3086,
    "moderate": 2518,
    "flexible": 1424,
    "super_strict_30": 66,
    "strict": 43,
    "super_strict_60": 9,
}
_BED_TYPE_LISTINGS: dict[str, int] = {
    "Real Bed": 7073, "Futon": 32, "Pull-out Sofa": 23, "Airbed": 11, "Couch": 7,
}  # fmt: skip
_MINIMUM_NIGHTS_LISTINGS: dict[int, int] = {
    1: 1251, 2: 1455, 3: 822, 4: 270, 5: 176, 6: 31, 7: 72, 14: 4, 30: 2757, 31: 133,
    32: 31, 45: 7, 60: 32, 90: 28, 120: 6, 180: 28, 365: 7,
}  # fmt: skip
# Professional hosts with dozens to hundreds of listings hold about an eighth of all listings.
_LARGE_HOST_LISTINGS: dict[int, int] = {35: 65, 41: 66, 64: 64, 87: 87, 165: 141, 439: 91, 852: 204}
# How much lower each sub-score tends to be than a perfect 10 beyond what the overall rating says.
_SUB_SCORE_SLACK: dict[str, float] = {
    "review_scores_accuracy": 0.11,
    "review_scores_cleanliness": 0.18,
    "review_scores_checkin": 0.07,
    "review_scores_communication": 0.08,
    "review_scores_location": 0.18,
    "review_scores_value": 0.33,
}

# Price model, log(price) = base + effects + noise; the room-type effects are deliberately a
# little stronger than in the real data so that the price is learnable from the features.
_LOG_PRICE_BASE = 4.45
_LOG_PRICE_NOISE = 0.28
_ROOM_TYPE_PRICE_EFFECTS: dict[str, float] = {
    "Entire home/apt": 0.0,
    "Private room": -0.35,
    "Shared room": -0.80,
    "Hotel room": -0.20,
}

# Each injected error replaces one field by text that breaks exactly one rule.
_BAD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "null_required": (
        ("cancellation_policy", ""),
        ("neighbourhood_cleansed", ""),
        ("room_type", ""),
        ("price", ""),
    ),
    "blank_required": (
        ("cancellation_policy", " "),
        ("neighbourhood_cleansed", "   "),
        ("room_type", " "),
        ("bed_type", "  "),
    ),
    "unknown_category": (
        ("room_type", "Castle room"),
        ("bed_type", "Hammock"),
        ("cancellation_policy", "super_strict_90"),
    ),
    "out_of_range": (
        ("latitude", "38.5816"),
        ("accommodates", "0.0"),
        ("price", "0.0"),
        ("price", "-45.0"),
        ("review_scores_rating", "150.0"),
        ("review_scores_cleanliness", "11.0"),
    ),
    "text_in_numeric": (
        ("price", "abc"),
        ("price", "$1,200.00"),
        ("bedrooms", "two"),
        ("minimum_nights", "2 nights"),
    ),
}


def _replaced(
    bad_fields: Mapping[str, tuple[tuple[str, str], ...]],
    replacements: Mapping[tuple[str, str], tuple[str, str]],
) -> dict[str, tuple[tuple[str, str], ...]]:
    """``bad_fields`` with some options swapped one for one: the same random draw then picks the
    same position, so a layout changes what an affected row holds, never which rows are hit."""
    return {
        error_type: tuple(replacements.get(option, option) for option in options)
        for error_type, options in bad_fields.items()
    }


# In Inside Airbnb's layouts "$1,200.00" is a valid price; text that is no dollar amount is not.
_INSIDE_AIRBNB_2019_BAD_FIELDS = _replaced(_BAD_FIELDS, {("price", "$1,200.00"): ("price", "USD 1,200")})
# The 2020+ layout has no cancellation_policy or bed_type, so an error there would vanish. And
# a 0-5 rating above 5 reads as a 2020 file's 20-100 rating (in range): 150 would turn valid.
_INSIDE_AIRBNB_2023_BAD_FIELDS = _replaced(
    _INSIDE_AIRBNB_2019_BAD_FIELDS,
    {
        ("cancellation_policy", ""): ("host_is_superhost", ""),
        ("cancellation_policy", " "): ("property_type", " "),
        ("bed_type", "  "): ("instant_bookable", "  "),
        ("bed_type", "Hammock"): ("host_is_superhost", "true"),
        ("cancellation_policy", "super_strict_90"): ("instant_bookable", "yes"),
        ("review_scores_rating", "150.0"): ("review_scores_rating", "-20.0"),
    },
)
_LAYOUT_BAD_FIELDS: dict[str, Mapping[str, tuple[tuple[str, str], ...]]] = {
    PROJECT: _BAD_FIELDS,
    INSIDE_AIRBNB_2019: _INSIDE_AIRBNB_2019_BAD_FIELDS,
    INSIDE_AIRBNB_2023: _INSIDE_AIRBNB_2023_BAD_FIELDS,
}


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """What a simulation wrote, and which errors it injected on each day (keyed by ISO date)."""

    files: list[pathlib.Path]
    rows_per_file: dict[pathlib.Path, int]  # data lines, including duplicates and malformed lines
    injected_errors: dict[str, dict[str, int]]  # date -> error_type -> rows
    error_listing_ids: dict[str, dict[str, tuple[str, ...]]]  # date -> error_type -> listing_ids


def simulate_landing(
    root: str | pathlib.Path,
    start_date: datetime.date,
    days: int,
    rows_per_day: int,
    seed: int = 7,
    files_per_day: int = 2,
    base_file: str | pathlib.Path | None = None,
    error_rates: Mapping[str, float] | None = None,
    drift_from: datetime.date | None = None,
    drift: Collection[str] = (),
    layout: str = PROJECT,
    compress: bool = False,
) -> SimulationResult:
    """Write ``days`` daily drops of ``rows_per_day`` listings under ``<root>/landing``.

    ``error_rates`` maps an error type of :data:`ERROR_TYPES` to the fraction of each day's rows
    it affects (``round(rate * rows_per_day)`` rows; duplicates are appended on top). ``drift``
    kinds of :data:`DRIFT_KINDS` apply to every day from ``drift_from`` on. ``layout`` is one of
    :data:`LAYOUTS`; ``compress`` writes gzip files (``.csv.gz``).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    for name, value in (("start_date", start_date), ("drift_from", drift_from)):
        if value is not None and (
            not isinstance(value, datetime.date) or isinstance(value, datetime.datetime)
        ):
            raise TypeError(f"{name} must be a datetime.date, got {value!r}")
    rates = _validated_error_rates(error_rates or {})
    drift_kinds = _validated_drift(drift_from, drift)
    for name, number, minimum in (
        ("days", days, 1),
        ("rows_per_day", rows_per_day, 1),
        ("files_per_day", files_per_day, 1),
        ("seed", seed, 0),
    ):
        if not isinstance(number, int) or number < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {number!r}")
    if sum(round(rate * rows_per_day) for rate in rates.values()) > rows_per_day:
        raise ValueError(f"error rates {rates} affect more rows than the {rows_per_day} rows of a day")

    if base_file is None:
        day_frames = _generated_days(seed, rows_per_day, days)
    else:
        day_frames = _base_file_days(_read_base_file(base_file), seed, rows_per_day, days)

    files: list[pathlib.Path] = []
    rows_per_file: dict[pathlib.Path, int] = {}
    injected_errors: dict[str, dict[str, int]] = {}
    error_listing_ids: dict[str, dict[str, tuple[str, ...]]] = {}
    for day_index, frame in enumerate(day_frames):
        landing_day = start_date + datetime.timedelta(days=day_index)
        date = landing_day.isoformat()
        if drift_from is not None and landing_day >= drift_from:
            frame = _apply_drift(frame, drift_kinds, _rng(seed, _DRIFT_STREAM, day_index))
        header = list(frame.columns)
        rows = _as_text(frame)
        duplicated, error_listing_ids[date] = _inject_errors(
            rows, header, rates, _rng(seed, _ERROR_STREAM, day_index), _LAYOUT_BAD_FIELDS[layout]
        )
        injected_errors[date] = {kind: len(ids) for kind, ids in error_listing_ids[date].items()}

        day_dir = pathlib.Path(root) / "landing" / date
        day_dir.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_day):
            share = range(part * len(rows) // files_per_day, (part + 1) * len(rows) // files_per_day)
            lines = [rows[i] for i in share] + [rows[i] for i in duplicated if i in share]
            file_header = header
            if layout != PROJECT:
                text_rng = _rng(seed, _TEXT_STREAM, day_index * files_per_day + part)
                file_header, lines = _in_inside_airbnb_layout(layout, header, lines, date, text_rng)
            path = day_dir / f"listings_{date}_part{part + 1}.csv{'.gz' if compress else ''}"
            _write_csv(path, file_header, lines, compress)
            files.append(path)
            rows_per_file[path] = len(lines)
    return SimulationResult(files, rows_per_file, injected_errors, error_listing_ids)


def _write_csv(
    path: pathlib.Path, header: Sequence[str], lines: Sequence[Sequence[str]], compress: bool
) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    data = buffer.getvalue().encode("utf-8")
    # mtime=0 and no file name in the gzip header: the same arguments give the same bytes.
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)


def _validated_error_rates(error_rates: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(error_rates) - set(ERROR_TYPES))
    if unknown:
        raise ValueError(f"unknown error type(s) {unknown}; valid types: {', '.join(ERROR_TYPES)}")
    for error_type, rate in error_rates.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"error rate of {error_type} must be between 0 and 1, got {rate!r}")
    if sum(error_rates.values()) > 1:
        raise ValueError(f"error rates add up to more than 1: {dict(error_rates)}")
    return {kind: error_rates[kind] for kind in ERROR_TYPES if kind in error_rates}


def _validated_drift(drift_from: datetime.date | None, drift: Collection[str]) -> frozenset[str]:
    kinds = frozenset([drift] if isinstance(drift, str) else drift)
    unknown = sorted(kinds - set(DRIFT_KINDS))
    if unknown:
        raise ValueError(f"unknown drift kind(s) {unknown}; valid kinds: {', '.join(DRIFT_KINDS)}")
    if kinds and drift_from is None:
        raise ValueError(f"drift {sorted(kinds)} needs drift_from, the first drifted day")
    if drift_from is not None and not kinds:
        raise ValueError(f"drift_from {drift_from} needs at least one drift kind of {DRIFT_KINDS}")
    return kinds


def _rng(seed: int, stream: int, day_index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day_index])


def _choose(rng: np.random.Generator, weights: Mapping, size: int) -> np.ndarray:
    """Draw ``size`` keys of ``weights`` with probabilities proportional to their values."""
    probabilities = np.array(list(weights.values()), dtype=float)
    picks = rng.choice(len(probabilities), size=size, p=probabilities / probabilities.sum())
    return np.array(list(weights))[picks]


def _generated_days(seed: int, rows_per_day: int, days: int) -> Iterator[pd.DataFrame]:
    pool_size = math.ceil(rows_per_day * INITIAL_POOL_FACTOR)
    pool = _new_listings(_rng(seed, _POOL_STREAM), 1, pool_size, 0)
    for day_index in range(days):
        rng = _rng(seed, _DAY_STREAM, day_index)
        known_count = len(pool)
        new_count = round(rows_per_day * NEW_LISTING_SHARE) if day_index else 0
        if new_count:
            new_listings = _new_listings(rng, known_count + 1, new_count, day_index)
            pool = pd.concat([pool, new_listings], ignore_index=True)
        returning = rng.choice(known_count, size=rows_per_day - new_count, replace=False)
        chosen = rng.permutation(np.concatenate([returning, np.arange(known_count, len(pool))]))
        day = pool.iloc[chosen].reset_index(drop=True)
        # Listings keep collecting reviews while they stay on the market.
        day["number_of_reviews"] += np.floor(
            day.pop("_reviews_per_day") * (day_index - day.pop("_first_day"))
        ).astype(np.int64)
        yield day


def _new_listings(rng: np.random.Generator, first_number: int, count: int, day_index: int) -> pd.DataFrame:
    room_type = _choose(rng, dict(zip(_ROOM_TYPES, _ROOM_TYPE_LISTINGS, strict=True)), count)
    property_type = np.empty(count, dtype=object)
    accommodates = np.empty(count, dtype=np.int64)
    for room_index, room in enumerate(_ROOM_TYPES):
        in_room = room_type == room
        property_type[in_room] = _choose(
            rng,
            {name: listings[room_index] for name, listings in _PROPERTY_TYPE_LISTINGS.items()},
            int(in_room.sum()),
        )
        accommodates[in_room] = _choose(
            rng, dict(enumerate(_ACCOMMODATES_LISTINGS[room_index], start=1)), int(in_room.sum())
        )
    entire = room_type == "Entire home/apt"
    bedrooms = np.where(
        entire,
        np.clip(np.rint(accommodates / 2 - 0.2 + rng.normal(0, 0.5, count)), 0, 10),
        _choose(rng, _ROOM_BEDROOM_LISTINGS, count),
    )
    beds = np.maximum(np.maximum(bedrooms, 1), np.rint(accommodates / 2 + rng.normal(0, 0.4, count)))
    bathrooms = np.where(
        entire,
        np.maximum(1, np.rint(2 * (0.6 + 0.45 * bedrooms + rng.normal(0, 0.35, count))) / 2),
        _choose(rng, _ROOM_BATHROOM_LISTINGS, count),
    )

    neighbourhood = _choose(
        rng, {name: _NEIGHBOURHOOD_PROFILES[name][0] for name in schema.SF_NEIGHBOURHOODS}, count
    )
    centroids = np.array([_NEIGHBOURHOOD_PROFILES[name][1:3] for name in neighbourhood])
    latitude, longitude = _inside_sf(
        centroids[:, 0] + rng.normal(0, 0.004, count),
        centroids[:, 1] + rng.normal(0, 0.005, count),
    ).T

    # Most guests rate 95-100; a few listings are poor across the board.
    rating = np.where(
        rng.random(count) < 0.03,
        rng.integers(RATING_SCALE[0], 90, count),
        100 - np.floor(rng.exponential(3.2, count)),
    ).clip(*RATING_SCALE)
    sub_scores = {
        column: np.rint(10 - (100 - rating) / 20 - rng.exponential(slack, count)).clip(*SUB_SCORE_SCALE)
        for column, slack in _SUB_SCORE_SLACK.items()
    }
    superhost_probability = np.where(rating >= 97, 0.55, 0.2)
    host_listings = np.where(
        rng.random(count) < 0.13,
        _choose(rng, _LARGE_HOST_LISTINGS, count),
        np.where(rng.random(count) < 0.1, rng.integers(6, 35, count), rng.geometric(0.42, count)),
    )

    listings = pd.DataFrame(
        {
            schema.LISTING_ID: [f"L{n:06d}" for n in range(first_number, first_number + count)],
            "host_is_superhost": np.where(rng.random(count) < superhost_probability, "t", "f"),
            "cancellation_policy": _choose(rng, _CANCELLATION_POLICY_LISTINGS, count),
            "instant_bookable": np.where(rng.random(count) < 0.38, "t", "f"),
            "host_total_listings_count": host_listings.astype(float),
            "neighbourhood_cleansed": neighbourhood,
            "latitude": latitude,
            "longitude": longitude,
            "property_type": property_type,
            "room_type": room_type,
            "accommodates": accommodates.astype(float),
            "bathrooms": bathrooms,
            "bedrooms": bedrooms,
            "beds": beds,
            "bed_type": _choose(rng, _BED_TYPE_LISTINGS, count),
            "minimum_nights": _choose(rng, _MINIMUM_NIGHTS_LISTINGS, count),
            "number_of_reviews": np.where(
                rng.random(count) < 0.19,
                0,
                np.floor(rng.lognormal(3.0, 1.45, count)).clip(1, 700),
            ).astype(np.int64),
            "review_scores_rating": rating,
            **sub_scores,
            "price": np.zeros(count),
            "_first_day": day_index,
            "_reviews_per_day": rng.exponential(0.08, count),
        }
    )
    listings["price"] = _whole_dollars(np.exp(_log_price(listings) + rng.normal(0, _LOG_PRICE_NOISE, count)))
    return listings


def _inside_sf(latitude: npt.ArrayLike, longitude: npt.ArrayLike) -> np.ndarray:
    """Coordinates rounded like the scraper's and clipped into the schema's San Francisco box."""
    return np.column_stack(
        [
            np.round(np.clip(latitude, *schema.VALUE_RANGES["latitude"]), 5),
            np.round(np.clip(longitude, *schema.VALUE_RANGES["longitude"]), 5),
        ]
    )


def _log_price(listings: pd.DataFrame) -> np.ndarray:
    """Expected log price of each listing under the simulator's price model."""
    return (
        _LOG_PRICE_BASE
        + listings["room_type"].map(_ROOM_TYPE_PRICE_EFFECTS).fillna(0.0).to_numpy()
        + listings["neighbourhood_cleansed"].map(_NEIGHBOURHOOD_PRICE_LEVELS).fillna(0.0).to_numpy()
        + 0.45 * np.log(np.clip(listings["accommodates"].to_numpy(dtype=float), 1, None))
        + 0.12 * np.clip(listings["bedrooms"].to_numpy(dtype=float), 0, 6)
        + 0.08 * np.clip(listings["bathrooms"].to_numpy(dtype=float), 0, 6)
        + 0.012 * (listings["review_scores_rating"].to_numpy(dtype=float) - 95)
    )


def _whole_dollars(price: np.ndarray | pd.Series) -> np.ndarray:
    return np.clip(np.rint(np.asarray(price, dtype=float)), *PRICE_BOUNDS)


def _read_base_file(base_file: str | pathlib.Path) -> pd.DataFrame:
    path = pathlib.Path(base_file)
    if not path.is_file():
        raise FileNotFoundError(f"base file {path} does not exist")
    if path.suffix == ".parquet":
        base = pd.read_parquet(path)
    elif path.suffix == ".csv":
        base = pd.read_csv(path)
    else:
        raise ValueError(f"base file {path} must be a .parquet or .csv file")
    missing = [column for column in schema.MISSION_COLUMNS if column not in base.columns]
    if missing:
        raise ValueError(f"base file {path} lacks the mission column(s) {', '.join(missing)}")
    if base.empty:
        raise ValueError(f"base file {path} has no rows")
    base = base[list(schema.MISSION_COLUMNS)].reset_index(drop=True)
    for column in (*schema.DOUBLE_COLUMNS, *schema.LONG_COLUMNS):
        try:
            base[column] = pd.to_numeric(base[column]).astype(float)
        except (ValueError, TypeError) as error:
            raise ValueError(f"base file {path}: column {column} is not numeric ({error})") from error
    return base


def _base_file_days(base: pd.DataFrame, seed: int, rows_per_day: int, days: int) -> Iterator[pd.DataFrame]:
    for day_index in range(days):
        rng = _rng(seed, _DAY_STREAM, day_index)
        rows = rng.choice(len(base), size=rows_per_day, replace=rows_per_day > len(base))
        # A base row drawn twice on one day becomes a second listing, so ids stay unique per day.
        copy = pd.Series(rows).groupby(rows).cumcount().to_numpy()
        listing_ids = [
            f"B{row:06d}" if n == 0 else f"B{row:06d}-{n + 1}" for row, n in zip(rows, copy, strict=True)
        ]
        day = base.iloc[rows].reset_index(drop=True)
        day.insert(0, schema.LISTING_ID, listing_ids)
        yield day


def _apply_drift(day: pd.DataFrame, kinds: frozenset[str], rng: np.random.Generator) -> pd.DataFrame:
    day = day.copy()
    log_price_before = _log_price(day)
    if "shift" in kinds:
        day["accommodates"] = (day["accommodates"] + 2).clip(upper=schema.VALUE_RANGES["accommodates"][1])
        day["beds"] = (day["beds"] + 1).clip(upper=schema.VALUE_RANGES["beds"][1])
        day["review_scores_rating"] = (day["review_scores_rating"] - 15).clip(*RATING_SCALE)
        day["number_of_reviews"] = (day["number_of_reviews"] * 3).clip(
            upper=schema.VALUE_RANGES["number_of_reviews"][1]
        )
        day[["latitude", "longitude"]] = _inside_sf(day["latitude"] + 0.006, day["longitude"] + 0.006)
    if "new_category" in kinds:
        moved = rng.random(len(day)) < NEW_NEIGHBOURHOOD_SHARE
        day.loc[moved, "neighbourhood_cleansed"] = NEW_NEIGHBOURHOOD
        day.loc[moved, ["latitude", "longitude"]] = _inside_sf(
            _NEW_NEIGHBOURHOOD_CENTROID[0] + rng.normal(0, 0.002, moved.sum()),
            _NEW_NEIGHBOURHOOD_CENTROID[1] + rng.normal(0, 0.002, moved.sum()),
        )
    if kinds & {"shift", "new_category"}:
        day["price"] = _whole_dollars(day["price"] * np.exp(_log_price(day) - log_price_before))
    if "price_shift" in kinds:
        day["price"] = _whole_dollars(day["price"] * PRICE_SHIFT_FACTOR)
    if "new_column" in kinds:
        response_rate = np.where(rng.random(len(day)) < 0.7, 100, rng.integers(50, 100, len(day)))
        day[NEW_COLUMN] = [f"{rate}%" for rate in response_rate]
    return day


def _as_text(day: pd.DataFrame) -> list[list[str]]:
    """The rows as the scraper prints them: plain floats, integer longs, empty for missing."""
    columns = []
    for name in day.columns:
        values = day[name]
        if name in schema.LONG_COLUMNS:
            text = [str(round(v)) for v in values.fillna(0).astype(float).tolist()]
        elif name in schema.DOUBLE_COLUMNS:
            text = [repr(v) for v in values.astype(float).tolist()]
        else:
            text = [str(v) for v in values.tolist()]
        for missing in np.flatnonzero(values.isna().to_numpy()):
            text[missing] = ""
        columns.append(text)
    return [list(row) for row in zip(*columns, strict=True)]


def _inject_errors(
    rows: list[list[str]],
    header: Sequence[str],
    rates: Mapping[str, float],
    rng: np.random.Generator,
    bad_fields: Mapping[str, tuple[tuple[str, str], ...]] = _BAD_FIELDS,
) -> tuple[list[int], dict[str, tuple[str, ...]]]:
    """Corrupt ``rows`` in place; return the indices of rows to append again as duplicates and
    the listing_ids affected per error type. Every affected row breaks exactly one rule."""
    position = {name: index for index, name in enumerate(header)}
    candidates = rng.permutation(len(rows))
    duplicated: list[int] = []
    affected: dict[str, tuple[str, ...]] = {}
    start = 0
    for error_type, rate in rates.items():
        count = round(rate * len(rows))
        targets = sorted(candidates[start : start + count].tolist())
        start += count
        for index in targets:
            row = rows[index]
            if error_type == "duplicate_row":
                duplicated.append(index)
            elif error_type == "wrong_field_count":
                if rng.random() < 0.5:
                    row.pop()
                else:
                    row.append(row[-1])
            else:
                options = bad_fields[error_type]
                column, text = options[rng.integers(len(options))]
                row[position[column]] = text
        affected[error_type] = tuple(rows[index][0] for index in targets)
    return duplicated, affected


# --- Inside Airbnb's published layouts -----------------------------------------------------------

_NAME_WORDS = ("Sunny", "Quiet", "Cozy", "Bright", "Modern", "Victorian", "Spacious", "Charming")
_NAME_KINDS = ("studio", "room", "flat", "garden unit", "loft", "suite")
_DESCRIPTIONS = (
    "Bright room near <b>{place}</b>, two blocks from the bus.<br /><br />The space:\nA queen bed, a desk, "
    'and "fast" wifi.',
    'Our "little gem" in {place}: quiet, clean, and close to cafes, parks, and shops.',
    "Private entrance.<br />\nNo parties, no smoking; check-in after 3 pm, check-out by 11 am.",
    "{place} at its best.\n\nWalk to everything, or take the N train downtown (15 min).",
)
_AMENITIES = ("Wifi", "Kitchen", "Heating", "Washer", "Hair dryer", "Cable TV", "Essentials", "Smoke alarm")


def _dollars_text(text: str) -> str:
    """A mission price as Inside Airbnb prints it (``$1,250.00``, ``-$45.00``); other text stays
    as it is."""
    try:
        value = float(text)
    except ValueError:
        return text
    # The sign goes before the "$": "$-45.00" is no dollar amount, so an out-of-range price
    # would read as text instead.
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def _bathrooms_text(text: str, room_type: str, rng: np.random.Generator) -> str:
    """``bathrooms`` as the 2020+ layout's ``bathrooms_text``; other text stays as it is."""
    try:
        count = float(text)
    except ValueError:
        return text
    if room_type == "Shared room":
        kind = "shared"
    elif room_type == "Private room":
        kind = "private" if rng.random() < 0.5 else "shared"
    else:
        kind = ""
    if count == 0.5:
        return f"{kind.capitalize()} half-bath" if kind else "Half-bath"
    number = f"{count:g}"
    return " ".join(part for part in (number, kind, "bath" if count == 1 else "baths") if part)


def _five_point(text: str, factor: float) -> str:
    try:
        return f"{float(text) / factor:.2f}"
    except ValueError:
        return text


def _free_text(rng: np.random.Generator, place: str, layout: str) -> dict[str, str]:
    """Free-text columns with commas, quotes, embedded newlines and HTML, as real listings have."""
    name = (
        f"{_NAME_WORDS[rng.integers(len(_NAME_WORDS))]}, "
        f"{_NAME_KINDS[rng.integers(len(_NAME_KINDS))]} in {place}"
    )
    amenities = [str(item) for item in rng.choice(_AMENITIES, size=int(rng.integers(2, 6)), replace=False)]
    texts = {
        "name": name if rng.random() < 0.8 else f'"{name}"',
        "description": _DESCRIPTIONS[rng.integers(len(_DESCRIPTIONS))].format(place=place),
        "neighborhood_overview": f"{place} is lively, with bars, bakeries, and views.<br />\nParking is hard."
        if rng.random() < 0.6
        else "",
        "host_about": 'Hi! I\'m a "local" and love hosting,\ncooking, and hiking.'
        if rng.random() < 0.4
        else "",
    }
    if layout == INSIDE_AIRBNB_2019:
        texts["summary"] = texts["description"].split("\n", 1)[0]
        texts["space"] = (
            "Queen bed, couch, and a small kitchen.\nShared laundry." if rng.random() < 0.5 else ""
        )
        texts["amenities"] = "{" + ",".join(f'"{a}"' if " " in a else a for a in amenities) + "}"
    else:
        texts["amenities"] = "[" + ", ".join(f'"{a}"' for a in amenities) + "]"
    return texts


def _inside_airbnb_record(
    layout: str, header: Sequence[str], values: Mapping[str, str], date: str, rng: np.random.Generator
) -> list[str]:
    record = dict(values)
    listing_id = record.pop(schema.LISTING_ID, "")
    record.update(
        id=listing_id, listing_url=f"https://www.airbnb.com/rooms/{listing_id}",
        scrape_id=_SCRAPE_IDS[layout], last_scraped=date, calendar_last_scraped=date,
        price=_dollars_text(record.get("price", "")),
    )  # fmt: skip
    if layout == INSIDE_AIRBNB_2023:
        record["bathrooms_text"] = _bathrooms_text(
            record.get("bathrooms", ""), record.get("room_type", ""), rng
        )
        record["bathrooms"] = ""
        for column in schema.REVIEW_SCORE_COLUMNS:
            record[column] = _five_point(
                record.get(column, ""), 20.0 if column == "review_scores_rating" else 2.0
            )
    record.update(_free_text(rng, record.get("neighbourhood_cleansed", "") or "San Francisco", layout))
    return [record.get(column, "") for column in header]


def _in_inside_airbnb_layout(
    layout: str, header: Sequence[str], lines: Sequence[list[str]], date: str, rng: np.random.Generator
) -> tuple[list[str], list[list[str]]]:
    """Mission-layout text rows rewritten in an Inside Airbnb layout's full header. Columns the
    layout does not have (a drifted new column) are appended; a line with a wrong field count
    keeps one field too few or too many."""
    layout_header = list(_LAYOUT_HEADERS[layout])
    file_header = layout_header + [
        c for c in header if c not in layout_header and c not in schema.LANDING_COLUMNS
    ]
    converted = []
    for line in lines:
        padded = (list(line) + [""] * len(header))[: len(header)]
        record = _inside_airbnb_record(layout, file_header, dict(zip(header, padded, strict=True)), date, rng)
        if len(line) < len(header):
            record.pop()
        elif len(line) > len(header):
            record.append(record[-1])
        converted.append(record)
    return file_header, converted


def _parse_error_rate(text: str) -> tuple[str, float]:
    error_type, separator, rate = text.partition("=")
    try:
        if not separator:
            raise ValueError
        return error_type.strip(), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected TYPE=RATE such as null_required=0.01, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlvp_assets.simulate",
        description="Write simulated daily Airbnb listing CSVs into <root>/landing/<date>/.",
    )
    parser.add_argument("--root", default="data", help="data root holding landing/ (default: data)")
    parser.add_argument("--start-date", type=datetime.date.fromisoformat, default=datetime.date(2026, 1, 1))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--files-per-day", type=int, default=2)
    parser.add_argument("--base-file", help="parquet or CSV with the mission columns to sample rows from")
    parser.add_argument(
        "--error-rate",
        type=_parse_error_rate,
        action="append",
        default=[],
        metavar="TYPE=RATE",
        help=f"inject errors into a fraction of rows; TYPE is one of {', '.join(ERROR_TYPES)}",
    )
    parser.add_argument("--drift-from", type=datetime.date.fromisoformat, help="first drifted day")
    parser.add_argument("--drift", action="append", default=[], choices=DRIFT_KINDS)
    parser.add_argument(
        "--layout", default=PROJECT, choices=LAYOUTS, help="the files' layout (default: the project's own)"
    )
    parser.add_argument("--compress", action="store_true", help="write gzip files (.csv.gz)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    error_rates = dict(args.error_rate)
    if len(error_rates) < len(args.error_rate):
        parser.error("each error type may be given only once")
    try:
        result = simulate_landing(
            args.root,
            args.start_date,
            args.days,
            args.rows_per_day,
            seed=args.seed,
            files_per_day=args.files_per_day,
            base_file=args.base_file,
            error_rates=error_rates,
            drift_from=args.drift_from,
            drift=args.drift,
            layout=args.layout,
            compress=args.compress,
        )
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    for path in result.files:
        print(f"{path}\t{result.rows_per_file[path]} rows")
    injected = sum(count for day in result.injected_errors.values() for count in day.values())
    print(
        f"wrote {len(result.files)} files with {sum(result.rows_per_file.values())} rows "
        f"for {args.days} day(s) from {args.start_date}; {injected} rows with injected errors"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
