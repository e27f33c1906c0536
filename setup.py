"""Package discovery only; everything else is declared in pyproject.toml.

pyproject.toml cannot combine automatic discovery with the one package that lives outside
``echodsl/`` (the grammar, mapped from ``grammar/``), so the list is computed here.
"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["echodsl", "echodsl.*"]) + ["echodsl.grammar"])
