"""Checks of a figure written to disk: it is an image of a plot, not merely a file."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np

__all__ = ["assert_plot_image"]


def assert_plot_image(path: Path, *, min_height: int = 200, min_width: int = 300) -> np.ndarray:
    """Open ``path`` as an image and check it is a drawn figure of at least the given size.

    A blank canvas has no contrast; a figure with axes, lines and text has both dark and light
    pixels. Returns the RGB array for further checks.
    """
    image = mpimg.imread(path)
    assert image.ndim == 3, f"{path}: not a colour image"
    height, width = image.shape[:2]
    assert height >= min_height and width >= min_width, f"{path}: {width}x{height} pixels"
    rgb = image[..., :3].astype(float)
    if rgb.max() > 1:
        rgb = rgb / 255.0
    assert rgb.std() > 0.05, f"{path}: no contrast (blank figure)"
    dark = (rgb.mean(axis=2) < 0.3).mean()
    assert 1e-4 < dark < 0.5, f"{path}: {dark:.2%} dark pixels (axes and text expected)"
    return rgb
