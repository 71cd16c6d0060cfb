"""The Map benchmark's function: returns its event."""


def handle(event, context):
    return event
