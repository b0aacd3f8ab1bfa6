"""Linear mixed-effects models for grouped longitudinal data: the analysis core.

No UI here: the Streamlit pages and the CLI both call into this package.
"""
from .design import ModelData, prepare
from .errors import UserInputError
from .spec import ColumnRoles, ModelSpec

__all__ = ["ColumnRoles", "ModelData", "ModelSpec", "UserInputError", "prepare"]
