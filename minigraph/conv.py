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

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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


def _sum_line(left, terms, total):
    """'left = a·b + c·d + … + y·z (n terms) = total', terms being (factor, factor) pairs."""
    def product(a, b):
        return f"{_number(a)}·{_number(b)}"

    if len(terms) <= SHOWN_TERMS:
        shown = " + ".join(product(a, b) for a, b in terms)
    else:
        shown = f"{product(*terms[0])} + {product(*terms[1])} + … + {product(*terms[-1])} ({len(terms)} terms)"
    return f"{left} = {shown} = {_number(total)}"


def _number(value):
    text = f"{float(value):.4g}"
    return f"({text})" if text.startswith("-") else text


def _index(*indices):
    return "[" + ", ".join(str(int(i)) for i in indices) + "]"


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

    def _window_terms(self, x, w, n, f, i, j):
        """(w, x) pairs of out[n, f, i, j]'s sum, in c, p, q order; padding reads 0."""
        terms = []
        for c in range(w.shape[1]):
            for p in range(w.shape[2]):
                for q in range(w.shape[3]):
                    row, column = self.stride * i + p - self.padding, self.stride * j + q - self.padding
                    inside = 0 <= row < x.shape[2] and 0 <= column < x.shape[3]
                    terms.append((w[f, c, p, q], x[n, c, row, column] if inside else 0.0))
        return terms

    @staticmethod
    def worked_pixel(out):
        """The output element the narration works out: sample 0, filter 0, the middle pixel."""
        return 0, 0, out.shape[2] // 2, out.shape[3] // 2

    def worked_forward(self, labels, out, x, w, b=None):
        x_label, w_label, *rest = labels
        n, f, i, j = self.worked_pixel(out)
        s, pad = self.stride, self.padding
        where = f"{s}·{i}+p" if s != 1 else f"{i}+p"
        where_q = f"{s}·{j}+q" if s != 1 else f"{j}+q"
        shift = f"−{pad}" if pad else ""
        lines = [
            f"{rest[-1]}{_index(n, f, i, j)} = Σ over c, p, q of {w_label}[{f}, c, p, q]"
            f"·{x_label}[{n}, c, {where}{shift}, {where_q}{shift}]"
            + (f" + {rest[0]}[{f}]" if b is not None else "")
            + (f"  (x is 0 outside its {x.shape[2]}×{x.shape[3]} pixels: padding {pad})" if pad else ""),
        ]
        terms = self._window_terms(x, w, n, f, i, j)
        window = float(np.sum([a * v for a, v in terms]))
        if b is None:
            lines.append(_sum_line(f"{rest[-1]}{_index(n, f, i, j)}", terms, out[n, f, i, j]))
        else:
            lines.append(_sum_line("the window's sum", terms, window))
            lines.append(f"{rest[-1]}{_index(n, f, i, j)} = {_number(window)} + {_number(b[f])} "
                         f"= {_number(out[n, f, i, j])}")
        return lines

    def worked_backward(self, labels, grad, out, x, w, b=None):
        x_label, w_label, *rest = labels
        out_label = rest[-1]
        s, pad = self.stride, self.padding
        lines = [f"G = ∂L/∂{out_label}, the gradient arriving at {out_label} ({'×'.join(map(str, grad.shape))})"]
        # The kernel's gradient: kernel element (f, c, p, q) met x at (s·i+p, s·j+q) for every
        # output pixel (i, j) of every sample: the correlation of x's window with G.
        f, c, p, q = 0, 0, w.shape[2] // 2, w.shape[3] // 2
        terms = []
        for n in range(x.shape[0]):
            for i in range(grad.shape[2]):
                for j in range(grad.shape[3]):
                    row, column = s * i + p - pad, s * j + q - pad
                    if 0 <= row < x.shape[2] and 0 <= column < x.shape[3]:
                        terms.append((grad[n, f, i, j], x[n, c, row, column]))
        grad_w = sum(a * v for a, v in terms) if terms else 0.0
        step, shift = (f"{s}·" if s != 1 else ""), (f"−{pad}" if pad else "")
        lines.append(f"∂L/∂{w_label}{_index(f, c, p, q)} = Σ over n, i, j of G[n, {f}, i, j]"
                     f"·{x_label}[n, {c}, {step}i+{p}{shift}, {step}j+{q}{shift}]")
        lines.append(_sum_line(f"∂L/∂{w_label}{_index(f, c, p, q)}", terms, grad_w) if terms else
                     f"∂L/∂{w_label}{_index(f, c, p, q)} = 0 (this kernel element only ever met padding)")
        # The input's gradient: x[n, c, h, v] met w[f, c, p, q] at every output pixel whose
        # window covers it.
        n, c, h, v = 0, 0, x.shape[2] // 2, x.shape[3] // 2
        terms, where = [], []
        for f in range(w.shape[0]):
            for p in range(w.shape[2]):
                for q in range(w.shape[3]):
                    i, rem_i = divmod(h + pad - p, s)
                    j, rem_j = divmod(v + pad - q, s)
                    if rem_i == 0 and rem_j == 0 and 0 <= i < grad.shape[2] and 0 <= j < grad.shape[3]:
                        terms.append((grad[n, f, i, j], w[f, c, p, q]))
                        where.append((f, i, j, p, q))
        grad_x = sum(a * b_ for a, b_ in terms) if terms else 0.0
        lines.append(f"∂L/∂{x_label}{_index(n, c, h, v)} = Σ over every window covering it of "
                     f"G[{n}, f, i, j]·{w_label}[f, {c}, p, q]"
                     + (f", e.g. G{_index(n, *where[0][:3])}·{w_label}{_index(where[0][0], c, *where[0][3:])}"
                        if where else ""))
        lines.append(_sum_line(f"∂L/∂{x_label}{_index(n, c, h, v)}", terms, grad_x) if terms else
                     f"∂L/∂{x_label}{_index(n, c, h, v)} = 0 (no window covers it)")
        if b is not None:
            total = float(np.add.reduce(grad[:, 0], axis=None))
            lines.append(f"∂L/∂{rest[0]}[0] = Σ over n, i, j of G[n, 0, i, j] "
                         f"({grad.shape[0] * grad.shape[2] * grad.shape[3]} terms) = {_number(total)}")
        return lines


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
        values = ", ".join(_number(v) for v in window.ravel())
        return [f"{labels[-1]}{_index(n, c, i, j)} = max of {labels[0]}[{n}, {c}, "
                f"{s * i}:{s * i + self.size}, {s * j}:{s * j + self.size}] = max({values}) = {_number(out[n, c, i, j])}"]

    def worked_backward(self, labels, grad, out, x):
        n, c, i, j = 0, 0, out.shape[2] // 2, out.shape[3] // 2
        s = self.stride
        window = x[n, c, s * i:s * i + self.size, s * j:s * j + self.size]
        p, q = np.unravel_index(np.argmax(window), window.shape)
        return [f"the window of {labels[-1]}{_index(n, c, i, j)} has its maximum "
                f"{_number(window[p, q])} at {labels[0]}{_index(n, c, s * i + p, s * j + q)}: "
                f"∂L/∂{labels[0]}{_index(n, c, s * i + p, s * j + q)} receives "
                f"G{_index(n, c, i, j)} = {_number(grad[n, c, i, j])} from it, the window's other "
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
