"""The trace generator and replay in bench/trace: deterministic, and shaped as published."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest

BENCH_TRACE = Path(__file__).resolve().parents[3] / "bench" / "trace"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH_TRACE))
    import replay

    return replay


def test_a_tiny_trace_replays_to_the_same_figures_for_the_same_seed(bench: ModuleType) -> None:
    first = bench.run(40, 2, 7, bench.policies(600.0), workers=1)
    again = bench.run(40, 2, 7, bench.policies(600.0), workers=1)
    assert first == again
    assert first["fixed"].invocations > 0 and first["fixed"].cold > 0


def test_the_figures_do_not_depend_on_the_number_of_workers(bench: ModuleType) -> None:
    alone = bench.run(24, 1, 7, bench.policies(600.0), workers=1)
    shared = bench.run(24, 1, 7, bench.policies(600.0), workers=2)
    assert alone == shared


def test_another_seed_gives_another_trace(bench: ModuleType) -> None:
    one = bench.run(40, 2, 7, bench.policies(600.0), workers=1)
    other = bench.run(40, 2, 8, bench.policies(600.0), workers=1)
    assert one["fixed"].invocations != other["fixed"].invocations


def test_the_report_sets_the_policies_side_by_side(bench: ModuleType) -> None:
    lines = bench.report(bench.run(20, 1, 7, bench.policies(600.0), workers=1), days=1)
    assert "fixed keep-alive" in lines[0] and "hybrid histogram" in lines[0]
    assert any(line.startswith("cold-start %, 75th-percentile function") for line in lines)


def test_a_written_trace_reads_back_in_the_public_schema(bench: ModuleType,
                                                         tmp_path: Path) -> None:
    import _schema
    import _synth

    fns = _synth.generate(30, 2, 7)
    _schema.write(fns, 2, tmp_path)
    header = (tmp_path / "invocations_per_function_md.anon.d01.csv").read_text().split("\n")[0]
    assert header.startswith("HashOwner,HashApp,HashFunction,Trigger,1,2,3,")
    assert header.endswith(",1440")
    back = {fn.function: fn for fn in _schema.read(tmp_path, 2)}
    for fn in fns:
        if fn.function not in back:  # only functions invoked on day 1 are read
            assert not any(m < 1440 for m in fn.minutes)
            continue
        got = back[fn.function]
        assert (list(got.minutes), list(got.counts)) == (list(fn.minutes), list(fn.counts))
        assert got.trigger == fn.trigger
        assert got.duration_ms == pytest.approx(fn.duration_ms, abs=0.5)
        assert got.memory_mb == pytest.approx(fn.memory_mb, abs=0.5)


def test_invocation_rates_span_eight_orders_with_the_papers_quantiles(
        bench: ModuleType) -> None:
    import _synth

    assert 10 ** _synth.log_rate(0.45) == pytest.approx(24)  # once an hour
    assert 10 ** _synth.log_rate(0.80) == pytest.approx(1440)  # once a minute
    assert _synth.log_rate(1.0) - _synth.log_rate(0.0) == pytest.approx(8.0)


def test_timers_fire_on_an_exact_period(bench: ModuleType) -> None:
    import _synth

    timers = [fn for fn in _synth.generate(60, 1, 7) if fn.trigger == "timer"]
    assert timers
    for fn in timers:
        gaps = {b - a for a, b in zip(fn.minutes, fn.minutes[1:], strict=False)}
        assert len(gaps) <= 1


def test_durations_and_memory_have_the_published_medians(bench: ModuleType) -> None:
    import _synth

    fns = [_synth.function(i, 1, 2019) for i in range(600)]
    durations = sorted(fn.duration_ms for fn in fns)
    memory = sorted(fn.memory_mb for fn in fns)
    assert 300 < durations[300] < 1500  # paper: median average duration ~0.7 s
    assert 110 < memory[300] < 180  # paper: median allocated memory ~140 MB
    assert math.log10(durations[-1] / durations[0]) > 4
