"""`reproduce()`: the paper's experiment end to end on the synthetic S4 benchmark, for both architectures.

Phases: the data (in memory, deterministic from the seed); the shared encoders' class pretraining (once per output
folder); every trained row of every architecture, in worker processes (one intra-op thread each on a CPU, as many
processes as cores by default); then the report (`results.json`, `results.md`) and the figures. Each output is
written atomically; finished rows and encoders are reused by a rerun with the same settings, and an interrupted
training resumes from its last epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import datasets
import torch
import transformers
from tqdm.auto import tqdm

from ..atomic_files import remove_stale_temporaries, write_json_atomic, write_text_atomic
from ..pipelines.model_location import REPRODUCE_OUTPUT_DIR
from ..training.evaluation import Evaluation, evaluate_model
from .data import DATASET_ID, ReproductionData, data_for
from .encoders import ENCODERS, available_cores, load_encoders, pretrain_task, save_encoders
from .figures import write_figures
from .report import (
    architecture_markdown,
    architecture_summary,
    checks_markdown,
    schema_results,
    unseen_markdown,
)
from .sizes import ARCHITECTURES, SIZES
from .training import is_finished, load_row, new_model, train_row
from .variants import TRAINED_VARIANTS, VARIANTS, variant_recipe

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT_DIR = REPRODUCE_OUTPUT_DIR
# Longest first, so that the worker processes finish together: ours has twice the negatives, (a) has none.
TRAINING_ORDER = ("ours", "robust", "negatives_only", "baseline")


def reproduce(
    output_dir: str | Path = DEFAULT_OUTPUT_DIR,
    size: str = "small",
    architectures: tuple[str, ...] = ARCHITECTURES,
    unseen_audio: str | Path | None = None,
    seed: int = 42,
    progress: bool = True,
    jobs: int | None = None,
) -> dict:
    """
    Run the reproduction (see the module docstring) and return the content of `results.json`.

    Args:
        output_dir: output folder (created; finished rows in it are reused).
        size: `"smoke"` (tests), `"small"` (default, CPU) or `"paper"` (GPU), see `SIZES`.
        architectures: `"avsbench"` and/or `"avsegformer"`.
        unseen_audio: a folder of real clips evaluated as unseen sounds besides the built-in held-out categories.
        seed: seed of the data, the initialisations and the negative draws.
        progress: show progress bars.
        jobs: rows trained at once, each in its own process (default [`default_jobs`]); the results do not depend
            on it. Worker processes are spawned, so a script calling this with `jobs > 1` needs the usual
            `if __name__ == "__main__":` guard.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    unknown = [name for name in architectures if name not in ARCHITECTURES]
    if unknown or not architectures:
        raise ValueError(f"architectures must be a non-empty subset of {ARCHITECTURES}, got {list(architectures)}")
    architectures = tuple(name for name in ARCHITECTURES if name in architectures)
    jobs = default_jobs(size) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    scale = SIZES[size]
    scale.limit_threads()
    start = time.perf_counter()
    phases: dict[str, float] = {}
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    unseen_audio = Path(unseen_audio) if unseen_audio is not None else None

    tasks = [
        (architecture, name)
        for name in TRAINING_ORDER
        for architecture in architectures
        if name in TRAINED_VARIANTS and not is_finished(output, scale, seed, architecture, name)
    ]
    stages = tqdm(total=len(tasks) + 3, desc="reproduce", unit="stage", disable=not progress)
    stages.set_postfix_str("data")
    data = data_for(scale, seed, unseen_audio)
    phases["data_s"] = _lap(start)
    stages.update()
    workers = min(jobs, max(len(tasks), len(ENCODERS)))
    pool = _worker_pool(workers) if workers > 1 else None
    with pool or contextlib.nullcontext():
        stages.set_postfix_str("pretraining the shared encoders")
        encoders = load_encoders(output, scale, seed)
        if encoders is None:  # each encoder on its own core, or one after the other on every core
            calls = {name: (pretrain_task, size, seed, unseen_audio, name, pool is None) for name in ENCODERS}
            encoders = save_encoders(output, scale, seed, _run(calls, pool, stages))
        phases["encoder_pretraining_s"] = _lap(start, phases)
        stages.update()
        calls = {
            f"{architecture} {name}": (
                train_row,
                size,
                seed,
                unseen_audio,
                output,
                architecture,
                name,
                progress and pool is None,
            )
            for architecture, name in tasks
        }
        _run(calls, pool, stages, count=True)
    phases["training_s"] = _lap(start, phases)

    stages.set_postfix_str("report and figures")
    summary = _report(output, size, seed, architectures, data, encoders, unseen_audio)
    phases["report_s"] = _lap(start, phases)
    summary.update(phases=phases, wall_time_s=time.perf_counter() - start, jobs=jobs)
    write_json_atomic(output / "results.json", summary)
    stages.update()
    stages.close()
    return summary


def default_jobs(size: str) -> int:
    """Rows trained at once by default: one process per core for the one-thread CPU sizes (each row on one
    core), else 1 (a GPU, or sizes that use every core themselves)."""
    if SIZES[size].cpu_threads is None or torch.cuda.is_available():
        return 1
    return available_cores()


def _lap(start: float, phases: dict[str, float] | None = None) -> float:
    """Seconds since `start` not yet counted in `phases`."""
    return time.perf_counter() - start - sum((phases or {}).values())


def _run(calls: dict[str, tuple], pool: ProcessPoolExecutor | None, stages: tqdm, count: bool = False) -> dict:
    """
    Run `calls` (`{label: (function, *arguments)}`) in the worker processes of `pool`, or one after the other here
    when there is no pool; return `{label: result}` (a worker's error is raised here). With `count`, the progress
    bar advances with each finished call.
    """
    results = {}
    if pool is None:
        for label, (function, *arguments) in calls.items():
            stages.set_postfix_str(label)
            results[label] = function(*arguments)
            stages.update(int(count))
        return results
    futures = {pool.submit(*call): label for label, call in calls.items()}
    pending = list(calls)
    stages.set_postfix_str(f"{len(pending)} in worker processes")
    for future in as_completed(futures):
        results[futures[future]] = future.result()  # re-raises a worker's error
        pending.remove(futures[future])
        stages.set_postfix_str(f"{len(pending)} left")
        stages.update(int(count))
    return results


def _quiet_worker() -> None:
    """Initializer of the worker processes: the main process shows the progress, workers print nothing."""
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def _worker_pool(workers: int) -> ProcessPoolExecutor | None:
    """`workers` spawned worker processes (no fork of a process holding OpenMP threads), or None where this
    platform cannot start them (no working semaphores, e.g. a container without /dev/shm): the rows then train
    one after the other, with the same results."""
    try:
        return ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _quiet_worker)
    except (ImportError, NotImplementedError, OSError) as error:
        logger.warning("cannot start worker processes (%s); training the rows one after the other", error)
        return None


def _report(
    output: Path,
    size: str,
    seed: int,
    architectures: tuple[str, ...],
    data: ReproductionData,
    encoders: dict,
    unseen_audio: Path | None,
) -> dict:
    """Write `results.md` and the figures from the saved rows; return the content of `results.json`."""
    scale = SIZES[size]
    summaries, evaluations, before = {}, {}, {}
    for architecture in architectures:
        rows, details, evaluations[architecture] = {}, {}, {}
        for variant in VARIANTS:
            evaluation, training = load_row(output, architecture, variant.name)
            evaluations[architecture][variant.name] = evaluation
            rows[variant.name] = schema_results(evaluation.results)
            details[variant.name] = {
                "training": training,
                "mean_pair_score": {
                    condition: float(torch.sigmoid(torch.tensor(values)).mean())
                    for condition, values in evaluation.similarities.items()
                    if values
                },
                "gate": evaluation.gate,
            }
        summaries[architecture] = architecture_summary(architecture, rows, details)
        before[architecture] = _initial_similarities(architecture, scale, seed, data, encoders)
    markdown = [f"# AVSBench-Robust reproduction ({scale.name}, seed {seed})", ""]
    for architecture, summary in summaries.items():
        markdown += architecture_markdown(architecture, summary)
    markdown += unseen_markdown(summaries, data.builtin_unseen, data.real_unseen)
    checks = {architecture: summary.pop("checks") for architecture, summary in summaries.items()}
    markdown += checks_markdown(checks)
    write_text_atomic(output / "results.md", "\n".join(markdown))
    write_figures(output, data, evaluations, before)
    return {
        "size": {key: value for key, value in asdict(scale).items() if key != "model_configs"},
        "seed": seed,
        "dataset": DATASET_ID,
        "protocol": "dataset",
        "unseen_sounds": {"builtin": list(data.builtin_unseen), "real": list(data.real_unseen)},
        "unseen_audio_dir": None if unseen_audio is None else str(unseen_audio),
        "architectures": summaries,
        "checks": checks,
        "all_checks_passed": all(check["passed"] for entries in checks.values() for check in entries.values()),
    }


def _initial_similarities(architecture: str, scale, seed: int, data: ReproductionData, encoders: dict) -> Evaluation:
    """The similarities of the paper's method (c) at its initialisation (the "before" panel of Fig. 4)."""
    model = new_model(architecture, variant_recipe(architecture, scale, "robust"), scale, seed, encoders)
    data.featurizer.audio_encoder = model.audio_encoder  # the shared frozen encoder: its embeddings are cached
    return evaluate_model(model, data.evaluation_sources()[:1], 4 * scale.batch_size)


__all__ = ["DEFAULT_OUTPUT_DIR", "default_jobs", "reproduce"]
