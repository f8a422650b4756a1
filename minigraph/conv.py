"""Convolution and max-pooling on images, in torch.nn.functional's layout.

Images are N×C×H×W (samples, channels, rows, columns) and kernels F×C×KH×KW (filters,
channels, kernel rows, kernel columns), so a learner can hold a line of minigraph beside
the same line of PyTorch. `conv2d` computes what every framework calls a convolution, a
cross-correlation: output pixel (i, j) of filter f is the sum, over the kernel window
placed at (stride·i, stride·j) of the zero-padded input, of kernel × input, plus b[f].

Both ops are vectorised: conv2d lays every window out as a column (im2col, through numpy's
sliding_window_view) and multiplies them all by the kernels, one matmul per sample; the
gradients loop over the KH·KW kernel offsets (and the kernel's over the samples), never
over pixels. max_pool2d takes one strided slice of x per window offset. Both go through
a batch a slice of samples at a time, so that what they read several times stays in the
cache (see SLICE_BYTES). As in `ops`, each is
a class with its forward pass, its local gradient and its formula side by side, plus the
worked element the narration shows: one output pixel summed over its window, with the
numbers, and one element of each input's gradient.
"""

import dataclasses
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import worked
from .node import apply, as_node
from .ops import ALL, Op

# Both ops work through a batch a slice of samples at a time, as many as fit in SLICE_BYTES
# of the array they pass over several times (conv2d's windows, max_pool2d's input): a slice
# stays in the cache (half of a core's 2 MiB L2 here) from one pass to the next, where a
# whole batch (31 MB of windows for lesson 4's second conv layer) goes out to memory and back
# at each pass, and, allocated afresh at every step, is paged in again each time.
SLICE_BYTES = 2**20


def sample_slices(n, bytes_per_sample):
    """Slices of the n samples, each as many as fit in SLICE_BYTES (at least one)."""
    size = max(1, SLICE_BYTES // max(1, bytes_per_sample))
    return [slice(start, start + size) for start in range(0, n, size)]

# A worked sum with more terms than this (a 3×3 window has 9) shows its first and last terms and their count.
SHOWN_TERMS = 9


def _whole(value, least):
    """True if value is a whole number ≥ least (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= least


def _sum_line(left, factors, others, total):
    """'left = a·b + c·d + … + y·z (n terms) = total' over the pairs of `factors` and
    `others`. A long sum shows terms that are not 0 (what makes the total), and says how
    many of its terms are 0."""
    factors, others = np.ravel(factors), np.ravel(others)

    def term(k):
        return f"{worked.operand(factors[k])}·{worked.operand(others[k])}"

    if factors.size <= SHOWN_TERMS:
        return f"{left} = {' + '.join(term(k) for k in range(factors.size))} = {worked.number(total)}"
    counting = np.flatnonzero(factors * others != 0)  # one array pass, however long the sum
    zeros = factors.size - counting.size
    count = f"{factors.size} terms" + (f", {zeros} of them 0" if zeros else "")
    if not counting.size:
        return f"{left} = 0 ({count})"
    shown = [term(k) for k in counting] if counting.size <= 3 else [term(counting[0]), term(counting[1]), "…",
                                                                       term(counting[-1])]
    return f"{left} = {' + '.join(shown)} ({count}) = {worked.number(total)}"


def _index(*indices):
    return worked.index(indices)


class Conv2d(Op):
    """out[n, f, i, j] = b[f] + Σ_{c,p,q} w[f, c, p, q] · x_pad[n, c, s·i + p, s·j + q]."""

    name = "conv2d"
    formula = (
        "out[n,f,i,j] = b[f] + Σ_c,p,q w[f,c,p,q]·x[n,c,s·i+p,s·j+q];  "
        "∂/∂w[f,c,p,q] = Σ_n,i,j G[n,f,i,j]·x[n,c,s·i+p,s·j+q];  "
        "∂/∂x: each G[n,f,i,j]·w[f,c,p,q] added back where x met w;  ∂/∂b[f] = Σ_n,i,j G[n,f,i,j]"
    )

    def __init__(self, stride=1, padding=0, bias=False):
        self.stride, self.padding, self.bias = stride, padding, bias

    def __str__(self):
        extras = [f"stride {self.stride}"] if self.stride != 1 else []
        extras += [f"padding {self.padding}"] if self.padding else []
        return " ".join([self.name, *extras])

    @property
    def sends(self):
        sends = ("{grad} spread back over each window, weighted by the kernel {w}",
                 "{grad} correlated with the windows of {x}")
        return sends + ("{grad} summed over samples and pixels",) if self.bias else sends

    def output_side(self, side, kernel):
        return (side + 2 * self.padding - kernel) // self.stride + 1

    def check_domain(self, x, w, b=None):
        if not _whole(self.stride, 1):
            return f"stride must be a whole number ≥ 1, got {self.stride!r}"
        if not _whole(self.padding, 0):
            return f"padding must be a whole number ≥ 0, got {self.padding!r}"
        return None

    def check_shapes(self, x, w, b=None):
        if x.ndim != 4 or w.ndim != 4:
            return (f"needs x as N×C×H×W and w as F×C×KH×KW (4 dimensions each), got {x.shape} "
                    f"and {w.shape} (one image: x[np.newaxis, np.newaxis] for N = C = 1)")
        if x.shape[1] != w.shape[1]:
            return (f"x has {x.shape[1]} channel(s) (axis 1 of {x.shape}) but the kernels expect "
                    f"{w.shape[1]} (axis 1 of {w.shape})")
        padding = self.padding if _whole(self.padding, 0) else 0  # (a bad one: check_domain's)
        height, width = (side + 2 * padding for side in x.shape[2:])
        if w.shape[2] > height or w.shape[3] > width:
            return (f"the {w.shape[2]}×{w.shape[3]} kernel is larger than the input "
                    f"{x.shape[2]}×{x.shape[3]} padded by {self.padding} ({height}×{width})")
        if b is not None and b.shape != (w.shape[0],):
            return f"the bias must have one value per filter, shape ({w.shape[0]},), got {b.shape}"
        return None

    def slices(self, x, kernel):
        """x's samples in slices whose windows fit in SLICE_BYTES."""
        rows, columns = (self.output_side(side, k) for side, k in zip(x.shape[2:], kernel))
        return sample_slices(x.shape[0], x.shape[1] * kernel[0] * kernel[1] * rows * columns * x.itemsize)

    def windows(self, x, kernel):
        """Every kernel window of x as a column: N×(C·KH·KW)×(OH·OW), a copy (im2col).

        Laid out this way, each sample's output is one matmul, and comes out N×F×OH·OW:
        already the N×F×OH×OW layout, with no transpose of the output to pay for.
        """
        pad = self.padding
        if pad:
            x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        view = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::self.stride, ::self.stride]
        cols = np.ascontiguousarray(view.transpose(0, 1, 4, 5, 2, 3))  # N×C×KH×KW×OH×OW
        return cols.reshape(x.shape[0], -1, cols.shape[-2] * cols.shape[-1])

    def forward(self, x, w, b=None):
        n, filters = x.shape[0], w.shape[0]
        rows, columns = (self.output_side(side, k) for side, k in zip(x.shape[2:], w.shape[2:]))
        kernels = w.reshape(filters, -1)
        out = np.empty((n, filters, rows * columns), dtype=np.result_type(x, w))
        for part in self.slices(x, w.shape[2:]):
            # (F, C·KH·KW) @ (C·KH·KW, OH·OW) for each sample: every output pixel of every filter.
            np.matmul(kernels, self.windows(x[part], w.shape[2:]), out=out[part])
            if b is not None:
                out[part] += b[:, np.newaxis]  # while the slice's output is still in the cache
        return out.reshape(n, filters, rows, columns)

    def backward(self, grad, out, x, w, b=None, needs=ALL):
        filters, channels, kh, kw = w.shape
        n, _, rows, columns = grad.shape
        flat_grad = grad.reshape(n, filters, rows * columns)
        pad, step = self.padding, self.stride
        # ∂L/∂w is summed as its transpose, (C·KH·KW)×F: windows_n @ G_nᵀ keeps the long
        # OH·OW axis contiguous in both operands, and OpenBLAS runs it a third faster than G_n @ windows_nᵀ.
        grad_w_t = np.zeros((channels * kh * kw, filters), grad.dtype) if needs[1] else None
        if needs[0]:
            kernels = np.ascontiguousarray(w.reshape(filters, -1).T)  # (BLAS wants it contiguous)
            padded = np.zeros((n, channels, x.shape[2] + 2 * pad, x.shape[3] + 2 * pad), grad.dtype)
        for part in self.slices(x, (kh, kw)):
            if needs[1]:
                # Σ over samples of windows_n @ G_nᵀ. One BLAS call per sample, summed: numpy's
                # stacked matmul does not hand the transposed operand to BLAS, and runs 2× slower.
                for sample_grad, sample_cols in zip(flat_grad[part], self.windows(x[part], (kh, kw))):
                    grad_w_t += sample_cols @ sample_grad.T
            if needs[0]:
                # Each window's gradient, added back onto the pixels it was cut from: one strided
                # slice per kernel offset (p, q).
                cols = np.matmul(kernels, flat_grad[part]).reshape(-1, channels, kh, kw, rows, columns)
                target = padded[part]
                for p in range(kh):
                    for q in range(kw):
                        target[:, :, p:p + step * rows:step, q:q + step * columns:step] += cols[:, :, p, q]
        grad_x = padded[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]] if needs[0] else None
        grad_w = np.ascontiguousarray(grad_w_t.T).reshape(w.shape) if needs[1] else None
        if b is None:
            return grad_x, grad_w
        return grad_x, grad_w, (np.add.reduce(grad, axis=(0, 2, 3)) if needs[2] else None)

    def worked_window(self, x_shape, w_shape):
        """Where the narration's worked elements sit (a `Window`): the narration writes its
        lines from it and the step player marks the same pixels on the pictures."""
        rows, columns = (self.output_side(side, k) for side, k in zip(x_shape[2:], w_shape[2:]))
        return Window(0, 0, rows // 2, columns // 2, tuple(w_shape[2:]), self.stride, self.padding,
                      tuple(x_shape[2:]), (rows, columns))

    def worked_cells(self, phase, out_shape, x_shape, w_shape, b_shape=None):
        """The elements the worked lines of `phase` read, for the player to mark: (input
        position, or "out" for the result; "value" or "grad"; a numpy index of that array)."""
        window = self.worked_window(x_shape, w_shape)
        if phase == "forward":
            return [(0, "value", window.input_window()), (1, "value", (window.filter,)),
                    ("out", "value", window.pixel)]
        return [(0, "value", window.kernel_reads()), ("out", "grad", (slice(None), window.filter)),
                (1, "grad", window.kernel_element)]

    def worked_forward(self, labels, out, x, w, b=None):
        x_label, w_label, *rest = labels
        window = self.worked_window(x.shape, w.shape)
        n, f, i, j = window.pixel
        row, column = window.top_left
        where = f"{n}, c, {_offset(row, 'p')}, {_offset(column, 'q')}"
        pixel = f"{rest[-1]}{_index(n, f, i, j)}"
        lines = [
            f"{pixel} = Σ over c, p, q of {w_label}[{f}, c, p, q]·{x_label}[{where}]"
            + (f" + {rest[0]}[{f}]" if b is not None else "")
            + (f"  ({x_label} is 0 outside its {x.shape[2]}×{x.shape[3]} pixels: padding {self.padding})"
               if self.padding else ""),
        ]
        inputs = window.padded_window(x)  # C×KH×KW, zeros where the window hangs over the edge
        window_sum = float(np.sum(w[f] * inputs))
        if b is None:
            lines.append(_sum_line(pixel, w[f].ravel(), inputs.ravel(), out[n, f, i, j]))
        else:
            lines.append(_sum_line("the window's sum", w[f].ravel(), inputs.ravel(), window_sum))
            lines.append(f"{pixel} = {worked.operand(window_sum)} + {worked.operand(b[f])} = {worked.number(out[n, f, i, j])}")
        return lines

    def worked_backward(self, labels, grad, out, x, w, b=None):
        x_label, w_label, *rest = labels
        out_label = rest[-1]
        window = self.worked_window(x.shape, w.shape)
        lines = [f"G = ∂L/∂{out_label}, the gradient arriving at {out_label} ({'×'.join(map(str, grad.shape))})"]
        # The kernel's gradient: kernel element (f, c, p, q) met x at (s·i+p−pad, s·j+q−pad)
        # for every output pixel (i, j) of every sample: the correlation of x's window with G.
        f, c, p, q = window.kernel_element
        kernel = f"∂L/∂{w_label}{_index(f, c, p, q)}"
        step = f"{self.stride}·" if self.stride != 1 else ""
        lines.append(f"{kernel} = Σ over n, i, j of G[n, {f}, i, j]"
                     f"·{x_label}[n, {c}, {_offset(p - self.padding, step + 'i')}, "
                     f"{_offset(q - self.padding, step + 'j')}]")
        upstream, inputs = window.kernel_pairs(grad, x)
        lines.append(_sum_line(kernel, upstream, inputs, float(np.dot(upstream, inputs))) if upstream.size else
                     f"{kernel} = 0 (this kernel element only ever met padding)")
        # The input's gradient: x[n, c, h, v] met w[f, c, p, q] at every output pixel whose
        # window covers it.
        n, c, h, v = window.input_element
        element = f"∂L/∂{x_label}{_index(n, c, h, v)}"
        upstream, weights, first = window.covering_pairs(grad, w)
        lines.append(f"{element} = Σ over every window covering it of G[{n}, f, i, j]·{w_label}[f, {c}, p, q]"
                     + (f", e.g. G{_index(n, *first[:3])}·{w_label}{_index(first[0], c, *first[3:])}"
                        if first else ""))
        lines.append(_sum_line(element, upstream, weights, float(np.dot(upstream, weights))) if upstream.size else
                     f"{element} = 0 (no window covers it)")
        if b is not None:
            total = float(np.add.reduce(grad[:, f], axis=None))
            lines.append(f"∂L/∂{rest[0]}[{f}] = Σ over n, i, j of G[n, {f}, i, j] "
                         f"({grad.shape[0] * grad.shape[2] * grad.shape[3]} terms) = {worked.number(total)}")
        return lines


def _offset(start, variable):
    """'32+p', '31+p' or 'p−1' for the index start + variable, as a learner would write it."""
    if start == 0:
        return variable
    return f"{start}+{variable}" if start > 0 else f"{variable}{worked.MINUS}{-start}"


@dataclasses.dataclass(frozen=True)
class Window:
    """conv2d's worked elements, for a given input and kernel shape: one place for the
    narration's lines and the player's marks, so they cannot disagree.

    Forward: output pixel (row, column) of filter `filter` for sample `sample`, the sum over
    the kernel window whose top left corner sits at (stride·row − padding, stride·column −
    padding) of the input, in every channel. Backward: the kernel element (filter, 0, KH//2,
    KW//2), whose gradient correlates the input shifted by that offset with G[:, filter],
    and the input element (sample, 0, H//2, W//2), which collects G times the kernel from
    every window that covers it.
    """

    sample: int
    filter: int
    row: int
    column: int
    kernel: tuple  # (KH, KW)
    stride: int
    padding: int
    image: tuple  # the input's (H, W)
    out: tuple  # the output's (OH, OW)

    @property
    def pixel(self):
        return self.sample, self.filter, self.row, self.column

    @property
    def top_left(self):
        """The window's top left corner in the input's own indices (negative in the padding)."""
        return self.stride * self.row - self.padding, self.stride * self.column - self.padding

    def _inside(self):
        """The window's rows and columns that lie inside the image, as slices of the input
        and of the window."""
        places = []
        for start, size, side in zip(self.top_left, self.kernel, self.image):
            first, stop = max(start, 0), min(start + size, side)
            places.append((slice(first, stop), slice(first - start, stop - start)))
        return places

    def input_window(self):
        """The index of the input's pixels the forward sum reads: every channel of the window."""
        (rows, _), (columns, _) = self._inside()
        return self.sample, slice(None), rows, columns

    def padded_window(self, x):
        """The window's C×KH×KW input values, 0 where it lies in the padding."""
        (rows, in_rows), (columns, in_columns) = self._inside()
        values = np.zeros((x.shape[1], *self.kernel), dtype=x.dtype)
        values[:, in_rows, in_columns] = x[self.sample, :, rows, columns]
        return values

    @property
    def kernel_element(self):
        return self.filter, 0, self.kernel[0] // 2, self.kernel[1] // 2

    def _reads(self):
        """For each axis (rows, columns): the output positions whose window puts the kernel
        element on an input pixel, and the slice of the input those pixels make."""
        places = []
        for offset, side, count in zip(self.kernel_element[2:], self.image, self.out):
            starts = self.stride * np.arange(count) + offset - self.padding
            kept = np.flatnonzero((starts >= 0) & (starts < side))
            first = int(starts[kept[0]]) if kept.size else 0
            places.append((kept, slice(first, first + self.stride * (kept.size - 1) + 1 if kept.size else first,
                                       self.stride)))
        return places

    def kernel_reads(self):
        """The index of the input's pixels the kernel element's gradient reads: in every
        sample, the channel's pixels the element met, `stride` apart."""
        (_, rows), (_, columns) = self._reads()
        return slice(None), self.kernel_element[1], rows, columns

    def kernel_pairs(self, grad, x):
        """The (G, x) factors of the kernel element's gradient, flat, in n, i, j order."""
        (out_rows, rows), (out_columns, columns) = self._reads()
        upstream = grad[:, self.filter][:, out_rows][:, :, out_columns]
        return upstream.ravel(), x[:, self.kernel_element[1], rows, columns].ravel()

    @property
    def input_element(self):
        return self.sample, 0, self.image[0] // 2, self.image[1] // 2

    def covering_pairs(self, grad, w):
        """The (G, w) factors of the input element's gradient, in f, p, q order, and the
        first term's (f, i, j, p, q), or None if no window covers the element."""
        n, c, h, v = self.input_element
        filters, kh, kw = w.shape[0], *self.kernel
        f, p, q = np.meshgrid(np.arange(filters), np.arange(kh), np.arange(kw), indexing="ij")
        i, rest_i = np.divmod(h + self.padding - p, self.stride)
        j, rest_j = np.divmod(v + self.padding - q, self.stride)
        hit = (rest_i == 0) & (rest_j == 0) & (i >= 0) & (i < self.out[0]) & (j >= 0) & (j < self.out[1])
        f, p, q, i, j = (a[hit] for a in (f, p, q, i, j))
        first = (int(f[0]), int(i[0]), int(j[0]), int(p[0]), int(q[0])) if f.size else None
        return grad[n, f, i, j], w[f, c, p, q], first


def conv2d(x, w, b=None, stride=1, padding=0, name=None):
    """Cross-correlate images x (N×C×H×W) with kernels w (F×C×KH×KW), add b (F,) if
    given: out is N×F×OH×OW, OH = (H + 2·padding − KH) // stride + 1 (OW likewise), as
    torch.nn.functional.conv2d. padding adds that many zero rows and columns on each side."""
    x, w = as_node(x), as_node(w)
    x = as_node(x, like=w)
    # A bad stride or padding is a DomainError from check_domain, naming the node.
    op = Conv2d(stride, padding, bias=b is not None)
    inputs = (x, w) if b is None else (x, w, as_node(b, like=w))
    return apply(op, *inputs, name=name)


class MaxPool2d(Op):
    """out[n, c, i, j] = the largest x[n, c, s·i + p, s·j + q] over the size×size window."""

    name = "max_pool2d"
    formula = "out[n,c,i,j] = max_p,q x[n,c,s·i+p,s·j+q];  ∂out/∂x = 1 at the window's (first) maximum, 0 elsewhere"
    sends = ("{grad} sent to the maximum of each window, 0 to the others",)
    can_overflow = False

    def __init__(self, size, stride):
        self.size, self.stride = size, stride

    def __str__(self):
        stride = "" if self.stride == self.size else f" stride {self.stride}"
        return f"{self.name} {self.size}×{self.size}{stride}"

    def check_domain(self, x):
        for what, value in (("size", self.size), ("stride", self.stride)):
            if not _whole(value, 1):
                return f"{what} must be a whole number ≥ 1, got {value!r}"
        return None

    def check_shapes(self, x):
        if not (_whole(self.size, 1) and _whole(self.stride, 1)):
            return None  # check_domain says what is wrong
        if x.ndim != 4:
            return f"needs x as N×C×H×W (4 dimensions), got {x.shape}"
        if self.size > x.shape[2] or self.size > x.shape[3]:
            return f"the {self.size}×{self.size} window is larger than the {x.shape[2]}×{x.shape[3]} input"
        return None

    def output_shape(self, x):
        n, c, height, width = x.shape
        return n, c, (height - self.size) // self.stride + 1, (width - self.size) // self.stride + 1

    def offsets(self, out_shape):
        """For each window offset (p, q), the slice of x holding that pixel of every window."""
        s, rows, columns = self.stride, out_shape[2], out_shape[3]
        for p in range(self.size):
            for q in range(self.size):
                yield (slice(None), slice(None), slice(p, p + s * rows, s), slice(q, q + s * columns, s))

    def forward(self, x):
        # The largest of the window's pixels, taken one window offset at a time: size² strided
        # slices of x, each holding that offset's pixel of every window.
        out = np.empty(self.output_shape(x), dtype=x.dtype)
        first, *others = self.offsets(out.shape)
        for part in sample_slices(len(x), x[:1].nbytes):
            x_part, out_part = x[part], out[part]
            np.copyto(out_part, x_part[first])
            for where in others:
                np.maximum(out_part, x_part[where], out=out_part)
        return out

    def backward(self, grad, out, x):
        # Windows side by side (stride = size) write every pixel they cover once, in route:
        # only the rows and columns left over past the last window need zeros first.
        tiled = self.stride == self.size
        grad_x = np.empty(x.shape, dtype=grad.dtype) if tiled else np.zeros(x.shape, dtype=grad.dtype)
        if tiled:
            grad_x[:, :, self.size * out.shape[2]:] = 0
            grad_x[:, :, :, self.size * out.shape[3]:] = 0
        for part in sample_slices(len(x), x[:1].nbytes):
            self.route(grad[part], out[part], x[part], grad_x[part])
        return (grad_x,)

    def route(self, grad, out, x, grad_x):
        """Each window's gradient into grad_x at its first maximum (row by row), as PyTorch
        does: offset by offset, the windows that hold their maximum there and have not sent
        yet. Every window holds its maximum somewhere, so the last offset takes those left."""
        unsent = np.ones(out.shape, dtype=bool)
        hit = np.empty(out.shape, dtype=bool)
        apart = self.stride >= self.size  # windows that do not overlap: no pixel gets two
        *offsets, last = self.offsets(out.shape)
        for where in offsets:
            np.equal(x[where], out, out=hit)
            hit &= unsent
            unsent ^= hit
            self.send(grad, hit, grad_x[where], apart)
        self.send(grad, unsent, grad_x[last], apart)

    @staticmethod
    def send(grad, hit, target, alone):
        """grad where hit, into target (a strided slice of ∂L/∂x); added to what is there
        unless the target's pixels belong to no other window (`alone`)."""
        if alone:
            np.multiply(grad, hit, out=target)
        else:
            target += grad * hit

    def worked_forward(self, labels, out, x):
        n, c, i, j = 0, 0, out.shape[2] // 2, out.shape[3] // 2
        s = self.stride
        window = x[n, c, s * i:s * i + self.size, s * j:s * j + self.size]
        values = ", ".join(worked.number(v) for v in window.ravel())
        return [f"{labels[-1]}{_index(n, c, i, j)} = max of {labels[0]}[{n}, {c}, "
                f"{s * i}:{s * i + self.size}, {s * j}:{s * j + self.size}] = max({values}) = {worked.number(out[n, c, i, j])}"]

    def worked_backward(self, labels, grad, out, x):
        n, c, i, j = 0, 0, out.shape[2] // 2, out.shape[3] // 2
        s = self.stride
        window = x[n, c, s * i:s * i + self.size, s * j:s * j + self.size]
        p, q = np.unravel_index(np.argmax(window), window.shape)
        return [f"the window of {labels[-1]}{_index(n, c, i, j)} has its maximum "
                f"{worked.number(window[p, q])} at {labels[0]}{_index(n, c, s * i + p, s * j + q)}: "
                f"{labels[0]}{_index(n, c, s * i + p, s * j + q)} receives "
                f"g{_index(n, c, i, j)} = {worked.number(grad[n, c, i, j])} from it, the window's other "
                f"{self.size * self.size - 1} pixels receive 0 from it"]


class Flatten(Op):
    """N×C×H×W images to the course's layout: one column of C·H·W features per sample."""

    name = "flatten"
    formula = "out = x reshaped to N×(C·H·W), transposed: (C·H·W)×N;  ∂/∂x: G transposed back and reshaped to N×C×H×W"
    sends = ("{grad} transposed back to one row per sample and reshaped to the images' shape",)
    can_overflow = False

    def check_shapes(self, x):
        return None if x.ndim >= 2 else f"needs samples along axis 0 and features after, got shape {x.shape}"

    def forward(self, x):
        return x.reshape(x.shape[0], -1).T

    def backward(self, grad, out, x):
        return (grad.T.reshape(x.shape),)


_FLATTEN = Flatten()


def flatten(x, name=None):
    """The boundary between the conv layers (samples along axis 0, N×C×H×W) and the course's
    dense layers (one column per sample): x reshaped to N×(C·H·W) and transposed, in one step."""
    return apply(_FLATTEN, as_node(x), name=name)


def max_pool2d(x, size, stride=None, name=None):
    """The largest value of each size×size window of x (N×C×H×W), windows `stride` apart
    (default: size, side by side), as torch.nn.functional.max_pool2d (no padding)."""
    # A bad size or stride is a DomainError from check_domain, naming the node.
    return apply(MaxPool2d(size, size if stride is None else stride), as_node(x), name=name)
