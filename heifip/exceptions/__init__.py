"""heifip 1.1.1's exception module (import path kept for drop-in compatibility)."""


class FIPWrongParameterException(Exception):
    """Wrong Parameter passed (an image_type that is not one of the six image classes)."""


__all__ = ["FIPWrongParameterException"]
