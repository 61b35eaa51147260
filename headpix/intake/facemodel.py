"""dlib's face models: HOG detector, 5-point landmarks, ResNet face descriptor.

The weights come from pip packages, never from the network: the detector is compiled into
dlib (``dlib-bin``), the two model files ship in ``face-recognition-models``. That package
also holds the 68-point iBUG predictor, whose training data excludes commercial use: it is
refused by name here and never loaded (docs/intake.md, "Face models and their licences").

Shared by the intake and the Ray workers' likeness check; nothing here logs or stores what it
computes.

dlib's model objects are not safe to use from two threads at once (the web layer checks
uploads in a thread pool; two at once corrupted the heap and killed the process): every call
into them holds one lock. Threads gained nothing from running them side by side anyway.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np

LANDMARKS_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# Trained on iBUG 300-W, whose licence excludes commercial use: never loaded.
RESEARCH_ONLY_MODELS = frozenset({"shape_predictor_68_face_landmarks.dat"})
MODELS_PACKAGE = "face_recognition_models"
# The HOG detector scans an 80 x 80 window: smaller faces need a larger image.
DETECTOR_WINDOW_PX = 80
DESCRIPTOR_SIZE = 128
_IN_DLIB = threading.RLock()  # one thread at a time inside dlib's models (see above)

Box = tuple[int, int, int, int]


class FaceModelMissing(RuntimeError):
    """The face model files are not installed."""


@dataclass(frozen=True)
class Detection:
    """A face box (x, y, width, height) in the searched image's pixels and the HOG score."""

    box: Box
    score: float


@dataclass(frozen=True)
class Landmarks:
    """Five points (outer and inner corner of each eye, base of the nose) in image pixels."""

    points: np.ndarray = field(repr=False)
    shape: Any = field(repr=False)  # dlib.full_object_detection, for the descriptor

    @property
    def eyes(self) -> tuple[np.ndarray, np.ndarray]:
        """Centres of the eye on the image's left and the eye on its right."""
        first = self.points[0:2].mean(axis=0)
        second = self.points[2:4].mean(axis=0)
        return (first, second) if first[0] <= second[0] else (second, first)


def model_path(name: str) -> Path:
    """Path of a model file shipped by face-recognition-models; research-only models are refused."""
    if name in RESEARCH_ONLY_MODELS:
        raise ValueError(f"{name} is licensed for research only and must not be loaded")
    if name not in (LANDMARKS_MODEL, DESCRIPTOR_MODEL):
        raise ValueError(f"unknown face model {name!r}")
    # find_spec locates the package without running its __init__ (which needs pkg_resources).
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "models" / name
        if path.is_file():
            return path
    raise FaceModelMissing(
        f"face model {name} not found; install the pinned dependencies "
        "(make install, or pip install face-recognition-models==0.3.0)"
    )


@lru_cache(maxsize=1)
def _detector() -> Any:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _landmark_predictor() -> Any:
    return dlib.shape_predictor(str(model_path(LANDMARKS_MODEL)))


@lru_cache(maxsize=1)
def _descriptor_model() -> Any:
    return dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR_MODEL)))


def detect(gray: np.ndarray, *, upsample: int = 0, threshold: float = 0.0) -> list[Detection]:
    """Faces in an 8-bit grayscale image (upright or tilted up to about 30 degrees)."""
    image = np.ascontiguousarray(gray, dtype=np.uint8)
    with _IN_DLIB:
        rects, scores, _ = _detector().run(image, upsample, threshold)
    return [
        Detection((r.left(), r.top(), r.width(), r.height()), float(score))
        for r, score in zip(rects, scores, strict=True)
    ]


def landmarks(image: np.ndarray, box: Box) -> Landmarks:
    """The five landmarks of the face in box, in an RGB or grayscale uint8 image."""
    x, y, w, h = box
    with _IN_DLIB:
        shape = _landmark_predictor()(np.ascontiguousarray(image), dlib.rectangle(x, y, x + w, y + h))
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return Landmarks(points=points, shape=shape)


def descriptor(rgb: np.ndarray, marks: Landmarks) -> np.ndarray:
    """The 128-d face descriptor (biometric: keep it in memory only)."""
    with _IN_DLIB:
        values = _descriptor_model().compute_face_descriptor(np.ascontiguousarray(rgb), marks.shape)
    return np.asarray(values, dtype=np.float32)


def warm_up() -> None:
    """Load every model once (a worker does this before its first job)."""
    with _IN_DLIB:
        _detector()
        _landmark_predictor()
        _descriptor_model()
