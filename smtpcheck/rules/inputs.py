"""SC0xx: the input itself — JSON syntax, gateway shape, param names and types, ids, variables."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from smtpcheck.config.javamail import java_bool, java_int
from smtpcheck.config.params import BOOL_PARAMS, INT_PARAMS, JAVAMAIL_KEYS, KNOWN_PARAMS
from smtpcheck.results import GatewayKind, Severity
from smtpcheck.rules.base import Scope, SmtpGateway, Violation, rule

if TYPE_CHECKING:
    from smtpcheck.config.documents import GatewayEntry, SourceDocument

__all__ = [
    "bound_gateway_unknown",
    "duplicate_gateway_id",
    "invalid_gateway",
    "invalid_json",
    "none_probed",
    "nothing_checked",
    "redacted_secret",
    "string_typed_value",
    "unknown_param",
    "unrecognized_document",
    "unresolved_env_var",
    "unsupported_provider",
]


@rule(code="SC001", slug="invalid-json", severity=Severity.ERROR, scope=Scope.DOCUMENT)
def invalid_json(doc: SourceDocument) -> Iterator[Violation]:
    """The source is not valid JSON.

    What it checks:
        That each file (or standard input) parses as UTF-8 JSON. The finding gives the line and
        column where parsing stopped.

    Why it matters:
        Nothing in a file that does not parse can be checked. Hand-edited exports typically break
        on a trailing comma, single quotes or a missing comma between two gateways.

    Bad:
        {"id": 7, "label": "Dealer mail",}

    Good:
        {"id": 7, "label": "Dealer mail"}

    Fix:
        Correct the JSON at the line and column given (`python -m json.tool FILE` points there
        too).
    """
    if doc.json_error is not None:
        error = doc.json_error
        yield Violation(
            f"{doc.source}:{error.line}:{error.column}: not valid JSON: {error.message}",
            fix=f"correct the JSON at line {error.line}, column {error.column}",
        )


@rule(code="SC002", slug="invalid-gateway", severity=Severity.ERROR, scope=Scope.ENTRY)
def invalid_gateway(entry: GatewayEntry) -> Iterator[Violation]:
    """A gateway object has a missing field or a value of the wrong JSON type.

    What it checks:
        The shape the panel API documents: an integer `id`, a string `label` and `provider`,
        a `params` object on own gateways, a JSON scalar for ports, timeouts and flags (SC004
        says how JavaMail reads one of the wrong scalar type), strings for host, user, password
        and sender. Also a source that is JSON but not a gateway, an array of gateways or a
        list response.

    Why it matters:
        Nothing of this shape reaches JavaMail as a value it reads: a port written as `[587]`
        is no port at all. Such a gateway is not checked further; the other gateways in the
        same source are.

    Bad:
        {"params": {"mail.smtp.port": [587]}}

    Good:
        {"params": {"mail.smtp.port": 587}}

    Fix:
        Write the value with the JSON type named in the message, at the location given.
    """
    for error in entry.errors:
        where = f"{error.location}: " if error.location else ""
        yield Violation(
            f"{entry.name}: {where}{error.message}",
            param=error.param,
            fix=f"write {error.location or 'the gateway'} as the panel API does",
        )


@functools.lru_cache(maxsize=1024)  # fleets repeat the same typos; difflib is slow
def _closest(key: str) -> str | None:
    if key in JAVAMAIL_KEYS:
        return JAVAMAIL_KEYS[key]
    import difflib  # only a misspelt key needs it

    matches = difflib.get_close_matches(key, KNOWN_PARAMS, n=1, cutoff=0.75)
    return matches[0] if matches else None


@rule(code="SC003", slug="unknown-param", severity=Severity.WARNING, scope=Scope.CONFIG)
def unknown_param(config: SmtpGateway) -> Iterator[Violation]:
    """A param key that the gateway does not read.

    What it checks:
        Every key in `params` against the keys the panel writes. A typo gets a "did you mean";
        a real JavaMail key that the panel does not use gets the panel key that does its job.

    Why it matters:
        An unknown key is silently ignored, so the setting the operator meant never takes effect:
        `mail.smtp.starttls.enabled` leaves STARTTLS off and the password goes out in clear text.

    Bad:
        {"mail.smtp.starttls.enabled": true}

    Good:
        {"mail.smtp.starttls.enable": true}

    Fix:
        Rename the key as suggested, or remove it.
    """
    for key in config.params.model_extra or {}:
        closest = _closest(key)
        if key in JAVAMAIL_KEYS:
            message = f"{key} is a JavaMail key, but the gateway reads {closest} instead"
        elif closest:
            message = f"unknown param {key}: did you mean {closest}?"
        else:
            message = f"unknown param {key}: the gateway ignores it"
        fix = f"rename {key} to {closest}" if closest else f"remove {key}"
        yield Violation(message, param=key, fix=fix)


_TYPED_PARAMS = tuple(sorted(INT_PARAMS | BOOL_PARAMS))
_INFINITE = (float("inf"), float("-inf"))  # how the loader reads a number too long for Python


@rule(code="SC004", slug="string-typed-value", severity=Severity.WARNING, scope=Scope.CONFIG)
def string_typed_value(config: SmtpGateway) -> Iterator[Violation]:
    """A number or true/false param written as a string.

    What it checks:
        Ports and timeouts written as `"587"`, flags written as `"true"` — anything in quotes
        where the panel writes a JSON number or boolean — and values of another JSON type:
        a port of 587.0 or true, a flag of 1.

    Why it matters:
        JavaMail parses such strings, but silently falls back to its default on anything it cannot
        parse: `"587 "` becomes port 25, `"yes"` and `"1"` leave a flag off, `"60s"` means no
        timeout at all; a number of the wrong type (587.0, or 1 for a flag) is read the same
        way. A string that does not parse is an error; one that does is a warning,
        because the next edit can break it without a sound.

    Bad:
        {"mail.smtp.port": "587"}

    Good:
        {"mail.smtp.port": 587}

    Fix:
        Write numbers and true/false without quotes.
    """
    for key in _TYPED_PARAMS:
        value = config.params.given(key)
        if value is None:
            continue
        if not isinstance(value, str):
            if (violation := _wrong_type(key, value)) is not None:
                yield violation
            continue
        if key in INT_PARAMS:
            parsed = java_int(value)
            if parsed is None:
                yield Violation(
                    f"{key} is the string {value!r}, which JavaMail cannot read as a number: "
                    "it silently uses its default instead",
                    param=key,
                    fix=f"write {key} as a JSON number, without quotes",
                    severity=Severity.ERROR,
                )
            else:
                yield Violation(
                    f"{key} is the string {value!r}; JavaMail reads it as {parsed}, "
                    "but the panel writes a number",
                    param=key,
                    fix=f"write {key}: {parsed}",
                )
        elif value.lower() in ("true", "false"):
            yield Violation(
                f"{key} is the string {value!r}; JavaMail reads it as "
                f"{str(java_bool(value)).lower()}, "
                "but the panel writes true/false",
                param=key,
                fix=f"write {key}: {value.lower()}",
            )
        else:
            yield Violation(
                f"{key} is the string {value!r}, which JavaMail reads as false "
                '(only "true" turns a flag on)',
                param=key,
                fix=f"write {key} as true or false, without quotes",
                severity=Severity.ERROR,
            )


def _wrong_type(key: str, value: object) -> Violation | None:
    """A JSON value of a type JavaMail does not read for this key: it uses its default."""
    if key in INT_PARAMS:
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        shown = (
            "a number too long to read"
            if value in _INFINITE
            else f"the JSON value {json.dumps(value)}"
        )
        what = f"{shown}, which JavaMail cannot read as a whole number"
        write = f"write {key} as a whole number"
    else:
        if isinstance(value, bool):
            return None
        what = f"the number {json.dumps(value)}, which JavaMail reads as false"
        write = f"write {key} as true or false"
    return Violation(
        f"{key} is {what}: it silently uses its default instead",
        param=key,
        fix=write,
        severity=Severity.ERROR,
    )


@rule(code="SC005", slug="duplicate-gateway-id", severity=Severity.WARNING, scope=Scope.FLEET)
def duplicate_gateway_id(entries: Sequence[GatewayEntry]) -> Iterator[Violation]:
    """Two gateways share an id.

    What it checks:
        Gateway ids across every source of the run. The panel never returns two gateways with the
        same id, so a duplicate means overlapping files, or a copy edited without changing its id.

    Why it matters:
        `--gateway ID`, reports and metrics name gateways by id; with two of them the results of
        one hide the other.

    Bad:
        [{"id": 7, "label": "a", "default_from_address": null},
         {"id": 7, "label": "b", "default_from_address": null}]

    Good:
        [{"id": 7, "label": "a", "default_from_address": null},
         {"id": 8, "label": "b", "default_from_address": null}]

    Fix:
        Give each gateway its own id, or remove the copy.
    """
    by_id: defaultdict[int, list[GatewayEntry]] = defaultdict(list)
    for entry in entries:
        if entry.id is not None:
            by_id[entry.id].append(entry)
    for gw_id, same in by_id.items():
        if len(same) > 1:
            yield Violation(
                f"gateway id {gw_id} appears {len(same)} times: "
                + ", ".join(e.place for e in same),
                param="id",
                fix="give each gateway its own id, or pass each source once",
                places=tuple((e.source, e.position) for e in same),
            )


@rule(code="SC006", slug="unsupported-provider", severity=Severity.INFO, scope=Scope.ENTRY)
def unsupported_provider(entry: GatewayEntry) -> Iterator[Violation]:
    """An own gateway whose provider is not smtp, so it is listed but not checked.

    What it checks:
        The `provider` of own gateways. The panel supports only `smtp` for own gateways. A
        spelling of smtp in another case or with spaces (`"SMTP"`, `" smtp"`) is a warning
        with a "did you mean": smtpcheck compares the name exactly and does not check it.

    Why it matters:
        smtpcheck can only judge SMTP params; anything else is skipped, and this says why. The
        panel's API documents `"smtp"` as the only provider of own gateways, and its UI always
        writes it in lower case; what the platform does with another spelling is documented
        nowhere, so smtpcheck does not guess that `"SMTP"` sends as `"smtp"` would. (JavaMail's
        own provider names are case-sensitive: `mail.transport.protocol` `"SMTP"` ends in
        `NoSuchProviderException`.)

    Bad:
        {"provider": "mandrill_smtp"}

    Good:
        {"provider": "smtp"}

    Fix:
        Write `"provider": "smtp"` when the gateway is meant to be SMTP; otherwise nothing to
        do: smtpcheck checks SMTP gateways only.
    """
    gateway = entry.gateway
    if entry.params is None or gateway is None or gateway.provider == "smtp":
        return
    if "".join((gateway.provider or "").split()).lower() == "smtp":
        yield Violation(
            f'provider is {gateway.provider!r}: did you mean "smtp"? The panel documents only '
            '"smtp" for own gateways, and smtpcheck checks that exact name, so this gateway '
            "is not checked",
            param="provider",
            fix='write "provider": "smtp"',
            severity=Severity.WARNING,
        )
        return
    yield Violation(
        f"provider is {gateway.provider!r}: only smtp gateways are checked", param="provider"
    )


@rule(code="SC007", slug="bound-gateway-unknown", severity=Severity.WARNING, scope=Scope.DOCUMENT)
def bound_gateway_unknown(doc: SourceDocument) -> Iterator[Violation]:
    """The list response binds a gateway id that is in neither its own nor its leasable list.

    What it checks:
        `bound_gateway` of a `panel/gateways/email/list` response against the ids it lists.
        `null` (nothing bound) is fine.

    Why it matters:
        The bound gateway is the one the platform sends this dealer's mail through. If it is not
        listed, mail goes through a gateway nobody can see or check — or nowhere.

    Bad:
        {"success": true, "bound_gateway": 9, "own": [], "leasable": [
         {"id": 1, "label": "Platform gate", "default_from_address": null}]}

    Good:
        {"success": true, "bound_gateway": 1, "own": [], "leasable": [
         {"id": 1, "label": "Platform gate", "default_from_address": null}]}

    Fix:
        Bind one of the listed gateways in the panel (Settings → Email gateway).
    """
    if doc.bound_gateway is None:
        return
    ids = {entry.id for entry in doc.gateways}
    if doc.bound_gateway not in ids:
        listed = ", ".join(str(i) for i in sorted(i for i in ids if i is not None)) or "none"
        yield Violation(
            f"bound_gateway is {doc.bound_gateway}, which is not among the listed ids ({listed})",
            param="bound_gateway",
            fix="bind one of the listed gateways in the panel",
        )


@rule(code="SC008", slug="unresolved-env-var", severity=Severity.ERROR, scope=Scope.ENTRY)
def unresolved_env_var(entry: GatewayEntry) -> Iterator[Violation]:
    """A `"${NAME}"` value whose environment variable is not set.

    What it checks:
        Values written as `"${NAME}"` are read from the environment, so configs in CI carry no
        secrets. This reports each such variable that is not set; other findings about the same
        param ("the password is empty") are left out, as this one names their cause.

    Why it matters:
        The value would be empty: a missing password fails AUTH, a missing host connects nowhere.

    Bad:
        {"mail.smtp.password": "${SMTPCHECK_EXAMPLE_UNSET}"}

    Good:
        {"mail.smtp.password": "example-password"}

    Fix:
        Export the variable before running smtpcheck, or write the value itself.
    """
    for unset in entry.unset_variables:
        yield Violation(
            f"{unset.param} refers to ${{{unset.name}}}, which is not set in the environment",
            param=unset.param,
            fix=f"export {unset.name}=… before running smtpcheck",
        )


@rule(code="SC009", slug="unrecognized-document", severity=Severity.ERROR, scope=Scope.DOCUMENT)
def unrecognized_document(doc: SourceDocument) -> Iterator[Violation]:
    """The source is JSON, but not a gateway, an array of gateways or a list response.

    What it checks:
        The top level of each source: one gateway object, a JSON array of them, or the whole
        `panel/gateways/email/list` response. A saved error response (`"success": false`) and a
        list whose `own` or `leasable` is not an array are reported here too.

    Why it matters:
        Usually the wrong file was passed, or the export saved an API error instead of the list;
        either way there is nothing in it to check.

    Bad:
        {"success": false, "status": {"code": 4, "description": "User not found or session ended"}}

    Good:
        {"success": true, "bound_gateway": null, "own": [], "leasable": []}

    Fix:
        Pass the gateway export itself; fetch it again if it holds an API error.
    """
    if doc.shape_error is not None:
        yield Violation(
            f"{doc.source}: {doc.shape_error}",
            fix="give a gateway object, a JSON array of them, or the panel's list response",
        )


@rule(code="SC010", slug="redacted-secret", severity=Severity.ERROR, scope=Scope.ENTRY)
def redacted_secret(entry: GatewayEntry) -> Iterator[Violation]:
    """The password is the redaction marker that `smtpcheck fetch` writes, not a password.

    What it checks:
        Secret params whose value is `**redacted**`: a list saved by `smtpcheck fetch` without
        `--include-secrets`.

    Why it matters:
        Such a file is fine to lint, but it holds no password to log in with: a live check would
        fail AUTH with the marker — and might count against a lockout — so the gateway is not
        probed.

    Bad:
        {"mail.smtp.password": "**redacted**"}

    Good:
        {"mail.smtp.password": "example-password"}

    Fix:
        Give the password through the environment (`"mail.smtp.password": "${SMTP_PASSWORD}"`),
        check the panel directly (`smtpcheck check --api-url …`), or fetch with
        `--include-secrets` into a file only you can read.
    """
    for param in entry.redacted:
        yield Violation(
            f"{param} holds the redaction marker of `smtpcheck fetch`, not a password",
            param=param,
            fix=f'write "{param}": "${{SMTP_PASSWORD}}" and export SMTP_PASSWORD, '
            "or check the panel API directly",
        )


@rule(code="SC011", slug="nothing-checked", severity=Severity.ERROR, scope=Scope.DOCUMENT)
def nothing_checked(doc: SourceDocument) -> Iterator[Violation]:
    """Nothing was checked: a source holds no gateway, or `check` probed none.

    What it checks:
        Each source that is JSON of a known shape but holds no gateway at all: `[]`, or a list
        response whose `own` and `leasable` are both empty. Under `check`, also the run as a
        whole: when not one gateway was probed (each is leasable, of another provider, invalid,
        or cannot be probed as configured: SC508), the run fails with this finding, which
        counts the reasons, instead of passing.

    Why it matters:
        A run that checked nothing and exits 0 is a false green: a job pointed at the wrong
        file, an export that lost its own gateways or a `--gateway` that kept only the
        platform's would pass for ever. `validate` passes a list of leasable gateways only:
        their shape, ids and bound gateway were checked, and sending through the platform's
        gateways is a normal setup. `check` promises a live verdict, and has none to give.

    Bad:
        []

    Good:
        [{"id": 1, "label": "Platform gate", "default_from_address": null}]

    Fix:
        Pass the source that holds the gateways to check, and under `check` give it at least
        one own SMTP gateway that can be probed (SC006 and SC508 say why one is not);
        `--ignore SC011` where a run with nothing to check is expected.
    """
    if doc.shape is not None and not doc.gateways and doc.shape_error is None:
        yield Violation(
            f"nothing was checked: {doc.source} holds no gateway",
            fix="pass the source that holds the gateways to check",
        )


def none_probed(entries: Sequence[GatewayEntry]) -> Violation:
    """Say why `check` probed none of these gateways: SC011 for the run as a whole."""
    leasable = invalid = unprobed = 0
    providers: dict[str, int] = {}
    for entry in entries:
        if entry.kind is GatewayKind.LEASABLE:
            leasable += 1
        elif entry.gateway is None:
            invalid += 1
        elif not entry.is_smtp:
            name = repr(entry.gateway.provider)
            providers[name] = providers.get(name, 0) + 1
        else:
            unprobed += 1
    names = sorted(providers)  # the few a fleet uses: 'mandrill_smtp', 'SMTP'
    others = f"{', '.join(names[:3])}{', …' if len(names) > 3 else ''}"
    reasons = [
        (leasable, "leasable (the platform's, never probed)"),
        (invalid, "invalid (SC002)"),
        (sum(providers.values()), f"of provider {others} (SC006)"),
        (unprobed, "not probe-able as configured (SC508 says why)"),
    ]
    why = ", ".join(f"{count} {reason}" for count, reason in reasons if count)
    if len(entries) == 1:
        what = "the run's only gateway was not probed"
    else:
        what = f"none of the run's {len(entries)} gateways was probed"
    return Violation(
        f"nothing was checked: {what}: {why}",
        fix="give the run at least one own SMTP gateway that can be probed, or --ignore "
        "SC011 where a run with nothing to probe is expected",
    )
