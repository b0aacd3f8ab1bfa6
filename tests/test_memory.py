"""The CLI's allocator setting (``mixed_core.memory``): freed memory is kept for reuse, only by
``python -m mixed_core`` (not by ``cli.main`` called from a program), and a fit prints the same bytes
with it as without it."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# RSS (MB) after allocating and freeing a 200 MB array, with or without the setting.
_PROBE = """
import sys
import numpy as np
from mixed_core.memory import keep_freed_memory
done = keep_freed_memory() if sys.argv[1] == "on" else None
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
a = np.ones(25_000_000)
del a
print(done, rss())
"""


def _probe(mode: str):
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=ROOT, capture_output=True, text=True, check=True)
    done, rss = out.stdout.split()
    return done, float(rss)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc (Linux)")
def test_freed_memory_is_kept_only_with_the_setting():
    done_on, rss_on = _probe("on")
    if done_on != "True":
        pytest.skip("not glibc: keep_freed_memory changes nothing here")
    _, rss_off = _probe("off")
    assert rss_off < 150 < rss_on      # without it the 200 MB go back to the kernel at once


def _income_csv(tmp_path):
    from mixed_core.simulate import SimulationParams, simulate

    path = tmp_path / "d.csv"
    simulate(SimulationParams(seed=3, persons_per_category=300)).data.to_csv(path, index=False)
    return ["fit", str(path), "--response", "income", "--time", "years_after_grad", "--group", "person",
            "--category", "major", "--random-slope", "--format", "json"]


# Runs ``python -m mixed_core`` (as __main__) or calls ``cli.main`` (as a library), counting the calls
# of keep_freed_memory; prints the count to stderr, the CLI's output to stdout.
_COUNTING = """
import runpy, sys
import mixed_core.memory as m
calls = []
real = m.keep_freed_memory
m.keep_freed_memory = lambda: calls.append(1) or real()
how, args = sys.argv[1], sys.argv[2:]
try:
    if how == "program":
        sys.argv = ["mixed_core"] + args
        runpy.run_module("mixed_core", run_name="__main__", alter_sys=True)
    else:
        from mixed_core.cli import main
        main(args)
except SystemExit:
    pass
sys.stdout.flush()
print(len(calls), file=sys.stderr)
"""


def test_only_the_program_keeps_freed_memory_and_prints_the_same_json(tmp_path):
    args = _income_csv(tmp_path)
    outs = {}
    for how in ("program", "library"):
        done = subprocess.run([sys.executable, "-c", _COUNTING, how, *args], cwd=ROOT, capture_output=True, check=True)
        outs[how] = (done.stdout, int(done.stderr.decode().strip().splitlines()[-1]))
    assert outs["program"][1] == 1 and outs["library"][1] == 0
    assert outs["program"][0] == outs["library"][0] and len(outs["program"][0]) > 1000
    plain = subprocess.run([sys.executable, "-m", "mixed_core", *args], cwd=ROOT, capture_output=True, check=True)
    assert plain.stdout == outs["program"][0]
