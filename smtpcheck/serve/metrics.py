"""`/metrics` and `/probe` of `smtpcheck serve`: a `FleetView` in Prometheus's two text formats.

Fleet-wide series go through prometheus_client; each gateway's are check's facts, formatted once
per state and kept: at ~10 µs a sample prometheus_client takes 4 s for 10 000 gateways.
"""

from __future__ import annotations

import functools
import itertools
import operator
import threading
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics_exposition
from prometheus_client.registry import Collector

from smtpcheck.reporters.prometheus import (
    FAMILIES,
    GATEWAY_FAMILIES,
    Family,
    Labels,
    Sample,
    constant_labels,
    format_labels,
    format_sample,
    gateway_labels,
    gateway_samples,
    join_labels,
    run_samples,
)
from smtpcheck.serve.view import FleetView, GatewayState

__all__ = [
    "OPENMETRICS_CONTENT_TYPE",
    "TEXT_CONTENT_TYPE",
    "MetricsExporter",
    "render_metrics",
    "render_probe_metrics",
    "wants_openmetrics",
]

TEXT_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
OPENMETRICS_CONTENT_TYPE: str = openmetrics_exposition.CONTENT_TYPE_LATEST
_MEDIA_OPENMETRICS = "application/openmetrics-text"
_MEDIA_TEXT = frozenset({"text/plain", "text/*", "*/*"})
_EOF = b"# EOF\n"
_SECONDS = "seconds"

#: A gateway's series that only serve has: they need its history.
_STATE_FAMILIES = (
    Family(
        "smtpcheck_gateway_last_check_timestamp_seconds",
        "When the latest check of the gateway ended, in seconds since the Unix epoch.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_gateway_consecutive_failures",
        "Checks of the gateway in a row whose status was failed or error; 0 after one that "
        "was not.",
    ),
    Family(
        "smtpcheck_gateway_failing_since_timestamp_seconds",
        "When the gateway's current run of failed checks began, in seconds since the Unix "
        "epoch; absent when it is not failing.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_gateway_last_change_timestamp_seconds",
        "When the gateway's status last changed, in seconds since the Unix epoch; absent when "
        "serve has not seen it change.",
        unit=_SECONDS,
    ),
)
_FLEET_FAMILIES = (
    Family("smtpcheck_up", "1 while serve answers (always 1)."),
    Family(
        "smtpcheck_cycle_interval_seconds", "How often serve checks every gateway.", unit=_SECONDS
    ),
    Family(
        "smtpcheck_cycles_total",
        "Complete cycles (every gateway checked once) since serve started.",
        type="counter",
    ),
    Family(
        "smtpcheck_cycle_duration_seconds",
        "How long the last complete cycle took; absent before the first.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_cycle_lag_seconds",
        "How far the last complete cycle ended past its interval, 0 when on time; absent "
        "before the first.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_cycle_last_completed_timestamp_seconds",
        "When the last complete cycle ended, in seconds since the Unix epoch; absent before "
        "the first.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_list_loaded_timestamp_seconds",
        "When the gateway list in use was loaded, in seconds since the Unix epoch.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_list_reload_failing",
        "1 while the last reload of the gateway list failed (the list in use is older), else 0.",
    ),
)
_GATEWAY = (*GATEWAY_FAMILIES, *_STATE_FAMILIES)
_INDEX = {family.name: index for index, family in enumerate(_GATEWAY)}
_BY_NAME = {family.name: family for family in (*FAMILIES, *_STATE_FAMILIES, *_FLEET_FAMILIES)}
_Fragment = tuple[bytes, ...]  # a gateway's sample lines, one item per family of _GATEWAY


class MetricsExporter:
    """What serve exposes, with its own registry: set `view` to the latest, then `render`.

    Each gateway's lines are kept while its `GatewayState` stays the same object, so a scrape
    formats only the gateways checked since the last one.
    """

    def __init__(self, *, labels: Sequence[tuple[str, str]] = (), view: FleetView | None = None):
        """Check the constant labels and build the registry.

        Raises:
            ValueError: a constant label is refused (`constant_labels`), or is one of
                ``python_info``'s own.
        """
        constant = constant_labels(labels)
        platform = PlatformCollector(registry=None)
        _refuse_clashes(constant, platform)
        self.view = view if view is not None else FleetView()
        self._constant = format_labels(constant)
        self._cache: dict[str, tuple[GatewayState, _Fragment]] = {}
        self._lock = threading.Lock()  # the cache, should the app render in threads
        self._fleet = _FleetCollector(constant)
        self.registry = CollectorRegistry()
        self.registry.register(self._fleet)
        self.registry.register(_Labelled(ProcessCollector(registry=None), constant))
        self.registry.register(_Labelled(platform, constant))

    def render(
        self, view: FleetView | None = None, *, openmetrics: bool = False
    ) -> tuple[bytes, str]:
        """Return the body of ``/metrics`` for ``view`` (default: `view`), and its content type."""
        with self._lock:
            view = self.view if view is None else view  # one snapshot for the whole body
            chunks = _gateway_chunks(self._fragments(view.gateways), _headers(openmetrics))
            self._fleet.view = view
            # The registry's output ends with OpenMetrics' "# EOF", so it comes last.
            chunks.append(_generate(self.registry, openmetrics))
        return b"".join(chunks), _content_type(openmetrics)

    def refresh(self, view: FleetView | None = None) -> None:
        """Format the gateways checked since the last render or refresh, and keep them.

        For an app that calls it now and then (every second, say) between scrapes, so that a
        scrape of a fleet checked every minute only joins kept lines.
        """
        with self._lock:
            self._fragments((self.view if view is None else view).gateways)

    def render_probe(self, state: GatewayState, *, openmetrics: bool = False) -> tuple[bytes, str]:
        """Return the body of ``/probe`` for one gateway, and its content type.

        Blackbox-style: that gateway's series only, with ``smtpcheck_probe_success`` and
        ``smtpcheck_probe_duration_seconds`` always there (0 when it was not probed).
        """
        extra: list[Sample] = []
        if state.report.probe is None:
            extra = [
                ("smtpcheck_probe_success", (), 0),
                ("smtpcheck_probe_duration_seconds", (), 0),
            ]
        fragment = _fragment(state, self._constant, extra)
        chunks = _gateway_chunks([fragment], _headers(openmetrics))
        if openmetrics:
            chunks.append(_EOF)
        return b"".join(chunks), _content_type(openmetrics)

    def _fragments(self, gateways: Iterable[GatewayState]) -> list[_Fragment]:
        old = self._cache
        new: dict[str, tuple[GatewayState, _Fragment]] = {}
        fragments = []
        for state in gateways:
            entry = old.get(state.key)
            if entry is None or not _same(entry[0], state):
                entry = (state, _fragment(state, self._constant))
            new[state.key] = entry
            fragments.append(entry[1])
        self._cache = new  # a gateway gone from the list is forgotten
        return fragments


def render_metrics(
    view: FleetView, *, labels: Sequence[tuple[str, str]] = (), openmetrics: bool = False
) -> tuple[bytes, str]:
    """Return ``/metrics`` for the view (body, content type), from this process's exporter.

    Raises:
        ValueError: a constant label is refused (see `MetricsExporter`).
    """
    return _exporter(tuple(labels)).render(view, openmetrics=openmetrics)


def render_probe_metrics(
    state: GatewayState, *, labels: Sequence[tuple[str, str]] = (), openmetrics: bool = False
) -> tuple[bytes, str]:
    """Return ``/probe?gateway=ID`` for the gateway's state (body, content type).

    Raises:
        ValueError: a constant label is refused (see `MetricsExporter`).
    """
    return _exporter(tuple(labels)).render_probe(state, openmetrics=openmetrics)


def wants_openmetrics(accept: str | None) -> bool:
    """Return True when the Accept header prefers OpenMetrics to the classic text format.

    Prometheus asks for both, OpenMetrics first; a range with ``q=0`` refuses a format, and
    a tie goes to OpenMetrics.
    """
    best_openmetrics = best_text = 0.0
    for media_range in (accept or "").split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        quality = _quality(params)
        if kind.lower() == _MEDIA_OPENMETRICS:
            best_openmetrics = max(best_openmetrics, quality)
        elif kind.lower() in _MEDIA_TEXT:
            best_text = max(best_text, quality)
    return best_openmetrics > 0 and best_openmetrics >= best_text


def _quality(params: Iterable[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0  # a q we cannot read chooses nothing
    return 1.0


@functools.cache
def _exporter(labels: tuple[tuple[str, str], ...]) -> MetricsExporter:
    return MetricsExporter(labels=labels)


def _content_type(openmetrics: bool) -> str:
    return OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE


def _same(old: GatewayState, new: GatewayState) -> bool:
    # Identity first: the scheduler keeps a gateway's state object until its next check ends.
    # A state rebuilt around the same report is compared field by field, the report by identity.
    return old is new or (old.report is new.report and old == new)


#: A sample's own labels are nearly always one of a few (a status, a step, a rule code).
_own_labels = functools.lru_cache(maxsize=1024)(format_labels)


def _fragment(state: GatewayState, constant: str, extra: Iterable[Sample] = ()) -> _Fragment:
    base = join_labels(constant, format_labels(gateway_labels(state.key, state.report)))
    lines: list[str] = [""] * len(_GATEWAY)
    samples = itertools.chain(gateway_samples(state.report), _state_samples(state), extra)
    for name, labels, value in samples:
        sample = format_sample(name, join_labels(base, _own_labels(labels)), value)
        lines[_INDEX[name]] += f"{sample}\n"
    return tuple([block.encode("utf-8") if block else b"" for block in lines])


def _state_samples(state: GatewayState) -> Iterator[Sample]:
    yield "smtpcheck_gateway_last_check_timestamp_seconds", (), state.checked_at
    yield "smtpcheck_gateway_consecutive_failures", (), state.consecutive_failures
    if state.failing_since is not None:
        yield "smtpcheck_gateway_failing_since_timestamp_seconds", (), state.failing_since
    if state.last_change is not None:
        yield "smtpcheck_gateway_last_change_timestamp_seconds", (), state.last_change


def _fleet_samples(view: FleetView) -> Iterator[Sample]:
    yield "smtpcheck_up", (), 1
    yield "smtpcheck_cycle_interval_seconds", (), view.interval_s
    cycle = view.cycle
    yield "smtpcheck_cycles_total", (), 0 if cycle is None else cycle.number
    if cycle is not None:
        yield "smtpcheck_cycle_duration_seconds", (), cycle.duration_s
        yield "smtpcheck_cycle_lag_seconds", (), cycle.lag_s
        yield "smtpcheck_cycle_last_completed_timestamp_seconds", (), cycle.finished
    if view.list_loaded_at is not None:
        yield "smtpcheck_list_loaded_timestamp_seconds", (), view.list_loaded_at
    yield "smtpcheck_list_reload_failing", (), view.list_error is not None


def _gateway_chunks(fragments: Sequence[_Fragment], headers: Sequence[bytes]) -> list[bytes]:
    chunks: list[bytes] = []
    for index, header in enumerate(headers):
        block = list(map(operator.itemgetter(index), fragments))
        if any(block):  # a family without samples is left out, as check leaves it out
            chunks.append(header)
            chunks += block
    return chunks


@functools.cache
def _headers(openmetrics: bool) -> tuple[bytes, ...]:
    """Return HELP, TYPE (and UNIT) of each gateway family, as prometheus_client writes them."""
    return tuple(
        _generate(_Metrics([_metric(family, ())]), openmetrics).removesuffix(_EOF)
        for family in _GATEWAY
    )


def _generate(collector: Collector, openmetrics: bool) -> bytes:
    if openmetrics:
        body: bytes = openmetrics_exposition.generate_latest(collector)  # type: ignore[no-untyped-call]
        return body
    return generate_latest(collector)


def _metric(family: Family, samples: Iterable[Sample], constant: Labels = ()) -> Metric:
    """Return the family as prometheus_client's, each sample with the constant labels first."""
    samples = list(samples)
    names = [name for name, _ in constant]
    if samples:  # the samples of a family share their label names
        names += [name for name, _ in samples[0][1]]
    values = [value for _, value in constant]
    kind = CounterMetricFamily if family.type == "counter" else GaugeMetricFamily
    metric = kind(family.name, family.help, labels=names, unit=family.unit)
    for _, labels, value in samples:
        metric.add_metric(values + [value for _, value in labels], float(value))
    return metric


class _Metrics:
    """A collector of metrics already made."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


class _FleetCollector:
    """The fleet-wide series of `view` (set before each render): run counts, cycles, the list."""

    def __init__(self, constant: Labels) -> None:
        self.view = FleetView()
        self._constant = constant

    def collect(self) -> Iterator[Metric]:
        view = self.view
        reports = (state.report for state in view.gateways)
        samples = itertools.chain(run_samples(reports, view.findings), _fleet_samples(view))
        for name, group in itertools.groupby(samples, key=lambda sample: sample[0]):
            yield _metric(_BY_NAME[name], group, self._constant)


class _Labelled:
    """Another collector's metrics, each sample with the constant labels first."""

    def __init__(self, collector: Collector, constant: Labels) -> None:
        self._collector = collector
        self._constant = dict(constant)

    def collect(self) -> Iterator[Metric]:
        for metric in self._collector.collect():
            metric.samples = [
                sample._replace(labels={**self._constant, **sample.labels})
                for sample in metric.samples
            ]
            yield metric


def _refuse_clashes(constant: Labels, platform: Collector) -> None:
    own = {name for metric in platform.collect() for s in metric.samples for name in s.labels}
    for name, _ in constant:
        if name in own:
            raise ValueError(f"label name {name!r} is one python_info already puts on its series")
