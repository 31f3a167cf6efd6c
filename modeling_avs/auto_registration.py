"""Registration of the package's classes with transformers' Auto classes and pipeline registry.

`import modeling_avs` registers everything, but imports neither torch nor transformers (the `avs-robust` command
line starts in a fraction of a second): each registration waits for the transformers module that resolves it and
runs as soon as that module is imported (at once when it already is).

| transformers module                              | registers                                   |
|--------------------------------------------------|---------------------------------------------|
| `transformers.models.auto.configuration_auto`    | `AutoConfig`: vggish, avsbench, avsegformer |
| `transformers.models.auto.modeling_auto`         | `AutoModel`                                 |
| `transformers.models.auto.feature_extraction_auto` | `AutoFeatureExtractor`                    |
| `transformers.models.auto.image_processing_auto` | `AutoImageProcessor`                        |
| `transformers.models.auto.processing_auto`       | `AutoProcessor`                             |
| `transformers.pipelines`                         | the `audio-visual-segmentation` task        |

A registration imports the package's classes, whose modules import more of transformers, some of which import an
Auto module before they are complete (`transformers.modeling_layers` imports `AutoModel` before it defines the layer
class our models use). Registrations therefore run only when the outermost import of a transformers or
`modeling_avs` module has finished in the current thread; an import hook on `sys.meta_path` keeps that count and
removes itself once everything is registered.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading
import warnings
from collections.abc import Callable

WATCHED_PACKAGES = ("transformers", "modeling_avs")


def _register_configs() -> None:
    from transformers import AutoConfig

    for config_class in _config_classes():
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)


def _register_models() -> None:
    from transformers import AutoModel

    from .modeling_avsbench import AVSBenchForAudioVisualSegmentation
    from .modeling_avsegformer import AVSegFormerForAudioVisualSegmentation
    from .modeling_vggish import VGGishModel

    for model_class in (VGGishModel, AVSBenchForAudioVisualSegmentation, AVSegFormerForAudioVisualSegmentation):
        AutoModel.register(model_class.config_class, model_class, exist_ok=True)


def _register_feature_extractors() -> None:
    from transformers import AutoFeatureExtractor

    from .feature_extraction_vggish import VGGishFeatureExtractor

    for config_class in _config_classes():
        AutoFeatureExtractor.register(config_class, VGGishFeatureExtractor, exist_ok=True)


def _register_image_processors() -> None:
    from transformers import AutoImageProcessor

    from .image_processing_avs import AVSImageProcessor

    for config_class in _config_classes(segmentation_only=True):
        AutoImageProcessor.register(config_class, fast_image_processor_class=AVSImageProcessor, exist_ok=True)


def _register_processors() -> None:
    from transformers import AutoProcessor

    from .processing_avs import AVSProcessor

    for config_class in _config_classes(segmentation_only=True):
        AutoProcessor.register(config_class, AVSProcessor, exist_ok=True)


def _register_pipeline() -> None:
    from transformers import AutoModel
    from transformers.pipelines import PIPELINE_REGISTRY

    from .pipelines.audio_visual_segmentation import AUDIO_VISUAL_SEGMENTATION_TASK, AudioVisualSegmentationPipeline

    if AUDIO_VISUAL_SEGMENTATION_TASK not in PIPELINE_REGISTRY.get_supported_tasks():
        PIPELINE_REGISTRY.register_pipeline(
            AUDIO_VISUAL_SEGMENTATION_TASK,
            pipeline_class=AudioVisualSegmentationPipeline,
            pt_model=AutoModel,
            type="multimodal",
        )


def _config_classes(segmentation_only: bool = False) -> tuple[type, ...]:
    from .configuration_avsbench import AVSBenchConfig
    from .configuration_avsegformer import AVSegFormerConfig
    from .configuration_vggish import VGGishConfig

    segmentation = (AVSBenchConfig, AVSegFormerConfig)
    return segmentation if segmentation_only else (VGGishConfig, *segmentation)


REGISTRATIONS: dict[str, Callable[[], None]] = {
    "transformers.models.auto.configuration_auto": _register_configs,
    "transformers.models.auto.modeling_auto": _register_models,
    "transformers.models.auto.feature_extraction_auto": _register_feature_extractors,
    "transformers.models.auto.image_processing_auto": _register_image_processors,
    "transformers.models.auto.processing_auto": _register_processors,
    "transformers.pipelines": _register_pipeline,
}

_pending = dict(REGISTRATIONS)
_state = threading.local()  # per thread: `depth` of watched imports in progress, `running` registrations


def _run_pending() -> None:
    """Run the registrations whose transformers module is imported (none of them twice)."""
    if getattr(_state, "running", False):
        return
    _state.running = True
    try:
        for module_name, register in list(_pending.items()):
            # `pop` is atomic: of two threads, one runs the registration. No lock is held while it imports.
            if module_name in sys.modules and _pending.pop(module_name, None) is not None:
                try:
                    register()
                except Exception as error:  # never break the import that triggered it
                    warnings.warn(
                        f"modeling_avs could not register its classes with {module_name}: {error!r}",
                        RuntimeWarning,
                        stacklevel=2,
                    )
    finally:
        _state.running = False
    if not _pending:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(_HOOK)


class _ImportCompletionHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of every transformers / `modeling_avs` module found by the other
    finders so that pending registrations run when the outermost of those imports completes."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in WATCHED_PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # namespace packages, built-in importers: nothing to wrap
        execute = loader.exec_module

        def exec_module(module) -> None:
            _state.depth = getattr(_state, "depth", 0) + 1
            try:
                execute(module)
            finally:
                _state.depth -= 1
            if _state.depth == 0:
                _run_pending()

        loader.exec_module = exec_module  # this loader instance serves this one module
        return spec


_HOOK = _ImportCompletionHook()


def register_with_transformers() -> None:
    """Register now what transformers already imported, the rest when transformers imports it."""
    if _pending and _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
    _run_pending()


__all__ = ["REGISTRATIONS", "register_with_transformers"]
