def handle(event, context):
    return {"n": sum(range(1000))}
