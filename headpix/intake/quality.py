"""Quality measures: face sharpness and perceptual hashes for near-duplicate detection."""

from __future__ import annotations

import cv2
import numpy as np

_SHARPNESS_SIDE = 96


def face_sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian of the face resampled to 96 px (higher is sharper)."""
    if gray_face.size == 0:
        return 0.0
    height, width = gray_face.shape[:2]
    interpolation = cv2.INTER_AREA if min(height, width) >= _SHARPNESS_SIDE else cv2.INTER_LINEAR
    face = cv2.resize(gray_face, (_SHARPNESS_SIDE, _SHARPNESS_SIDE), interpolation=interpolation)
    return float(cv2.Laplacian(face, cv2.CV_64F).var())


def perceptual_hash(gray: np.ndarray) -> int:
    """255-bit DCT hash (pHash over a 16 x 16 block, DC left out) of a grayscale image.

    The usual 64-bit pHash puts distinct shots of one person in one room only 4-6 bits
    apart, as close as a re-saved copy; 255 bits keep the two populations apart.
    """
    small = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:16, :16].flatten()[1:]
    median = float(np.median(low))
    bits = 0
    for value in low:
        bits = (bits << 1) | int(value > median)
    return bits


def hash_distance(first: int, second: int) -> int:
    """Number of differing bits between two hashes."""
    return (first ^ second).bit_count()


def find_duplicates(candidates: list[tuple[int, int, float]], max_distance: int) -> dict[int, int]:
    """From (index, hash, sharpness) triples: each index to drop -> the index kept in its group.

    The sharpest of each group of near-identical photos is kept.
    """
    parent = {index: index for index, _, _ in candidates}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for position, (first, first_hash, _) in enumerate(candidates):
        for second, second_hash, _ in candidates[position + 1 :]:
            if hash_distance(first_hash, second_hash) <= max_distance:
                parent[root(second)] = root(first)
    best: dict[int, tuple[float, int]] = {}
    for index, _, sharpness in candidates:
        group = root(index)
        # Sharpest wins; on a tie the earlier upload is kept.
        if group not in best or sharpness > best[group][0]:
            best[group] = (sharpness, index)
    return {index: best[root(index)][1] for index, _, _ in candidates if index != best[root(index)][1]}
