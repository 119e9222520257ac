"""The generated sections of every module README: the inputs/outputs tables, from the module's Terraform files
(python-hcl2), and, for a module with examples, how to try them on the local emulator, from the local target's own
provider settings (python_stacks/target.py), so neither can drift from what it describes.

Only the text between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` (and between ``<!-- BEGIN_EMULATOR -->``
and ``<!-- END_EMULATOR -->``) is ours; the rest of a README is prose its authors write. Usage:
``python -m tools.module_docs [--check] [MODULE_DIR ...]`` — ``--check`` changes nothing and exits 1 when a section
is stale or a README lacks its markers. The policy gate and the contract tests run the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from python_stacks.project import ROOT

MODULES_DIR = ROOT / "tf_modules"
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
EMULATOR_BEGIN = "<!-- BEGIN_EMULATOR -->"
EMULATOR_END = "<!-- END_EMULATOR -->"
# Terraform merges a root module's `*_override.tf` files into its blocks: this one into the example's provider.
OVERRIDE_FILE = "emulator_override.tf"
# Quoted strings come back unquoted and unescaped, blocks as plain dicts: the shape of `terraform-docs json`.
_HCL_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


class ModuleDocsError(RuntimeError):
    """A module's README cannot be generated (no README, no markers, unparsable Terraform)."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str | None
    description: str | None
    has_default: bool
    default: Any = None
    # The error messages of its `validation` blocks: the rules Terraform enforces, as it reports them.
    validations: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class Output:
    name: str
    description: str | None
    value: Any = None


@dataclass(frozen=True)
class ModuleInterface:
    directory: Path
    variables: tuple[Variable, ...]
    outputs: tuple[Output, ...]

    @property
    def name(self) -> str:
        """``vpc``, ``api/modules/account-settings``: how messages name the module."""
        return shown(self.directory, MODULES_DIR)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def output(self, name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == name), None)


def shown(path: Path, base: Path = ROOT) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def module_dirs(root: Path = MODULES_DIR) -> list[Path]:
    """Every module and submodule (``<module>/modules/<name>``) that ships Terraform files; examples are callers."""
    found = []
    for module in sorted(p for p in root.iterdir() if p.is_dir()):
        for candidate in (module, *sorted(p for p in module.glob("modules/*") if p.is_dir())):
            if list(candidate.glob("*.tf")):
                found.append(candidate)
    return found


def strip_interpolation(text: str) -> str:
    """``${map(string)}`` -> ``map(string)``: python-hcl2 wraps every non-literal expression."""
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _blocks(parsed: dict[str, Any], kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for entry in parsed.get(kind, []):
        yield from entry.items()


def read_interface(directory: Path) -> ModuleInterface:
    """Variables and outputs in declaration order (files by name, as Terraform reads them)."""
    variables: list[Variable] = []
    outputs: list[Output] = []
    for path in sorted(directory.glob("*.tf")):
        try:
            with path.open() as handle:
                parsed = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
        except Exception as exc:  # python-hcl2 raises lark errors of several kinds
            raise ModuleDocsError(f"{shown(path)}: cannot parse: {exc}") from exc
        for name, body in _blocks(parsed, "variable"):
            type_text = body.get("type")
            variables.append(
                Variable(
                    name=name,
                    type=strip_interpolation(type_text) if isinstance(type_text, str) else None,
                    description=body.get("description"),
                    has_default="default" in body,
                    default=body.get("default"),
                    validations=tuple(str(rule.get("error_message", "")) for rule in body.get("validation") or []),
                )
            )
        for name, body in _blocks(parsed, "output"):
            outputs.append(Output(name=name, description=body.get("description"), value=body.get("value")))
    return ModuleInterface(directory, tuple(variables), tuple(outputs))


def _cell(text: str) -> str:
    # A table row is one line, and a pipe would end the cell early.
    return " ".join(text.split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """One line of Markdown; ``<x>`` outside code spans is escaped, or a renderer would take it for an HTML tag."""
    parts = " ".join(text.split()).split("`")
    return "`".join(part.replace("<", "\\<") if i % 2 == 0 else part for i, part in enumerate(parts))


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def render_default(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return strip_interpolation(value)  # an expression such as a reference to a local: show it as written
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def render_tables(interface: ModuleInterface) -> str:
    lines = ["## Inputs", ""]
    if interface.variables:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for var in interface.variables:
            default = "n/a" if var.required else _code(render_default(var.default))
            lines.append(
                f"| {_code(var.name)} | {_cell(var.description or '')} | {_code(var.type or 'any')} | {default} "
                f"| {'yes' if var.required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    rules = [(var.name, message) for var in interface.variables for message in var.validations if message]
    if rules:
        # What the validation blocks enforce, word for word, so the documented limits are the enforced ones.
        lines += ["", "### Input validation", "", "Terraform rejects a value that breaks one of these rules:", ""]
        lines += [f"- {_code(name)}: {_prose(message)}" for name, message in rules]
    lines += ["", "## Outputs", ""]
    if interface.outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| {_code(out.name)} | {_cell(out.description or '')} |" for out in interface.outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def _hcl_literal(value: object) -> str:
    return json.dumps(value)  # true/false, numbers and strings are written the same in HCL


def _hcl_attributes(values: dict[str, object], indent: str) -> list[str]:
    """``name = value`` lines aligned on ``=`` as ``terraform fmt`` aligns them."""
    width = max(len(name) for name in values)
    return [f"{indent}{name:<{width}} = {_hcl_literal(value)}" for name, value in values.items()]


def emulator_provider_override() -> str:
    """The local target's AWS provider settings as a provider block (python_stacks/target.py is the one source)."""
    from python_stacks.target import DEFAULT_LOCAL_ENDPOINT, target_for

    settings = dict(target_for("local", DEFAULT_LOCAL_ENDPOINT).provider_settings())
    blocks = {name: value for name, value in settings.items() if isinstance(value, list)}
    attributes = {name: value for name, value in settings.items() if name not in blocks}
    lines = ['provider "aws" {', *_hcl_attributes(attributes, "  ")]
    for name, entries in blocks.items():
        for entry in entries:
            lines += ["", f"  {name} {{", *_hcl_attributes(dict(entry), "    "), "  }"]
    return "\n".join([*lines, "}"])


def example_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("examples/*") if p.is_dir())


def render_emulator(directory: Path) -> str:
    example = shown(example_dirs(directory)[0])
    return "\n".join(
        [
            "## Try it on the local emulator",
            "",
            "The project's local AWS emulator (moto with the project's extensions, `tools/emulator.py`) answers the "
            f"calls of this module. From the project root, after `make setup`, try `{example}`:",
            "",
            "```sh",
            ".venv/bin/python -m tools.emulator start   # http://127.0.0.1:4566 (LOCAL_AWS_ENDPOINT=... to move it)",
            'eval "$(make -s tf-env)"                  # the tooling\'s Terraform settings (offline provider mirror)',
            f"cd {example}",
            f"cat > {OVERRIDE_FILE} <<'EOF'",
            emulator_provider_override(),
            "EOF",
            "terraform init && terraform apply",
            "```",
            "",
            f'Terraform merges `{OVERRIDE_FILE}` into the example\'s `provider "aws"` block (test credentials, every '
            f"endpoint on the emulator); delete the file to run the example against real AWS again. The block is the "
            "local target's own provider configuration (`python_stacks/target.py`), written here by "
            "`make module-docs` and checked by the policy gate.",
        ]
    )


def replace_section(readme_text: str, begin: str, end: str, content: str, readme: Path) -> str:
    """The README with one marked section replaced; everything outside the markers is kept byte for byte."""
    if readme_text.count(begin) != 1 or readme_text.count(end) != 1:
        raise ModuleDocsError(f"{shown(readme)}: needs exactly one {begin} and one {end} line")
    head, rest = readme_text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n\n{content}\n\n{end}{tail}"


def regenerate(readme_text: str, tables: str, readme: Path) -> str:
    """The README with the inputs/outputs tables replaced."""
    return replace_section(readme_text, BEGIN, END, tables, readme)


def regenerate_all(readme_text: str, directory: Path, readme: Path) -> str:
    """Every generated section of the README of the module in ``directory``."""
    updated = regenerate(readme_text, render_tables(read_interface(directory)), readme)
    if example_dirs(directory):  # a module with examples says how to run them locally
        updated = replace_section(updated, EMULATOR_BEGIN, EMULATOR_END, render_emulator(directory), readme)
    return updated


def stale_readmes(directories: Iterable[Path], write: bool) -> list[str]:
    """Problems found (stale tables are rewritten first when ``write``); empty when every README is current."""
    problems = []
    for directory in directories:
        readme = directory / "README.md"
        try:
            if not readme.is_file():
                raise ModuleDocsError(f"{shown(readme)}: missing (every module documents its interface)")
            text = readme.read_text()
            updated = regenerate_all(text, directory, readme)
        except ModuleDocsError as exc:
            problems.append(str(exc))
            continue
        if updated != text:
            if write:
                readme.write_text(updated)
                print(f"module-docs: updated {shown(readme)}")
            else:
                problems.append(f"{shown(readme)}: generated sections are stale; run `make module-docs`")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a README is stale")
    parser.add_argument("modules", nargs="*", type=Path, help="module folders (default: every module in tf_modules/)")
    args = parser.parse_args(argv)
    directories = [p.resolve() for p in args.modules] or module_dirs()
    problems = stale_readmes(directories, write=not args.check)
    for problem in problems:
        print(f"module-docs: {problem}", file=sys.stderr)
    if not problems:
        print(f"module-docs: {len(directories)} README(s) up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
