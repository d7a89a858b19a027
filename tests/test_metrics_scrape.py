"""`/metrics` with several workers: a scrape adds up the files written so far, whatever
another worker is doing to its own file at that moment."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import PrometheusMetrics

NAME = "microlearn_answers_stored"


def _worker_counted(directory: Path, pid: int, answers: float) -> None:
    """What a worker's counter leaves in the directory once it has counted."""
    values = MmapedDict(str(directory / f"counter_{pid}.db"))  # type: ignore[no-untyped-call]
    key = mmap_key(NAME, f"{NAME}_total", [], [], "Answers stored")
    values.write_value(key, answers, 0.0)  # type: ignore[no-untyped-call]
    values.close()  # type: ignore[no-untyped-call]


def _stored(page: bytes) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(page.decode())
        for sample in family.samples
        if sample.name == f"{NAME}_total"
    )


def test_a_scrape_while_a_worker_creates_its_file_counts_the_others(tmp_path: Path) -> None:
    _worker_counted(tmp_path, 101, 3)
    _worker_counted(tmp_path, 102, 4)
    (tmp_path / "counter_103.db").touch()  # a third worker's, created and not yet sized
    (tmp_path / "histogram_103.db").touch()
    metrics = PrometheusMetrics(multiprocess_dir=tmp_path)
    assert _stored(metrics.scrape()) == 7
