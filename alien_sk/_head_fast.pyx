# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""Compiled epoch of :class:`alien_sk.head.LinearAnalyticTrainer`.

One call trains the linear head over one epoch: per mini-batch it gathers
the rows (widened to float64, with the next rows prefetched, since random
rows defeat the hardware prefetcher), runs the two matrix products through
SciPy's BLAS (``dgemm``, the same library scikit-learn's Cython code calls),
and computes the scores, the closed-form gradients and the Adam step in C.
It is the same computation as the trainer's numpy step (``_step``), in the
same float64, without the ~30 numpy calls per mini-batch whose dispatch cost
dominated it. The numpy step stays as the fallback when this module is not
built (no C compiler at install time).
"""

from libc.math cimport INFINITY, exp, log, sqrt
from cpython.exc cimport PyErr_CheckSignals
from libc.stdlib cimport free, malloc

from scipy.linalg import cython_blas

ctypedef void (*dgemm_t)(
    char *transa, char *transb, int *m, int *n, int *k, double *alpha,
    double *a, int *lda, double *b, int *ldb, double *beta, double *c, int *ldc
) noexcept nogil

cdef extern from "Python.h":
    void *PyCapsule_GetPointer(object capsule, const char *name) except? NULL
    const char *PyCapsule_GetName(object capsule) except? NULL

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <xmmintrin.h>
    #define ALIEN_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
    #else
    #define ALIEN_PREFETCH(p) __builtin_prefetch(p)
    #endif
    """
    void ALIEN_PREFETCH(const void *addr) nogil

# SciPy exports its BLAS as capsules; reading the pointer at import time
# needs no SciPy headers at build time
cdef object _capsule = cython_blas.__pyx_capi__["dgemm"]
cdef dgemm_t _dgemm = <dgemm_t>PyCapsule_GetPointer(
    _capsule, PyCapsule_GetName(_capsule)
)

ctypedef fused floating:
    float
    double

cdef enum:
    # rows ahead of the current one whose cache lines are requested
    PREFETCH_AHEAD = 4
    # bytes of a chunk of widened rows (well inside a 512 KB - 2 MB L2;
    # measured on a 1 MB L2: 128 KB best, 512 KB 10-40% slower)
    CHUNK_BYTES = 131072
    # mini-batches between two checks for pending signals (Ctrl-C)
    SIGNAL_EVERY = 64


def run_epoch(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] order,
    const double[:, ::1] rows,
    double[::1] theta,
    const double[::1] theta0,
    double[::1] grad,
    double[::1] adam_m,
    double[::1] adam_v,
    long t,
    const double[::1] lrs,
    const double[::1] betas1,
    Py_ssize_t batch_size,
    Py_ssize_t C,
    double alpha,
    double beta,
    bint entropy,
    double lam,
    double u_scale,
    double g_scale,
    double beta2,
    double eps,
    double clamp_low,
    double clamp_high,
):
    """Train over the rows ``order`` of ``X``; return ``(t, mean loss)``.

    ``X`` is ``[logits | embedding]`` (C-contiguous) and ``rows`` holds, for
    the same rows, ``[logits (float64) | 1 - e | u0]``; ``theta`` is
    ``[W (C x d) row-major | bias (C)]``, updated in place with ``grad``,
    ``adam_m`` and ``adam_v`` (Adam as :class:`~alien_sk.head.AdamNumpy`,
    ``t`` steps so far); ``lrs`` and ``betas1`` are the schedule's values for
    this epoch's steps. The loss is the mean over the epoch's mini-batches of
    each batch's loss, computed from the scores the step computed and
    ``||theta - theta0||^2`` before the step.
    """
    cdef Py_ssize_t n = order.shape[0]
    cdef Py_ssize_t width = X.shape[1]
    cdef Py_ssize_t d = width - C
    cdef Py_ssize_t P = theta.shape[0]
    cdef Py_ssize_t r, step = 0
    cdef Py_ssize_t chunk = max(8, CHUNK_BYTES // (8 * width))
    cdef double total = 0.0
    cdef double *W = &theta[0]
    cdef double *G = &grad[0]
    cdef double *m = &adam_m[0]
    cdef double *v = &adam_v[0]
    if (
        theta0.shape[0] != P or grad.shape[0] != P or adam_m.shape[0] != P
        or adam_v.shape[0] != P or P != C * d + C or rows.shape[1] != C + 2
        or rows.shape[0] != X.shape[0] or batch_size < 1
        or lrs.shape[0] < (n + batch_size - 1) // batch_size
        or betas1.shape[0] < lrs.shape[0]
    ):
        raise ValueError("run_epoch: inconsistent buffer sizes")
    for r in range(n):
        if order[r] < 0 or order[r] >= X.shape[0]:
            raise ValueError(f"run_epoch: row index {order[r]} out of range")
    # work buffers for one chunk of rows: widened rows, logits, gradients
    if chunk > batch_size:
        chunk = batch_size
    if chunk > n:
        chunk = max(n, 1)
    cdef double *H = <double *>malloc(chunk * width * sizeof(double))
    cdef double *Z = <double *>malloc(chunk * C * sizeof(double))
    cdef double *GZ = <double *>malloc(chunk * C * sizeof(double))
    if H == NULL or Z == NULL or GZ == NULL:
        free(H)
        free(Z)
        free(GZ)
        raise MemoryError()
    try:
        with nogil:
            _epoch(X, order, rows, W, G, m, v, theta0, &t, lrs, betas1,
                   batch_size, chunk, C, d, alpha, beta, entropy, lam, u_scale,
                   g_scale, beta2, eps, clamp_low, clamp_high, H, Z, GZ, &total,
                   &step)
    finally:
        free(H)
        free(Z)
        free(GZ)
    return t, (total / step if step else 0.0)


cdef int _epoch(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] order,
    const double[:, ::1] rows,
    double *W,
    double *G,
    double *m,
    double *v,
    const double[::1] theta0,
    long *t_ptr,
    const double[::1] lrs,
    const double[::1] betas1,
    Py_ssize_t batch_size,
    Py_ssize_t chunk,
    Py_ssize_t C,
    Py_ssize_t d,
    double alpha,
    double beta,
    bint entropy,
    double lam,
    double u_scale,
    double g_scale,
    double beta2,
    double eps,
    double clamp_low,
    double clamp_high,
    double *H,
    double *Z,
    double *GZ,
    double *total_ptr,
    Py_ssize_t *step_ptr,
) except -1 nogil:
    cdef Py_ssize_t n = order.shape[0]
    cdef Py_ssize_t width = C + d
    cdef Py_ssize_t P = C * d + C
    cdef Py_ssize_t line = 64 // sizeof(floating)
    cdef Py_ssize_t step = 0, start, stop, r, rr, c, j, cs, ce, i
    cdef int ib, nb, iC = <int>C, idd = <int>d, iw = <int>width
    cdef int ldd = <int>(d if d > 0 else 1)
    cdef double one = 1.0, zero = 0.0, dbeta
    cdef char tr = b'T', nt = b'N'
    cdef double k, mx, s, negh, u, ucl, du, lr, b1, bc1, bc2, step_size
    cdef double diff, acc, lp, q, dev, row_loss, total = 0.0
    cdef long t = t_ptr[0]
    cdef double *h
    cdef double *z
    cdef double *p
    cdef const floating *x
    start = 0
    while start < n:
        stop = start + batch_size
        if stop > n:
            stop = n
        ib = <int>(stop - start)
        k = g_scale / ib
        for c in range(C):
            G[C * d + c] = 0.0
        row_loss = 0.0
        # the batch in chunks of rows whose float64 copy stays in the L2
        # cache from the gather to the second product (W is the same for
        # the whole batch, and the gradient sums over its rows)
        cs = start
        while cs < stop:
            ce = cs + chunk
            if ce > stop:
                ce = stop
            nb = <int>(ce - cs)
            # the rows, widened to float64: H is (nb, width) row-major
            for rr in range(nb):
                r = cs + rr
                if r + PREFETCH_AHEAD < n:
                    x = &X[order[r + PREFETCH_AHEAD], 0]
                    j = 0
                    while j < width:  # one request per cache line
                        ALIEN_PREFETCH(&x[j])
                        j = j + line
                x = &X[order[r], 0]
                h = &H[rr * width]
                for j in range(width):
                    h[j] = x[j]
            # Z^T (C x nb) = W (C x d) @ Hemb^T (d x nb), in BLAS's
            # column-major terms (row-major arrays are their transposes)
            if d > 0:
                _dgemm(&tr, &nt, &iC, &nb, &idd, &one, W, &ldd, &H[C], &iw,
                       &zero, &Z[0], &iC)
            else:  # logits only: the head is a learned bias
                for j in range(nb * C):
                    Z[j] = 0.0
            for rr in range(nb):
                i = order[cs + rr]
                z = &Z[rr * C]
                p = &GZ[rr * C]
                # z = logits + W h + bias; p = softmax(z), z = log p
                mx = -INFINITY
                for c in range(C):
                    z[c] = z[c] + rows[i, c] + W[C * d + c]
                    if z[c] > mx:
                        mx = z[c]
                s = 0.0
                for c in range(C):
                    z[c] = z[c] - mx
                    p[c] = exp(z[c])
                    s = s + p[c]
                lp = log(s)
                for c in range(C):
                    p[c] = p[c] / s
                    z[c] = z[c] - lp
                if entropy:
                    # U = -H / log C; dU/dz_j = -p_j (log p_j + H) / log C
                    negh = 0.0
                    for c in range(C):
                        negh = negh + p[c] * z[c]
                    u = negh * u_scale
                    for c in range(C):
                        p[c] = p[c] * (z[c] - negh)
                else:
                    # smooth max of p: logsumexp(lam p) / lam; s = softmax(lam p)
                    mx = -INFINITY
                    for c in range(C):
                        if lam * p[c] > mx:
                            mx = lam * p[c]
                    s = 0.0
                    for c in range(C):
                        z[c] = exp(lam * p[c] - mx)
                        s = s + z[c]
                    u = (1.0 - (log(s) + mx) / lam) * u_scale
                    acc = 0.0
                    for c in range(C):
                        z[c] = z[c] / s
                        acc = acc + z[c] * p[c]
                    for c in range(C):
                        p[c] = p[c] * (z[c] - acc)
                ucl = u
                if ucl > clamp_high:
                    ucl = clamp_high
                if ucl < clamp_low:
                    ucl = clamp_low
                # the row's loss: the BCE is -log q with q = |1 - e - Uc|
                q = rows[i, C] - ucl
                dev = ucl - rows[i, C + 1]
                row_loss = row_loss - log(q if q > 0.0 else -q)
                if alpha != 0.0:
                    row_loss = row_loss + alpha * dev * dev
                # d loss / dU (k carries dU/dz's constant and 1/b); zero
                # where the clamp is active
                if ucl != u:
                    du = 0.0
                else:
                    du = k / q
                    if alpha != 0.0:
                        du = du + 2.0 * alpha * k * dev
                for c in range(C):
                    p[c] = p[c] * du
                    G[C * d + c] = G[C * d + c] + p[c]
            # dW^T (d x C) (+)= Hemb^T (d x nb) @ GZ (nb x C), column-major
            dbeta = 0.0 if cs == start else 1.0
            if d > 0:
                _dgemm(&nt, &tr, &idd, &iC, &nb, &one, &H[C], &iw, &GZ[0],
                       &iC, &dbeta, G, &ldd)
            cs = ce
        acc = 0.0
        if beta != 0.0:
            for j in range(P):
                diff = W[j] - theta0[j]
                acc = acc + diff * diff
                G[j] = G[j] + 2.0 * beta * diff
        total = total + (row_loss / ib + beta * acc)
        # Adam, as AdamNumpy (and torch's Adam)
        t = t + 1
        lr = lrs[step]
        b1 = betas1[step]
        bc1 = 1.0 - b1 ** t
        bc2 = sqrt(1.0 - beta2 ** t)
        step_size = lr / bc1
        for j in range(P):
            m[j] = m[j] + (1.0 - b1) * (G[j] - m[j])
            v[j] = v[j] * beta2 + (1.0 - beta2) * G[j] * G[j]
            W[j] = W[j] + (-step_size) * (m[j] / (sqrt(v[j]) / bc2 + eps))
        step = step + 1
        start = stop
        if step % SIGNAL_EVERY == 0:
            # Ctrl-C (and other signal handlers) act within an epoch, not
            # only after it: an epoch over millions of rows takes seconds
            with gil:
                PyErr_CheckSignals()
    t_ptr[0] = t
    total_ptr[0] = total
    step_ptr[0] = step
    return 0
