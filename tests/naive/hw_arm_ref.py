"""Naive references for hw.arm: 1x1 convolution by explicit loops, MAC counts by formula."""

from __future__ import annotations

import numpy as np


def conv1x1_naive(weights, x, bias=None):
    """``out[o, p] = bias[o] + sum_k weights[o, k] * x[k, p]`` by three Python loops."""
    cout, cin = weights.shape
    hw = x.shape[1]
    out = np.zeros((cout, hw))
    for o in range(cout):
        for p in range(hw):
            acc = 0.0 if bias is None else float(bias[o])
            for k in range(cin):
                if weights[o, k] != 0.0:
                    acc += weights[o, k] * x[k, p]
            out[o, p] = acc
    return out


def conv_macs(cin, cout, h, w, k, stride, groups):
    """MACs of a 2-D convolution with 'same'-style padding ``k // 2``."""
    pad = k // 2
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    return oh * ow * cout * (cin // groups) * k * k


def mobilenet_v1_macs():
    """MobileNet v1 1.0-224 MACs from Howard et al. Table 1, layer by layer."""
    total = conv_macs(3, 32, 224, 224, 3, 2, 1)
    size = 112
    for cin, cout, s in [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2),
                         (256, 256, 1), (256, 512, 2), (512, 512, 1), (512, 512, 1),
                         (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 1024, 2),
                         (1024, 1024, 1)]:
        total += conv_macs(cin, cin, size, size, 3, s, cin)
        size = (size + 2 - 3) // s + 1
        total += size * size * cin * cout
    return total + 1024 * 1000


def mobilenet_v2_macs():
    """MobileNet v2 1.0-224 MACs from Sandler et al. Table 2."""
    total = conv_macs(3, 32, 224, 224, 3, 2, 1)
    size, cin = 112, 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hid = cin * t
            if t != 1:
                total += size * size * cin * hid
            total += conv_macs(hid, hid, size, size, 3, stride, hid)
            size = (size + 2 - 3) // stride + 1
            total += size * size * hid * c
            cin = c
    return total + size * size * 320 * 1280 + 1280 * 1000
