"""A stand-in for Amazon ECR in the tests: moto's ECR implements no layer call
(BatchCheckLayerAvailability, GetDownloadUrlForLayer, InitiateLayerUpload, UploadLayerPart,
CompleteLayerUpload raise NotImplementedError) and computes an image's digest from its layers'
digests, not from the manifest's bytes. This one keeps repositories, tags, blobs and manifests
in memory and answers the calls qfleet and the engine stand-in make as the ECR API Reference
documents them:

- an image's digest is the SHA-256 of its manifest's bytes; BatchGetImage answers them as
  stored; PutImage refuses a manifest whose blobs the repository lacks
  (LayersNotFoundException), an `imageDigest` that is not the manifest's
  (ImageDigestDoesNotMatchException), and an immutable tag on another image
  (ImageTagAlreadyExistsException); the same image again is ImageAlreadyExistsException;
- UploadLayerPart takes parts of at most 10 MiB, CompleteLayerUpload refuses a part but the last
  below 5 MiB (LayerPartTooSmallException) and bytes whose digest is not the one named
  (InvalidLayerException), as ECR's quotas and API Reference say;
- GetDownloadUrlForLayer answers a URL this server serves, a `Range` at a time;
- errors are AWS JSON 1.1 documents (`__type`, `message`) with status 400.

    python tests/support/registry.py PORT_FILE

binds 127.0.0.1 on a free port, writes it to PORT_FILE and serves until it is killed.
"""

import base64
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

ACCOUNT = "123456789012"
REGION = "eu-west-1"
LOCK = threading.Lock()
REPOS = {}  # name -> {arn, tags, mutability, blobs: {digest: bytes}, images: {digest: (type, text)}, tags_of: {tag: digest}, policy}
UPLOADS = {}  # id -> (repo, bytearray)
PARTS = {}  # id -> the size of each part taken


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def repo(body):
    name = body.get("repositoryName", "")
    if name not in REPOS:
        raise Refused("RepositoryNotFoundException", f"The repository with name '{name}' does not exist in the registry with id '{ACCOUNT}'")
    return REPOS[name]


def image_ids(r, ids):
    """(digest, tag) of each id, None for one not there."""
    out = []
    for i in ids:
        if "imageDigest" in i:
            d = i["imageDigest"]
            out.append((d if d in r["images"] else None, i.get("imageTag")))
        else:
            out.append((r["tags_of"].get(i.get("imageTag")), i.get("imageTag")))
    return out


def call(op, body, host):
    if op == "GetAuthorizationToken":
        token = base64.b64encode(b"AWS:stand-in-password").decode()
        return {"authorizationData": [{"authorizationToken": token, "expiresAt": time.time() + 43200,
                                       "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"}]}
    if op == "GetRegistryScanningConfiguration":
        return {"registryId": ACCOUNT, "scanningConfiguration": {"scanType": "BASIC", "rules": []}}
    if op == "CreateRepository":
        name = body["repositoryName"]
        if name in REPOS:
            raise Refused("RepositoryAlreadyExistsException", f"The repository with name '{name}' already exists")
        arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
        REPOS[name] = {"arn": arn, "tags": {t["Key"]: t["Value"] for t in body.get("tags", [])},
                       "mutability": body.get("imageTagMutability", "MUTABLE"), "blobs": {}, "images": {}, "tags_of": {}}
        return {"repository": {"repositoryArn": arn, "repositoryName": name, "registryId": ACCOUNT,
                               "imageTagMutability": REPOS[name]["mutability"]}}
    if op == "DescribeRepositories":
        names = body.get("repositoryNames") or sorted(REPOS)
        for n in names:
            repo({"repositoryName": n})
        return {"repositories": [{"repositoryArn": REPOS[n]["arn"], "repositoryName": n, "registryId": ACCOUNT,
                                  "imageTagMutability": REPOS[n]["mutability"]} for n in names]}
    if op == "ListTagsForResource":
        for r in REPOS.values():
            if r["arn"] == body["resourceArn"]:
                return {"tags": [{"Key": k, "Value": v} for k, v in r["tags"].items()]}
        raise Refused("RepositoryNotFoundException", "no repository has this ARN")
    if op == "DeleteRepository":
        r = repo(body)
        if r["images"] and not body.get("force"):
            raise Refused("RepositoryNotEmptyException", "The repository cannot be deleted because it still contains images")
        del REPOS[body["repositoryName"]]
        return {"repository": {"repositoryArn": r["arn"], "repositoryName": body["repositoryName"]}}
    if op in ("PutLifecyclePolicy", "SetRepositoryPolicy"):
        r = repo(body)
        r[op] = body.get("lifecyclePolicyText") or body.get("policyText")
        return {"repositoryName": body["repositoryName"], "registryId": ACCOUNT}
    if op == "GetLifecyclePolicy":
        r = repo(body)
        return {"repositoryName": body["repositoryName"], "lifecyclePolicyText": r.get("PutLifecyclePolicy")}
    if op in ("DescribeImages", "ListImages"):
        r = repo(body)
        if body.get("imageIds"):
            found = image_ids(r, body["imageIds"])
            if any(d is None for d, _ in found):
                raise Refused("ImageNotFoundException", "The image requested does not exist in the specified repository.")
            digests = [d for d, _ in found]
        else:
            digests = list(r["images"])
        tags = lambda d: [t for t, x in r["tags_of"].items() if x == d]
        if op == "ListImages":
            ids = [{"imageDigest": d, "imageTag": t} for d in digests for t in tags(d)]
            ids += [{"imageDigest": d} for d in digests if not tags(d)]
            return {"imageIds": ids}
        return {"imageDetails": [{"registryId": ACCOUNT, "repositoryName": body["repositoryName"], "imageDigest": d,
                                  "imageTags": tags(d), "imagePushedAt": time.time(),
                                  "imageManifestMediaType": r["images"][d][0]} for d in digests]}
    if op == "BatchGetImage":
        r = repo(body)
        images, failures = [], []
        for (d, t), i in zip(image_ids(r, body["imageIds"]), body["imageIds"]):
            if d is None:
                failures.append({"imageId": i, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})
            else:
                images.append({"registryId": ACCOUNT, "repositoryName": body["repositoryName"],
                               "imageId": {"imageDigest": d, "imageTag": t} if t else {"imageDigest": d},
                               "imageManifest": r["images"][d][1], "imageManifestMediaType": r["images"][d][0]})
        return {"images": images, "failures": failures}
    if op == "BatchDeleteImage":
        r = repo(body)
        deleted, failures = [], []
        for (d, t), i in zip(image_ids(r, body["imageIds"]), body["imageIds"]):
            if d is None:
                failures.append({"imageId": i, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})
                continue
            for tag in [x for x, y in r["tags_of"].items() if y == d]:
                del r["tags_of"][tag]
            del r["images"][d]
            deleted.append({"imageDigest": d})
        return {"imageIds": deleted, "failures": failures}
    if op == "BatchCheckLayerAvailability":
        r = repo(body)
        layers, failures = [], []
        for d in body["layerDigests"]:
            if d in r["blobs"]:
                layers.append({"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": len(r["blobs"][d])})
            else:
                failures.append({"layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Could not find layer"})
        return {"layers": layers, "failures": failures}
    if op == "GetDownloadUrlForLayer":
        r = repo(body)
        d = body["layerDigest"]
        if d not in r["blobs"]:
            raise Refused("LayersNotFoundException", f"The layer {d} does not exist")
        return {"downloadUrl": f"http://{host}/blobs/{quote(body['repositoryName'], safe='')}/{d}?X-Amz-Signature=stand-in",
                "layerDigest": d}
    if op == "InitiateLayerUpload":
        repo(body)
        upload = f"upload-{len(UPLOADS) + 1}"
        UPLOADS[upload] = (body["repositoryName"], bytearray())
        return {"uploadId": upload, "partSize": 10485760}
    if op == "UploadLayerPart":
        name, data = UPLOADS.get(body["uploadId"], (None, None))
        if name != body["repositoryName"]:
            raise Refused("UploadNotFoundException", "no such upload")
        part = base64.b64decode(body["layerPartBlob"])
        if len(part) > 10 * 1024 * 1024:
            raise Refused("InvalidParameterException", "a layer part is at most 10 MiB (Maximum layer part size)")
        if body["partFirstByte"] != len(data) or body["partLastByte"] != len(data) + len(part) - 1:
            raise Refused("InvalidLayerPartException", "the part does not follow the last one")
        data.extend(part)
        PARTS.setdefault(body["uploadId"], []).append(len(part))
        return {"uploadId": body["uploadId"], "lastByteReceived": len(data) - 1, "repositoryName": name}
    if op == "CompleteLayerUpload":
        name, data = UPLOADS.pop(body["uploadId"], (None, None))
        if name != body["repositoryName"]:
            raise Refused("UploadNotFoundException", "no such upload")
        d = body["layerDigests"][0]
        if any(size < 5 * 1024 * 1024 for size in PARTS.pop(body["uploadId"], [])[:-1]):
            raise Refused("LayerPartTooSmallException", "Layer parts must be at least 5 MiB in size")
        if digest_of(bytes(data)) != d:
            raise Refused("InvalidLayerException", "The layer digest calculation does not match the digest specified")
        r = repo(body)
        if d in r["blobs"]:
            raise Refused("LayerAlreadyExistsException", "The image layer already exists in the associated repository")
        r["blobs"][d] = bytes(data)
        return {"layerDigest": d, "uploadId": body["uploadId"], "repositoryName": name}
    if op == "PutImage":
        r = repo(body)
        text = body["imageManifest"]
        d = digest_of(text.encode())
        if body.get("imageDigest") and body["imageDigest"] != d:
            raise Refused("ImageDigestDoesNotMatchException", "The digest does not match the manifest")
        doc = json.loads(text)
        kind = body.get("imageManifestMediaType") or doc.get("mediaType")
        for b in [doc["config"]] + doc.get("layers", []):
            if b["digest"] not in r["blobs"]:
                raise Refused("LayersNotFoundException", f"The layer {b['digest']} does not exist in the repository")
        tag = body.get("imageTag")
        if tag in r["tags_of"]:
            if r["tags_of"][tag] == d:
                raise Refused("ImageAlreadyExistsException", "Image with digest and tag already exists")
            if r["mutability"] == "IMMUTABLE":
                raise Refused("ImageTagAlreadyExistsException", f"The image tag '{tag}' already exists and cannot be overwritten because the repository is immutable.")
        r["images"][d] = (kind, text)
        if tag:
            r["tags_of"][tag] = d
        return {"image": {"registryId": ACCOUNT, "repositoryName": body["repositoryName"],
                          "imageId": {"imageDigest": d, "imageTag": tag}, "imageManifest": text}}
    raise Refused("UnknownOperationException", f"{op} is not in the registry stand-in")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, data, kind="application/x-amz-json-1.1"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        _, _, name, d = path.split("/", 3)
        with LOCK:
            data = REPOS.get(unquote(name), {}).get("blobs", {}).get(d)
        if data is None:
            return self.answer(404, b"not found", "text/plain")
        first, last = self.headers["Range"].removeprefix("bytes=").split("-")
        self.answer(206, data[int(first):int(last) + 1], "application/octet-stream")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        op = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        try:
            with LOCK:
                out = call(op, body, self.headers.get("Host"))
            self.answer(200, json.dumps(out).encode())
        except Refused as e:
            self.answer(400, json.dumps({"__type": e.code, "message": e.message}).encode())


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()
