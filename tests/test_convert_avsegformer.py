import json

import pytest
import torch

from modeling_avs import AVSegFormerForAudioVisualSegmentation
from modeling_avs.cli.main import main
from modeling_avs.convert.convert_avsegformer import config_for_original, convert_avsegformer_state_dict


@pytest.fixture(scope="module")
def original_meta_state_dict(parity_dir) -> dict[str, torch.Tensor]:
    """The robust checkpoint's 1,415 keys and shapes as meta tensors (no memory, no weights)."""
    spec = json.loads((parity_dir / "avsegformer_robust_pvt_s4.keys.json").read_text())["keys"]
    return {
        key: torch.empty(shape, dtype=getattr(torch, dtype.split(".")[1]), device="meta") for key, shape, dtype in spec
    }


def meta_model(original):
    with torch.device("meta"):
        return AVSegFormerForAudioVisualSegmentation(config_for_original(original))


def test_robust_checkpoint_covers_every_model_tensor(original_meta_state_dict):
    converted = convert_avsegformer_state_dict(original_meta_state_dict)
    expected = {key: tensor.shape for key, tensor in meta_model(original_meta_state_dict).state_dict().items()}
    assert {key: tensor.shape for key, tensor in converted.items()} == expected
    dropped = [key for key in original_meta_state_dict if key.startswith(("head.fpn.", "head.attn_fc."))]
    # Fused attention projections become three tensors each: query generator 6 layers × 2 attentions × weight
    # (bias-free), decoder 6 layers × 2 attentions × (weight, bias).
    assert len(dropped) == 11 and len(converted) == 1415 - 11 + 6 * 2 * 2 + 6 * 2 * 2 * 2
    assert converted["mask_mlp.layers.1.weight"].shape == (2048, 2048)
    assert converted["decoder.layers.0.encoder_attn.k_proj.bias"].shape == (256,)


def test_plain_avsegformer_checkpoint_leaves_only_the_similarity_head_new(original_meta_state_dict):
    plain = {k: v for k, v in original_meta_state_dict.items() if not k.startswith("cosine_sim.")}
    converted = convert_avsegformer_state_dict(plain)
    missing = set(meta_model(plain).state_dict()) - set(converted)
    assert missing == {"similarity_head.audio_proj.weight", "similarity_head.audio_proj.bias"}


def test_config_for_original_reads_sizes(original_meta_state_dict):
    config = config_for_original(original_meta_state_dict)
    assert (config.num_queries, config.hidden_size, config.encoder_layers, config.decoder_layers) == (300, 256, 6, 6)
    assert (config.query_generator_layers, config.mask_mlp_dim, config.use_learnable_queries) == (6, 2048, True)


def test_unexpected_keys_are_errors():
    with pytest.raises(ValueError, match="not an AVSegFormer checkpoint"):
        config_for_original({"conv1.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="unexpected key 'head.extra.weight'"):
        convert_avsegformer_state_dict({"head.extra.weight": torch.zeros(1)})


def test_cli_reports_bad_checkpoints(tmp_path, capsys):
    bad = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(2)}, bad)
    assert main(["convert", "avsegformer", "--checkpoint", str(bad), "--output", str(tmp_path / "out")]) == 2
    assert "not an AVSegFormer checkpoint" in capsys.readouterr().err
    missing = tmp_path / "missing.pth"
    assert main(["convert", "avsegformer", "--checkpoint", str(missing), "--output", str(tmp_path / "out")]) == 2
    assert "no such file" in capsys.readouterr().err
