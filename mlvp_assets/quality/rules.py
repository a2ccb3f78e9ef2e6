"""Named data-quality rules and their evaluation on Spark DataFrames.

A rule is data: a name, the column it is about, an action (``warn`` like DLT ``expect``,
``quarantine`` like ``expect_or_drop`` but keeping the row, ``fail`` like ``expect_or_fail``)
and a predicate that is true where a row *violates* it. Each table keeps its list of rules in
its own ``rules.py``; the assets and checks of that table read them from there.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import single_row

ValueOf = Callable[[str], Column]


class Action(enum.StrEnum):
    WARN = "warn"
    QUARANTINE = "quarantine"
    FAIL = "fail"
    DEDUPLICATE = "deduplicate"


@dataclass(frozen=True)
class Rule:
    name: str
    column: str
    description: str
    action: Action
    # Given how to read a column's typed value, the condition under which a row breaks the
    # rule. Built lazily (a Column needs an active Spark session) and written once for both
    # text rows (bronze, read through ``try_cast``) and typed rows (silver, gold).
    violated_by: Callable[[ValueOf], Column]

    def violation(self, value_of: ValueOf = F.col) -> Column:
        """True where the row breaks the rule; never null."""
        return F.coalesce(self.violated_by(value_of), F.lit(False))


@dataclass(frozen=True)
class RuleResult:
    rule: str
    column: str
    action: Action
    failed_rows: int
    total_rows: int
    samples: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.failed_rows == 0


def is_missing(column: str) -> Column:
    """Null, empty or only whitespace."""
    text = F.col(column).cast("string")
    return text.isNull() | (F.trim(text) == F.lit(""))


def outside(column: Column, low: float, high: float) -> Column:
    return (column < F.lit(low)) | (column > F.lit(high))


def failed_rule_names(rules: Sequence[Rule], value_of: ValueOf = F.col) -> Column:
    """An array with the names of the rules each row breaks (empty when it breaks none)."""
    flagged = F.array(*[F.when(rule.violation(value_of), F.lit(rule.name)) for rule in rules])
    return F.filter(flagged, lambda name: name.isNotNull())


def evaluate_rules(
    df: DataFrame, rules: Sequence[Rule], value_of: ValueOf = F.col, sample_size: int = 5
) -> list[RuleResult]:
    """Count the rows breaking each rule in one pass, with a few sample values of each failure
    (the column's value as stored in ``df``)."""
    counts = single_row(
        df.agg(
            F.count(F.lit(1)).alias("__total"),
            *[
                F.sum(rule.violation(value_of).cast("long")).alias(f"__rule_{index}")
                for index, rule in enumerate(rules)
            ],
        )
    )
    total = int(counts["__total"])
    results = []
    for index, rule in enumerate(rules):
        failed = int(counts[f"__rule_{index}"] or 0)
        samples: tuple[str, ...] = ()
        if failed and sample_size:
            rows = (
                df.where(rule.violation(value_of))
                .select(F.col(rule.column).cast("string"))
                .limit(sample_size)
                .collect()
            )
            samples = tuple("<null>" if row[0] is None else row[0] for row in rows)
        results.append(RuleResult(rule.name, rule.column, rule.action, failed, total, samples))
    return results


def describe_failures(results: Sequence[RuleResult]) -> dict[str, dict[str, object]]:
    """Failed rules as check metadata: ``{rule: {column, failed_rows, total_rows, samples}}``."""
    return {
        result.rule: {
            "column": result.column,
            "failed_rows": result.failed_rows,
            "total_rows": result.total_rows,
            "samples": list(result.samples),
        }
        for result in results
        if not result.passed
    }
