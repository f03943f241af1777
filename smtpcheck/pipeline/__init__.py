"""What the commands run: config → rules → runner → report, with no printing and no click.

``validate`` is the static half (no network), ``check`` adds the live probe and live rules.
"""

__all__: list[str] = []
