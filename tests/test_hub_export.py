"""The exported Hub artefacts work from a fresh virtual environment without this checkout: the Space folder of
`avs-robust export-space` installs from its own `requirements.txt` (the package from the wheel inside it) and serves a
`gradio_client` prediction; with the package uninstalled, the folder of `avs-robust export-metric` loads with
`evaluate.load` and gives `RobustAVSEvaluator`'s numbers, and the bundled model runs in
`pipeline(..., trust_remote_code=True)`.

The environment is a real `python -m venv` without system site packages; `pip install -r requirements.txt` fills it
from the package indexes pip is configured with (torch from the local disk here), about 6 GB and a few minutes, so
the module is marked slow. The environment is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_module
from inference_media import write_png, write_wav

from modeling_avs.cli.main import main
from modeling_avs.metrics import RobustAVSEvaluator

require_module("gradio")
gradio_client = require_module("gradio_client")
pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 1800
START_TIMEOUT_S = 300


def run(command: list[str], cwd: Path, timeout: int = 600, **environment) -> str:
    env = {**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1", **environment}
    completed = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert completed.returncode == 0, f"{command}:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
    return completed.stdout


@pytest.fixture(scope="module")
def exported(tiny_avs_model_factory, tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    model = tiny_avs_model_factory("gated", gate_threshold=1.0)
    assert main(["export-space", "--model", str(model), "--output", str(root / "space")]) == 0
    assert main(["export-metric", "--output", str(root / "robust_avs")]) == 0
    return root


@pytest.fixture(scope="module")
def venv(exported, tmp_path_factory):
    """A fresh environment with the Space's requirements installed from the Space folder; deleted afterwards."""
    folder = tmp_path_factory.mktemp("fresh_venv") / "venv"
    try:
        run([sys.executable, "-m", "venv", folder], exported)
        python = folder / "bin" / "python"
        run([python, "-m", "pip", "install", "-q", "-r", "requirements.txt"], exported / "space", INSTALL_TIMEOUT_S)
        yield python
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_exported_space_installs_and_serves_a_prediction(exported, venv, tmp_path):
    space = exported / "space"
    location = run([venv, "-c", "import modeling_avs, sys; print(modeling_avs.__file__); print(sys.path)"], tmp_path)
    package_file, path = location.splitlines()
    assert package_file.startswith(str(venv.parents[1])) and str(REPOSITORY) not in path  # the wheel's copy
    port = free_port()
    log = (tmp_path / "app.log").open("w")
    environment = {**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port)}
    server = subprocess.Popen([str(venv), "app.py"], cwd=space, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        client, deadline = None, time.monotonic() + START_TIMEOUT_S
        while client is None:
            assert server.poll() is None, (tmp_path / "app.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "the app did not start"
            try:
                client = gradio_client.Client(f"http://127.0.0.1:{port}", verbose=False)
            except Exception:
                time.sleep(2)
        image = write_png(tmp_path / "frame.png", 48, 64, (40, 160, 90))
        audio = write_wav(tmp_path / "sound.wav", 2.0)
        handle = gradio_client.handle_file
        robust, baseline, summary = client.predict(
            handle(str(image)), None, handle(str(audio)), "silence", False, api_name="/segment"
        )
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    assert len(robust) == 2 and baseline == []
    # the bundled model (gate threshold 1.0) answered
    assert "audio: **silence**" in summary and "kept by the gate: 0 of 2 frames" in summary


def test_exported_metric_and_pipeline_run_without_the_package(exported, venv, tmp_path):
    (wheel,) = (exported / "space" / "wheels").glob("*.whl")
    run([venv, "-m", "pip", "uninstall", "-q", "-y", "modeling-avs"], tmp_path)
    try:
        run([venv, "-m", "pip", "install", "-q", "-r", exported / "robust_avs" / "requirements.txt"], tmp_path)
        rng = np.random.default_rng(5)
        masks = (rng.random((8, 6, 7)) > 0.6).astype(np.float32)
        logits = (rng.normal(size=(8, 6, 7)) * 2 + masks * 1.5).astype(np.float32)
        conditions = ["positive"] * 4 + ["silence", "noise", "offscreen", "unseen:rain"]
        np.savez(tmp_path / "frames.npz", logits=logits, masks=masks)
        script = textwrap.dedent(
            """
            import json, sys
            import evaluate
            import numpy as np

            try:
                import modeling_avs
            except ImportError:
                pass
            else:
                raise SystemExit("modeling_avs is installed")
            data = np.load("frames.npz")
            metric = evaluate.load(sys.argv[1])
            results = metric.compute(
                predictions=list(data["logits"]), references=list(data["masks"]), conditions=sys.argv[2].split(",")
            )
            from transformers import pipeline

            segmenter = pipeline("audio-visual-segmentation", model=sys.argv[3], trust_remote_code=True)
            frames = segmenter({"image": np.full((32, 32, 3), 90, np.uint8), "audio": np.zeros(32000), "sampling_rate": 16000})
            print(json.dumps({"metric": results, "frames": len(frames), "module": type(segmenter).__module__}))
            """
        )
        arguments = [exported / "robust_avs", ",".join(conditions), exported / "space" / "model"]
        output = run([venv, "-c", script, *arguments], tmp_path, HF_MODULES_CACHE=str(tmp_path / "modules"))
    finally:
        run([venv, "-m", "pip", "install", "-q", "--no-deps", wheel], tmp_path)
    remote = json.loads(output.strip().splitlines()[-1])
    evaluator = RobustAVSEvaluator()
    evaluator.update(torch.from_numpy(logits), torch.from_numpy(masks), conditions)
    assert json.dumps(remote["metric"], sort_keys=True) == json.dumps(evaluator.compute(), sort_keys=True)
    assert remote["frames"] == 2 and remote["module"].startswith("transformers_modules.")
