"""Bad inputs and interrupted jobs (issue 17): one test per root cause found by probing the CLI, the Python API and the
Space as a hostile user would. Each asserts the specific message, or the correct output, at the layer that owns the
check: media decoding, the image processor, the feature extractor, the models' input checks, model loading, the CLI's
argument checks, the dataset builder, checkpoint resumption and the atomic writers."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from avsbench_tree import make_s4_tree
from conftest import tiny_avsbench_config, tiny_avsegformer_config
from inference_media import tone, write_png, write_wav
from PIL import Image
from training_helpers import TINY_IMAGE_SIZE, tiny_model_config

from modeling_avs import (
    AVSBenchForAudioVisualSegmentation,
    AVSegFormerForAudioVisualSegmentation,
    AVSImageProcessor,
    VGGishFeatureExtractor,
    VGGishModel,
)
from modeling_avs.atomic_files import atomic_directory, write_json_atomic
from modeling_avs.cli.evaluate_masks import _read_prediction
from modeling_avs.cli.main import CLIError, main
from modeling_avs.data import AVSBenchLayoutError, build_avsbench_robust
from modeling_avs.media import MediaError, MediaLimits, MediaWarning, read_image, read_video
from modeling_avs.model_files import ModelFilesError
from modeling_avs.pipelines import load_segmenter
from modeling_avs.training.checkpoints import last_complete_checkpoint

REPOSITORY = Path(__file__).resolve().parents[1]
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\nshowpage\n%%EOF\n"


@pytest.fixture(scope="module")
def segmenter(tiny_avs_model_dir):
    return load_segmenter(tiny_avs_model_dir, device="cpu")


def dead_pid() -> int:
    """The id of a process that has exited (the writer of a leftover temporary file)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def save_grey16(path: Path, value: int, size: int = 16) -> Path:
    Image.fromarray(np.full((size, size), value, np.uint16)).save(path)
    assert Image.open(path).mode == "I;16"
    return path


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


# 1. 16-bit images are scaled to 8 bits, not clipped at 255.


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    path = save_grey16(tmp_path / "grey16.png", 1000)  # 1000 / 65535 of full scale: almost black
    assert (read_image(path) == 4).all()  # 1000 / 257 = 3.9; `convert("RGB")` gave 255 (white)
    with Image.open(path) as image:
        pixels = AVSImageProcessor(size={"height": 32, "width": 32})(image, return_tensors="pt")["pixel_values"]
    expected = (4 / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    torch.testing.assert_close(pixels[0, :, 0, 0], torch.tensor(expected, dtype=torch.float32))


# 2. Degenerate image sizes.


@pytest.mark.parametrize("height, width", [(1, 1), (1, 20000), (0, 0), (4, 64)])
@pytest.mark.parametrize("kind", ["pil", "array"])
def test_degenerate_image_sizes_are_a_clear_error(height, width, kind):
    array = np.zeros((height, width, 3), np.uint8)
    image = Image.fromarray(array) if kind == "pil" else array
    with pytest.raises(ValueError, match="frame 0 is .* pixels .*frames need at least 8 pixels per side"):
        AVSImageProcessor()(image, return_tensors="pt")


def test_degenerate_image_file_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match=r"image file tiny\.png is 1x1 pixels"):
        read_image(write_png(tmp_path / "tiny.png", 1, 1))


# 3 and 4. Broken model folders: one sentence naming the file and the likely cause.


@pytest.fixture
def broken_model(tiny_avs_model_dir, tmp_path):
    def make(damage: str) -> Path:
        folder = tmp_path / damage
        shutil.copytree(tiny_avs_model_dir, folder)
        weights = folder / "model.safetensors"
        data = weights.read_bytes()
        if damage == "truncated":
            weights.write_bytes(data[: len(data) // 2])
        elif damage == "empty":
            weights.write_bytes(b"")
        elif damage == "garbage":
            weights.write_bytes(b"not safetensors at all" * 100)
        elif damage == "bad header":
            weights.write_bytes(b"\xff" * 8 + data[8:])
        elif damage == "no weights":
            weights.unlink()
        elif damage == "other shapes":
            other = AVSBenchForAudioVisualSegmentation(tiny_avsbench_config(num_frames=5, hidden_size=8))
            other.save_pretrained(tmp_path / "other")
            shutil.copy(tmp_path / "other" / "model.safetensors", weights)
        return folder

    return make


CORRUPT = {
    "truncated": "probably truncated or corrupt",
    "empty": "probably truncated or corrupt",
    "garbage": "probably truncated or corrupt",
    "bad header": "probably truncated or corrupt",
}


@pytest.mark.parametrize("damage", list(CORRUPT))
def test_corrupt_weights_file_is_one_sentence_naming_it(broken_model, damage, tmp_path, capfd):
    from transformers import AutoModel

    folder = broken_model(damage)
    weights = str(folder / "model.safetensors")
    for load in (AutoModel.from_pretrained, AVSBenchForAudioVisualSegmentation.from_pretrained, load_segmenter):
        with pytest.raises(OSError) as error:  # a ModelFilesError, or the same message from the location check
            load(folder)
        message = str(error.value)
        assert message.startswith(f"{weights} is not a readable safetensors file") and CORRUPT[damage] in message
        assert "\n" not in message
    image = write_png(tmp_path / "frame.png", 32, 32)
    capfd.readouterr()
    assert main(["segment", str(image), "--model", str(folder), "--output", str(tmp_path / "out")]) == 2
    captured = capfd.readouterr()
    lines = error_lines(captured.err)
    assert len(lines) == 1 and weights in lines[0] and "Traceback" not in captured.err


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no weights", "has no weights file (model.safetensors): it was saved or copied without its weights"),
        ("other shapes", "do not fit its config.json: 117 tensor(s) have other shapes"),
    ],
)
def test_model_folder_without_weights_or_with_other_shapes(broken_model, tmp_path, damage, message, capfd):
    from transformers import AutoModel

    folder = broken_model(damage)
    with pytest.raises(ModelFilesError, match=re.escape(message)):
        AutoModel.from_pretrained(folder)
    image = write_png(tmp_path / "frame.png", 32, 32)
    capfd.readouterr()
    assert main(["segment", str(image), "--model", str(folder), "--output", str(tmp_path / "out")]) == 2
    captured = capfd.readouterr()
    lines = error_lines(captured.err)
    assert len(lines) == 1 and message in lines[0] and str(folder) in lines[0]
    assert "Traceback" not in captured.err + captured.out and "MISMATCH" not in captured.err + captured.out


# 5. Audio longer than the limit, with an image: the truncation is reported like a long video's.


def test_long_audio_with_an_image_is_truncated_with_a_warning(segmenter, tiny_avs_model_dir, tmp_path, capsys):
    image = write_png(tmp_path / "frame.png", 32, 32)
    audio = write_wav(tmp_path / "long.wav", 7.0)
    with pytest.warns(MediaWarning, match="longer than 3 s; only its first 3 s are used"):
        assert len(segmenter(str(image), audio=str(audio), max_seconds=3)) == 3
    with pytest.warns(MediaWarning, match="longer than 3 s"):
        assert len(segmenter(str(image), audio=tone(7.0), sampling_rate=16000, max_seconds=3)) == 3
    output = tmp_path / "out"
    arguments = ["segment", str(image), "--audio", str(audio), "--model", str(tiny_avs_model_dir)]
    assert main([*arguments, "--max-seconds", "3", "--output", str(output), "--overlay", "none"]) == 0
    report = json.loads((output / "scores.json").read_text())
    assert len(report["frames"]) == 3 and "longer than 3 s" in report["warnings"][0]


# 6. Output arguments are checked before any work.


@pytest.mark.parametrize(
    "output, message",
    [
        ("{file}", "--output {file} is a file; pass a folder"),
        ("{file}/out", "--output {file}/out: {file} is a file, not a folder"),
        ("/proc/avs-robust-output", "--output /proc/avs-robust-output: cannot write in /proc"),
        ("{foreign}", "holds files that are not results of avs-robust segment"),
    ],
)
def test_segment_output_is_checked_before_the_model_is_loaded(tmp_path, capsys, output, message):
    if output.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("needs Linux's /proc, where nobody can create files")
    paths = {"file": tmp_path / "notes.txt", "foreign": tmp_path / "mine"}
    paths["file"].write_text("mine")
    paths["foreign"].mkdir()
    (paths["foreign"] / "thesis.tex").write_text("mine")
    image = write_png(tmp_path / "frame.png", 32, 32)
    # No model exists at --model: the output check must come first.
    code = main(["segment", str(image), "--model", str(tmp_path / "no-model"), "--output", output.format(**paths)])
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and message.format(**paths) in lines[0]
    assert (paths["foreign"] / "thesis.tex").read_text() == "mine"


def test_segment_output_may_not_be_the_current_folder(tmp_path, capsys, monkeypatch):
    image = write_png(tmp_path / "frame.png", 32, 32)
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    for output in (".", ".."):
        assert main(["segment", str(image), "--model", str(tmp_path / "no-model"), "--output", output]) == 2
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1 and f"--output {output} is the current folder or holds it" in lines[0]


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--plot", "{tmp}/bars.xyz", "--plot {tmp}/bars.xyz: unsupported file type .xyz; use one of .png, .pdf, .svg"),
        ("--output", "{tmp}", "--output {tmp} is a folder; pass a file name"),
        ("--output", "{tmp}/notes.txt/results.json", "{tmp}/notes.txt is a file, not a folder"),
    ],
)
def test_evaluate_masks_outputs_are_checked_before_any_work(tmp_path, capsys, option, value, message):
    (tmp_path / "notes.txt").write_text("mine")
    arguments = ["evaluate-masks", "--predictions", str(tmp_path), "--dataset", str(tmp_path / "no-dataset")]
    code = main([*arguments, "--input-type", "binary", option, value.format(tmp=tmp_path)])
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and message.format(tmp=tmp_path) in lines[0]


# 7, 8 and 9. Audio arguments and samples.


@pytest.mark.parametrize("sampling_rate", [0, -16000, "16000", 16000.5, True])
def test_sampling_rate_must_be_a_positive_integer(segmenter, sampling_rate):
    message = r"`sampling_rate` must be a positive integer \(Hz\), got"
    with pytest.raises(ValueError, match=message):
        VGGishFeatureExtractor()(tone(1.0), sampling_rate=sampling_rate)
    with pytest.raises(ValueError, match=message):
        segmenter(np.zeros((32, 32, 3), np.uint8), audio=tone(1.0), sampling_rate=sampling_rate)


def test_an_integral_float_sampling_rate_is_accepted():
    features = VGGishFeatureExtractor()(tone(2.0), sampling_rate=16000.0, num_examples=2)["input_features"]
    np.testing.assert_array_equal(features, VGGishFeatureExtractor()(tone(2.0), 16000, 2)["input_features"])


@pytest.mark.parametrize("num_examples", [-3, 0, 2.5, "5"])
def test_num_examples_must_be_positive(num_examples):
    message = "`num_examples` must be a positive integer or None"
    with pytest.raises(ValueError, match=message):
        VGGishFeatureExtractor()(tone(3.0), sampling_rate=16000, num_examples=num_examples)
    with pytest.raises(ValueError, match=message):
        VGGishFeatureExtractor(num_examples=num_examples)


def test_complex_audio_is_an_error():
    with pytest.raises(ValueError, match="audio samples must be real numbers .* got dtype complex128"):
        VGGishFeatureExtractor()(tone(1.0).astype(np.complex128), sampling_rate=16000)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_frame_is_an_error(segmenter, value):
    frame = np.full((32, 32, 3), value, np.float32)
    with pytest.raises(ValueError, match="frame 1 contains NaN or infinite values"):
        segmenter({"frames": [np.zeros((32, 32, 3), np.float32), frame], "audio": tone(2.0), "sampling_rate": 16000})
    with pytest.raises(ValueError, match="frame 0 contains NaN or infinite values"):
        AVSImageProcessor()(frame, return_tensors="pt")


def test_frame_values_outside_the_8_bit_range_are_an_error_not_clipped(segmenter):
    normalised = np.random.default_rng(0).normal(size=(32, 32, 3)).astype(np.float32)  # e.g. already normalised
    with pytest.raises(ValueError, match=r"the image has values in \[.*\]; pass uint8 RGB"):
        segmenter(normalised, audio=tone(1.0), sampling_rate=16000)


# 10. An empty batch.


def test_empty_input_list_is_a_clear_error(segmenter):
    with pytest.raises(ValueError, match="`inputs` is an empty list"):
        segmenter([], audio=tone(1.0), sampling_rate=16000)


# 11, 12 and 13. The models' input checks.

ARCHITECTURES = {
    "avsbench": (AVSBenchForAudioVisualSegmentation, tiny_avsbench_config),
    "avsegformer": (AVSegFormerForAudioVisualSegmentation, tiny_avsegformer_config),
}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def model(request):
    model_class, config = ARCHITECTURES[request.param]
    torch.manual_seed(0)
    return model_class(config(num_frames=1)).eval()


@pytest.mark.parametrize("height, width", [(50, 50), (48, 80), (16, 16), (33, 64)])
def test_forward_rejects_sizes_that_are_not_multiples_of_32(model, height, width):
    with pytest.raises(ValueError, match=rf"`pixel_values` frames are {height}x{width} .* multiples of 32"):
        model(pixel_values=torch.zeros(1, 3, height, width), audio_embeds=torch.zeros(1, 128))


@pytest.mark.parametrize("height, width", [(32, 32), (64, 96)])
def test_logits_have_the_size_of_the_frames(model, height, width):
    with torch.no_grad():
        logits = model(pixel_values=torch.zeros(1, 3, height, width), audio_embeds=torch.zeros(1, 128)).logits
    assert logits.shape == (1, 1, height, width)


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"pixel_values": torch.zeros(1, 3, 32, 32, dtype=torch.uint8)}, "`pixel_values` has dtype torch.uint8"),
        ({"pixel_values": torch.zeros(1, 3, 32, 32, dtype=torch.float64)}, "but the model runs in torch.float32"),
        ({"pixel_values": np.zeros((1, 3, 32, 32), np.float32)}, "`pixel_values` must be a torch.Tensor"),
        ({"pixel_values": torch.zeros(0, 3, 32, 32), "audio_embeds": torch.zeros(0, 128)}, "holds no frames"),
        ({"audio_embeds": np.zeros((1, 128), np.float32)}, "`audio_embeds` must be a torch.Tensor"),
        ({"audio_embeds": None, "input_features": np.zeros((1, 1, 96, 64))}, "`input_features` must be a torch"),
        ({"labels": np.zeros((1, 32, 32))}, "`labels` must be a torch.Tensor"),
    ],
)
def test_forward_rejects_wrong_types_dtypes_and_empty_batches(model, inputs, message):
    kwargs = {"pixel_values": torch.zeros(1, 3, 32, 32), "audio_embeds": torch.zeros(1, 128), **inputs}
    with pytest.raises(ValueError, match=message):
        model(**kwargs)


def test_vggish_rejects_numpy_and_empty_input():
    encoder = VGGishModel(tiny_avsbench_config().audio_config)
    with pytest.raises(ValueError, match="`input_features` must be a torch.Tensor"):
        encoder(np.zeros((1, 1, 96, 64), np.float32))
    with pytest.raises(ValueError, match="`input_features` holds no frames"):
        encoder(torch.zeros(0, 1, 96, 64))


# 14. evaluate-masks reads each kind of prediction image explicitly.


def test_16_bit_and_float_probabilities_read_like_8_bit(tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (6, 7)).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "p8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "p16.png")
    Image.fromarray(grey.astype(np.float32) / 255).save(tmp_path / "pf.tif")
    expected = grey.astype(np.float32) / 255
    for name in ("p8.png", "p16.png", "pf.tif"):
        np.testing.assert_allclose(_read_prediction(tmp_path / name, "probabilities"), expected, atol=1e-6)
    binary = _read_prediction(tmp_path / "p16.png", "binary")  # non-zero is foreground at any bit depth
    np.testing.assert_array_equal(binary, grey != 0)


@pytest.mark.parametrize(
    "image, input_type, message",
    [
        (Image.fromarray(np.full((4, 4), 2.5, np.float32)), "probabilities", r"values in \[2.5, 2.5\]"),
        (Image.fromarray(np.full((4, 4), 0.3, np.float32)), "binary", "values other than 0 and 1"),
        (Image.fromarray(np.dstack([np.full((4, 4), v, np.uint8) for v in (9, 0, 0)])), "probabilities", "RGB image"),
        (Image.new("P", (4, 4)), "probabilities", "P image"),
    ],
)
def test_ambiguous_prediction_images_are_an_error(tmp_path, image, input_type, message):
    path = tmp_path / "0.tif"
    image.save(path)
    with pytest.raises(CLIError, match=message) as error:
        _read_prediction(path, input_type)
    assert str(path) in str(error.value)


# 15. The dataset builder: non-finite audio and CSVs that are not UTF-8.


def test_builder_rejects_non_finite_audio_naming_the_file(tmp_path):
    root = tmp_path / "avsbench"
    rows = make_s4_tree(root, {"train": 1, "val": 1, "test": 1})
    name, category, split = rows[0]
    wav = root / "Single-source" / "s4_data" / "audio_wav" / split / category / f"{name}.wav"
    waveform = tone(1.0)
    waveform[100:200] = np.nan
    sf.write(wav, waveform, 16000, subtype="FLOAT")
    with pytest.raises(AVSBenchLayoutError, match=rf"{name}.wav contains NaN or infinite samples"):
        build_avsbench_robust(root, "s4", tmp_path / "out")
    result = build_avsbench_robust(root, "s4", tmp_path / "skipped", skip_invalid=True)
    assert f"{name}.wav contains NaN" in json.dumps(result.skipped)


def test_builder_names_a_csv_that_is_not_utf8(tmp_path):
    root = tmp_path / "avsbench"
    make_s4_tree(root, {"train": 1, "val": 1, "test": 1})
    csv_path = root / "Single-source" / "s4_meta_data.csv"
    csv_path.write_bytes(csv_path.read_bytes() + "caf\u00e9,0,dog_barking,train\n".encode("latin-1"))
    with pytest.raises(AVSBenchLayoutError, match=rf"{csv_path} is not UTF-8 text \(byte \d+: invalid"):
        build_avsbench_robust(root, "s4", tmp_path / "out")


# 16. A checkpoint interrupted while being saved is skipped.


def _checkpoint(folder: Path, step: int, state: str | None, weights: bytes | None = None) -> Path:
    checkpoint = folder / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    if weights is not None:
        (checkpoint / "model.safetensors").write_bytes(weights)
    if state is not None:
        (checkpoint / "trainer_state.json").write_text(state)
    return checkpoint


def test_the_newest_complete_checkpoint_is_used(tiny_avs_model_dir, tmp_path, caplog):
    weights = (tiny_avs_model_dir / "model.safetensors").read_bytes()
    complete = _checkpoint(tmp_path, 6, '{"global_step": 6}', weights)
    _checkpoint(tmp_path, 12, '{"global_step": 1', weights)  # killed while writing trainer_state.json
    _checkpoint(tmp_path, 18, None, weights[:1000])  # killed while writing the weights
    _checkpoint(tmp_path, 24, '{"global_step": 24}')  # killed while the rotation deleted it
    with caplog.at_level("WARNING", logger="modeling_avs.training.checkpoints"):
        assert last_complete_checkpoint(tmp_path) == str(complete)
    skipped = [record.getMessage() for record in caplog.records]
    assert len(skipped) == 3 and all(f"resuming from {complete}" in message for message in skipped)
    assert "no trainer_state.json" in skipped[1] and "trainer_state.json is truncated" in skipped[2]
    assert "no weights file" in skipped[0]


KILLED_IN_THE_SECOND_CHECKPOINT_SAVE = """
import os, signal, sys
from modeling_avs.cli.main import main
from modeling_avs.training.trainer import RobustAVSTrainer

save_scheduler = RobustAVSTrainer._save_optimizer_and_scheduler
saves = []


def save_then_die(self, output_dir):
    save_scheduler(self, output_dir)
    saves.append(output_dir)
    if len(saves) == 2:  # model and optimizer written, rng state and trainer_state.json not yet
        os.kill(os.getpid(), signal.SIGKILL)


RobustAVSTrainer._save_optimizer_and_scheduler = save_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_train_killed_during_a_checkpoint_save_resumes_from_the_last_complete_one(tmp_path):
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_model_config()), encoding="utf-8")
    output_dir = tmp_path / "run"
    arguments = [
        "train", "--recipe", "avsbench-s4", "--output-dir", str(output_dir), "--model-config", str(config_path),
        "--synthetic-videos", "8", "--image-size", str(TINY_IMAGE_SIZE), "--batch-size", "2", "--epochs", "2",
        "--no-eval", "--seed", "0",
    ]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPOSITORY)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_THE_SECOND_CHECKPOINT_SAVE, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    complete, partial = sorted(output_dir.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    assert (complete / "trainer_state.json").is_file()
    assert (partial / "optimizer.pt").is_file() and not (partial / "trainer_state.json").exists()
    steps = int(partial.name.split("-")[1])

    command = [sys.executable, "-m", "modeling_avs.cli.main", *arguments, "--resume"]
    resumed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"skipping the incomplete checkpoint {partial}" in resumed.stderr
    assert f"resuming from {complete}" in resumed.stderr
    assert json.loads((partial / "trainer_state.json").read_text())["global_step"] == steps  # saved again, complete
    assert (output_dir / "model.safetensors").is_file() and (output_dir / "README.md").is_file()


# 17. A full disk: one message, and `segment` leaves the complete results or the previous ones.


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_segment_on_a_full_disk_keeps_the_previous_results(tiny_avs_model_dir, tmp_path, capsys, monkeypatch):
    image = write_png(tmp_path / "frame.png", 32, 32)
    audio = write_wav(tmp_path / "sound.wav", 2.0)
    output = tmp_path / "out"
    arguments = ["segment", str(image), "--audio", str(audio), "--model", str(tiny_avs_model_dir)]
    (output / "masks").mkdir(parents=True)
    (output / f".scores.json.{dead_pid()}-0123abcd.tmp").write_text("{")  # a killed write of an earlier version
    assert main([*arguments, "--output", str(output)]) == 0
    assert sorted(path.name for path in output.iterdir()) == ["masks", "overlay.gif", "scores.json"]
    previous = {path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()}
    capsys.readouterr()

    monkeypatch.setattr("modeling_avs.cli.segment.write_json_atomic", _disk_full)  # scores.json is written last
    assert main([*arguments, "--max-seconds", "1", "--output", str(output)]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and f"no space left on the disk of --output {output}" in lines[0]
    assert "previous content of the folder is unchanged" in lines[0]
    assert {path.relative_to(output): path.read_bytes() for path in output.rglob("*") if path.is_file()} == previous
    assert sorted(path.name for path in tmp_path.iterdir()) == ["frame.png", "out", "sound.wav"]  # no partial folder


def test_make_synthetic_on_a_full_disk_is_one_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("pyarrow.parquet.write_table", _disk_full)
    code = main(["make-synthetic", "--num-videos", "2", "--image-size", "32", "--output", str(tmp_path / "data")])
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "no space left on the disk of --output" in lines[0] and "rerun resumes" in lines[0]


# 18. What killed writers leave behind is removed by the next run.


def test_leftovers_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    pid = dead_pid()
    stale = tmp_path / f".results.json.{pid}-0123abcd.tmp"
    stale.write_text('{"partial"')
    stale_folder = tmp_path / f".out.{pid}-89abcdef.tmp"
    (stale_folder / "masks").mkdir(parents=True)
    alive = tmp_path / f".results.json.{os.getpid()}-0123abcd.tmp"  # a write in progress in this process
    alive.write_text("")
    write_json_atomic(tmp_path / "results.json", {"ok": True})
    assert not stale.exists() and alive.exists()
    with atomic_directory(tmp_path / "out"):  # e.g. `avs-robust segment --output out`, killed before
        pass
    assert not stale_folder.exists() and (tmp_path / "out").is_dir()


# 19. Only the supported image formats are opened: an EPS file named .png never reaches Pillow's EPS plugin.


def test_eps_named_png_never_reaches_the_eps_plugin(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    def fail(self):
        raise AssertionError("the EPS plugin ran")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", fail)
    eps = tmp_path / "photo.png"
    eps.write_bytes(EPS)
    with pytest.raises(MediaError, match=r"image file photo.png is not an image in a supported format \(PNG, JPEG"):
        read_image(eps)
    with pytest.raises(CLIError, match="is not an image in a supported format"):
        _read_prediction(eps, "binary")
    Image.new("RGB", (16, 16), (9, 9, 9)).save(tmp_path / "frame.tif")  # a supported format still opens
    assert (read_image(tmp_path / "frame.tif") == 9).all()


# 20. Messages name files, never their folder on the server, and never a raw errno.


def test_media_errors_name_the_file_not_its_folder_or_errno(segmenter, tmp_path):
    folder = tmp_path / "gradio" / "5fcd0775de3cffa8"
    folder.mkdir(parents=True)
    broken = folder / "broken.mp4"
    broken.write_text("not a video")
    for call in (lambda: read_video(broken), lambda: segmenter(str(broken))):
        with pytest.raises(MediaError) as error:
            call()
        message = str(error.value)
        assert message == (
            "cannot open video file broken.mp4 (unsupported or corrupt): Invalid data found when processing input"
        )
    image = write_png(folder / "huge.png", 8, 4000)
    with pytest.raises(MediaError, match=r"^huge.png has 4000x8 pixels per frame, more than the limit of 100 "):
        segmenter(str(image), limits=MediaLimits(max_pixels=100))
