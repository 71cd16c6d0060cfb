def handle(event, context):
    return {"depth": context.depth}
