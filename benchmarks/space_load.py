"""Load test of the Space: bursts of concurrent `gradio_client` users against `spaces_app/app.py`.

The app runs in its own process on 127.0.0.1 with `--model` (default: a model of the size of the demo that
`avs-robust reproduce` trains, random weights, written to a temporary folder). Each wave starts `--users` clients
at the same instant (a barrier); each uploads a 128×128 image and a 3-s sound and asks for one audio condition
(the conditions in turn), and downloads the result. Per wave it prints the success rate, the latency percentiles of
the successful requests and the resident memory of the server process after the wave, then the same-run ratios
against the first wave (memory growth, p95 slowdown). Target: every request served in every wave, flat memory.

    python benchmarks/space_load.py [--users 20] [--waves 3] [--model DIR_OR_HUB_ID]

Only 127.0.0.1 is contacted; every request has a timeout, so the run always ends.
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

APP_FILE = Path(__file__).resolve().parents[1] / "spaces_app" / "app.py"
CONDITIONS = ("original", "silence", "noise", "offscreen")
REQUEST_TIMEOUT_S = 600
START_TIMEOUT_S = 300


def demo_size_model(folder: Path) -> Path:
    """A random model and processor of the size of `avs-robust reproduce --size small`'s models."""
    from modeling_avs.training.reproduce import SIZES, reproduction_recipe
    from modeling_avs.training.trainer import build_model, build_processor

    size = SIZES["small"]
    build_model(reproduction_recipe(size, {}), size.model_config).save_pretrained(folder)
    build_processor(size.image_size).save_pretrained(folder)
    return folder


def write_inputs(folder: Path) -> tuple[Path, Path]:
    import soundfile as sf
    from PIL import Image

    rng = np.random.default_rng(0)
    image = folder / "frame.png"
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(image)
    sound = folder / "sound.wav"
    time_axis = np.arange(3 * 16000) / 16000
    sf.write(sound, (0.3 * np.sin(2 * np.pi * 440 * time_axis)).astype(np.float32), 16000)
    return image, sound


def resident_mib(pid: int) -> float:
    """Resident memory (VmRSS) of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(model: str, port: int, log: Path) -> subprocess.Popen:
    environment = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(APP_FILE), "--model", model, "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(server: subprocess.Popen, url: str, log: Path) -> None:
    from gradio_client import Client

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the app exited:\n{log.read_text()[-3000:]}")
        try:
            Client(url, verbose=False).close()
            return
        except Exception:
            time.sleep(2)
    raise RuntimeError("the app did not start in time")


def run_wave(url: str, users: int, image: Path, sound: Path, downloads: Path) -> list[tuple[bool, float, str]]:
    """One burst: `users` clients connected first, then all requests sent at once; (ok, seconds, error) each."""
    from gradio_client import Client, handle_file

    clients = [Client(url, verbose=False, download_files=str(downloads / f"user{i}")) for i in range(users)]
    barrier = threading.Barrier(users)
    outcomes: list[tuple[bool, float, str] | None] = [None] * users

    def user(index: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            job = clients[index].submit(
                handle_file(str(image)),
                None,
                handle_file(str(sound)),
                CONDITIONS[index % len(CONDITIONS)],
                False,
                api_name="/segment",
            )
            robust, _, summary = job.result(timeout=REQUEST_TIMEOUT_S)
            ok = len(robust) == 3 and all(Path(item["image"]).is_file() for item in robust) and "score" in summary
            outcomes[index] = (ok, time.perf_counter() - start, "" if ok else "incomplete result")
        except Exception as error:  # every failure is counted and its message reported
            outcomes[index] = (False, time.perf_counter() - start, f"{type(error).__name__}: {error}"[:160])

    threads = [threading.Thread(target=user, args=(index,)) for index in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S + 60)
    for client in clients:
        client.close()
    return [outcome or (False, float("nan"), "no answer") for outcome in outcomes]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--model", help="model folder or Hub id (default: a random model of the demo's size)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="avs_space_load_") as temporary:
        folder = Path(temporary)
        model = args.model or str(demo_size_model(folder / "model"))
        image, sound = write_inputs(folder)
        port, log = free_port(), folder / "app.log"
        server = start_app(model, port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(server, url, log)
            idle = resident_mib(server.pid)
            print(f"server started: {idle:.0f} MiB resident; {args.users} users per wave, {os.cpu_count()} CPU(s)")
            print(f"{'wave':>4} {'served':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'server MiB':>11}")
            rows = []
            for wave in range(1, args.waves + 1):
                outcomes = run_wave(url, args.users, image, sound, folder / f"wave{wave}")
                latencies = [seconds for ok, seconds, _ in outcomes if ok]
                served = sum(ok for ok, _, _ in outcomes)
                memory = resident_mib(server.pid)
                rows.append((served, percentile(latencies, 0.5), percentile(latencies, 0.95), memory))
                print(
                    f"{wave:>4} {served:>4}/{args.users:<3} {rows[-1][1]:7.2f} {rows[-1][2]:7.2f} "
                    f"{max(latencies, default=float('nan')):7.2f} {memory:11.0f}"
                )
                for error, count in collections.Counter(error for ok, _, error in outcomes if not ok).items():
                    print(f"     {count} × {error}")
            first = rows[0]
            print(
                f"success rate {sum(row[0] for row in rows)}/{args.users * args.waves}; "
                f"memory after the last wave / after the first: {rows[-1][3] / first[3]:.3f}; "
                f"p95 of the last wave / of the first: {rows[-1][2] / first[2]:.2f}; "
                f"median p50 {statistics.median(row[1] for row in rows):.2f} s"
            )
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
