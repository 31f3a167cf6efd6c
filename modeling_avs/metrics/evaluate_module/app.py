"""Space entry point: the evaluate widget of the `robust_avs` module next to this file."""

from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(str(Path(__file__).with_name("robust_avs.py")))
launch_gradio_widget(module)
