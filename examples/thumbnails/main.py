"""Resize every image uploaded to `uploads/images/` into the `thumbnails` bucket.

The event is a CloudEvents envelope naming the object; the function reads and writes buckets
through `context.buckets` (no network needed)."""

import io

from PIL import Image

SIZE = (128, 128)


def handle(event, context):
    uploaded = event["data"]
    original = context.buckets.get(uploaded["bucket"], uploaded["key"])
    with Image.open(io.BytesIO(original)) as image:
        image.thumbnail(SIZE)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=85)
    name = uploaded["key"].removeprefix("images/").rsplit(".", 1)[0] + ".jpg"
    written = context.buckets.put("thumbnails", name, out.getvalue(), content_type="image/jpeg")
    return {"thumbnail": f"thumbnails/{name}", "size": written["size"]}
