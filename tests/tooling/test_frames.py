"""Cleaning py-spy's folded stacks (ladder_bench.frames) on frames written by hand: each
expected name is what the symbol stands for in the source, not rustfilt's output."""

from pathlib import Path

import pytest

from conftest import ROOT
from ladder_bench import frames, tools

REPO = Path("/work/repo")


@pytest.fixture(scope="module")
def rustfilt():
    return tools.rustfilt(ROOT)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # legacy symbols as py-spy splits them on "::", escapes and hash left in
        (
            "poly_match_rs::geometry::find_close_polygons::h0123456789abcdef (geometry.rs:12)",
            "poly_match_rs::geometry::find_close_polygons (geometry.rs:12)",
        ),
        (
            "alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h3888abcd01234567 (mod.rs:562)",
            "alloc::raw_vec::RawVecInner<A>::finish_grow (mod.rs:562)",
        ),
        (
            "_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$::drop"
            "::h36a6786b15a12559 (mod.rs:4224)",
            "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop (mod.rs:4224)",
        ),
        (
            "poly_match_rs::grid::Grid::new::_$u7b$$u7b$closure$u7d$$u7d$::hfedcba9876543210 "
            "(grid.rs)",
            "poly_match_rs::grid::Grid::new::{{closure}} (grid.rs)",
        ),
        # "[T; 3]" would split the frame in two: the folded format's separator is ";"
        (
            "_$LT$$u5b$T$u3b$$u20$3$u5d$$u20$as$u20$core..fmt..Debug$GT$::fmt::h0123456789abcdef "
            "(mod.rs:9)",
            "<[T, 3] as core::fmt::Debug>::fmt (mod.rs:9)",
        ),
        # v0 symbols, left whole; legacy ones left whole (where perf did not demangle)
        (
            "_ZN13poly_match_rs8matching4Grid13best_match_by17h0123456789abcdefE",
            "poly_match_rs::matching::Grid::best_match_by",
        ),
        # a C++ symbol: rustfilt leaves it as it is
        ("_ZNSt6vectorIiSaIiEE9push_backERKi", "_ZNSt6vectorIiSaIiEE9push_backERKi"),
        (
            "_RNvNtCs1234_7mycrate8geometry19find_close_polygons (geometry.rs:3)",
            "mycrate::geometry::find_close_polygons (geometry.rs:3)",
        ),
        (
            "_RNvXCs1234_7mycrateNtCs1234_7mycrate4GridNtNtCs5678_4core5clone5Clone5clone"
            " (grid.rs:7)",
            "<mycrate::Grid as core::clone::Clone>::clone (grid.rs:7)",
        ),
        # unresolved addresses: the library, or nothing known
        ("0x7f25dc04524a (libc.so.6)", "[libc.so.6]"),
        ("0x55efacd7c5b0 (?)", "[unknown]"),
        # Python frames keep their names; absolute paths lose the machine's part
        (
            "Rung.resolve_call (ladder_bench/config.py:55)",
            "Rung.resolve_call (ladder_bench/config.py:55)",
        ),
        (
            "_wrapreduction (/work/repo/.tox/bench/lib/python3.11/site-packages/numpy/_core/"
            "fromnumeric.py:86)",
            "_wrapreduction (numpy/_core/fromnumeric.py:86)",
        ),
        (
            "match_each_point (/work/repo/python_pkg/poly_match/v1.py:84)",
            "match_each_point (python_pkg/poly_match/v1.py:84)",
        ),
        (
            "_find_and_load (<frozen importlib._bootstrap>:1176)",
            "_find_and_load (<frozen importlib._bootstrap>:1176)",
        ),
    ],
)
def test_each_form_of_frame_is_cleaned(rustfilt, frame, expected):
    assert frames.clean(f"main (poly_match/v1.py:1);{frame} 3\n", rustfilt, REPO) == (
        f"main (poly_match/v1.py:1);{expected} 3\n"
    )


def test_stacks_that_differ_only_in_hashes_and_addresses_merge(rustfilt):
    folded = (
        "main (v7.py);poly_match_rs::Grid::new::h1111111111111111 (grid.rs);0x7f01 (libc.so.6) 3\n"
        "main (v7.py);poly_match_rs::Grid::new::h2222222222222222 (grid.rs);0x7f02 (libc.so.6) 5\n"
    )
    assert frames.clean(folded, rustfilt, REPO) == (
        "main (v7.py);poly_match_rs::Grid::new (grid.rs);[libc.so.6] 8\n"
    )


def test_a_frame_that_is_not_a_rust_symbol_is_not_rebuilt_into_one():
    assert frames.mangled("Rung.resolve_call") is None
    assert frames.mangled("std::vector<int>::push_back(int const&)") is None
    assert frames.mangled("core::ptr::drop_in_place::h0123456789abcdef") == (
        "_ZN4core3ptr13drop_in_place17h0123456789abcdefE"
    )


def test_unnamed_frames_below_the_first_named_one_go(rustfilt):
    """The process's entry, where py-spy could not name it: the same stacks as the rest."""
    folded = (
        "0x7f01 (libc.so.6);0x7f02 (libc.so.6);main (v1.py:1);0x7f03 (libc.so.6) 2\n"
        "main (v1.py:1);0x7f04 (libc.so.6) 3\n"
        "0x7f05 (libc.so.6) 1\n"
    )
    assert frames.clean(folded, rustfilt, REPO) == ("main (v1.py:1);[libc.so.6] 5\n[libc.so.6] 1\n")


def test_py_spys_thread_frames_go_and_count_each_threads_samples():
    folded = (
        "thread (14620): MainThread;<module> (t.py:11);loop (t.py:10) 10\n"
        "thread (14622): Thread-1 (loop);Thread._bootstrap (threading.py:1002) 4\n"
        "thread (14620): MainThread;<module> (t.py:11) 1\n"
        "thread (0x7F25DC045240): Thread-2;f (t.py:3) 2\n"
        "main (t.py:1) 5\n"
    )
    stacks, threads = frames.by_thread(folded)
    assert stacks == (
        "<module> (t.py:11);loop (t.py:10) 10\n"
        "Thread._bootstrap (threading.py:1002) 4\n"
        "<module> (t.py:11) 1\n"
        "f (t.py:3) 2\n"
        "main (t.py:1) 5\n"
    )
    # A thread known by its pthread id only (not an OS thread id) is not counted.
    assert threads == {14620: 11, 14622: 4}
