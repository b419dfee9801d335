"""A Griffe extension for the API reference: the docstrings' Sphinx roles (:func:`read`,
:class:`Recording`, :data:`PROTOCOLS`) are shown as code, as Markdown writes them."""

import re

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`]+)`")


class SphinxRolesAsCode(griffe.Extension):
    """Rewrites each role in a docstring to its target in backticks."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
