def handle(event, context):
    return {"digested": event}
