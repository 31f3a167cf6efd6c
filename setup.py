"""Packaging for modeling-avs: robust audio-visual segmentation for the Hugging Face ecosystem."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# The version is written once, in modeling_avs/__init__.py.
VERSION = re.search(r'^__version__ = "([^"]+)"$', (HERE / "modeling_avs" / "__init__.py").read_text(), re.M)[1]

# Versions resolved on the reference machine are the lower bounds; upper bounds stop at the next major
# release, whose API we have not tested.
INSTALL_REQUIRES = [
    "torch>=2.4,<3",
    "torchvision>=0.19",
    "transformers>=5.23.0,<6",
    "huggingface_hub>=1.0,<3",
    "timm>=1.0.31,<2",
    "safetensors>=0.4",
    "numpy>=1.26",
    "scipy>=1.11",
    "soxr>=0.5",
    "soundfile>=0.12",
    "pillow>=10",
    "datasets>=5.2.0,<6",
    "accelerate>=1.15.0,<2",
    "evaluate>=0.4.6,<0.5",
    "matplotlib>=3.8",
    "tqdm>=4.66",
    "jinja2>=3.1",
    "pyarrow>=15",
    "pyyaml>=6",
]

EXTRAS = {
    "audio": ["av>=14"],
    "space": ["gradio>=6.31.0,<7", "av>=14"],
    "dev": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "ruff>=0.6",
        "av>=14",
        "gradio>=6.31.0,<7",
        "gradio_client>=1.0",
        "playwright>=1.45",
    ],
}

setup(
    name="modeling-avs",
    version=VERSION,
    description="Robust audio-visual segmentation (AVSBench-TPAVI, AVSegFormer, AVSBench-Robust) for transformers",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],
    python_requires=">=3.10",
    # The card templates live in the top-level folder model_cards/ and install as the package modeling_avs.model_cards.
    packages=[*find_packages(include=["modeling_avs", "modeling_avs.*"]), "modeling_avs.model_cards"],
    package_dir={"modeling_avs.model_cards": "model_cards"},
    include_package_data=True,
    package_data={
        "modeling_avs": ["**/*.txt", "**/*.json", "**/*.wav"],
        "modeling_avs.model_cards": ["*.jinja"],
    },
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["avs-robust=modeling_avs.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
