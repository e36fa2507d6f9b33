"""Sphinx configuration of the spin-echo documentation (``sphinx-build -W -b html docs out``).

Sphinx with numpydoc: the scientific Python libraries this field uses (NumPy, SciPy, QuTiP)
document themselves this way, and numpydoc validates our docstring convention as it renders
(:data:`numpydoc_validation_checks`; a failed check is a warning, and CI builds with ``-W``).
"""

from __future__ import annotations

project = "spin-echo"
author = "the spin-echo developers"
copyright = "the spin-echo developers, BSD-3-Clause"
release = "0.1.0"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]

exclude_patterns = ["paper/**"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_show_sourcelink = False

autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
#: The checks every documented object of the API must pass: a docstring (GL08), a summary
#: (SS01, SS03 full stop), every parameter documented and none unknown (PR01, PR02), and
#: sections in the order of the numpydoc convention (GL07).
numpydoc_validation_checks = {"GL07", "GL08", "PR01", "PR02", "SS01", "SS03"}
#: Not checked: the packages below the API (their own conventions, their owners' tests), and
#: the result classes, whose fields are documented as Attributes (they are read, not built).
numpydoc_validation_exclude = {
    r"^spin_echo\.(sequences|simulator|drivers|echo)\.",
    r"^spin_echo\.(AnalysisResult|ComparisonResult|FitResult|Budget|DesignResult)$",
    r"\.__repr__$",
    r"\._repr_html_$",
}
