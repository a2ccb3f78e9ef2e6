"""File access under an object-store root (``s3a://``) against a real S3-compatible server on
127.0.0.1: listing with sizes, streaming, hashing, writing, and the landing sensor's listing, all
through ``mlvp_assets.files`` and the endpoint setting the ingestion uses. No Spark."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from mlvp_assets import files
from mlvp_assets.automation.landing_zone import list_landing_files
from mlvp_assets.bronze.landing_csv import _parse_one
from mlvp_assets_tests.factories import csv_text, good_rows
from mlvp_assets_tests.object_store import running_s3_server, s3_client, use_s3_server

BUCKET = "mlvp-landing"
ROOT = f"s3a://{BUCKET}/mlvp"


@pytest.fixture(scope="module")
def s3_endpoint():
    with running_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """An empty bucket, and the environment the project reads its endpoint and credentials from."""
    use_s3_server(monkeypatch, s3_endpoint)
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def put(client, key: str, body: bytes) -> None:
    client.put_object(Bucket=BUCKET, Key=f"mlvp/{key}", Body=body)


def test_a_landing_folder_is_listed_with_sizes_under_the_root_uri(bucket):
    plain, packed = csv_text(good_rows(3)).encode(), gzip.compress(csv_text(good_rows(2)).encode(), mtime=0)
    put(bucket, "landing/2026-01-02/a.csv", plain)
    put(bucket, "landing/2026-01-02/b.csv.gz", packed)

    entries = files.list_folder(f"{ROOT}/landing/2026-01-02")

    assert [(e.path, e.name, e.size, e.is_dir) for e in entries] == [
        (f"{ROOT}/landing/2026-01-02/a.csv", "a.csv", len(plain), False),
        (f"{ROOT}/landing/2026-01-02/b.csv.gz", "b.csv.gz", len(packed), False),
    ]
    assert files.list_folder(f"{ROOT}/landing/2026-01-09") is None


def test_content_hash_read_and_exists_match_what_the_server_holds(bucket):
    body = csv_text(good_rows(50)).encode()
    put(bucket, "landing/2026-01-02/a.csv", body)
    uri = f"{ROOT}/landing/2026-01-02/a.csv"

    assert files.content_sha256(uri) == hashlib.sha256(body).hexdigest()
    assert files.read_bytes(uri) == body
    assert files.exists(uri) and not files.exists(f"{ROOT}/landing/2026-01-02/z.csv")


def test_write_text_lands_in_the_bucket(bucket):
    files.write_text(f"{ROOT}/reports/data_drift/2026-01-02.html", "<html>drift</html>")

    stored = bucket.get_object(Bucket=BUCKET, Key="mlvp/reports/data_drift/2026-01-02.html")["Body"].read()
    assert stored == b"<html>drift</html>"


def test_the_landing_sensor_listing_sees_files_in_the_bucket(bucket):
    put(bucket, "landing/2026-01-02/a.csv", b"listing_id\n1\n")
    put(bucket, "landing/2026-01-03/listings.csv.gz", gzip.compress(b"listing_id\n1\n"))
    put(bucket, "landing/2026-01-03/notes.txt", b"not a landing file")
    put(bucket, "landing/not-a-day/c.csv", b"listing_id\n1\n")

    listing = list_landing_files(f"{ROOT}/landing")

    assert [(file.day, file.path) for file in listing.files] == [
        ("2026-01-02", f"{ROOT}/landing/2026-01-02/a.csv"),
        ("2026-01-03", f"{ROOT}/landing/2026-01-03/listings.csv.gz"),
    ]
    assert listing.ignored_folders == ("not-a-day",)


def test_the_executor_parser_streams_a_gzip_object(bucket):
    put(bucket, "landing/2026-01-02/b.csv.gz", gzip.compress(csv_text(good_rows(25)).encode()))

    frames = list(_parse_one(f"{ROOT}/landing/2026-01-02/b.csv.gz"))

    rows, summary = frames[:-1], frames[-1]
    assert sum(len(frame) for frame in rows) == 25
    assert summary["_file_error"].tolist() == [None] and '"layout": "project"' in summary["_file_summary"][0]
