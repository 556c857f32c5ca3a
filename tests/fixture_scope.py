"""Scope of the test fixtures that build data with toolkit code.

mutmut records which tests reach each function by tracing every test on its own (setup
included) and later runs a mutant against those tests only. A module-scoped fixture is built
during the first test that asks for it, so mutmut credits that one test with every function the
build calls, and a mutant the other tests of the module would catch survives. Under mutmut
(``MUTANT_UNDER_TEST`` set, while it records and while it checks mutants) such fixtures are
rebuilt for each test; otherwise built once per module, as the suite's speed needs.
"""

from __future__ import annotations

import os


def module_unless_mutating(fixture_name: str, config: object) -> str:
    """pytest's dynamic fixture scope: ``"function"`` under mutmut, ``"module"`` otherwise."""
    return "function" if os.environ.get("MUTANT_UNDER_TEST") else "module"
