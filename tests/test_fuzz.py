"""Fuzzing the command line with Hypothesis: damaged files of every format siren2 reads, damaged
masks and checkpoints, random option values. Property: no traceback, exit 0 or 2, a one-line
error, nothing partial left behind (see fuzzing.py). Bounded here (about 200 cases, a few
seconds); ``-m slow`` runs 2,000, and benchmarks/fuzz.py the long run."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing

EXAMPLES = int(os.environ.get("SIREN2_FUZZ_EXAMPLES", "50"))  # per test; 4 tests
COMMON = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", fuzzing.KINDS)
def test_fuzzed_cases_never_break_the_contract(kind):
    @settings(max_examples=EXAMPLES, **COMMON)
    @given(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def run(seed):
        case = fuzzing.make_case(seed, kind)
        assert fuzzing.violations(case, fuzzing.run_case(case)) == [], (seed, case.argv)

    run()


@settings(max_examples=EXAMPLES, **COMMON)
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(["wav", "flac", "ogg", "png", "jpg", "bmp", "tif", "x"]))
def test_arbitrary_bytes_are_a_clean_error_or_a_fit(data, suffix):
    case = fuzzing.Case("file", 0, ["fit", f"input.{suffix}", "--out", "out", *fuzzing.TINY], {f"input.{suffix}": data})
    assert fuzzing.violations(case, fuzzing.run_case(case)) == []


def test_the_mutations_do_damage_and_the_cases_reach_both_outcomes():
    # a fuzzer that only ever produced unreadable files (or only valid ones) would test little
    valid = fuzzing.valid_bytes("wav")
    import numpy as np

    rng = np.random.default_rng(0)
    assert sum(fuzzing.mutate(valid, rng) != valid for _ in range(20)) >= 19
    codes = {fuzzing.run_case(fuzzing.make_case(seed, "file")).code for seed in range(40)}
    assert codes == {0, 2}


@pytest.mark.slow
def test_fuzz_two_thousand_cases():
    bad = {seed: v for seed in range(2000) if (v := fuzzing.check(seed))}
    assert bad == {}
