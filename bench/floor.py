"""The floor: a bare aiosmtplib script doing the fleet benchmark's handshakes, nothing more.

Usage: python -m bench.floor --host 127.0.0.1 --port PORT --ca-file CA --accounts FILE
       [--concurrency 20] [--ehlo bench.test] [--timeout 10]

FILE holds one ``user<TAB>password`` per line. For each line: connect → EHLO → STARTTLS →
EHLO → AUTH (aiosmtplib's login(), PLAIN here) → QUIT, at most --concurrency at once, with one
SSL context for the whole run (system CAs plus --ca-file, host name checked) and the EHLO name
given. No report, no rules, no per-stage timing: what any checker has to pay at least. Prints
``ok N/M`` and exits 1 unless every login succeeded. bench.fleet runs it as a child process,
like the other contenders.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

import aiosmtplib


async def check_one(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    context: ssl.SSLContext,
    ehlo: str,
    seconds: float,
    slots: asyncio.Semaphore,
) -> bool:
    async with slots:
        smtp = aiosmtplib.SMTP(
            hostname=host,
            port=port,
            local_hostname=ehlo,
            tls_context=context,
            start_tls=False,
            timeout=seconds,
        )
        try:
            await smtp.connect()
            await smtp.ehlo()
            await smtp.starttls()
            await smtp.ehlo()
            await smtp.login(user, password)
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            print(f"{user}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return False
        finally:
            smtp.close()
        return True


async def check_all(args: argparse.Namespace, pairs: list[list[str]]) -> tuple[int, int]:
    """Check every (user, password) pair; return (logins that succeeded, pairs)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=args.ca_file)
    slots = asyncio.Semaphore(args.concurrency)
    results = await asyncio.gather(
        *(
            check_one(
                args.host,
                args.port,
                user,
                password,
                context=context,
                ehlo=args.ehlo,
                seconds=args.timeout,
                slots=slots,
            )
            for user, password in pairs
        )
    )
    return sum(results), len(results)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--accounts", required=True, metavar="FILE")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--ehlo", default="bench.test")
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser.parse_args(argv)


def read_accounts(path: str) -> list[list[str]]:
    lines = Path(path).read_text().splitlines()
    return [line.split("\t", 1) for line in lines if line]


def main() -> int:
    args = options()
    ok, total = asyncio.run(check_all(args, read_accounts(args.accounts)))
    print(f"ok {ok}/{total}")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
