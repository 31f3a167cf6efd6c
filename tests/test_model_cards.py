"""`model_cards/` is the one home of the card templates: installed with the package and rendered by one function."""

from pathlib import Path

import pytest

from modeling_avs.model_cards import TEMPLATE_DIR, render_card

REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATES = ("dataset_card", "metric_card", "model_card", "space_card", "synthetic_dataset_card")


def test_every_card_template_is_installed_with_the_package():
    assert sorted(path.name for path in TEMPLATE_DIR.glob("*.jinja")) == [f"{name}.md.jinja" for name in TEMPLATES]
    assert (
        not list(REPOSITORY.glob("**/README_TEMPLATE*")) and not (REPOSITORY / "modeling_avs" / "model_cards").exists()
    )


def test_a_missing_value_is_an_error():
    with pytest.raises(Exception, match="seed"):
        render_card("dataset_card.md.jinja", card_data="license: other")
