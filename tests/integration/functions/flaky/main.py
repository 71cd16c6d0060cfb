def handle(event, context):
    # The dispatcher names attempt N of invocation ID "ID-N": fail the first two.
    attempt = int(context.request_id.rsplit("-", 1)[1])
    if attempt <= event.get("fail", 2):
        raise RuntimeError(f"flaky failure on attempt {attempt}")
    return {"attempt": attempt, "echo": event.get("echo")}
