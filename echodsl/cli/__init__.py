"""The ``echodsl`` command line: a root click group whose sub-commands load lazily.

Each command module imports only what it needs, so ``echodsl validate`` and ``fmt`` start
without importing torch (they are what users run in pre-commit hooks and CI).

Exit codes, for every command: 0 success, 1 the spec or data has errors, 2 usage, IO or
internal failure.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

# command name -> "module:attribute"; a module that is not part of this install is skipped.
COMMANDS: dict[str, str] = {
    "validate": "echodsl.cli.lang:validate",
    "fmt": "echodsl.cli.lang:fmt",
    "show": "echodsl.cli.lang:show",
    "compile": "echodsl.cli.model:compile_cmd",
    "explain": "echodsl.cli.model:explain",
    "data": "echodsl.cli.data:data",
    "train": "echodsl.cli.train:train",
    "eval": "echodsl.cli.evaluate:eval_cmd",
    "judge": "echodsl.cli.evaluate:judge",
    "probe": "echodsl.cli.probe:probe",
    "study": "echodsl.cli.study:study",
    "results": "echodsl.cli.results:results",
    "export": "echodsl.cli.export:export",
    "report": "echodsl.cli.report:report",
}

# command name -> the first paragraph of its help, which `echodsl --help` shortens exactly as
# click would, so that listing the commands imports none of their modules (a test keeps the
# listing equal to the one built from the commands themselves).
SHORT_HELP: dict[str, str] = {
    "validate": "Check .mem files (or every .mem file under directories) and report all problems.",
    "fmt": "Rewrite .mem files in the canonical layout, keeping every comment.",
    "show": "Print resolved profiles (extends applied, sweeps expanded, defaults filled) and their spec_hash.",
    "compile": "Build a profile on the preset's DiT, torch.compile it and run one train step.",
    "explain": "Module tree, parameters, memory tokens, attention FLOPs and graph breaks of a profile.",
    "data": "The embedded world and Context-as-Memory datasets.",
    "train": "Train one profile of SPEC with the fixed flow-matching recipe (torchrun-aware).",
    "eval": "Evaluate RUN (a run directory or one of its checkpoints) on the fixed held-out cases: "
            "replay (per-chunk PSNR/SSIM/LPIPS), in-domain return, open-domain return (judge) and "
            "write capacity. Each case is saved to RUN/eval/ as it completes; a re-run skips them.",
    "judge": "Judges of the open-domain return probe.",
    "probe": "Memory-use diagnostics of RUN (a run directory or one of its checkpoints) on fixed "
             "held-out return segments, teacher-forced: the loss with and without the memory, where "
             "the targets' attention goes, gate magnitudes, and how much the data needs memory.",
    "study": "Run a study: train each profile × seed, evaluate all branches, record in the store, compare.",
    "results": "Query and compare the runs recorded in a results store.",
    "export": "Write a trained run's rollouts for other benchmarks.",
    "report": "One self-contained HTML page for a study: DIR/index.html.",
}

EPILOG = "Exit codes: 0 success, 1 errors in a spec or data set, 2 usage, IO or internal failure."


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when that command runs (or its
    own ``--help`` is asked for); the root ``--help`` lists commands from SHORT_HELP."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, target in COMMANDS.items() if _available(target)]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.Command(name, help=SHORT_HELP.get(name, "")).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _available(target):
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr, None)
        if command is not None:
            _accept_debug(command)
        return command


DEBUG_KEY = "echodsl.debug"  # in click's ctx.meta, which every sub-context shares


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG_KEY] = True


def _accept_debug(command: click.Command) -> None:
    """Let ``--debug`` follow any sub-command too (``echodsl study ... --debug``), not
    only the root, since that is where users add it after reading an error's hint."""
    if not any(p.name == "debug" for p in command.params):
        command.params.append(click.Option(
            ["--debug"], is_flag=True, expose_value=False, callback=_set_debug,
            help="Show Python tracebacks instead of short error messages."))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_debug(sub)


def _available(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="echodsl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of short error messages.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """echodsl: write a memory design for a video world model as a .mem spec, validate it,
    compile it onto a shared Wan DiT, train and evaluate it, and compare results."""
    if debug:
        ctx.meta[DEBUG_KEY] = True
