"""Pure-numpy simulators behind the course's interactive widgets.

See :mod:`widgets_py.core` for the contract, :mod:`widgets_py.registry` for the widget types.
"""

from .core import Metric, Param, ParamError, Widget

__all__ = ["Metric", "Param", "ParamError", "Widget"]
