import os


def handle(event, context):
    name = event.get("name", "world")
    print(f"greeting {name}")
    return {"message": f"{os.environ.get('GREETING', 'hello')}, {name}!",
            "request_id": context.request_id}
