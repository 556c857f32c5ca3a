"""tests/mutation_sample.py: the draw is uniform and repeatable, the estimate counts like mutmut."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

sys.path.insert(0, str(Path(__file__).parents[1]))
import mutation_sample  # noqa: E402


@pytest.fixture
def root(tmp_path):
    """A fake mutants/ folder: module a with 6 mutants (2 survived), module b with 4 untested ones."""
    (tmp_path / "toolkit").mkdir()
    codes_a = {f"toolkit.a.x_f__mutmut_{i}": (0 if i <= 2 else 1) for i in range(1, 7)}
    codes_b = {f"toolkit.b.xǁKǁm__mutmut_{i}": None for i in range(1, 5)}
    (tmp_path / "toolkit" / "a.py.meta").write_text(json.dumps({"exit_code_by_key": codes_a}))
    (tmp_path / "toolkit" / "b.py.meta").write_text(json.dumps({"exit_code_by_key": codes_b}))
    stats = {"tests_by_mangled_function_name": {"toolkit.a.x_f": ["tests/unit/test_a.py::t"], "toolkit.b.xǁKǁm": []}}
    (tmp_path / "mutmut-stats.json").write_text(json.dumps(stats))
    return tmp_path


def test_draw_is_repeatable_without_replacement_and_depends_on_the_seed(root):
    first = mutation_sample.draw(root, 7, seed=3)
    assert first == mutation_sample.draw(root, 7, seed=3)
    assert len(set(first)) == 7
    draws = {tuple(mutation_sample.draw(root, 7, seed=s)) for s in range(20)}
    assert len(draws) > 1


def test_draw_refuses_a_size_beyond_the_mutants(root):
    with pytest.raises(SystemExit, match="between 1 and the 10 mutants"):
        mutation_sample.draw(root, 11, seed=0)


def test_untested_functions_count_as_no_tests_and_the_rest_keep_their_status(root):
    sample = mutation_sample.draw(root, 10, seed=0)
    statuses = mutation_sample.sample_statuses(root, sample)
    assert sorted(statuses.values()) == ["killed"] * 4 + ["no tests"] * 4 + ["survived"] * 2


def test_names_to_run_leave_out_untested_functions(root, tmp_path, capsys):
    assert mutation_sample.main(["--root", str(root), "draw", "10", "--out", str(tmp_path / "s.txt")]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(f"toolkit.a.x_f__mutmut_{i}" for i in range(1, 7))
    assert len((tmp_path / "s.txt").read_text().split()) == 10


def test_interval_is_the_wilson_interval():
    for hits, trials in [(370, 400), (0, 12), (12, 12), (5, 9)]:
        low, high = mutation_sample.wilson_interval(hits, trials)
        ref_low, ref_high = proportion_confint(hits, trials, alpha=0.05, method="wilson")
        assert low == pytest.approx(100 * ref_low, abs=1e-9)
        assert high == pytest.approx(100 * ref_high, abs=1e-9)


def test_score_counts_killed_and_timeout_over_checked(root, tmp_path, capsys):
    (tmp_path / "s.txt").write_text("\n".join(mutation_sample.draw(root, 10, seed=0)))
    mutation_sample.main(["--root", str(root), "score", str(tmp_path / "s.txt"), "--survivors"])
    out = capsys.readouterr().out
    assert "estimated from 10 checked mutants: 40.0%" in out
    assert out.count("survived   toolkit.a") == 2 and out.count("no tests   toolkit.b") == 4


def test_to_rerun_lists_what_is_not_killed(root, tmp_path, capsys):
    (tmp_path / "s.txt").write_text("\n".join(mutation_sample.draw(root, 10, seed=0)))
    mutation_sample.main(["--root", str(root), "score", str(tmp_path / "s.txt"), "--to-rerun"])
    printed = sorted(capsys.readouterr().out.split())
    assert printed == sorted(["toolkit.a.x_f__mutmut_1", "toolkit.a.x_f__mutmut_2"]
                             + [f"toolkit.b.xǁKǁm__mutmut_{i}" for i in range(1, 5)])


def test_a_mutant_gone_with_an_edit_is_left_out_of_the_score(root, tmp_path, capsys):
    sample = mutation_sample.draw(root, 10, seed=0)
    (tmp_path / "s.txt").write_text("\n".join(sample[:9] + ["toolkit.a.x_f__mutmut_99"]))
    statuses = mutation_sample.sample_statuses(root, sample[:9] + ["toolkit.a.x_f__mutmut_99"])
    assert statuses["toolkit.a.x_f__mutmut_99"] == "gone"
    mutation_sample.main(["--root", str(root), "score", str(tmp_path / "s.txt")])
    out = capsys.readouterr().out
    killed = sum(statuses[n] == "killed" for n in sample[:9])
    assert f"estimated from 9 checked mutants: {100 * killed / 9:.1f}%" in out and "1 sampled mutants are gone" in out
