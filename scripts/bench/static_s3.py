"""A read-only S3 endpoint over a bucket mirrored on disk (`<dir>/<bucket>/<key>`, user metadata in
`<key>.metadata.json`), answering requests concurrently: GetObject, HeadObject, ListObjects (v1 and
v2, prefix/marker/start-after/continuation, delimiter) and GetBucketLocation. Benchmarks only: it
takes the emulator's own per-request cost out of latency measurements (moto answers one request at
a time). Listens on 127.0.0.1.

usage: python static_s3.py DIR PORT
"""
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

ROOT = sys.argv[1]
INDEX = {}


def build_index():
    for bucket in os.listdir(ROOT):
        base = os.path.join(ROOT, bucket)
        if not os.path.isdir(base):
            continue
        keys = []
        for dirpath, _, files in os.walk(base):
            for f in files:
                if f.endswith(".metadata.json"):
                    continue
                p = os.path.join(dirpath, f)
                keys.append((os.path.relpath(p, base), os.path.getsize(p)))
        keys.sort()
        INDEX[bucket] = keys


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=None, ctype="application/xml"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def parse(self):
        u = urllib.parse.urlsplit(self.path)
        parts = u.path.lstrip("/").split("/", 1)
        bucket = urllib.parse.unquote(parts[0])
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        return bucket, key, q

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        bucket, key, q = self.parse()
        if bucket not in INDEX:
            return self.send(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        if not key:
            if "location" in q:
                return self.send(200, b'<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>')
            return self.list(bucket, q)
        path = os.path.join(ROOT, bucket, key)
        if ".." in key.split("/") or not os.path.isfile(path):
            return self.send(404, b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>")
        body = open(path, "rb").read()
        headers = {"ETag": '"0"', "Last-Modified": "Wed, 01 May 2024 00:00:00 GMT"}
        if os.path.exists(path + ".metadata.json"):
            for k, v in json.load(open(path + ".metadata.json")).items():
                headers["x-amz-meta-" + k] = v
        self.send(200, body, headers, "application/octet-stream")

    def list(self, bucket, q):
        v2 = q.get("list-type") == "2"
        prefix = q.get("prefix", "")
        after = q.get("continuation-token") or q.get("start-after") or q.get("marker") or ""
        limit = int(q.get("max-keys", "1000"))
        delim = q.get("delimiter")
        items, prefixes, truncated, last = [], [], False, None
        for k, size in INDEX[bucket]:
            if not k.startswith(prefix) or (after and k <= after):
                continue
            if delim:
                rest = k[len(prefix):]
                if delim in rest:
                    p = prefix + rest.split(delim, 1)[0] + delim
                    if p not in prefixes:
                        prefixes.append(p)
                    continue
            if len(items) >= limit:
                truncated = True
                break
            items.append((k, size))
            last = k
        out = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
        out.append(f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        if v2:
            out.append(f"<KeyCount>{len(items)}</KeyCount>")
            if truncated:
                out.append(f"<NextContinuationToken>{escape(last)}</NextContinuationToken>")
        elif truncated:
            out.append(f"<NextMarker>{escape(last)}</NextMarker>")
        for k, size in items:
            out.append(f"<Contents><Key>{escape(k)}</Key><LastModified>2024-05-01T00:00:00.000Z</LastModified><ETag>&quot;0&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>")
        for p in prefixes:
            out.append(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>")
        out.append("</ListBucketResult>")
        self.send(200, "".join(out).encode())


if __name__ == "__main__":
    build_index()
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H)
    srv.daemon_threads = True
    srv.serve_forever()
