"""A function that invokes itself without end, with the stdlib's HTTP client and, as every
well-behaved caller does, `X-Yun-Depth: context.depth + 1`. Deployed by test_hop_limit.py
with SELF_URL and SELF_KEY in its environment."""

import json
import os
import urllib.error
import urllib.request


def handle(event, context):
    request = urllib.request.Request(
        os.environ["SELF_URL"] + "/fn/recurse", data=b"{}", method="POST",
        headers={"Authorization": "Bearer " + os.environ["SELF_KEY"],
                 "Content-Type": "application/json",
                 "X-Yun-Depth": str(context.depth + 1)})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return {"depth": context.depth, "inner_status": status, "inner": json.loads(body)}
