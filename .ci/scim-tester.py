"""Runs scim2-tester's compliance checks against a running Gatehouse.

Usage: python scim-tester.py BASE_URL   (the SCIM token in $SCIM_TOKEN)

Gatehouse's `userName` is the person's email address (README, "SCIM"), as
every identity provider sends it; scim2-tester fills string attributes with
random UUIDs. Rather than skip every User check for that, this runner tells
the tester which value to use: a `userName` it generates is a random address
at example.com. Nothing else about the checks changes.

Every check runs. A result counts as passed when it is SUCCESS, COMPLIANT
or ACCEPTABLE; SKIPPED is the tester's own verdict that the server does not
offer a feature (it says which); any other one fails the run unless it is
listed in NOT_APPLICABLE below with why it does not apply (the same list is
in the README's SCIM section). Exit status 0 only when every applicable
check passed.
"""

import os
import sys
import time
import uuid

import httpx2
import scim2_tester.checkers.patch_add
import scim2_tester.checkers.patch_replace
import scim2_tester.filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# (resource type, check title, attribute or None) -> why it does not apply.
NOT_APPLICABLE: dict[tuple[str | None, str, str | None], str] = {
    ("User", "check_remove_attribute", "active"): (
        "active is the state of the person's membership (deprovisioned or not); "
        "removing it would leave neither, so it is refused with 400 mutability; "
        "identity providers set it to false or true instead"
    ),
}

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

_generate = scim2_tester.filling.generate_random_value


def _generate_with_email_user_names(context, path, *args, **kwargs):
    if str(path).lower().endswith("username"):
        return f"{uuid.uuid4()}@example.com"
    return _generate(context, path, *args, **kwargs)


for module in (
    scim2_tester.filling,
    scim2_tester.checkers.patch_add,
    scim2_tester.checkers.patch_replace,
):
    module.generate_random_value = _generate_with_email_user_names


def main() -> int:
    base = sys.argv[1]
    token = os.environ["SCIM_TOKEN"]
    started = time.monotonic()
    client = SyncSCIMClient(
        httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    )
    results = check_server(client)
    failed = not_applicable = passed = skipped = 0
    for r in results:
        urn = r.data.get("urn") if isinstance(r.data, dict) else None
        key = (r.resource_type, r.title, urn)
        where = f"[{r.resource_type}] " if r.resource_type else ""
        what = f"{where}{r.title}" + (f" ({urn})" if urn else "")
        if r.status in PASSED:
            passed += 1
            print(f"{r.status.name:<10} {what}")
        elif r.status == Status.SKIPPED:
            # The tester's own verdict: the server does not offer it (e.g.
            # POST /.search, answered 501 as RFC 7644 §3.12 says).
            skipped += 1
            print(f"{r.status.name:<10} {what}: {r.reason}")
        elif key in NOT_APPLICABLE:
            not_applicable += 1
            print(f"NOT-APPLIES {what} [{r.status.name}]: {NOT_APPLICABLE[key]}")
        else:
            failed += 1
            print(f"{r.status.name:<10} {what}")
            if r.reason:
                print(f"    {r.reason}")
            if r.data is not None:
                print(f"    {str(r.data)[:2000]}")
    print(
        f"scim2-tester: {passed} passed, {skipped} skipped by the tester, "
        f"{not_applicable} not applicable, {failed} failed "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
