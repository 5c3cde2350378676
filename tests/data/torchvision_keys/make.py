"""Write torchvision's state_dict keys and shapes for the architectures netc maps
(netc/torch/torchvision_keys.py), one JSON file each, for tests/test_torch_torchvision.py
to check the mapping without torchvision installed. Run with a Python that has
torchvision (the fixtures were written with torch 2.14.1, torchvision 0.29.1):

    python tests/data/torchvision_keys/make.py
"""

import json
from pathlib import Path

import torch
import torchvision

HERE = Path(__file__).parent
ARCHS = ("resnet18", "resnet50", "resnet152", "mobilenet_v2", "efficientnet_b0", "convnext_tiny")

for arch in ARCHS:
    model = getattr(torchvision.models, arch)()
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    doc = {"arch": arch, "torch": torch.__version__.split("+")[0],
           "torchvision": torchvision.__version__.split("+")[0], "state_dict": keys}
    text = json.dumps(doc, separators=(",", ":"))
    (HERE / f"{arch}.json").write_text(text.replace('],["', '],\n["') + "\n")
    print(arch, len(keys))
