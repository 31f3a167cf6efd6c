"""Train an AVSBench-TPAVI model with the AVSBench-Robust recipe from Python (what `avs-robust train` does).

Run from the repository root: `python examples/train_robust.py` (a few minutes on CPU with these small settings).
"""

import modeling_avs  # noqa: F401  (registers the architectures with the Auto classes)
from modeling_avs.data import make_synthetic_dataset
from modeling_avs.reproduction import small_model_config
from modeling_avs.training import (
    build_model,
    build_processor,
    build_trainer,
    get_recipe,
    training_arguments,
)

# The paper's S4 recipe (Adam 1e-4, 4 videos per step, BCE on the first frame), 10% negatives (silence and
# off-screen audio with empty masks) and the similarity loss (λ = 1), scaled down for a CPU.
recipe = get_recipe("avsbench-s4", image_size=32, num_epochs=3, learning_rate=1e-3, freeze_audio_encoder=False)
dataset = make_synthetic_dataset("s4", num_videos=64, image_size=32, seed=0)

model = build_model(recipe, small_model_config("avsbench") | {"num_frames": 5})  # a small PVT-v2 + VGGish (trained)
processor = build_processor(recipe.image_size)
args = training_arguments(recipe, "avs-robust-example", save_strategy="no", load_best_model_at_end=False)
trainer = build_trainer(recipe, model, processor, dataset["train"], dataset["validation"], args=args)
trainer.train()

metrics = trainer.evaluate()  # robust metrics of every condition of the validation split
print({key: round(value, 4) for key, value in metrics.items() if key.endswith(("g_miou", "g_fpr", "_fpr"))})
trainer.save_model("avs-robust-example")  # model + processor; `AutoModel.from_pretrained` loads it
