"""Regenerate the shipped workload CSVs: ``python hw/specs/workloads/_make_workloads.py``.

Layer shapes are the published architectures (He et al. 2016 ResNet, Tables 1; Simonyan &
Zisserman 2015 VGG configuration D; Dosovitskiy et al. 2021 ViT-B/16; Radford et al. 2019
GPT-2 small block). Batch sizes are assumptions stated in each file. As in SR-STE/BDWP practice
the first convolution and the classifier stay dense (``sparse=0``); the first layer has no
input gradient (``input_grad=0``).

``nongemm`` (GPU model, training): the element-wise and normalisation operators that follow
a layer's output, from the PyTorch operators of the torchvision models; the GPU model costs each
with the words per output element and the bandwidth efficiency of the architecture spec
(``words_<op>``, ``beta_<op>``; measured on micro-benchmarks off these shapes). Empty = batch
norm + ReLU; ``none`` = nothing. ``weights=0`` marks activation x activation GEMMs (no
optimizer update).

* ResNet/VGG: ``bn_relu+maxpool`` for the convolution a stride-2 max-pool follows;
  ``bn_relu+add`` for the last convolution of a residual block (forward add, backward
  accumulation of the two gradient branches).
* Pre-LN transformer block (ViT-B/16, GPT): every linear has ``bias_grad``; qkv
  ``head_split`` (the packed projection copied into heads and its gradient back);
  scores/context ``none`` (fused flash attention never writes the score matrix); attention
  projection and fc2 ``add+layernorm`` (residual add, then the next layer norm); fc1
  ``gelu``. ViT patch embedding: ``add`` (class token and position embedding).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = ("name,type,m,n,k,in_channels,out_channels,height,width,kernel_size,stride,padding,"
          "groups,batch,dtype,count,sparse,input_grad,nongemm,weights")

#: non-GEMM operators per layer (module docstring)
POOLED, RESIDUAL = "bn_relu+maxpool", "bn_relu+add"
QKV, ATTN, PROJ, FC1, FC2, PATCH = ("head_split+bias_grad", "none", "add+layernorm+bias_grad",
                                    "gelu+bias_grad", "add+layernorm+bias_grad", "add")


def conv(name, cin, cout, hw, k, s, batch, dtype, sparse=1, input_grad=1, count=1, pad=None,
         words=None):
    pad = k // 2 if pad is None else pad
    return (f"{name},conv2d,,,,{cin},{cout},{hw},{hw},{k},{s},{pad},1,{batch},{dtype},{count},"
            f"{sparse},{input_grad},{words or ''},1")


def gemm(name, m, n, k, dtype, sparse=1, count=1, input_grad=1, batch=None, words=None,
         weights=1):
    return (f"{name},gemm,{m},{n},{k},,,,,,,,,{batch or ''},{dtype},{count},{sparse},"
            f"{input_grad},{words or ''},{weights}")


def resnet_basic(name, blocks, batch, dtype, image=224, cifar=False):
    rows = []
    if cifar:
        rows.append(conv("conv1", 3, 64, 32, 3, 1, batch, dtype, sparse=0, input_grad=0))
        hw = 32
    else:
        rows.append(conv("conv1", 3, 64, image, 7, 2, batch, dtype, sparse=0, input_grad=0,
                         words=POOLED))
        hw = image // 4  # after the stride-2 conv and the 3x3/2 max-pool
    cin = 64
    for stage, (width, n_blocks) in enumerate(zip((64, 128, 256, 512), blocks)):
        for b in range(n_blocks):
            stride = 2 if (b == 0 and stage > 0) else 1
            p = f"layer{stage + 1}.{b}"
            rows.append(conv(f"{p}.conv1", cin, width, hw, 3, stride, batch, dtype))
            hw_out = hw // stride
            rows.append(conv(f"{p}.conv2", width, width, hw_out, 3, 1, batch, dtype,
                             words=RESIDUAL))
            if stride != 1 or cin != width:
                rows.append(conv(f"{p}.downsample", cin, width, hw, 1, stride, batch, dtype,
                                 pad=0))
            cin, hw = width, hw_out
    rows.append(gemm("fc", 10 if cifar else 1000, batch, 512, dtype, sparse=0))
    return rows


def resnet_bottleneck(blocks, batch, dtype, image=224):
    rows = [conv("conv1", 3, 64, image, 7, 2, batch, dtype, sparse=0, input_grad=0,
                 words=POOLED)]
    hw, cin = image // 4, 64
    for stage, (width, n_blocks) in enumerate(zip((64, 128, 256, 512), blocks)):
        for b in range(n_blocks):
            stride = 2 if (b == 0 and stage > 0) else 1
            p = f"layer{stage + 1}.{b}"
            rows.append(conv(f"{p}.conv1", cin, width, hw, 1, 1, batch, dtype, pad=0))
            rows.append(conv(f"{p}.conv2", width, width, hw, 3, stride, batch, dtype))
            hw_out = hw // stride
            rows.append(conv(f"{p}.conv3", width, 4 * width, hw_out, 1, 1, batch, dtype, pad=0,
                             words=RESIDUAL))
            if b == 0:
                rows.append(conv(f"{p}.downsample", cin, 4 * width, hw, 1, stride, batch, dtype,
                                 pad=0))
            cin, hw = 4 * width, hw_out
    rows.append(gemm("fc", 1000, batch, 2048, dtype, sparse=0))
    return rows


def vgg16_cifar(batch, dtype):
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
    rows, cin, hw, i = [], 3, 32, 0
    for j, v in enumerate(cfg):
        if v == "M":
            hw //= 2
            continue
        i += 1
        first = i == 1
        pooled = j + 1 < len(cfg) and cfg[j + 1] == "M"      # followed by a 2x2/2 max-pool
        rows.append(conv(f"conv{i}", cin, v, hw, 3, 1, batch, dtype, sparse=0 if first else 1,
                         input_grad=0 if first else 1,
                         words=POOLED if pooled else None))
        cin = v
    rows.append(gemm("fc", 10, batch, 512, dtype, sparse=0))
    return rows


def vit_b16(batch, dtype, tokens=197, layers=12, d=768, heads=12):
    n = batch * tokens
    hd = d // heads
    return [
        conv("patch_embed", 3, d, 224, 16, 16, batch, dtype, pad=0, sparse=1, input_grad=0,
             words=PATCH),
        gemm("blocks.attn.qkv", 3 * d, n, d, dtype, count=layers, words=QKV),
        gemm("blocks.attn.scores", tokens, tokens, hd, dtype, sparse=0, count=layers,
             batch=heads * batch, words=ATTN, weights=0),
        gemm("blocks.attn.context", tokens, hd, tokens, dtype, sparse=0, count=layers,
             batch=heads * batch, words=ATTN, weights=0),
        gemm("blocks.attn.proj", d, n, d, dtype, count=layers, words=PROJ),
        gemm("blocks.mlp.fc1", 4 * d, n, d, dtype, count=layers, words=FC1),
        gemm("blocks.mlp.fc2", d, n, 4 * d, dtype, count=layers, words=FC2),
        gemm("head", 1000, batch, d, dtype, sparse=0),
    ]


def gpt_block(batch, dtype, seq=1024, d=768, heads=12):
    n = batch * seq
    hd = d // heads
    return [
        gemm("attn.qkv", 3 * d, n, d, dtype, words=QKV),
        gemm("attn.scores", seq, seq, hd, dtype, sparse=0, batch=heads * batch, words=ATTN,
             weights=0),
        gemm("attn.context", seq, hd, seq, dtype, sparse=0, batch=heads * batch, words=ATTN,
             weights=0),
        gemm("attn.proj", d, n, d, dtype, words=PROJ),
        gemm("mlp.fc1", 4 * d, n, d, dtype, words=FC1),
        gemm("mlp.fc2", d, n, 4 * d, dtype, words=FC2),
    ]


SPECS = {
    "resnet18": (resnet_basic("resnet18", (2, 2, 2, 2), 32, "fp16"),
                 "He et al. 2016 (arXiv 1512.03385) Table 1, ResNet-18, ImageNet 224x224",
                 "ResNet-18 training, batch 32 (assumption), fp16"),
    "resnet50": (resnet_bottleneck((3, 4, 6, 3), 32, "fp16"),
                 "He et al. 2016 (arXiv 1512.03385) Table 1, ResNet-50, ImageNet 224x224",
                 "ResNet-50 training, batch 32 (assumption), fp16"),
    "resnet18_cifar": (resnet_basic("resnet18", (2, 2, 2, 2), 128, "fp16", cifar=True),
                       "He et al. 2016 ResNet-18 with the common CIFAR stem (3x3 conv, no pool)",
                       "ResNet-18 on CIFAR-10 32x32, batch 128 (assumption), fp16"),
    "vgg16_cifar": (vgg16_cifar(128, "fp16"),
                    "Simonyan & Zisserman 2015 (arXiv 1409.1556) configuration D, CIFAR variant",
                    "VGG-16 on CIFAR-10 32x32, batch 128 (assumption), fp16"),
    "vit_b16": (vit_b16(32, "fp16"),
                "Dosovitskiy et al. 2021 (arXiv 2010.11929) ViT-B/16: 12 layers, d=768, 12 "
                "heads, MLP 3072, 197 tokens",
                "ViT-B/16 training, batch 32 (assumption), fp16; attention score/context GEMMs "
                "are activation x activation (never sparse)"),
    "gpt_block": (gpt_block(8, "bf16"),
                  "Radford et al. 2019 GPT-2 small block: d=768, 12 heads, MLP 3072, seq 1024",
                  "one GPT-style transformer block, batch 8 x 1024 tokens (assumption), bf16"),
}


def main() -> None:
    for name, (rows, source, description) in SPECS.items():
        text = f"# source: {source}\n# description: {description}\n{HEADER}\n" + \
            "\n".join(rows) + "\n"
        (HERE / f"{name}.csv").write_text(text)
        print(name, len(rows))


if __name__ == "__main__":
    main()
