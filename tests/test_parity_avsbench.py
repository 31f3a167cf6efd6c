"""Full-size parity with the original AVSBench TPAVI implementation (fixtures in ../shared/reference/parity)."""

import importlib.util

import pytest
import torch
from safetensors.torch import load_file

from modeling_avs import AVSBenchForAudioVisualSegmentation
from modeling_avs.cli.main import main as cli_main
from modeling_avs.convert.convert_avsbench import convert_avsbench_state_dict

pytestmark = pytest.mark.slow


def synth_original(parity_dir, keys_file):
    spec = importlib.util.spec_from_file_location("synth_weights", parity_dir / "synth_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synth_state_dict(module.load_spec(parity_dir / keys_file))


def test_convert_cli_then_forward_matches_original(parity_dir, tmp_path):
    torch.save(synth_original(parity_dir, "avsbench_pvt_s4.keys.json"), tmp_path / "s4_best.pth")
    torch.save(synth_original(parity_dir, "vggish.keys.json"), tmp_path / "vggish-10086976.pth")
    status = cli_main(
        [
            "convert",
            "avsbench",
            "--checkpoint",
            str(tmp_path / "s4_best.pth"),
            "--vggish-checkpoint",
            str(tmp_path / "vggish-10086976.pth"),
            "--output",
            str(tmp_path / "converted"),
        ]
    )
    assert status == 0
    model = AVSBenchForAudioVisualSegmentation.from_pretrained(tmp_path / "converted").eval()
    fixture = load_file(parity_dir / "avsbench_pvt_s4.safetensors")
    vggish_fixture = load_file(parity_dir / "vggish.safetensors")
    with torch.no_grad():
        logits = model(pixel_values=fixture["frames"], audio_embeds=fixture["audio_embeds"]).logits
        embeddings = model.audio_encoder(vggish_fixture["log_mel"]).audio_embeds
    assert (logits - fixture["pred"]).abs().max().item() <= 1e-4
    assert (embeddings - vggish_fixture["embeddings"]).abs().max().item() <= 1e-4


def test_unexpected_original_key_is_rejected():
    original = {"encoder_backbone.patch_embed1.proj.weight": torch.zeros(64, 3, 7, 7), "decoder.extra": torch.zeros(1)}
    with pytest.raises(ValueError, match="decoder.extra"):
        convert_avsbench_state_dict(original)


def test_convert_cli_reports_bad_files(tmp_path, capsys):
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    assert cli_main(["convert", "avsbench", "--checkpoint", str(tmp_path / "missing.pth"), "--output", "x"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli_main(["convert", "avsbench", "--checkpoint", str(tmp_path / "broken.pth"), "--output", "x"]) == 2
    assert "broken.pth" in capsys.readouterr().err
