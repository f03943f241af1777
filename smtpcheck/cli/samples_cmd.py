"""`smtpcheck samples DIR`: write the sample gateway configs out of the installed package."""

from __future__ import annotations

from pathlib import Path

import click

from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import FilePath
from smtpcheck.cli.output import write_output

__all__ = ["samples"]


@click.command(cls=GroupedCommand)
@click.argument("directory", type=FilePath(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace sample files that DIR already holds.")
def samples(directory: Path, force: bool) -> None:
    """Write the sample gateway configs to DIRECTORY (created if missing).

    The same files as sample_configs/ in the source tree: correct gateways and one file per
    common mistake, with a README saying what each one shows.
    Existing files are never replaced without --force.
    """
    from smtpcheck.config.samples import sample_files

    files = [(directory.joinpath(*relative.parts), data) for relative, data in sample_files()]
    taken = [str(path) for path, data in files if path.exists() and path.read_bytes() != data]
    if taken and not force:
        shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        verb = "exists" if len(taken) == 1 else "exist"
        raise click.ClickException(f"{shown} already {verb} with other content: use --force")
    for path, data in files:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.ClickException(f"cannot create {path.parent}: {exc.strerror}") from exc
        write_output(data.decode("utf-8"), path)
    click.echo(f"smtpcheck: wrote {len(files)} sample files to {directory}", err=True)
    click.echo(f"Try: smtpcheck validate {directory}", err=True)
