"""Starting the app (or any Streamlit script) on a free loopback port, and Chromium's flags here.

Shared by the end-to-end tests and benchmarks/bench_app.py.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Screenshots the tests take: the README's own with UPDATE_SCREENSHOTS=1, else kept out of the tree.
SCREENSHOTS = (Path(__file__).parent / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS")
               else ROOT / "artifacts" / "screenshots")
# Headless, no sandbox (root), and none of Chromium's own network traffic (this machine has none).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path, app: Path = ROOT / "app.py", timeout: float = 60):
    """(process, log file, base URL) of ``streamlit run app`` once its health check answers."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=app.parent, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, log, base
        except OSError:
            time.sleep(0.3)
    stop_server(proc, log)
    raise RuntimeError(f"streamlit did not start within {timeout:.0f} s; see {log_path}")


def stop_server(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# What the Model page shows, read in the browser: every st.table of the main area (not those a
# running rerun is about to replace) as rows of cell texts. The fixed-effects table is the one
# with a "Coef." column, the fit statistics the one with a "value" column.
MODEL_STATE_JS = """() => {
  const rowsOf = t => [...t.querySelectorAll('tr')].map(
      r => [...r.querySelectorAll('th,td')].map(c => c.innerText.trim()));
  const tables = [...document.querySelectorAll('[data-testid="stMain"] table')]
      .filter(t => !t.closest('[data-stale="true"]')).map(rowsOf);
  const find = head => tables.find(rows => rows.length && rows[0].includes(head)) || null;
  const fe = find('Coef.'), stats = find('value'), vc = find('Variance');
  const col = (rows, head) => rows ? rows[0].indexOf(head) : -1;
  const stat = name => { const r = stats && stats.find(r => r[0] === name); return r ? r[r.length - 1] : null; };
  return {fe: fe, fe_text: fe ? fe.map(r => r.join('\\t')).join('\\n') : null,
          fe_numbers: !!(fe && fe.length > 1 && /[0-9]/.test(fe[1][col(fe, 'Coef.')] || '')),
          terms: fe ? fe.slice(1).map(r => r[col(fe, 'term')]) : [],
          betas: fe ? fe.slice(1).map(r => r[col(fe, 'β')]) : [],
          p_values: fe ? fe.slice(1).map(r => r[col(fe, 'P>|t|') >= 0 ? col(fe, 'P>|t|') : col(fe, 'P>|z|')]) : [],
          components: vc ? vc.slice(1).map(r => r[0]) : [],
          loglik: stat('Log-likelihood'), method: stat('Method'), engine: stat('Engine'),
          time_to_show: stat('Time to show'), comparison: !!find('Parameters'),
          running: !!document.querySelector('[data-testid="stStatusWidget"]')};
}"""
