"""Arrays as pictures: an array too big to print is drawn, one coloured pixel per element.

`tiles` cuts an array into the small 2-D pictures a reader expects: a matrix as itself, a
column of 4096 pixels as its 64×64 image, a batch of such columns as a strip of a few, a
long vector (or a 1×n row of one value per sample) wrapped in rows of 16,
C×H×W as C images side by side and N×C×H×W (a batch of images, or conv kernels F×C×KH×KW)
as a grid, one row per sample or filter (with one channel, the images in rows of eight). `png` paints tiles into a PNG, with a diverging
scale centred on 0 (blue below, white at 0, red above, both ends at the largest |value|)
or, for images, grey from the smallest value (black) to the largest (white). `Picture`
holds both and the text of its range, which a drawing writes beside it; `locate` says where
given elements sit on it (the step player marks a conv's window with it).

The graph drawings, the step player and the notebook all draw arrays with this module; it
knows nothing about graphs.
"""

import base64
import dataclasses
import math
import struct
import warnings
import zlib

import numpy as np

# Diverging scale (ColorBrewer's RdBu ends): value -limit, 0 and +limit.
NEGATIVE = (33, 102, 172)
MIDDLE = (247, 247, 247)
POSITIVE = (178, 24, 43)
GAP = (255, 255, 255)  # between tiles
# A picture is at most this many elements a side per tile (bigger ones are averaged down in
# blocks) and shows at most this many tiles across and down.
MAX_SIDE = 64
MAX_ACROSS = 8
MAX_DOWN = 4
STRIP = 3  # a batch of images shows its first few
ROW = 16  # a vector that is no image is drawn this many elements a row
# Each element is drawn as a square of whole pixels, so a tile is about this many pixels a side.
TILE_PIXELS = 64


@dataclasses.dataclass
class Picture:
    """An array drawn: `tiles` (rows of 2-D float arrays), whether it is an image (grey) or
    a heatmap (diverging), the pixels each element takes, and what it leaves out."""

    tiles: list
    image: bool
    scale: int
    low: float
    high: float
    omitted: str

    @property
    def size(self):
        """(width, height) in pixels."""
        width = max(sum(t.shape[1] * self.scale for t in row) + (len(row) - 1) * 2 for row in self.tiles)
        height = sum(max(t.shape[0] for t in row) * self.scale for row in self.tiles) + (len(self.tiles) - 1) * 2
        return width, height

    def png(self):
        return png(self.pixels())

    def data_uri(self):
        return "data:image/png;base64," + base64.b64encode(self.png()).decode("ascii")

    def places(self):
        """Each tile with the pixel (left, top) of its corner, row by row."""
        top = 0
        for row in self.tiles:
            left = 0
            for tile in row:
                yield tile, left, top
                left += tile.shape[1] * self.scale + 2
            top += max(t.shape[0] for t in row) * self.scale + 2

    def pixels(self):
        """The picture as an (height, width, 3) uint8 array."""
        width, height = self.size
        canvas = np.empty((height, width, 3), dtype=np.uint8)
        canvas[...] = GAP
        for tile, left, top in self.places():
            block = np.kron(colours(tile, self.image, self.low, self.high),
                            np.ones((self.scale, self.scale, 1), dtype=np.uint8))
            canvas[top:top + block.shape[0], left:left + block.shape[1]] = block
        return canvas


def picture(value, image=False):
    """The Picture of an array (finite or not: NaN and ±inf are drawn as the gap colour)."""
    value = np.asarray(value, dtype=float)
    grid, omitted = tiles(value, image)
    finite = value[np.isfinite(value)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    long_side = max(max(t.shape) for row in grid for t in row)
    short_side = max(min(t.shape) for row in grid for t in row)
    # Squares of whole pixels, a tile about TILE_PIXELS a side; a thin one up to twice as long.
    scale = max(1, min(TILE_PIXELS // short_side, 2 * TILE_PIXELS // long_side))
    return Picture(grid, image, scale, low, high, omitted)


def locate(shape, index, image=False):
    """Where the elements `index` (any numpy index) of an array of `shape` are drawn on its
    Picture: one [left, top, width, height] per tile they appear in, the smallest rectangle
    holding them, as fractions of the picture's width and height. The elements are found by
    drawing a mask of them with the very code that draws the array, so the two agree;
    elements a picture leaves out (samples past the first few) have no rectangle."""
    mask = np.zeros(shape)
    mask[index] = 1.0
    drawn = picture(mask, image)  # the tiles and scale of an array depend on its shape (and `image`) alone
    width, height = drawn.size
    found = []
    for tile, left, top in drawn.places():
        hit = np.nan_to_num(tile) > 0  # a block averaged down holds a marked element if > 0
        if hit.any():
            rows, columns = np.flatnonzero(hit.any(axis=1)), np.flatnonzero(hit.any(axis=0))
            found.append([float((left + columns[0] * drawn.scale) / width),
                          float((top + rows[0] * drawn.scale) / height),
                          float((columns[-1] - columns[0] + 1) * drawn.scale / width),
                          float((rows[-1] - rows[0] + 1) * drawn.scale / height)])
    return found


def square_side(length):
    """k if `length` is k² with k ≥ 8 (an image's pixels in a column), else None."""
    side = math.isqrt(length)
    return side if side >= 8 and side * side == length else None


def tiles(value, image=False):
    """Rows of 2-D tiles that show `value`, and a note of what they leave out ('' if nothing).
    An `image` (an input of pixels) with k² rows is a batch of k×k pictures, one per column,
    however many columns it has: 306 of the bundled 8×8 digits are 64×306."""
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        value = value.reshape(1, 1)
    if value.ndim == 1:
        side = square_side(value.size)
        if side:
            return [[_shrink(value.reshape(side, side))]], ""
        rows = -(-value.size // ROW)  # a long vector wraps, ROW elements a row, in reading order
        wrapped = np.full(rows * ROW if rows > 1 else value.size, np.nan)
        wrapped[:value.size] = value
        return [[_shrink(wrapped.reshape(rows, -1))]], ""
    if value.ndim == 2:
        rows, columns = value.shape
        if square_side(rows) and square_side(columns):  # a square matrix of weights: as it is
            return [[_shrink(value)]], ""
        if square_side(rows) and (columns <= rows or image):  # one image per column: the course's layout
            side = square_side(rows)
            shown = [value[:, j].reshape(side, side) for j in range(min(columns, STRIP))]
            return [[_shrink(t) for t in shown]], _more(columns, STRIP, "column")
        if square_side(columns) and rows < columns:  # one image per row: a weight's units
            side = square_side(columns)
            shown = [value[i].reshape(side, side) for i in range(min(rows, STRIP))]
            return [[_shrink(t) for t in shown]], _more(rows, STRIP, "row")
        if min(rows, columns) == 1 and value.size > ROW:  # a row of 306 samples' values would be a line one pixel high
            return tiles(value.ravel())
        return [[_shrink(value)]], ""
    if value.ndim == 3:  # C×H×W
        return [[_shrink(t) for t in value[:MAX_ACROSS]]], _more(len(value), MAX_ACROSS, "channel")
    if value.ndim == 4 and value.shape[1] == 1:  # one channel: the images in rows, as text wraps
        shown = [_shrink(t) for t in value[:MAX_ACROSS * MAX_DOWN, 0]]
        grid = [shown[k:k + MAX_ACROSS] for k in range(0, len(shown), MAX_ACROSS)]
        return grid, _more(value.shape[0], MAX_ACROSS * MAX_DOWN, "sample")
    if value.ndim == 4:  # N×C×H×W or F×C×KH×KW
        grid = [[_shrink(t) for t in sample[:MAX_ACROSS]] for sample in value[:MAX_DOWN]]
        notes = [_more(value.shape[0], MAX_DOWN, "sample"), _more(value.shape[1], MAX_ACROSS, "channel")]
        return grid, ", ".join(note for note in notes if note)
    grid, omitted = tiles(value.reshape(-1, *value.shape[-3:]), image)  # more axes: the leading ones as one
    return grid, ", ".join(filter(None, [omitted, f"the first {value.ndim - 3} axes as one"]))


def _more(count, shown, what):
    return f"first {shown} of\n{count} {what}s" if count > shown else ""


def _shrink(tile):
    """A 2-D tile at most MAX_SIDE a side: bigger ones are averaged in equal blocks."""
    tile = np.asarray(tile, dtype=float)
    factors = [math.ceil(side / MAX_SIDE) for side in tile.shape]
    if max(factors) == 1:
        return tile
    rows, columns = (math.ceil(side / f) * f for side, f in zip(tile.shape, factors))
    padded = np.full((rows, columns), np.nan)
    padded[:tile.shape[0], :tile.shape[1]] = tile
    blocks = padded.reshape(rows // factors[0], factors[0], columns // factors[1], factors[1])
    with warnings.catch_warnings():  # an all-NaN block's mean is NaN, drawn as a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(blocks, axis=(1, 3))


def colours(tile, image, low, high):
    """The (h, w, 3) uint8 colours of a tile: grey from `low` to `high` for an image, else
    the diverging scale whose ends are ±max(|low|, |high|). NaN and ±inf: the gap colour."""
    tile = np.asarray(tile, dtype=float)
    finite = np.isfinite(tile)
    safe = np.where(finite, tile, 0.0)
    if image:
        span = high - low
        grey = np.round(255 * (safe - low) / span) if span > 0 else np.full(tile.shape, 128.0)
        out = np.repeat(grey[..., None], 3, axis=2)
    else:
        limit = max(abs(low), abs(high))
        t = safe / limit if limit > 0 else np.zeros(tile.shape)
        middle, positive, negative = (np.array(c, dtype=float) for c in (MIDDLE, POSITIVE, NEGATIVE))
        end = np.where((t >= 0)[..., None], positive, negative)
        out = np.round(middle + np.abs(t)[..., None] * (end - middle))
    out[~finite] = GAP
    return out.astype(np.uint8)


def value_of_colour(colour, low, high):
    """The value a diverging-scale colour stands for: the inverse of `colours`, to within a
    colour step (0.3 % of the larger end), for tests and for anyone reading a picture back.
    A grey one step from the middle lies on both arms of the scale; the nearer arm is read."""
    colour = np.asarray(colour, dtype=float)
    limit = max(abs(low), abs(high))
    middle = np.array(MIDDLE, dtype=float)
    readings = []
    for end, sign in ((np.array(POSITIVE, dtype=float), 1), (np.array(NEGATIVE, dtype=float), -1)):
        span = end - middle
        t = max(0.0, float(np.dot(colour - middle, span) / np.dot(span, span)))
        miss = float(np.abs(middle + t * span - colour).max())
        readings.append((miss, sign * t * limit))
    miss, value = min(readings)  # the end the colour lies nearer to
    if miss > 1:
        raise ValueError(f"{tuple(colour)} is not a colour of the diverging scale")
    return value


def png(pixels):
    """PNG bytes of an (height, width, 3) uint8 array: no library needed, and none used."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter: none

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
