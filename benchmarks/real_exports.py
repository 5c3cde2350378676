"""A corpus of real ONNX exports, read by netc as a new user would (issue 18).

Two modes, each run by a different interpreter:

* ``export`` — run with a Python that has torch, torchvision, timm, ultralytics,
  segmentation_models_pytorch and onnx (a separate virtual environment, never the
  repository's): builds each model with random weights (nothing is downloaded),
  exports it to ``OUT/NAME.onnx`` and writes ``OUT/NAME.json`` beside it with
  PyTorch's own counts: parameters, float buffers (batchnorm running statistics),
  and the MACs of a forward pass counted by forward hooks on Conv1d/2d/3d,
  ConvTranspose1d/2d/3d and Linear, plus the matmuls outside those modules
  (``torch.matmul``, ``@``, ``bmm``, ``einsum``-free attention,
  ``scaled_dot_product_attention``) counted by a ``TorchFunctionMode``::

      python3 -m venv /tmp/exp
      /tmp/exp/bin/pip install torch==2.14.1 torchvision==0.29.1
      /tmp/exp/bin/pip install timm ultralytics segmentation-models-pytorch onnx
      /tmp/exp/bin/python benchmarks/real_exports.py export --out /tmp/netc-exports

* ``check`` — run with the repository's Python (netc installed, or this checkout):
  runs ``netc summary FILE --format json`` on every ``OUT/*.onnx`` (this checkout's
  netc, through ``python -m netc`` with the checkout first on ``PYTHONPATH``), and for
  each file read whole compares netc's params with the sum of the file's float
  initializers that nodes use, and netc's MACs with the hook count; then
  ``netc import`` and a summary of the imported file (the round trip)::

      python benchmarks/real_exports.py check --out /tmp/netc-exports --markdown table.md

The files stay outside the repository (hundreds of MB in all).
"""

from __future__ import annotations

import argparse
import warnings
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_OUT = "/tmp/netc-exports"
ROOT = Path(__file__).resolve().parents[1]

# (name, family, builder spec, input size) — timm models at 224 unless said.
TIMM = [
    ("resnet18", "resnet"), ("resnet50", "resnet"), ("seresnet18", "resnet"),
    ("efficientnet_b0", "efficientnet"), ("tf_efficientnetv2_b0", "efficientnet"),
    ("mobilenetv2_100", "mobilenet"), ("mobilenetv3_small_100", "mobilenet"),
    ("mobilenetv3_large_100", "mobilenet"),
    ("convnext_atto", "convnext"), ("convnextv2_atto", "convnextv2"),
    ("regnetx_002", "regnet"), ("regnety_002", "regnet"),
    ("densenet121", "densenet"), ("inception_v3", "inception"),
    ("mixnet_s", "mixnet"), ("ecaresnet26t", "ecaresnet"), ("skresnet18", "skresnet"),
    ("resnest14d", "resnest"), ("tresnet_m", "tresnet"),
    ("nf_resnet26", "nfnet"), ("eca_nfnet_l0", "nfnet"),
    ("res2net50_14w_8s", "res2net"), ("ghostnet_100", "ghostnet"), ("rexnet_100", "rexnet"),
    ("dla34", "dla"), ("hrnet_w18_small", "hrnet"), ("vgg11", "vgg"),
    ("cspresnet50", "cspnet"), ("dpn68", "dpn"), ("selecsls42b", "selecsls"),
    ("mnasnet_100", "mnasnet"), ("lcnet_050", "lcnet"), ("repvgg_a0", "repvgg"),
    ("xception41", "xception"), ("mobilevit_xxs", "mobilevit"),
    ("efficientvit_b0", "efficientvit"), ("hgnetv2_b0", "hgnet"),
    ("fastvit_t8", "fastvit"), ("coat_lite_tiny", "coat"),
]
YOLOS = ["yolov8n", "yolov8n-seg", "yolov8n-pose", "yolov8n-cls",
        "yolo11n", "yolo11n-seg", "yolo11n-pose", "yolo11n-cls"]
SMP = [("smp_unet_resnet18", "Unet", "resnet18"), ("smp_fpn_resnet18", "FPN", "resnet18"),
       ("smp_deeplabv3plus_resnet18", "DeepLabV3Plus", "resnet18"),
       ("smp_unet_efficientnet-b0", "Unet", "efficientnet-b0")]
TV = [("tv_fcn_resnet50", "fcn_resnet50"),
      ("tv_deeplabv3_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large"),
      ("tv_lraspp_mobilenet_v3_large", "lraspp_mobilenet_v3_large"),
      ("tv_shufflenet_v2_x0_5", "shufflenet_v2_x0_5"), ("tv_squeezenet1_1", "squeezenet1_1"),
      ("tv_googlenet", "googlenet"), ("tv_r3d_18", "r3d_18"),
      ("tv_convnext_tiny_dynamo", "convnext_tiny")]       # *_dynamo: torch.onnx.export(dynamo=True)


# --------------------------------------------------------------------- export side

def _counts(torch, model, x):
    """PyTorch's own counts: parameters, float buffers, hook MACs by module type, and
    matmul MACs outside Linear (a TorchFunctionMode over one forward pass)."""
    nn = torch.nn
    macs = {}
    batch = x.shape[0]     # per sample: a tensor's first axis is not always the batch (MobileViT's
                           # transformer runs on (B·P, N, C): the batch folded with the patch area)

    def add(kind, n):
        macs[kind] = macs.get(kind, 0) + int(n)

    def conv_hook(m, inp, out):
        k = 1
        for s in m.kernel_size:
            k *= s
        add(type(m).__name__, out.numel() // batch * (m.in_channels // m.groups) * k)

    def convt_hook(m, inp, out):
        k = 1
        for s in m.kernel_size:
            k *= s
        x0 = inp[0]
        add(type(m).__name__, x0.numel() // batch * (m.out_channels // m.groups) * k)

    def linear_hook(m, inp, out):
        add("Linear", out.numel() // batch * m.in_features)

    handles = []
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            handles.append(m.register_forward_hook(convt_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))

    from torch.overrides import TorchFunctionMode
    F = torch.nn.functional

    class Matmuls(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            name = getattr(func, "__name__", "")
            if func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__,
                        torch.bmm, torch.Tensor.bmm) or name in ("matmul", "__matmul__", "bmm"):
                a = args[0]
                add("matmul", out.numel() // batch * a.shape[-1])
            elif func is F.scaled_dot_product_attention:
                q, k, v = args[0], args[1], args[2]
                lq, e, s, ev = q.shape[-2], q.shape[-1], k.shape[-2], v.shape[-1]
                heads = q.numel() // batch // (lq * e)
                add("matmul", heads * lq * s * (e + ev))
            return out

    with torch.no_grad(), Matmuls():
        model(x)
    for h in handles:
        h.remove()
    params = sum(int(p.numel()) for p in model.parameters())
    buffers = sum(int(b.numel()) for b in model.buffers() if b.is_floating_point())
    return {"torch_params": params, "torch_float_buffers": buffers,
            "hook_macs": sum(v for k, v in macs.items() if k != "matmul"),
            "matmul_macs": macs.get("matmul", 0), "macs_by_type": macs}


def _export_one(torch, out, name, family, source, model, x, exporter="torchscript", opset=17):
    path = out / f"{name}.onnx"
    side = {"name": name, "family": family, "source": source, "exporter": exporter,
            "input_shape": list(x.shape), "opset": opset}
    t0 = time.time()
    try:
        model.eval()
        side.update(_counts(torch, model, x))
        with torch.no_grad():
            if exporter == "dynamo":     # torch.export: opset 18, the batch a symbol (an example
                # batch of 2: torch.export specializes a batch of 1)
                torch.onnx.export(model, (torch.cat([x, x]),), str(path), dynamo=True, external_data=False,
                                  input_names=["input"], dynamic_shapes=({0: torch.export.Dim("batch")},))
            else:
                torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=False,
                                  input_names=["input"], dynamic_axes={"input": {0: "batch"}})
    except Exception as e:  # noqa: BLE001 — a failed export is a row of the table too
        side["export_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        path.unlink(missing_ok=True)
    side["export_seconds"] = round(time.time() - t0, 1)
    (out / f"{name}.json").write_text(json.dumps(side, indent=1) + "\n")
    print(f"{name:40s} {side['export_seconds']:6.1f}s {side.get('export_error', 'ok')}", flush=True)


def export(out: Path, only: str | None):
    import torch
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    versions = {"torch": torch.__version__}
    want = re.compile(only) if only else None

    def wanted(n):
        return want is None or want.search(n)

    import timm
    versions["timm"] = timm.__version__
    for name, fam in TIMM:
        if not wanted(name):
            continue
        try:
            model = timm.create_model(name, pretrained=False)
        except Exception as e:  # noqa: BLE001
            (out / f"{name}.json").write_text(json.dumps(
                {"name": name, "family": fam, "source": "timm",
                 "export_error": f"create_model: {type(e).__name__}: {e}"[:300]}) + "\n")
            print(name, "create failed", e)
            continue
        _export_one(torch, out, name, fam, "timm", model, torch.randn(1, 3, 224, 224))

    import torchvision
    versions["torchvision"] = torchvision.__version__
    for name, tv in TV:
        if not wanted(name):
            continue
        if tv.startswith(("fcn", "deeplab", "lraspp")):
            model = getattr(torchvision.models.segmentation, tv)(weights=None, weights_backbone=None)
            model = _DictOut(torch, model)
            x = torch.randn(1, 3, 224, 224)
        elif tv == "r3d_18":
            model = torchvision.models.video.r3d_18(weights=None)
            x = torch.randn(1, 3, 8, 112, 112)
        else:
            model = getattr(torchvision.models, tv)(weights=None)
            x = torch.randn(1, 3, 224, 224)
        dynamo = name.endswith("_dynamo")
        _export_one(torch, out, name, tv.split("_")[0], "torchvision", model, x,
                    exporter="dynamo" if dynamo else "torchscript", opset=18 if dynamo else 17)

    import segmentation_models_pytorch as smp
    versions["segmentation_models_pytorch"] = smp.__version__
    for name, arch, enc in SMP:
        if not wanted(name):
            continue
        model = getattr(smp, arch)(encoder_name=enc, encoder_weights=None, classes=2)
        _export_one(torch, out, name, "smp " + arch, "smp", model, torch.randn(1, 3, 256, 256))

    import ultralytics
    from ultralytics import YOLO
    versions["ultralytics"] = ultralytics.__version__
    for y in YOLOS:
        if not wanted(y):
            continue
        size = 224 if y.endswith("-cls") else 320
        yolo = YOLO(f"{y}.yaml")
        net = yolo.model
        net.eval()
        _export_one(torch, out, f"{y}_torchscript", "ultralytics " + y.split("-")[0],
                    "ultralytics", net, torch.randn(1, 3, size, size))
        # Ultralytics' own exporter: a model whose head is in export mode.
        name = f"{y}_ultralytics"
        side = json.loads((out / f"{y}_torchscript.json").read_text())
        side.update(name=name, exporter="ultralytics model.export(format='onnx')")
        side.pop("export_error", None)
        t0 = time.time()
        try:
            import shutil
            import tempfile
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / f"{y}.pt"
                yolo2 = YOLO(f"{y}.yaml")
                yolo2.model.load_state_dict(net.state_dict())
                yolo2.save(str(src))
                got = YOLO(str(src)).export(format="onnx", imgsz=size)
                shutil.move(got, out / f"{name}.onnx")
        except Exception as e:  # noqa: BLE001
            side["export_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        side["export_seconds"] = round(time.time() - t0, 1)
        (out / f"{name}.json").write_text(json.dumps(side, indent=1) + "\n")
        print(f"{name:40s} {side['export_seconds']:6.1f}s {side.get('export_error', 'ok')}", flush=True)
    (out / "versions.json").write_text(json.dumps(versions, indent=1) + "\n")


class _DictOut:
    """torchvision's segmentation models return a dict; export its 'out' tensor."""

    def __new__(cls, torch, model):
        class Wrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]
        return Wrap(model)


# ---------------------------------------------------------------------- check side

def _netc(args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "netc", *args], capture_output=True, text=True,
                       env=env, timeout=timeout)
    return p, time.time() - t0


ARITH = {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Where"}


def _per_channel(d):
    """(C,), (.., C, 1, 1) or (1, 1, 1, C): a per-channel weight that netc's scale,
    layernorm or groupnorm reads; scalars and other shapes are constants."""
    size = 1
    for x in d:
        size *= x
    if size == 1:
        return False
    return (len(d) == 1 or (len(d) >= 3 and d[-1] == d[-2] == 1 and sum(x != 1 for x in d) == 1)
            or (len(d) == 4 and d[:3] == [1, 1, 1]))


def _initializer_floats(path):
    """Elements of the float initializers as the nodes use them: each node input that
    is an initializer, or an ``Identity`` of one (the TorchScript exporter shares
    identical initializers, such as the all-zero convs a zero-initialised residual
    branch folds into, through ``Identity`` nodes), counted once per use (onnxslim,
    in Ultralytics' exporter, shares identical biases between convs the same way).
    Returns (weights, constants): constants are the tensors an elementwise
    arithmetic node reads that are not shaped as one value per channel (YOLO's
    anchors and strides, scalars) and Resize's scales, which netc reads as constants,
    never as parameters."""
    import onnx
    m = onnx.load(str(path), load_external_data=False)
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
              onnx.TensorProto.BFLOAT16}
    dims = {t.name: list(t.dims) for t in m.graph.initializer if t.data_type in floats}
    weights = consts = 0

    def walk(g):
        nonlocal weights, consts
        for n in g.node:
            if n.op_type == "Identity" and n.input and n.input[0] in dims:
                dims[n.output[0]] = dims[n.input[0]]
                continue
            for i in n.input:
                if i in dims:
                    d = dims[i]
                    size = 1
                    for x in d:
                        size *= x
                    if n.op_type == "Resize" or n.op_type in ARITH and not _per_channel(d):
                        consts += size
                    else:
                        weights += size
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(m.graph)
    return weights, consts


def _blocker(stderr):
    """'node NAME (TYPE #i)' and the op-type list of the first E011 line."""
    for line in stderr.splitlines():
        if "error[" in line:
            m = re.search(r"node '([^']*)' \((\S+) #(\d+)\): error\[(E\d+)\]: (.*)", line)
            if m:
                return {"code": m.group(4), "node": m.group(1), "op_type": m.group(2),
                        "index": int(m.group(3)), "message": m.group(5)}
            m = re.search(r"error\[(E\d+)\]: (.*)", line)
            return {"code": m.group(1), "node": None, "op_type": None, "message": m.group(2)}
    return None


def check(out: Path, markdown: Path | None, roundtrip: bool, only: str | None):
    rows = []
    want = re.compile(only) if only else None
    for side_path in sorted(out.glob("*.json")):
        if side_path.name in ("versions.json", "table.json"):
            continue
        side = json.loads(side_path.read_text())
        name = side["name"]
        if want and not want.search(name):
            continue
        row = {"name": name, "family": side.get("family"), "source": side.get("source"),
               "exporter": side.get("exporter"), "torch_params": side.get("torch_params"),
               "torch_float_buffers": side.get("torch_float_buffers"),
               "hook_macs": side.get("hook_macs"), "matmul_macs": side.get("matmul_macs")}
        onnx_path = out / f"{name}.onnx"
        if "export_error" in side or not onnx_path.exists():
            row["status"] = "export failed"
            row["why"] = side.get("export_error", "no file")
            rows.append(row)
            print(f"{name:40s} export failed", flush=True)
            continue
        row["mb"] = round(onnx_path.stat().st_size / 1e6, 1)
        p, secs = _netc(["summary", str(onnx_path), "--format", "json"])
        row["seconds"] = round(secs, 2)
        if "Traceback" in p.stderr:
            row["status"] = "traceback"
            row["why"] = p.stderr.strip().splitlines()[-1][:200]
        elif p.returncode == 0:
            js = json.loads(p.stdout)
            row["status"] = "whole"
            row["netc_params"] = js["totals"]["params"]
            row["netc_macs"] = js["totals"]["macs"]
            row["file_floats"], row["file_consts"] = _initializer_floats(onnx_path)
        else:
            b = _blocker(p.stderr)
            row["status"] = "E011" if b and b["code"] == "E011" else f"exit {p.returncode}"
            row["blocker"] = b
            row["why"] = (b or {}).get("message") or p.stderr.strip()[:200]
            try:
                js = json.loads(p.stdout)
                row["unread_types"] = [(t["op_type"], t["count"]) for t in js["incomplete"]["op_types"]]
            except Exception:  # noqa: BLE001
                pass
        if roundtrip and row["status"] == "whole":
            import tempfile
            with tempfile.TemporaryDirectory() as tmp:
                y = Path(tmp) / f"{name}.yaml"
                pi, _ = _netc(["import", str(onnx_path), "-o", str(y)])
                if pi.returncode != 0:
                    row["roundtrip"] = "import: " + (pi.stderr.strip().splitlines() or ["?"])[-1][:200]
                else:
                    ps, _ = _netc(["summary", str(y), "--format", "json"])
                    if ps.returncode != 0:
                        row["roundtrip"] = "summary: " + (ps.stderr.strip().splitlines() or ["?"])[0][:200]
                    else:
                        t = json.loads(ps.stdout)["totals"]
                        row["roundtrip"] = ("same" if (t["params"], t["macs"]) ==
                                            (row["netc_params"], row["netc_macs"])
                                            else f"params {t['params']:,} macs {t['macs']:,}")
        rows.append(row)
        print(f"{name:40s} {row['status']:8s} {row.get('seconds', '')}s "
              f"{_verdict(row)}", flush=True)
    (out / "table.json").write_text(json.dumps(rows, indent=1) + "\n")
    whole = sum(r["status"] == "whole" for r in rows)
    exported = sum(r["status"] != "export failed" for r in rows)
    print(f"\nread whole: {whole}/{exported} exported files ({len(rows)} models tried)")
    if markdown:
        markdown.write_text(_markdown(rows, out))
        print("table:", markdown)
    return rows


def _verdict(row):
    if row["status"] != "whole":
        b = row.get("blocker") or {}
        return f"{b.get('op_type')} at {b.get('node')!r}" if b.get("node") else row.get("why", "")
    bits = []
    fp = row["file_floats"]
    bits.append("params = file" if row["netc_params"] == fp else f"params {row['netc_params'] - fp:+,} vs file")
    if row.get("file_consts"):
        bits.append(f"{row['file_consts']:,} constant elements")
    want = (row.get("hook_macs") or 0) + (row.get("matmul_macs") or 0)
    bits.append("MACs = hooks" if row["netc_macs"] == want else f"MACs {row['netc_macs'] - want:+,} vs hooks")
    if "roundtrip" in row:
        bits.append("import " + row["roundtrip"])
    return ", ".join(bits)


def _markdown(rows, out):
    versions = {}
    vp = out / "versions.json"
    if vp.exists():
        versions = json.loads(vp.read_text())
    whole = sum(r["status"] == "whole" for r in rows)
    exported = sum(r["status"] != "export failed" for r in rows)
    lines = [f"Read whole: **{whole}/{exported}** exported files "
             f"({', '.join(f'{k} {v}' for k, v in versions.items())}).", "",
             "| model | exporter | MB | netc | params: netc / file / torch | MACs: netc / hooks (+matmul) | notes |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        exp = "ultralytics" if "ultralytics model.export" in (r.get("exporter") or "") else \
            "dynamo" if r.get("exporter") == "dynamo" else "TorchScript"
        if r["status"] == "whole":
            hm = (r.get("hook_macs") or 0) + (r.get("matmul_macs") or 0)
            mm = f" (+{r['matmul_macs']:,})" if r.get("matmul_macs") else ""
            lines.append(f"| {r['name']} | {exp} | {r.get('mb', '')} | whole | "
                         f"{r['netc_params']:,} / {r['file_floats']:,} / {r['torch_params']:,} | "
                         f"{r['netc_macs']:,} / {hm:,}{mm} | {_verdict(r)} |")
        elif r["status"] == "export failed":
            lines.append(f"| {r['name']} | {exp} | | export failed | | | {r['why'][:120]} |")
        else:
            b = r.get("blocker") or {}
            where = f"`{b.get('op_type')}` at `{b.get('node')}` (#{b.get('index')})" if b.get("node") else ""
            types = ", ".join(f"{t} x{c}" for t, c in r.get("unread_types", []))
            lines.append(f"| {r['name']} | {exp} | {r.get('mb', '')} | {r['status']} | | | "
                         f"{where} {types}".rstrip() + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("export", help="export the corpus (run with the exporters' Python)")
    e.add_argument("--out", default=DEFAULT_OUT, type=Path)
    e.add_argument("--only", help="regular expression on the model names")
    c = sub.add_parser("check", help="read the corpus with netc (run with the repository's Python)")
    c.add_argument("--out", default=DEFAULT_OUT, type=Path)
    c.add_argument("--only", help="regular expression on the model names")
    c.add_argument("--markdown", type=Path, help="write the table as markdown here")
    c.add_argument("--no-roundtrip", action="store_true", help="skip netc import and its summary")
    a = ap.parse_args(argv)
    if a.mode == "export":
        export(a.out, a.only)
    else:
        check(a.out, a.markdown, not a.no_roundtrip, a.only)


if __name__ == "__main__":
    main()
