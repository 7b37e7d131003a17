"""A light base for the scikit-learn-style models (:class:`cluster.TopicModel`, :class:`cluster.StoryModel`).

It gives what scikit-learn's ``BaseEstimator`` gives them, ``get_params`` / ``set_params`` over the constructor's
parameters, which is all ``sklearn.base.clone`` needs, and scikit-learn's estimator tags (for
``sklearn.utils.validation.check_is_fitted``), without importing scikit-learn: ``sklearn.base`` imports
``scipy.stats``, 1 to 4 s, which opening a saved model (``paratopic serve``, ``info``) should not pay. The tags
import scikit-learn when asked for, which only scikit-learn's own functions do.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["Estimator"]


class Estimator:
    """Parameters are the constructor's arguments, stored unchanged as attributes of the same names."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted (scikit-learn's rule: no ``*args``)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        parameters = [p for p in inspect.signature(init).parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD]
        if any(p.kind == p.VAR_POSITIONAL for p in parameters):
            raise RuntimeError(f"{cls.__name__}'s constructor takes *args; its parameters must be named")
        return sorted(p.name for p in parameters)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters by name; with ``deep``, also ``name__sub`` for a parameter that has parameters."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{sub}", v) for sub, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters by name (``name__sub`` sets one of a parameter's own); returns self."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for full_key, value in params.items():
            key, delim, sub_key = full_key.partition("__")
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {self}. "
                                 f"Valid parameters are: {self._get_param_names()!r}.")
            if delim:
                nested.setdefault(key, {})[sub_key] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's default estimator tags (scikit-learn is imported here, when its functions ask)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False), transformer_tags=None,
                    regressor_tags=None, classifier_tags=None)
