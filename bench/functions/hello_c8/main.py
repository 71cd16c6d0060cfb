"""The peers' handler (see /work/shared/peers): {"hello": "world", "n": <body length>}.

Yun hands the handler the decoded JSON event, so the body length is that of its JSON text.
"""

import json


def handle(event, context):
    return {"hello": "world", "n": len(json.dumps(event))}
