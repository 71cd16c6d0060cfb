import os


def handle(event, context):
    return {"pid": os.getpid()}
