"""Demo photos drawn with Pillow: a room (wall, floor, window, sofa, lamp) in a palette chosen by a
seed, so every listing looks a little different and the same seed draws the same photo."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

WALLS = ((236, 228, 214), (220, 232, 236), (240, 226, 222), (226, 236, 220), (244, 240, 232))
ACCENTS = ((196, 92, 60), (52, 104, 140), (70, 130, 90), (150, 110, 170), (200, 160, 60))


def room_photo(seed: int, size: tuple[int, int] = (800, 533)) -> bytes:
    """A JPEG of a furnished room."""
    rng = random.Random(seed)  # noqa: S311 (a drawing, not a secret)
    width, height = size
    wall, accent = rng.choice(WALLS), rng.choice(ACCENTS)
    image = Image.new("RGB", size, wall)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.62, 0.7))
    floor = (150 + rng.randrange(40), 110 + rng.randrange(30), 70 + rng.randrange(20))
    draw.rectangle((0, horizon, width, height), fill=floor)
    for x in range(0, width, 48):  # floorboards
        draw.line((x, horizon, x - 60, height), fill=tuple(c - 18 for c in floor), width=2)
    wx, wy = int(width * rng.uniform(0.08, 0.5)), int(height * 0.12)
    ww, wh = int(width * 0.3), int(height * 0.34)
    draw.rectangle((wx, wy, wx + ww, wy + wh), fill=(150, 196, 230), outline=(255, 255, 255), width=8)
    draw.line((wx + ww // 2, wy, wx + ww // 2, wy + wh), fill=(255, 255, 255), width=6)
    draw.ellipse((wx + ww - 70, wy + 20, wx + ww - 20, wy + 70), fill=(255, 236, 150))  # the sun
    sx = int(width * rng.uniform(0.35, 0.55))
    sofa = (sx, horizon - 110, sx + int(width * 0.38), horizon + 20)
    draw.rounded_rectangle(sofa, radius=22, fill=accent)
    draw.rounded_rectangle((sofa[0] + 14, sofa[1] - 40, sofa[2] - 14, sofa[1] + 30), radius=18, fill=accent)
    for i in range(2):  # cushions
        cx = sofa[0] + 40 + i * 120
        draw.rounded_rectangle((cx, sofa[1] - 20, cx + 80, sofa[1] + 40), radius=12, fill=(250, 246, 238))
    lx = int(width * 0.88)
    draw.line((lx, horizon + 10, lx, horizon - 170), fill=(60, 60, 60), width=6)
    draw.polygon(
        ((lx - 40, horizon - 170), (lx + 40, horizon - 170), (lx + 22, horizon - 220), (lx - 22, horizon - 220)),
        fill=(250, 220, 160),
    )
    draw.ellipse((int(width * 0.1), horizon - 30, int(width * 0.3), horizon + 40), fill=(120, 80, 50))  # a table
    out = io.BytesIO()
    image.save(out, "JPEG", quality=78)
    return out.getvalue()
