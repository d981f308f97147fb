"""The claims plugin itself is `harness.pytest_plugin.claims`, loaded by its pytest11 entry point once the
package is installed (`pip install -e .`); this repository needs nothing more here."""
