def handle(event, context):
    raise ValueError(f"cannot digest {event!r}")
