def handle(event, context):
    # A destination: prints the record it got, so tests read it from the logs.
    context_ = event["requestContext"]
    print("destination", context_["condition"], context_["requestId"])
    return {"condition": context_["condition"]}
