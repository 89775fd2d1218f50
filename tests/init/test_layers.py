"""One definition of weight layers, used by the base inits, emergence-init and the emergence measure."""

import torch
from torch import nn

from neurocircuits.init import is_shortcut, is_weight_layer, layer_groups, weight_layers
from neurocircuits.init.bases import init_targets
from neurocircuits.measure.emergence import emergence
from neurocircuits.models.vision import mlp, resnet


def test_weight_layers_main_path_and_shortcuts():
    net = resnet((4, 8), blocks_per_stage=1)
    main = [n for n, _ in weight_layers(net)]
    every = [n for n, _ in weight_layers(net, shortcuts=True)]
    shortcuts = [n for n in every if n not in main]
    assert shortcuts and all(is_shortcut(n) for n in shortcuts) and not any(is_shortcut(n) for n in main)
    assert all(is_weight_layer(m) for _, m in weight_layers(net, shortcuts=True))
    assert not is_weight_layer(nn.BatchNorm2d(3)) and not is_weight_layer(nn.ReLU())


def test_the_three_users_agree_on_the_layers():
    net = resnet((4, 8), blocks_per_stage=1)
    main = [n for n, _ in weight_layers(net)]
    # the base initialisation touches every weight layer, shortcuts included
    assert [n for n, _, _ in init_targets(net)] == [n for n, _ in weight_layers(net, shortcuts=True)]
    # emergence-init indexes the main path; shortcuts join their block's group
    assert [g.name for g in layer_groups(net)] == main
    # the emergence measure reads the same main path
    r = emergence(net, torch.rand(8, 1, 28, 28))
    assert r.layers == main


def test_plain_mlp():
    net = mlp(3, 8, in_dim=4, n_classes=2)
    assert [type(m) for _, m in weight_layers(net)] == [nn.Linear] * 3
