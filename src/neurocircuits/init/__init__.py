"""Weight initialisers: kaiming/xavier bases, emergence-promoting init, structured inits."""

from neurocircuits.init.bases import base_init_, kaiming_, xavier_
from neurocircuits.init.gradinit import gradinit_
from neurocircuits.init.emergence import (
    ARMS, LayerGroup, ScaleTable, emergence_init, emergence_scale_, equivalent_lr_groups, layer_exponents,
    layer_groups, prepare_arm, scale_table,
)
from neurocircuits.init.layers import is_shortcut, is_weight_layer, weight_layers

__all__ = ["ARMS", "LayerGroup", "ScaleTable", "base_init_", "emergence_init", "emergence_scale_",
           "equivalent_lr_groups", "gradinit_", "is_shortcut", "is_weight_layer", "kaiming_", "layer_exponents",
           "layer_groups", "prepare_arm", "scale_table", "weight_layers", "xavier_"]
