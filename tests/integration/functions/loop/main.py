def handle(event, context):
    print("saw", event["subject"])
    return {"saw": event["subject"]}
