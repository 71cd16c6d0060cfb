def handle(event, context):
    return {"depth": event["yundepth"]}
