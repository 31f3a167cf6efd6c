import pytest
import torch
from transformers.models.deformable_detr.modeling_deformable_detr import (
    MultiScaleDeformableAttention as TransformersMultiScaleDeformableAttention,
)

from modeling_avs.deformable_attention import (
    DEFORMABLE_ATTENTION_KERNELS,
    MultiScaleDeformableAttention,
    get_deformable_attention_kernel,
    multi_scale_deformable_attention,
    register_deformable_attention_kernel,
)

SPATIAL_SHAPES = [(9, 11), (5, 6), (3, 3)]


def random_inputs(dtype=torch.float64, batch=2, queries=17, heads=4, head_dim=8, points=3):
    generator = torch.Generator().manual_seed(0)
    length = sum(h * w for h, w in SPATIAL_SHAPES)
    levels = len(SPATIAL_SHAPES)
    value = torch.randn(batch, length, heads, head_dim, generator=generator, dtype=dtype)
    # Locations partly outside [0, 1] exercise the zero padding.
    locations = torch.rand(batch, queries, heads, levels, points, 2, generator=generator, dtype=dtype) * 1.4 - 0.2
    weights = torch.rand(batch, queries, heads, levels * points, generator=generator, dtype=dtype).softmax(-1)
    return value, locations, weights.view(batch, queries, heads, levels, points)


def transformers_reference(value, locations, weights):
    return TransformersMultiScaleDeformableAttention()(
        value, torch.tensor(SPATIAL_SHAPES), SPATIAL_SHAPES, None, locations, weights, 64
    )


def test_matches_transformers_multi_scale_deformable_attention_with_gradients():
    inputs = [tensor.requires_grad_() for tensor in random_inputs()]
    expected = transformers_reference(*inputs)
    output = multi_scale_deformable_attention(inputs[0], SPATIAL_SHAPES, inputs[1], inputs[2])
    assert output.shape == (2, 17, 4 * 8)
    torch.testing.assert_close(output, expected, atol=1e-12, rtol=0)
    cotangent = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, inputs, cotangent)
    grads = torch.autograd.grad(output, inputs, cotangent)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, atol=1e-12, rtol=0)


def test_matches_transformers_in_float32():
    value, locations, weights = random_inputs(dtype=torch.float32, batch=1, queries=40, heads=8, head_dim=32, points=4)
    expected = transformers_reference(value, locations, weights)
    output = multi_scale_deformable_attention(value, SPATIAL_SHAPES, locations, weights)
    torch.testing.assert_close(output, expected, atol=1e-5, rtol=0)


def test_sampling_at_pixel_centres_reads_the_values():
    # One level, one head, one point with weight 1 at the centre of pixel (row 1, col 2) of a 3×4 map.
    value = torch.arange(12.0).view(1, 12, 1, 1)
    locations = torch.tensor([(2 + 0.5) / 4, (1 + 0.5) / 3]).view(1, 1, 1, 1, 1, 2)
    output = multi_scale_deformable_attention(value, [(3, 4)], locations, torch.ones(1, 1, 1, 1, 1))
    assert output.item() == pytest.approx(6.0)


def test_module_uses_registered_kernel_and_rejects_unknown_names():
    calls = []

    def counting_kernel(value, spatial_shapes, locations, weights):
        calls.append(value.shape)
        return multi_scale_deformable_attention(value, spatial_shapes, locations, weights)

    register_deformable_attention_kernel("counting", counting_kernel)
    try:
        module = MultiScaleDeformableAttention(16, 2, 3, 2, implementation="counting")
        length = sum(h * w for h, w in SPATIAL_SHAPES)
        hidden = torch.randn(2, length, 16)
        reference = torch.rand(1, length, 3, 2)
        output = module(hidden, reference, hidden, SPATIAL_SHAPES)
        module.implementation = "pytorch"
        torch.testing.assert_close(output, module(hidden, reference, hidden, SPATIAL_SHAPES))
        assert calls == [(2, length, 2, 8)]
        module.implementation = "missing"
        with pytest.raises(ValueError, match="unknown deformable attention implementation 'missing'"):
            module(hidden, reference, hidden, SPATIAL_SHAPES)
        with pytest.raises(ValueError, match="do not describe 3 levels"):
            module(hidden, reference, hidden, SPATIAL_SHAPES[:2])
    finally:
        DEFORMABLE_ATTENTION_KERNELS.pop("counting")
    with pytest.raises(ValueError, match="reserved"):
        register_deformable_attention_kernel("pytorch", counting_kernel)
    assert get_deformable_attention_kernel("pytorch") is multi_scale_deformable_attention
