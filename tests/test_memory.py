"""The CLI's allocator setting (``mixed_core.memory``): freed memory is kept for reuse, and a fit
prints the same bytes with it as without it."""
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


def test_cli_fit_prints_the_same_json_with_and_without_the_setting(tmp_path):
    from mixed_core.simulate import SimulationParams, simulate

    path = tmp_path / "d.csv"
    simulate(SimulationParams(seed=3, persons_per_category=300)).data.to_csv(path, index=False)
    args = ["-m", "mixed_core", "fit", str(path), "--response", "income", "--time", "years_after_grad",
            "--group", "person", "--category", "major", "--random-slope", "--format", "json"]
    with_it = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=True).stdout
    without = subprocess.run([sys.executable, "-c", "import sys; import mixed_core.memory as m; "
                              "m.keep_freed_memory = lambda: False; from mixed_core.cli import main; "
                              "sys.argv = ['x'] + sys.argv[1:]; sys.exit(main(sys.argv[1:]))", *args[2:]],
                             cwd=ROOT, capture_output=True, check=True).stdout
    assert with_it == without and len(with_it) > 1000
