"""heifip: network captures to images for deep learning -- a fast, C-core, drop-in replacement
for heiFIP 1.1.1.

    from heifip.extractor import FIPExtractor
    from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
    images = FIPExtractor().create_image_from_file("x.pcap", "NONE", FlowImageTiledFixed,
                                                    0, 0, 0, 0, False, 16, 0, 8)

``import heifip`` stays light (no NumPy until something needs it): the names below are loaded on
first use.
"""
__version__ = "2.0.0.dev0"

# 1.1.1 exported this (click settings); kept so `from heifip import CONTEXT_SETTINGS` works.
CONTEXT_SETTINGS = dict(help_option_names=["-h", "--help"], show_default=True)

_LAZY = {
    "FIPExtractor": "heifip.extractor",
    "save_png": "heifip.extractor",
    "save_pngs": "heifip.extractor",
    "PacketProcessorType": "heifip.layers",
    "is_capture": "heifip._capture",
    "extract": "heifip.sessions",
    "flows": "heifip.sessions",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'heifip' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
