"""Uploads one file with tuspy (the Python tus client) as a phone app would, with the tus checksum
extension on (`upload_checksum=True`: every PATCH carries `Upload-Checksum: sha1 …`).

usage: tuspy_client.py ENDPOINT TOKEN FILE CHUNK_SIZE SHA256_HEX
Prints one JSON line: {"url": the upload's URL, "offset": bytes the server acknowledged}.
Exits non-zero (with the server's answer on stderr) if the upload fails.
"""
import json
import sys

from tusclient import client

endpoint, token, path, chunk_size, sha256 = sys.argv[1:6]
tus = client.TusClient(endpoint, headers={"Authorization": "Bearer " + token})
uploader = tus.uploader(
    path,
    chunk_size=int(chunk_size),
    metadata={"sha256": sha256, "purpose": "after", "filename": "tuspy.jpg"},
    upload_checksum=True,
)
uploader.upload()
print(json.dumps({"url": uploader.url, "offset": uploader.offset}))
