import json


def handle(event, context):
    # Prints the envelope it got, so tests read it from the logs.
    print("event", json.dumps(event, sort_keys=True))
    return {"key": event["subject"]}
