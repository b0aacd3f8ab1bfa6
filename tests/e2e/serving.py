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
