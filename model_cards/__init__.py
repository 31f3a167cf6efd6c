"""The card templates of modeling-avs (Jinja), installed as the package `modeling_avs.model_cards`.

| template                          | card of                                                    | rendered by                                  |
|-----------------------------------|------------------------------------------------------------|----------------------------------------------|
| `model_card.md.jinja`             | a trained model                                            | `modeling_avs.training.model_card`           |
| `dataset_card.md.jinja`           | AVSBench-Robust built from AVSBench                        | `modeling_avs.data.avsbench_robust`          |
| `synthetic_dataset_card.md.jinja` | the synthetic AVSBench-Robust benchmark                    | `modeling_avs.data.synthetic`                |
| `space_card.md.jinja`             | the Gradio Space of `spaces_app/`                          | `modeling_avs.space_export`                  |
| `metric_card.md.jinja`            | the `robust_avs` evaluate module (also a Space)            | `modeling_avs.metrics.evaluate_module`       |

Cards with YAML metadata take it as `card_data` (YAML text without the `---` lines).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent


def render_card(template: str, **values) -> str:
    """
    Render the card template `template` (a file name of this package) with `values`; a value the template uses but
    is not given is an error.
    """
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    return environment.get_template(template).render(**values)


__all__ = ["TEMPLATE_DIR", "render_card"]
