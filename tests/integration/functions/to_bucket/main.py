def handle(event, context):
    return {"doubled": event["n"] * 2}
